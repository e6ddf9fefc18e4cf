package io.apivip.lab.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.lab.Pki;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the stand-in as its own process, as the end-to-end lab does. */
class StandInApiServerMainTest {

  @TempDir Path dir;

  @Test
  void printsWhereItListensObeysCommandsAndExitsWhenStdinCloses() throws Exception {
    Process process =
        startMain(
            ProcessBuilder.Redirect.PIPE,
            "--listen",
            "127.0.0.1:0",
            "--name",
            "p1",
            "--pki-dir",
            dir.toString());
    try {
      BufferedReader out =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      Writer in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      int port = listeningPort(out);
      assertThat(port).isPositive();

      HttpClient client = HttpsClients.trusting(caOf(dir), Optional.empty());
      URI readyz = URI.create("https://127.0.0.1:" + port + "/readyz");
      HttpResponse<String> healthy =
          client.send(HttpRequest.newBuilder(readyz).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(healthy.statusCode()).isEqualTo(200);
      assertThat(healthy.headers().firstValue(StandInApiServer.BACKEND_HEADER)).contains("p1");

      in.write("fail-readyz\n");
      in.flush();
      assertThat(out.readLine()).isEqualTo("ok fail-readyz");
      assertThat(
              client
                  .send(
                      HttpRequest.newBuilder(readyz).build(), HttpResponse.BodyHandlers.ofString())
                  .statusCode())
          .isEqualTo(500);

      in.write("slow 20\nnonsense\n");
      in.flush();
      assertThat(out.readLine()).isEqualTo("ok slow 20");
      assertThat(out.readLine()).startsWith("error unknown command: nonsense");

      in.close();
      assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
      assertThat(process.exitValue()).isZero();
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void servesGivenCertificateFilesAndRequiresTheClientCa() throws Exception {
    Pki pki = Pki.newCa("main-test-ca");
    pki.issueServer(List.of("127.0.0.1")).write(dir.resolve("s.crt"), dir.resolve("s.key"));
    pki.writeCa(dir.resolve("ca.crt"));
    try (StandInApiServer server =
        StandInApiServerMain.start(
            new String[] {
              "--listen",
              "127.0.0.1:0",
              "--name",
              "files",
              "--cert",
              dir.resolve("s.crt").toString(),
              "--key",
              dir.resolve("s.key").toString(),
              "--client-ca",
              dir.resolve("ca.crt").toString()
            })) {
      HttpClient client =
          HttpsClients.trusting(pki.caCertificate(), Optional.of(pki.issueClient("apivip")));
      URI readyz = URI.create("https://127.0.0.1:" + server.address().getPort() + "/readyz");
      assertThat(
              client
                  .send(
                      HttpRequest.newBuilder(readyz).build(), HttpResponse.BodyHandlers.ofString())
                  .statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void parsesListenAddresses() {
    assertThat(StandInApiServerMain.parseHostPort("192.0.2.11:16443"))
        .isEqualTo(new InetSocketAddress("192.0.2.11", 16443));
    assertThat(
            StandInApiServerMain.hostPort(
                StandInApiServerMain.parseHostPort("[2001:db8::11]:16443")))
        .isEqualTo("[2001:db8:0:0:0:0:0:11]:16443");
    for (String bad : List.of("16443", "host:1", "1.2.3.4:", "1.2.3.4:x", "1.2.3.4:70000")) {
      assertThatThrownBy(() -> StandInApiServerMain.parseHostPort(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void asAServiceItIgnoresStdinAndRunsUntilSignalled() throws Exception {
    Process process =
        startMain(
            ProcessBuilder.Redirect.from(new java.io.File("/dev/null")),
            "--listen",
            "127.0.0.1:0",
            "--name",
            "svc",
            "--pki-dir",
            dir.toString(),
            "--anonymous-auth",
            "false",
            "--no-stdin");
    try {
      BufferedReader out =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      int port = listeningPort(out);
      // Without --no-stdin, an empty stdin would have ended it by now.
      assertThat(process.waitFor(1500, TimeUnit.MILLISECONDS)).isFalse();
      HttpClient client = HttpsClients.trusting(caOf(dir), Optional.empty());
      URI readyz = URI.create("https://127.0.0.1:" + port + "/readyz");
      assertThat(
              client
                  .send(
                      HttpRequest.newBuilder(readyz).build(), HttpResponse.BodyHandlers.ofString())
                  .statusCode())
          .isEqualTo(401);
      process.destroy(); // SIGTERM, as systemctl stop sends
      assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    } finally {
      process.destroyForcibly();
    }
  }

  /** The stand-in as a process of its own, as the labs start it: {@code args} after the class. */
  private static Process startMain(ProcessBuilder.Redirect stdin, String... args)
      throws java.io.IOException {
    List<String> command =
        new java.util.ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                StandInApiServerMain.class.getName()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command)
        .redirectInput(stdin)
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }

  /** The port of the "listening ADDR:PORT" line the stand-in prints first. */
  private static int listeningPort(BufferedReader out) throws java.io.IOException {
    String listening = out.readLine();
    assertThat(listening).matches("listening 127\\.0\\.0\\.1:\\d+");
    return Integer.parseInt(listening.substring(listening.lastIndexOf(':') + 1));
  }

  private static X509Certificate caOf(Path pkiDir) throws Exception {
    try (var pem = Files.newInputStream(pkiDir.resolve("ca.crt"))) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(pem);
    }
  }
}
