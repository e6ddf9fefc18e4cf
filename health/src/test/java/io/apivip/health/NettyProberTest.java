package io.apivip.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apivip.lab.Pki;
import io.apivip.lab.apiserver.Mode;
import io.apivip.lab.apiserver.StandInApiServer;
import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every check kind against the stand-in kube-apiserver in every mode, every TLS failure, and a body
 * ended by TLS close_notify (CloseNotifyServer, OpenSSL s_server -WWW).
 */
class NettyProberTest {

  // Generous: the first TLS handshake of a fresh JVM on a busy machine can take most of a second.
  static final Duration TIMEOUT = Duration.ofSeconds(2);

  @TempDir static Path dir;
  static Lab lab;
  static EventLoopGroup group;
  StandInApiServer server;

  @BeforeAll
  static void setUp() throws IOException {
    lab = new Lab(dir);
    group = Lab.newGroup(2);
  }

  @AfterAll
  static void tearDown() {
    Lab.shutdown(group);
  }

  @AfterEach
  void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  CheckResult probe(CheckSpec spec) throws Exception {
    return Lab.prober(group, spec)
        .probe(Lab.backend(server))
        .get(TIMEOUT.toMillis() + 5000, TimeUnit.MILLISECONDS);
  }

  CheckResult probeIn(Mode mode, CheckSpec spec) throws Exception {
    if (server == null) {
      server = lab.server("b1");
    }
    server.mode(mode);
    return probe(spec);
  }

  // --- tcp

  @Test
  void tcpIsHealthyWhenTheConnectSucceeds() throws Exception {
    CheckResult result = probeIn(Mode.HEALTHY, new CheckSpec.Tcp(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.HEALTHY);
    assertThat(result.reason()).isEqualTo("connected");
  }

  @Test
  void tcpFailsOnARefusedConnect() throws Exception {
    CheckResult result = probeIn(Mode.REFUSE, new CheckSpec.Tcp(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
    assertThat(result.reason()).startsWith("ConnectException: Connection refused");
  }

  @Test
  void tcpCannotTellAHangingServerFromAHealthyOne() throws Exception {
    // The kernel accepts; only tls and https checks see that nothing answers.
    assertThat(probeIn(Mode.HANG, new CheckSpec.Tcp(TIMEOUT)).healthy()).isTrue();
  }

  // --- tls

  @Test
  void tlsIsHealthyWhenTheHandshakeCompletes() throws Exception {
    CheckResult result = probeIn(Mode.HEALTHY, new CheckSpec.Tls(TIMEOUT, lab.tls()));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.HEALTHY);
    assertThat(result.reason()).startsWith("TLS handshake completed (TLSv1.");
  }

  @Test
  void tlsTimesOutOnAHangingServer() throws Exception {
    CheckResult result = probeIn(Mode.HANG, new CheckSpec.Tls(TIMEOUT, lab.tls()));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.TIMEOUT);
    assertThat(result.reason()).isEqualTo("timeout after 2s in TLS handshake");
    assertThat(result.duration()).isGreaterThanOrEqualTo(TIMEOUT);
  }

  @Test
  void tlsFailsOnARefusedConnect() throws Exception {
    assertThat(probeIn(Mode.REFUSE, new CheckSpec.Tls(TIMEOUT, lab.tls())).reason())
        .startsWith("ConnectException: Connection refused");
  }

  // --- https

  @Test
  void httpsIsHealthyOnReadyz200() throws Exception {
    CheckResult result = probeIn(Mode.HEALTHY, lab.readyz(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.HEALTHY);
    assertThat(result.reason()).isEqualTo("HTTP 200");
  }

  @Test
  void httpsFailsOnReadyz500AndSaysWhichCheckFailed() throws Exception {
    CheckResult result = probeIn(Mode.FAIL_READYZ, lab.readyz(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
    assertThat(result.reason()).isEqualTo("HTTP 500: [-]etcd failed: reason withheld");
  }

  @Test
  void httpsChecksTheConfiguredPathAndStatuses() throws Exception {
    CheckSpec livez =
        new CheckSpec.Https(TIMEOUT, lab.tls(), "/livez", Set.of(200), Optional.empty());
    assertThat(probeIn(Mode.FAIL_READYZ, livez).healthy()).isTrue();
    CheckSpec acceptsFailure =
        new CheckSpec.Https(TIMEOUT, lab.tls(), "/readyz", Set.of(200, 500), Optional.empty());
    assertThat(probe(acceptsFailure).healthy()).isTrue();
  }

  @Test
  void httpsTimesOutOnAHangingServer() throws Exception {
    CheckResult result = probeIn(Mode.HANG, lab.readyz(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.TIMEOUT);
    assertThat(result.reason()).isEqualTo("timeout after 2s in TLS handshake");
  }

  @Test
  void httpsTimesOutOnAResponseSlowerThanTheTimeout() throws Exception {
    CheckResult result = probeIn(Mode.slow(TIMEOUT.toMillis() * 3), lab.readyz(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.TIMEOUT);
    assertThat(result.reason()).isEqualTo("timeout after 2s waiting for the HTTP response");
  }

  @Test
  void httpsIsHealthyOnAResponseWithinTheTimeout() throws Exception {
    CheckResult result = probeIn(Mode.slow(50), lab.readyz(TIMEOUT));
    assertThat(result.healthy()).isTrue();
    assertThat(result.duration()).isGreaterThanOrEqualTo(Duration.ofMillis(50));
  }

  @Test
  void httpsFailsOnARefusedConnect() throws Exception {
    CheckResult result = probeIn(Mode.REFUSE, lab.readyz(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
    assertThat(result.reason()).startsWith("ConnectException: Connection refused");
  }

  @Test
  void httpsSendsTheBearerTokenReadFromItsFile() throws Exception {
    server = lab.server("b1");
    server.requireBearerToken(Optional.of("t0ken"));
    assertThat(probe(lab.readyz(TIMEOUT)).reason())
        .isEqualTo(
            "HTTP 401:"
                + " {\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                + "\"status\":\"Failure\",\"message\":\"Unauthorized\","
                + "\"reason\":\"Unauthorized\",\"code\":401}");
    Path token = dir.resolve("token");
    Files.writeString(token, "t0ken\n");
    CheckSpec withToken =
        new CheckSpec.Https(TIMEOUT, lab.tls(), "/readyz", Set.of(200), Optional.of(token));
    assertThat(probe(withToken).reason()).isEqualTo("HTTP 200");
  }

  // --- TLS errors, each with a reason an operator can act on

  @Test
  void failsAgainstACertificateFromAnotherCa() throws Exception {
    server =
        lab.server(
            "b1", Pki.newCa("someone-else").issueServer(List.of("127.0.0.1")), Optional.empty());
    CheckResult result = probe(lab.readyz(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
    assertThat(result.reason())
        .startsWith("SSLHandshakeException: PKIX path building failed")
        .contains("unable to find valid certification path");
  }

  @Test
  void tellsWhenThePresentedCertificateExpires() throws Exception {
    Instant notAfter =
        Instant.now().plus(Duration.ofDays(20)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    server =
        lab.server(
            "b1",
            lab.pki.issueServer(
                List.of("127.0.0.1"), Instant.now().minus(Duration.ofHours(1)), notAfter),
            Optional.empty());
    assertThat(probe(lab.readyz(TIMEOUT)).certificateExpiry())
        .as("after an HTTPS check")
        .contains(notAfter);
    assertThat(probe(new CheckSpec.Tls(TIMEOUT, lab.tls())).certificateExpiry())
        .as("after a TLS check")
        .contains(notAfter);
    assertThat(probe(new CheckSpec.Tcp(TIMEOUT)).certificateExpiry())
        .as("a TCP check sees no certificate")
        .isEmpty();
  }

  @Test
  void failsAgainstAnExpiredCertificate() throws Exception {
    Instant now = Instant.now();
    server =
        lab.server(
            "b1",
            lab.pki.issueServer(
                List.of("127.0.0.1"),
                now.minus(Duration.ofDays(30)),
                now.minus(Duration.ofDays(1))),
            Optional.empty());
    CheckResult result = probe(lab.readyz(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
    assertThat(result.reason())
        .startsWith("SSLHandshakeException: PKIX path validation failed")
        .contains("validity check failed");
  }

  @Test
  void failsAgainstACertificateForAnotherHost() throws Exception {
    server =
        lab.server(
            "b1", lab.pki.issueServer(List.of("192.0.2.99", "other.example")), Optional.empty());
    CheckResult result = probe(lab.readyz(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
    assertThat(result.reason())
        .isEqualTo(
            "SSLHandshakeException: No subject alternative names matching IP address 127.0.0.1"
                + " found");
  }

  @Test
  void verifiesTheServerNameWhenOneIsSet() throws Exception {
    server =
        lab.server("b1", lab.pki.issueServer(List.of("kubernetes.default.svc")), Optional.empty());
    assertThat(probe(lab.readyz(TIMEOUT)).healthy()).isFalse();
    CheckSpec named =
        CheckSpec.Https.readyz(TIMEOUT, lab.tls().withServerName("kubernetes.default.svc"));
    assertThat(probe(named).reason()).isEqualTo("HTTP 200");
    CheckSpec misnamed =
        CheckSpec.Https.readyz(TIMEOUT, lab.tls().withServerName("kubernetes.example"));
    assertThat(probe(misnamed).reason())
        .startsWith(
            "SSLHandshakeException: No subject alternative DNS name matching kubernetes.example"
                + " found");
  }

  @Test
  void acceptsAnyCertificateOnlyWhenVerificationIsOff() throws Exception {
    server =
        lab.server(
            "b1", Pki.newCa("someone-else").issueServer(List.of("192.0.2.99")), Optional.empty());
    assertThat(probe(lab.readyz(TIMEOUT)).healthy()).isFalse();
    assertThat(probe(CheckSpec.Https.readyz(TIMEOUT, lab.tls().unverified())).reason())
        .isEqualTo("HTTP 200");
  }

  @Test
  void failsWithoutTheClientCertificateTheServerRequires() throws Exception {
    server = lab.server("b1", lab.serverCertificate, Optional.of(lab.pki.caCertificate()));
    CheckResult result = probe(lab.readyz(TIMEOUT));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
    assertThat(result.reason())
        .matches(
            "SSLHandshakeException: Received fatal alert: (certificate_required|bad_certificate)");
    CheckSpec withCertificate =
        CheckSpec.Https.readyz(
            TIMEOUT, lab.tls().withClientCertificate(lab.clientCert, lab.clientKey));
    assertThat(probe(withCertificate).reason()).isEqualTo("HTTP 200");
  }

  @Test
  void readsATraditionalOpensslKeyAsMicroK8sWritesIt() throws Exception {
    server = lab.server("b1", lab.serverCertificate, Optional.of(lab.pki.caCertificate()));
    Pki.Issued client = lab.pki.issueClient("apivip-health");
    Path cert = dir.resolve("traditional.crt");
    Path key = dir.resolve("traditional.key");
    client.write(cert, key);
    // What "openssl ec" writes: the SEC1 structure with its curve, not PKCS#8.
    PrivateKeyInfo info = PrivateKeyInfo.getInstance(client.key().getEncoded());
    ECPrivateKey sec1 = ECPrivateKey.getInstance(info.parsePrivateKey());
    ECPrivateKey withCurve =
        new ECPrivateKey(
            256, sec1.getKey(), sec1.getPublicKey(), info.getPrivateKeyAlgorithm().getParameters());
    StringWriter pem = new StringWriter();
    try (PemWriter writer = new PemWriter(pem)) {
      writer.writeObject(new PemObject("EC PRIVATE KEY", withCurve.getEncoded()));
    }
    Files.writeString(key, pem.toString());
    assertThat(pem.toString()).startsWith("-----BEGIN EC PRIVATE KEY-----");
    CheckSpec spec = CheckSpec.Https.readyz(TIMEOUT, lab.tls().withClientCertificate(cert, key));
    assertThat(probe(spec).reason()).isEqualTo("HTTP 200");
  }

  @Test
  void failsClearlyWhenTheCaFileIsMissing() throws Exception {
    server = lab.server("b1");
    CheckResult result =
        probe(CheckSpec.Https.readyz(TIMEOUT, TlsOptions.verifiedBy(dir.resolve("missing.crt"))));
    assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
    assertThat(result.reason())
        .startsWith("cannot read " + dir.resolve("missing.crt") + ": NoSuchFileException");
  }

  @Test
  void readsTheCaAgainWhenItsFileChanges() throws Exception {
    server = lab.server("b1");
    Path ca = dir.resolve("rotating-ca.crt");
    lab.pki.writeCa(ca);
    NettyProber prober =
        Lab.prober(group, CheckSpec.Https.readyz(TIMEOUT, TlsOptions.verifiedBy(ca)));
    assertThat(prober.probe(Lab.backend(server)).get(5, TimeUnit.SECONDS).healthy()).isTrue();
    Pki.newCa("replaced").writeCa(ca);
    Files.setLastModifiedTime(ca, FileTime.from(Instant.now().plusSeconds(5)));
    assertThat(prober.probe(Lab.backend(server)).get(5, TimeUnit.SECONDS).reason())
        .startsWith("SSLHandshakeException: PKIX path building failed");
  }

  // --- a body ended by TLS close_notify while TCP stays open, as curl and Go clients take it

  CheckResult probeAt(InetSocketAddress address) throws Exception {
    return Lab.prober(group, lab.readyz(TIMEOUT))
        .probe(new Backend("close-notify", address))
        .get(TIMEOUT.toMillis() + 5000, TimeUnit.MILLISECONDS);
  }

  @Test
  void aBodyEndedByCloseNotifyEndsTheCheck() throws Exception {
    try (CloseNotifyServer closeNotify = new CloseNotifyServer(lab, "200 OK", "ok")) {
      CheckResult result = probeAt(closeNotify.address());
      assertThat(result.reason()).isEqualTo("HTTP 200");
      assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.HEALTHY);
    }
  }

  @Test
  void aFailureBodyEndedByCloseNotifyIsReadWhole() throws Exception {
    try (CloseNotifyServer closeNotify =
        new CloseNotifyServer(lab, "500 Internal Server Error", "[-]etcd failed")) {
      CheckResult result = probeAt(closeNotify.address());
      assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
      assertThat(result.reason()).isEqualTo("HTTP 500: [-]etcd failed");
    }
  }

  @Test
  void closeNotifyBeforeAnyResponseFailsTheCheckAtOnce() throws Exception {
    try (CloseNotifyServer closeNotify = new CloseNotifyServer(lab, null, null)) {
      CheckResult result = probeAt(closeNotify.address());
      assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
      assertThat(result.reason()).isEqualTo("connection closed waiting for the HTTP response");
    }
  }

  @Test
  void isHealthyAgainstOpensslServerWww() throws Exception {
    assumeTrue(onPath("openssl"), "openssl is not installed");
    Path root = Files.createDirectories(dir.resolve("www"));
    Files.writeString(root.resolve("readyz"), "ok\n");
    Path cert = dir.resolve("openssl-server.crt");
    Path key = dir.resolve("openssl-server.key");
    lab.serverCertificate.write(cert, key);
    Process openssl =
        new ProcessBuilder(
                "openssl",
                "s_server",
                "-WWW",
                "-accept",
                "127.0.0.1:0",
                "-cert",
                cert.toString(),
                "-key",
                key.toString())
            .directory(root.toFile())
            .redirectErrorStream(true)
            .start();
    try {
      CheckResult result = probeAt(new InetSocketAddress("127.0.0.1", acceptedPort(openssl)));
      assertThat(result.reason()).isEqualTo("HTTP 200");
      assertThat(result.healthy()).isTrue();
    } finally {
      openssl.destroyForcibly();
      openssl.waitFor(5, TimeUnit.SECONDS);
    }
  }

  /** The port from s_server's "ACCEPT 127.0.0.1:PORT" line, printed once it listens. */
  private static int acceptedPort(Process server) throws IOException {
    Pattern accept = Pattern.compile("^ACCEPT 127\\.0\\.0\\.1:(\\d+)$");
    BufferedReader out =
        new BufferedReader(
            new InputStreamReader(server.getInputStream(), StandardCharsets.US_ASCII));
    StringBuilder seen = new StringBuilder();
    // Bounded by the process: s_server prints a few lines before ACCEPT, or exits.
    for (int lines = 0; lines < 50; lines++) {
      String line = out.readLine();
      if (line == null) {
        break;
      }
      Matcher matcher = accept.matcher(line.trim());
      if (matcher.matches()) {
        return Integer.parseInt(matcher.group(1));
      }
      seen.append(line).append('\n');
    }
    throw new IOException("openssl s_server did not say where it listens:\n" + seen);
  }

  private static boolean onPath(String program) {
    for (String entry : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!entry.isEmpty() && Files.isExecutable(Path.of(entry, program))) {
        return true;
      }
    }
    return false;
  }
}
