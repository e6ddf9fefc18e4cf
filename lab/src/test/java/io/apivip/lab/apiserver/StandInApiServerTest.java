package io.apivip.lab.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.lab.Pki;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StandInApiServerTest {

  static Pki pki;
  static Pki.Issued serverCertificate;
  static HttpClient client;

  StandInApiServer server;

  @BeforeAll
  static void certificates() throws Exception {
    pki = Pki.newCa("stand-in-test-ca");
    serverCertificate = pki.issueServer(List.of("127.0.0.1", "localhost"));
    client = HttpsClients.trusting(pki.caCertificate(), Optional.empty());
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  StandInApiServer start(Optional<java.security.cert.X509Certificate> clientCa) {
    server =
        StandInApiServer.start(
            "b1", new InetSocketAddress("127.0.0.1", 0), serverCertificate, clientCa);
    return server;
  }

  HttpResponse<String> get(String path) throws Exception {
    return get(client, path, Duration.ofSeconds(5));
  }

  HttpResponse<String> get(HttpClient with, String path, Duration timeout) throws Exception {
    URI uri = URI.create("https://127.0.0.1:" + server.address().getPort() + path);
    return with.send(
        HttpRequest.newBuilder(uri).timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void answersLikeKubeApiserverAndNamesItself() throws Exception {
    start(Optional.empty());
    HttpResponse<String> readyz = get("/readyz");
    assertThat(readyz.statusCode()).isEqualTo(200);
    assertThat(readyz.body()).isEqualTo("ok");
    assertThat(readyz.headers().firstValue(StandInApiServer.BACKEND_HEADER)).contains("b1");
    assertThat(get("/livez").body()).isEqualTo("ok");
    HttpResponse<String> version = get("/version");
    assertThat(version.statusCode()).isEqualTo(200);
    assertThat(version.body())
        .contains("\"gitVersion\": \"v1.32.3\"", "\"platform\": \"linux/amd64\"");
    HttpResponse<String> other = get("/api/v1/namespaces/default/pods");
    assertThat(other.statusCode()).isEqualTo(200);
    assertThat(other.body()).contains("stand-in kube-apiserver b1");
  }

  @Test
  void failReadyzFailsOnlyReadyz() throws Exception {
    start(Optional.empty());
    server.mode(Mode.FAIL_READYZ);
    HttpResponse<String> readyz = get("/readyz");
    assertThat(readyz.statusCode()).isEqualTo(500);
    assertThat(readyz.body()).contains("[-]etcd failed", "readyz check failed");
    assertThat(get("/livez").statusCode()).isEqualTo(200);
    assertThat(get("/version").statusCode()).isEqualTo(200);
    server.mode(Mode.HEALTHY);
    assertThat(get("/readyz").statusCode()).isEqualTo(200);
  }

  @Test
  void slowAnswersAfterTheDelay() throws Exception {
    start(Optional.empty());
    server.mode(Mode.slow(400));
    long started = System.nanoTime();
    assertThat(get("/readyz").statusCode()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - started))
        .isGreaterThanOrEqualTo(Duration.ofMillis(400));
    assertThatThrownBy(() -> get(client, "/readyz", Duration.ofMillis(150)))
        .isInstanceOf(HttpTimeoutException.class);
  }

  @Test
  void hangAcceptsButNeverAnswers() throws Exception {
    start(Optional.empty());
    server.mode(Mode.HANG);
    try (Socket socket = new Socket()) {
      socket.connect(server.address(), 2000);
      socket.setSoTimeout(300);
      socket.getOutputStream().write("GET /readyz HTTP/1.1\r\n\r\n".getBytes());
      InputStream in = socket.getInputStream();
      assertThatThrownBy(in::read).isInstanceOf(java.net.SocketTimeoutException.class);
    }
    assertThatThrownBy(
            () ->
                get(
                    HttpsClients.trusting(pki.caCertificate(), Optional.empty()),
                    "/readyz",
                    Duration.ofMillis(300)))
        .isInstanceOf(HttpTimeoutException.class);
  }

  @Test
  void refuseClosesTheListenerAndHealthyReopensIt() throws Exception {
    start(Optional.empty());
    InetSocketAddress address = server.address();
    server.mode(Mode.REFUSE);
    try (Socket socket = new Socket()) {
      assertThatThrownBy(() -> socket.connect(address, 2000)).isInstanceOf(ConnectException.class);
    }
    server.mode(Mode.HEALTHY);
    assertThat(server.address()).isEqualTo(address);
    assertThat(get("/readyz").statusCode()).isEqualTo(200);
  }

  @Test
  void refuseDropsOpenConnections() throws Exception {
    start(Optional.empty());
    try (Socket socket = new Socket()) {
      socket.connect(server.address(), 2000);
      socket.setSoTimeout(2000);
      server.mode(Mode.REFUSE);
      // Dropped: end of stream, or a reset when the server had unread bytes (its TLS alert)
      // pending.
      int read;
      try {
        read = socket.getInputStream().read();
      } catch (java.net.SocketException reset) {
        read = -1;
      }
      assertThat(read).isEqualTo(-1);
    }
  }

  @Test
  void watchStreamsEventsUntilTheClientCloses() throws Exception {
    start(Optional.empty());
    URI uri =
        URI.create(
            "https://127.0.0.1:" + server.address().getPort() + "/api/v1/configmaps?watch=true");
    HttpResponse<Stream<String>> response =
        client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofLines());
    assertThat(response.headers().firstValue(StandInApiServer.BACKEND_HEADER)).contains("b1");
    try (Stream<String> lines = response.body()) {
      List<String> events = lines.limit(3).toList();
      assertThat(events)
          .hasSize(3)
          .allSatisfy(
              event ->
                  assertThat(event)
                      .startsWith("{\"type\":\"MODIFIED\"")
                      .contains("\"backend\":\"b1\""));
      assertThat(events.get(2)).contains("\"resourceVersion\":\"3\"");
    }
  }

  @Test
  void requiresAClientCertificateWhenGivenAClientCa() throws Exception {
    start(Optional.of(pki.caCertificate()));
    assertThatThrownBy(() -> get("/readyz")).isInstanceOf(IOException.class);
    HttpClient withCertificate =
        HttpsClients.trusting(pki.caCertificate(), Optional.of(pki.issueClient("apivip")));
    assertThat(get(withCertificate, "/readyz", Duration.ofSeconds(5)).statusCode()).isEqualTo(200);
  }

  @Test
  void canRefuseRequestsWithoutTheBearerToken() throws Exception {
    start(Optional.empty());
    server.requireBearerToken(Optional.of("s3cret"));
    HttpResponse<String> anonymous = get("/readyz");
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(anonymous.body()).contains("\"reason\":\"Unauthorized\"");
    URI uri = URI.create("https://127.0.0.1:" + server.address().getPort() + "/readyz");
    HttpRequest withToken =
        HttpRequest.newBuilder(uri).header("Authorization", "Bearer s3cret").build();
    assertThat(client.send(withToken, HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(200);
  }

  @Test
  void parsesEveryCommandAndRejectsOthers() {
    for (Mode mode :
        List.of(Mode.HEALTHY, Mode.FAIL_READYZ, Mode.HANG, Mode.REFUSE, Mode.slow(250))) {
      assertThat(Mode.parse(mode.command())).contains(mode);
    }
    assertThat(Mode.parse("  SLOW   30 ")).contains(Mode.slow(30));
    for (String bad : List.of("", "slow", "slow -1", "slow x", "hang now", "ready")) {
      assertThat(Mode.parse(bad)).as(bad).isEmpty();
    }
  }
}
