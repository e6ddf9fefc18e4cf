package io.apivip.health;

/** What the checks say about a backend. Only {@link #UP} backends get connections. */
public enum HealthState {
  /** No check has finished since start-up. */
  UNKNOWN,
  UP,
  DOWN
}
