package io.apivip.health;

import java.time.Duration;

/**
 * The outcome of one check and why: {@code reason} is what an operator reads in the event, e.g.
 * {@code HTTP 200}, {@code HTTP 500: [-]etcd failed: reason withheld},
 * {@code ConnectException: Connection refused: /192.0.2.11:16443} or {@code timeout after 1s connecting}.
 */
public record CheckResult(Outcome outcome, String reason, Duration duration) {

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
