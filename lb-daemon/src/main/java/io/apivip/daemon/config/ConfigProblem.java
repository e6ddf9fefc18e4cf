package io.apivip.daemon.config;

/**
 * One thing wrong with the configuration: the key, the value seen and what was expected. Printed as
 * {@code heartbeat.failure-timeout = 150ms: must be at least 3 x heartbeat.interval (100ms)}.
 */
public record ConfigProblem(String key, String value, String expected) {

  @Override
  public String toString() {
    return value == null ? key + ": " + expected : key + " = " + value + ": " + expected;
  }
}
