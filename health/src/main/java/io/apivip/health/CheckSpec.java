package io.apivip.health;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What one check of a backend does; {@code timeout} bounds all of it (connect, handshake,
 * response). The daemon maps {@code Settings.Health.kind} TCP, TLS and HTTPS onto {@link Tcp},
 * {@link Tls} and {@link Https}.
 */
public sealed interface CheckSpec {

  Duration timeout();

  /** How TLS is set up; empty for {@link Tcp}. */
  Optional<TlsOptions> tlsOptions();

  /** Healthy when a TCP connect succeeds. */
  record Tcp(Duration timeout) implements CheckSpec {
    public Tcp {
      requirePositive(timeout);
    }

    @Override
    public Optional<TlsOptions> tlsOptions() {
      return Optional.empty();
    }
  }

  /**
   * Healthy when the TLS handshake completes. Under TLS 1.3 a server rejects a missing client
   * certificate only after the client's side of the handshake is done, so only {@link Https}
   * notices.
   */
  record Tls(Duration timeout, TlsOptions tls) implements CheckSpec {
    public Tls {
      requirePositive(timeout);
      Objects.requireNonNull(tls);
    }

    @Override
    public Optional<TlsOptions> tlsOptions() {
      return Optional.of(tls);
    }
  }

  /**
   * Healthy when {@code GET path} answers one of {@code statuses}; optional bearer token read from
   * a file.
   */
  record Https(
      Duration timeout,
      TlsOptions tls,
      String path,
      Set<Integer> statuses,
      Optional<Path> bearerTokenFile)
      implements CheckSpec {
    public Https {
      requirePositive(timeout);
      Objects.requireNonNull(tls);
      Objects.requireNonNull(bearerTokenFile);
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("path must start with /: " + path);
      }
      statuses = Set.copyOf(statuses);
      if (statuses.isEmpty()) {
        throw new IllegalArgumentException("statuses must not be empty");
      }
    }

    @Override
    public Optional<TlsOptions> tlsOptions() {
      return Optional.of(tls);
    }

    /** {@code GET /readyz}, healthy on 200, no token: kube-apiserver's readiness. */
    public static Https readyz(Duration timeout, TlsOptions tls) {
      return new Https(timeout, tls, "/readyz", Set.of(200), Optional.empty());
    }
  }

  private static void requirePositive(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive: " + timeout);
    }
  }
}
