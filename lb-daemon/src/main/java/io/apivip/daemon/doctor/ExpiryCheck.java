package io.apivip.daemon.doctor;

import io.apivip.daemon.config.Settings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Certificates that end: the cluster CA and the health client certificate the daemon reads, and the
 * certificate each apiserver serves (MicroK8s issues it for 365 days). A warning 30 days ahead, a
 * failure once expired: the health checks then fail on every node at once and the VIP has no
 * apiserver to route to.
 */
final class ExpiryCheck {

  static final String CHECK = "expiry";

  /** How long ahead the end of a certificate is worth a warning. */
  static final Duration SOON = Duration.ofDays(30);

  private ExpiryCheck() {}

  /**
   * {@code health.ca-file} (every certificate of the bundle) and {@code health.client-cert-file}.
   */
  static List<Finding> healthFiles(Settings.Health health, Instant now) {
    List<Finding> findings = new ArrayList<>();
    health
        .caFile()
        .ifPresent(
            file ->
                findings.addAll(
                    file(
                        "health.ca-file",
                        file,
                        now,
                        "renew MicroK8s's CA (sudo microk8s refresh-certs --cert ca.crt; every node"
                            + " must leave and join again), then run "
                            + MicroK8sFixes.SETUP
                            + " on every node to copy it")));
    health
        .clientCertFile()
        .ifPresent(
            file ->
                findings.addAll(
                    file(
                        "health.client-cert-file",
                        file,
                        now,
                        "issue a new one with " + MicroK8sFixes.SETUP + " on this node")));
    return findings;
  }

  private static List<Finding> file(String key, Path file, Instant now, String fix) {
    List<X509Certificate> certificates;
    try (InputStream in = Files.newInputStream(file)) {
      certificates =
          CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
              .map(X509Certificate.class::cast)
              .toList();
    } catch (NoSuchFileException e) {
      return List.of(); // the config and access checks name a missing file
    } catch (IOException | GeneralSecurityException e) {
      return List.of(
          Finding.warn(
              CHECK,
              key + " = " + file + " cannot be read as PEM certificates (" + e.getMessage() + ")"));
    }
    if (certificates.isEmpty()) {
      return List.of(Finding.warn(CHECK, key + " = " + file + " holds no certificate"));
    }
    List<Finding> findings = new ArrayList<>();
    for (X509Certificate certificate : certificates) {
      String what =
          key
              + " = "
              + file
              + (certificates.size() > 1
                  ? " (" + certificate.getSubjectX500Principal().getName() + ")"
                  : "");
      findings.add(judge(what, certificate, now, fix));
    }
    return findings;
  }

  /**
   * The finding for one certificate: FAIL when {@code now} is outside its validity, WARN when it
   * ends within {@link #SOON}, else OK with its end.
   */
  static Finding judge(String what, X509Certificate certificate, Instant now, String fix) {
    Instant notBefore = certificate.getNotBefore().toInstant();
    Instant notAfter = certificate.getNotAfter().toInstant();
    if (now.isBefore(notBefore)) {
      return Finding.fail(
          CHECK,
          what
              + " is not valid before "
              + notBefore
              + ": is this node's clock right (timedatectl)? if it is, "
              + fix);
    }
    if (!now.isBefore(notAfter)) {
      return Finding.fail(
          CHECK, what + " expired on " + notAfter + ", so TLS peers reject it: " + fix);
    }
    long days = ChronoUnit.DAYS.between(now, notAfter);
    if (Duration.between(now, notAfter).compareTo(SOON) < 0) {
      return Finding.warn(
          CHECK,
          what
              + " expires in "
              + days
              + (days == 1 ? " day" : " days")
              + " ("
              + notAfter
              + "): "
              + fix);
    }
    return Finding.ok(CHECK, what + " is valid until " + notAfter + " (" + days + " days)");
  }
}
