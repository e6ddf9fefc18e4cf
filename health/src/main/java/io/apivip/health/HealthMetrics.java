package io.apivip.health;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The health meters of one backend, tagged {@code backend} (its address) and {@code name}. Names are
 * defined here and nowhere else; Prometheus renders them {@code apivip_backend_up},
 * {@code apivip_health_check_duration_seconds} and {@code apivip_health_checks_total}.
 */
final class HealthMetrics {

  static final String BACKEND_UP = "apivip.backend.up";
  static final String CHECK_DURATION = "apivip.health.check.duration";
  static final String CHECKS = "apivip.health.checks";

  private final Timer duration;
  private final Map<CheckResult.Outcome, Counter> results = new EnumMap<>(CheckResult.Outcome.class);

  <T> HealthMetrics(MeterRegistry registry, Backend backend, T owner, ToDoubleFunction<T> up) {
    Tags tags = Tags.of("backend", backend.hostPort(), "name", backend.name());
    Gauge.builder(BACKEND_UP, owner, up)
        .description("1 while the backend passes its health checks, else 0")
        .tags(tags)
        .strongReference(true)
        .register(registry);
    duration = Timer.builder(CHECK_DURATION).description("Time one health check took").tags(tags).register(registry);
    for (CheckResult.Outcome outcome : CheckResult.Outcome.values()) {
      results.put(
          outcome,
          Counter.builder(CHECKS).description("Health checks run, by outcome").tags(tags).tag("outcome", outcome.tag()).register(registry));
    }
  }

  void record(CheckResult result) {
    duration.record(result.duration());
    results.get(result.outcome()).increment();
  }
}
