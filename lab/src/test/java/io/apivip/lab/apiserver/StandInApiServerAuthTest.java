package io.apivip.lab.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.lab.Pki;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stand-in with anonymous auth off, as a stock MicroK8s kube-apiserver answers. */
class StandInApiServerAuthTest {

  static Pki clusterCa;
  static Pki otherCa;
  static HttpClient anonymous;

  @TempDir Path dir;
  StandInApiServer server;

  @BeforeAll
  static void certificates() throws Exception {
    clusterCa = Pki.newCa("10.152.183.1");
    otherCa = Pki.newCa("someone-else");
    anonymous = HttpsClients.trusting(clusterCa.caCertificate(), Optional.empty());
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  void start(Set<String> tokens) {
    server =
        StandInApiServer.startAuthenticating(
            "n1",
            new InetSocketAddress("127.0.0.1", 0),
            clusterCa.issueServer(List.of("127.0.0.1")),
            new StandInApiServer.Authentication(List.of(clusterCa.caCertificate()), tokens));
  }

  HttpResponse<String> get(HttpClient client, String path, Optional<String> bearer)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.address().getPort() + path))
            .timeout(Duration.ofSeconds(5));
    bearer.ifPresent(token -> request.header("Authorization", "Bearer " + token));
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anonymousRequestsGet401LikeKubeApiserver() throws Exception {
    start(Set.of());
    for (String path : List.of("/readyz", "/livez", "/version", "/api/v1/pods")) {
      HttpResponse<String> response = get(anonymous, path, Optional.empty());
      assertThat(response.statusCode()).as(path).isEqualTo(401);
      assertThat(response.body()).as(path).contains("\"reason\":\"Unauthorized\"", "\"code\":401");
    }
  }

  @Test
  void aClientCertificateOfTheClusterCaGets200() throws Exception {
    start(Set.of());
    HttpClient withCertificate =
        HttpsClients.trusting(
            clusterCa.caCertificate(), Optional.of(clusterCa.issueClient("apivip-health")));
    HttpResponse<String> readyz = get(withCertificate, "/readyz", Optional.empty());
    assertThat(readyz.statusCode()).isEqualTo(200);
    assertThat(readyz.body()).isEqualTo("ok");
  }

  @Test
  void aListedBearerTokenGets200AndAnotherGets401() throws Exception {
    start(Set.of("admin-token", "kubelet-token"));
    assertThat(get(anonymous, "/readyz", Optional.of("kubelet-token")).statusCode()).isEqualTo(200);
    assertThat(get(anonymous, "/readyz", Optional.of("admin-token")).statusCode()).isEqualTo(200);
    assertThat(get(anonymous, "/readyz", Optional.of("guessed")).statusCode()).isEqualTo(401);
    assertThat(get(anonymous, "/readyz", Optional.of("")).statusCode()).isEqualTo(401);
  }

  @Test
  void aCertificateFromAnotherCaCompletesTheHandshakeAndGets401() throws Exception {
    start(Set.of());
    HttpClient stranger =
        HttpsClients.trusting(
            clusterCa.caCertificate(), Optional.of(otherCa.issueClient("apivip-health")));
    assertThat(get(stranger, "/readyz", Optional.empty()).statusCode()).isEqualTo(401);
  }

  @Test
  void aCertificateWithoutClientAuthUsageGets401() throws Exception {
    start(Set.of());
    // issueServer's certificates say extendedKeyUsage=serverAuth only; kube-apiserver wants
    // clientAuth.
    HttpClient serverOnly =
        HttpsClients.trusting(
            clusterCa.caCertificate(), Optional.of(clusterCa.issueServer(List.of("127.0.0.1"))));
    assertThat(get(serverOnly, "/readyz", Optional.empty()).statusCode()).isEqualTo(401);
  }

  @Test
  void watchesStayOpenForAnAuthenticatedClient() throws Exception {
    start(Set.of("t"));
    URI uri =
        URI.create(
            "https://127.0.0.1:" + server.address().getPort() + "/api/v1/configmaps?watch=true");
    HttpRequest request = HttpRequest.newBuilder(uri).header("Authorization", "Bearer t").build();
    HttpResponse<Stream<String>> response =
        anonymous.send(request, HttpResponse.BodyHandlers.ofLines());
    assertThat(response.statusCode()).isEqualTo(200);
    try (Stream<String> lines = response.body()) {
      assertThat(lines.limit(3).toList()).hasSize(3);
    }
    HttpRequest unauthenticated = HttpRequest.newBuilder(uri).build();
    assertThat(anonymous.send(unauthenticated, HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(401);
  }

  @Test
  void readsABundleOfCasAndMicroK8sKnownTokens() throws Exception {
    Path bundle = dir.resolve("ca.crt");
    Files.writeString(
        bundle, Pki.pem(otherCa.caCertificate()) + Pki.pem(clusterCa.caCertificate()));
    Path tokens = dir.resolve("known_tokens.csv");
    // The format MicroK8s's install hook writes: token,user,uid[,"groups"].
    Files.writeString(
        tokens,
        "QWRtaW4=,admin,admin,\"system:masters\"\n\n"
            + "S3ViZQ==,system:node:n1,kubelet-0,\"system:nodes\"\n");
    StandInApiServer.Authentication read =
        StandInApiServer.Authentication.fromFiles(Optional.of(bundle), Optional.of(tokens));
    assertThat(read.clientCas())
        .containsExactly(otherCa.caCertificate(), clusterCa.caCertificate());
    assertThat(read.tokens()).containsExactlyInAnyOrder("QWRtaW4=", "S3ViZQ==");
    Path notPem = dir.resolve("not.pem");
    Files.writeString(notPem, "hello\n");
    assertThatThrownBy(
            () -> StandInApiServer.Authentication.fromFiles(Optional.of(notPem), Optional.empty()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theCommandLineServesFilesWithAnonymousAuthOff() throws Exception {
    clusterCa
        .issueServer(List.of("127.0.0.1"))
        .write(dir.resolve("server.crt"), dir.resolve("server.key"));
    clusterCa.writeCa(dir.resolve("ca.crt"));
    Files.writeString(dir.resolve("known_tokens.csv"), "s3cret,admin,admin,\"system:masters\"\n");
    server =
        StandInApiServerMain.start(
            new String[] {
              "--listen",
              "127.0.0.1:0",
              "--name",
              "n1",
              "--cert",
              dir.resolve("server.crt").toString(),
              "--key",
              dir.resolve("server.key").toString(),
              "--client-ca",
              dir.resolve("ca.crt").toString(),
              "--anonymous-auth",
              "false",
              "--client-auth",
              "want",
              "--token-auth-file",
              dir.resolve("known_tokens.csv").toString()
            });
    assertThat(get(anonymous, "/readyz", Optional.empty()).statusCode()).isEqualTo(401);
    assertThat(get(anonymous, "/readyz", Optional.of("s3cret")).statusCode()).isEqualTo(200);
    HttpClient withCertificate =
        HttpsClients.trusting(
            clusterCa.caCertificate(), Optional.of(clusterCa.issueClient("admin")));
    assertThat(get(withCertificate, "/readyz", Optional.empty()).statusCode()).isEqualTo(200);
  }

  @Test
  void theCommandLineRejectsAuthOptionsThatContradictEachOther() {
    String[][] bad = {
      {"--listen", "127.0.0.1:0", "--pki-dir", dir.toString(), "--client-auth", "want"},
      {"--listen", "127.0.0.1:0", "--pki-dir", dir.toString(), "--token-auth-file", "/nonexistent"},
      {
        "--listen",
        "127.0.0.1:0",
        "--pki-dir",
        dir.toString(),
        "--anonymous-auth",
        "false",
        "--require-client-cert"
      },
      {"--listen", "127.0.0.1:0", "--pki-dir", dir.toString(), "--anonymous-auth", "no"},
      {
        "--listen",
        "127.0.0.1:0",
        "--pki-dir",
        dir.toString(),
        "--anonymous-auth",
        "false",
        "--token-auth-file",
        dir.resolve("missing.csv").toString()
      },
      {"--listen", "127.0.0.1:0", "--pki-dir", dir.toString(), "--client-auth", "maybe"},
    };
    for (String[] args : bad) {
      assertThatThrownBy(() -> StandInApiServerMain.start(args))
          .as(String.join(" ", args))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
