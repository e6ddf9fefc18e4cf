package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings;
import io.apivip.lab.Pki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The end of every certificate apivip relies on: warned 30 days ahead, failed once past. */
class ExpiryCheckTest {

  static final Pki CA = Pki.newCa("expiry-ca");
  // Whole seconds, as certificates write their dates.
  static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  @TempDir Path dir;

  static X509Certificate until(Instant notAfter) {
    return CA.issueServer(List.of("192.0.2.11"), NOW.minus(Duration.ofDays(300)), notAfter)
        .certificate();
  }

  @Test
  void judgesByTheDaysLeft() {
    record Case(Instant notAfter, Severity severity, String text) {}
    List<Case> cases =
        List.of(
            new Case(NOW.plus(Duration.ofDays(200)), Severity.OK, "x is valid until "),
            new Case(NOW.plus(Duration.ofDays(31)), Severity.OK, "x is valid until "),
            new Case(NOW.plus(Duration.ofDays(29)), Severity.WARN, "x expires in 29 days ("),
            new Case(NOW.plus(Duration.ofHours(30)), Severity.WARN, "x expires in 1 day ("),
            new Case(NOW.minus(Duration.ofDays(1)), Severity.FAIL, "x expired on "));
    for (Case c : cases) {
      Finding finding = ExpiryCheck.judge("x", until(c.notAfter()), NOW, "do this");
      assertThat(finding.severity()).as(c.notAfter().toString()).isEqualTo(c.severity());
      assertThat(finding.message()).startsWith(c.text());
      if (c.severity() != Severity.OK) {
        assertThat(finding.message()).endsWith(": do this");
      }
    }
    X509Certificate future =
        CA.issueServer(
                List.of("192.0.2.11"), NOW.plus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(9)))
            .certificate();
    assertThat(ExpiryCheck.judge("x", future, NOW, "do this").message())
        .startsWith("x is not valid before ")
        .contains("is this node's clock right (timedatectl)?");
  }

  @Test
  void checksTheHealthCaBundleAndClientCertificateTheConfigurationNames() throws Exception {
    Path ca = dir.resolve("microk8s-ca.crt");
    Path oldCa = dir.resolve("old-ca.crt");
    Pki expiringCa = Pki.newCa("expiring");
    expiringCa.writeCa(oldCa);
    CA.writeCa(ca);
    // A bundle: the current CA and one still trusted during a rotation.
    Files.writeString(ca, Files.readString(ca) + Files.readString(oldCa));
    Path cert = dir.resolve("health.crt");
    Path key = dir.resolve("health.key");
    Pki.Issued expired =
        CA.issueServer(
            List.of("apivip-health"),
            NOW.minus(Duration.ofDays(400)),
            NOW.minus(Duration.ofDays(2)));
    expired.write(cert, key);
    List<Finding> findings = ExpiryCheck.healthFiles(health(ca, cert), NOW);

    assertThat(findings)
        .extracting(Finding::severity)
        .containsExactly(Severity.OK, Severity.OK, Severity.FAIL);
    assertThat(findings.get(0).message())
        .startsWith("health.ca-file = " + ca + " (CN=expiry-ca) is valid");
    assertThat(findings.get(1).message())
        .startsWith("health.ca-file = " + ca + " (CN=expiring) is valid");
    assertThat(findings.get(2).message())
        .startsWith("health.client-cert-file = " + cert + " expired on ")
        .endsWith(": issue a new one with sudo apivip setup microk8s on this node");
  }

  @Test
  void aMissingFileIsLeftToTheChecksThatNameItAndAnUnreadableOneIsSaid() throws Exception {
    Path garbage = Files.writeString(dir.resolve("garbage.crt"), "not a certificate\n");
    assertThat(ExpiryCheck.healthFiles(health(dir.resolve("absent.crt"), garbage), NOW))
        .singleElement()
        .satisfies(
            finding -> {
              assertThat(finding.severity()).isEqualTo(Severity.WARN);
              assertThat(finding.message()).startsWith("health.client-cert-file = " + garbage);
            });
  }

  /** The health settings with this CA and client certificate (the rest does not matter here). */
  static Settings.Health health(Path ca, Path clientCert) {
    return new Settings.Health(
        Settings.CheckKind.HTTPS,
        "/readyz",
        Set.of(200),
        Optional.of(ca),
        true,
        Optional.of(clientCert),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Duration.ofSeconds(1),
        Duration.ofSeconds(1),
        2,
        2);
  }
}
