package io.apivip.daemon.vip;

import java.time.Duration;

/**
 * How long to wait before retrying a failed kernel operation: doubling from {@code initial} up to
 * {@code max}.
 */
record Backoff(Duration initial, Duration max) {

  /**
   * The default for VIP operations: quick first retries (a lost race with an interface coming up),
   * then calm.
   */
  static final Backoff VIP = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10));

  /** The wait after the {@code failures}-th failure in a row (1 for the first). */
  Duration delay(int failures) {
    if (failures < 1) {
      throw new IllegalArgumentException("failures counts from 1, got " + failures);
    }
    int doublings = Math.min(failures - 1, 30);
    Duration delay = initial.multipliedBy(1L << doublings);
    return delay.compareTo(max) > 0 ? max : delay;
  }
}
