package io.apivip.health;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The outcome of one check and why: {@code reason} is what an operator reads in the event, e.g.
 * {@code HTTP 200}, {@code HTTP 500: [-]etcd failed: reason withheld}, {@code ConnectException:
 * Connection refused: /192.0.2.11:16443} or {@code timeout after 1s connecting}. {@code
 * certificateExpiry} is the end of validity of the certificate the backend presented, when the
 * check got as far as a TLS handshake.
 */
public record CheckResult(
    Outcome outcome, String reason, Duration duration, Optional<Instant> certificateExpiry) {

  public CheckResult(Outcome outcome, String reason, Duration duration) {
    this(outcome, reason, duration, Optional.empty());
  }

  /** Low-cardinality result kinds, the {@code outcome} tag of the checks counter. */
  public enum Outcome {
    HEALTHY,
    FAILED,
    TIMEOUT;

    public String tag() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public boolean healthy() {
    return outcome == Outcome.HEALTHY;
  }

  static CheckResult healthy(String reason, Duration duration) {
    return new CheckResult(Outcome.HEALTHY, reason, duration);
  }

  static CheckResult failed(String reason, Duration duration) {
    return new CheckResult(Outcome.FAILED, reason, duration);
  }
}
