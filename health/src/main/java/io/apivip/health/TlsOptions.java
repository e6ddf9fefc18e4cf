package io.apivip.health;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * How tls and https checks set up TLS. Maps one to one onto {@code Settings.Health}: {@code caFile}
 * (empty: the JDK's default trust store), {@code verify} (false: accept any certificate and name,
 * for debugging only), the client certificate and key in PEM (PKCS#8, or PKCS#1 as MicroK8s writes
 * them), and {@code serverName}, sent as SNI and verified in the certificate instead of the
 * backend's IP.
 */
public record TlsOptions(
    Optional<Path> caFile,
    boolean verify,
    Optional<Path> clientCertFile,
    Optional<Path> clientKeyFile,
    Optional<String> serverName) {

  public TlsOptions {
    Objects.requireNonNull(caFile);
    Objects.requireNonNull(clientCertFile);
    Objects.requireNonNull(clientKeyFile);
    Objects.requireNonNull(serverName);
    if (clientCertFile.isPresent() != clientKeyFile.isPresent()) {
      throw new IllegalArgumentException(
          "a client certificate needs its key, and a key its certificate");
    }
  }

  /** Verify against {@code caFile}, no client certificate, the backend's IP as the name. */
  public static TlsOptions verifiedBy(Path caFile) {
    return new TlsOptions(
        Optional.of(caFile), true, Optional.empty(), Optional.empty(), Optional.empty());
  }

  public TlsOptions withClientCertificate(Path certFile, Path keyFile) {
    return new TlsOptions(caFile, verify, Optional.of(certFile), Optional.of(keyFile), serverName);
  }

  public TlsOptions withServerName(String name) {
    return new TlsOptions(caFile, verify, clientCertFile, clientKeyFile, Optional.of(name));
  }

  public TlsOptions unverified() {
    return new TlsOptions(caFile, false, clientCertFile, clientKeyFile, serverName);
  }
}
