package io.apivip.daemon.cluster;

/**
 * Time as the cluster sees it: a monotonic clock for every timeout and lease, and the wall clock
 * only for the heartbeat timestamp (replay window) and the skew shown by {@code apivip doctor}. The
 * simulation hands in a fake one.
 */
public interface Clock {

  /** Monotonic nanoseconds from an arbitrary origin; never goes back. */
  long nanoTime();

  /** Wall-clock milliseconds since the epoch; may jump. */
  long wallMillis();

  static Clock system() {
    return new Clock() {
      @Override
      public long nanoTime() {
        return System.nanoTime();
      }

      @Override
      public long wallMillis() {
        return System.currentTimeMillis();
      }
    };
  }
}
