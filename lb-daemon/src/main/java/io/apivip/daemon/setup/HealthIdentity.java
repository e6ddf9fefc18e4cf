package io.apivip.daemon.setup;

import io.apivip.daemon.config.SettingsLoader;
import io.apivip.health.Pem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * apivip's own client certificate for the health check, signed by the cluster CA, with a key of its
 * own: a stock MicroK8s apiserver answers {@code /readyz} only to a client it can name, and the
 * check should not borrow the apiserver's serving key to be one.
 *
 * <p>Its name is {@code CN=apivip-health} in no group ({@code O} none), so under RBAC it may read
 * only what every authenticated user may ({@code system:public-info-viewer}: {@code /readyz},
 * {@code /livez}, {@code /healthz}, {@code /version}; {@code system:discovery}). Like MicroK8s's
 * own client certificates ({@code sign_certificate} in utils.sh) it is valid for ten years: every
 * node issues its own on the day of setup, and an expired one would fail every check at once.
 * Issued with the {@code openssl} command, as MicroK8s issues its certificates.
 */
final class HealthIdentity {

  static final String COMMON_NAME = "apivip-health";
  static final int VALIDITY_DAYS = 3650;
  static final Duration RENEW_BEFORE = Duration.ofDays(30);
  private static final Duration OPENSSL_TIMEOUT = Duration.ofSeconds(60);

  /** The extensions of a TLS client certificate that is no CA. */
  private static final String EXTENSIONS =
      """
      basicConstraints = critical, CA:FALSE
      keyUsage = critical, digitalSignature, keyEncipherment
      extendedKeyUsage = clientAuth
      """;

  private HealthIdentity() {}

  /**
   * Why the pair at {@code certificate} and {@code key} must be issued again (missing, unreadable,
   * expiring within 30 days of {@code now}, not signed by {@code ca}, not a pair), or empty when it
   * serves.
   */
  static Optional<String> whyIssue(Path certificate, Path key, X509Certificate ca, Instant now) {
    if (!Files.exists(certificate)) {
      return Optional.of(certificate + " is missing");
    }
    if (!Files.exists(key)) {
      return Optional.of(key + " is missing");
    }
    X509Certificate issued;
    PrivateKey privateKey;
    try {
      issued = Pem.certificates(certificate)[0];
      privateKey = Pem.privateKey(key);
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      return Optional.of("the pair cannot be read: " + e.getMessage());
    }
    try {
      issued.verify(ca.getPublicKey());
    } catch (GeneralSecurityException e) {
      return Optional.of(
          certificate + " is not signed by the cluster CA (a new CA since it was issued?)");
    }
    Instant expiry = issued.getNotAfter().toInstant();
    if (expiry.isBefore(now.plus(RENEW_BEFORE))) {
      return Optional.of(certificate + " expires on " + day(expiry) + ", within 30 days");
    }
    if (!pairs(privateKey, issued)) {
      return Optional.of(key + " is not the key of " + certificate);
    }
    return Optional.empty();
  }

  /** The certificate's expiry and subject, for the plan's "ok" line. */
  static String describe(Path certificate) {
    try {
      X509Certificate issued = Pem.certificates(certificate)[0];
      return issued.getSubjectX500Principal().getName()
          + ", valid until "
          + day(issued.getNotAfter().toInstant());
    } catch (IOException | GeneralSecurityException e) {
      return "unreadable: " + e.getMessage();
    }
  }

  /**
   * Issues a new key and certificate with openssl: the key (2048-bit RSA, as MicroK8s's own) goes
   * to {@code key} with {@code keyAccess} from its first byte, the certificate to {@code
   * certificate}; the certificate is checked against the CA before either replaces the old pair.
   */
  static void issue(
      Commands commands,
      Path caCertificate,
      Path caKey,
      Path certificate,
      FileAccess certificateAccess,
      Path key,
      FileAccess keyAccess)
      throws IOException {
    Path directory = key.toAbsolutePath().getParent();
    Path newKey =
        Files.createTempFile(
            directory,
            ".health.key.",
            ".tmp",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Path extensions = Files.createTempFile(directory, ".health.ext.", ".tmp");
    try {
      byte[] keyPem =
          openssl(
              commands,
              List.of("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"),
              new byte[0]);
      Files.write(newKey, keyPem);
      byte[] request =
          openssl(
              commands,
              List.of("req", "-new", "-key", newKey.toString(), "-subj", "/CN=" + COMMON_NAME),
              new byte[0]);
      Files.writeString(extensions, EXTENSIONS, StandardCharsets.US_ASCII);
      byte[] certificatePem =
          openssl(
              commands,
              List.of(
                  "x509",
                  "-req",
                  "-sha256",
                  "-CA",
                  caCertificate.toString(),
                  "-CAkey",
                  caKey.toString(),
                  // A random serial, so nothing is written beside the CA (-CAcreateserial would
                  // leave a ca.srl in MicroK8s's certs/).
                  "-set_serial",
                  "0x" + randomSerial(),
                  "-days",
                  String.valueOf(VALIDITY_DAYS),
                  "-extfile",
                  extensions.toString()),
              request);
      checkIssued(certificatePem, newKey, caCertificate);
      keyAccess.apply(newKey);
      // The certificate first: a crash between the two leaves a pair that does not match, which
      // the next run sees and issues again.
      certificateAccess.write(certificate, certificatePem);
      FileAccess.moveIntoPlace(newKey, key);
    } finally {
      Files.deleteIfExists(newKey);
      Files.deleteIfExists(extensions);
    }
  }

  private static void checkIssued(byte[] certificatePem, Path key, Path caCertificate)
      throws IOException {
    Path written = Files.createTempFile(key.getParent(), ".health.crt.", ".tmp");
    try {
      Files.write(written, certificatePem);
      X509Certificate ca = Pem.certificates(caCertificate)[0];
      X509Certificate issued = Pem.certificates(written)[0];
      issued.verify(ca.getPublicKey());
      if (!pairs(Pem.privateKey(key), issued)) {
        throw new IOException("openssl issued a certificate for another key");
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("the certificate openssl issued does not check out: " + e, e);
    } finally {
      Files.deleteIfExists(written);
    }
  }

  private static byte[] openssl(Commands commands, List<String> arguments, byte[] stdin)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add("openssl");
    command.addAll(arguments);
    Commands.Result result = commands.run(command, stdin, OPENSSL_TIMEOUT);
    if (result.exitCode() != 0 || result.stdout().length == 0) {
      throw new IOException(
          "openssl "
              + arguments.get(0)
              + " failed (exit "
              + result.exitCode()
              + "): "
              + result.stderr());
    }
    return result.stdout();
  }

  /** Whether {@code key} is the private key of {@code certificate}. */
  static boolean pairs(PrivateKey key, X509Certificate certificate) {
    try {
      return SettingsLoader.signsFor(key, certificate);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static String randomSerial() {
    byte[] serial = new byte[16];
    new SecureRandom().nextBytes(serial);
    // Positive, as RFC 5280 wants, and of full length.
    serial[0] = (byte) ((serial[0] & 0x3f) | 0x40);
    return HexFormat.of().formatHex(serial);
  }

  static String day(Instant instant) {
    return LocalDate.ofInstant(instant, ZoneOffset.UTC).toString();
  }
}
