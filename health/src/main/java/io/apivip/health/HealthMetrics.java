package io.apivip.health;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * The health meters of one backend, tagged {@code backend} (its address) and {@code name}. Names
 * are defined here and nowhere else; Prometheus renders them {@code apivip_backend_up}, {@code
 * apivip_health_check_duration_seconds} (a histogram), {@code apivip_health_checks_total} and
 * {@code apivip_health_certificate_expiry_timestamp_seconds}.
 */
final class HealthMetrics {

  static final String BACKEND_UP = "apivip.backend.up";
  static final String CHECK_DURATION = "apivip.health.check.duration";
  static final String CHECKS = "apivip.health.checks";
  static final String CERTIFICATE_EXPIRY = "apivip.health.certificate.expiry.timestamp";

  /**
   * Histogram buckets for a check: a loopback check takes milliseconds, a timeout a second or more.
   */
  private static final Duration[] CHECK_BUCKETS =
      Stream.of(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
          .map(Duration::ofMillis)
          .toArray(Duration[]::new);

  private final MeterRegistry registry;
  private final List<Meter> meters = new ArrayList<>();
  private final Timer duration;

  /** Seconds since the epoch; NaN until a check has completed a TLS handshake. */
  private final AtomicReference<Double> certificateExpiry = new AtomicReference<>(Double.NaN);

  private final Map<CheckResult.Outcome, Counter> results =
      new EnumMap<>(CheckResult.Outcome.class);

  <T> HealthMetrics(MeterRegistry registry, Backend backend, T owner, ToDoubleFunction<T> up) {
    this.registry = registry;
    Tags tags = Tags.of("backend", backend.hostPort(), "name", backend.name());
    meters.add(
        Gauge.builder(BACKEND_UP, owner, up)
            .description("1 while the backend passes its health checks, else 0")
            .tags(tags)
            .strongReference(true)
            .register(registry));
    duration =
        Timer.builder(CHECK_DURATION)
            .description("Time one health check took")
            .tags(tags)
            .serviceLevelObjectives(CHECK_BUCKETS)
            .register(registry);
    meters.add(duration);
    meters.add(
        Gauge.builder(CERTIFICATE_EXPIRY, certificateExpiry, AtomicReference::get)
            .description(
                "When the certificate the backend presented to the last health check that reached"
                    + " TLS expires (its notAfter)")
            .baseUnit("seconds")
            .tags(tags)
            .strongReference(true)
            .register(registry));
    for (CheckResult.Outcome outcome : CheckResult.Outcome.values()) {
      Counter counter =
          Counter.builder(CHECKS)
              .description("Health checks run, by outcome")
              .tags(tags)
              .tag("outcome", outcome.tag())
              .register(registry);
      results.put(outcome, counter);
      meters.add(counter);
    }
  }

  /**
   * Unregisters the backend's meters: it is no longer checked, and a stale "down" would alert on a
   * node that left.
   */
  void remove() {
    meters.forEach(registry::remove);
  }

  void record(CheckResult result) {
    duration.record(result.duration());
    results.get(result.outcome()).increment();
    result
        .certificateExpiry()
        .ifPresent(
            notAfter ->
                certificateExpiry.set(notAfter.getEpochSecond() + notAfter.getNano() / 1e9));
  }
}
