package io.apivip.health;

import java.time.Duration;

/**
 * When each backend is checked and how results turn into state: every {@code interval}, spread by
 * up to {@code jitter} (a fraction of the interval, either way) so checks of many backends and
 * nodes do not fire in lock-step; {@code rise} good results in a row bring a backend up, {@code
 * fall} bad ones take it down. Maps onto {@code Settings.Health} interval, rise and fall.
 */
public record Schedule(Duration interval, double jitter, int rise, int fall) {

  public static final double DEFAULT_JITTER = 0.1;

  public Schedule {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval must be positive: " + interval);
    }
    if (jitter < 0 || jitter > 0.5) {
      throw new IllegalArgumentException("jitter must be between 0 and 0.5: " + jitter);
    }
    if (rise < 1 || fall < 1) {
      throw new IllegalArgumentException("rise and fall must be at least 1: " + rise + ", " + fall);
    }
  }

  public Schedule(Duration interval, int rise, int fall) {
    this(interval, DEFAULT_JITTER, rise, fall);
  }
}
