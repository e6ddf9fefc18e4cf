package io.apivip.health;

import java.time.Instant;

/**
 * A backend changed state. {@code reason} is the result that caused it: {@code HTTP 200}, {@code
 * HTTP 500: [-]etcd failed: reason withheld}, {@code ConnectException: Connection refused: ...},
 * {@code timeout after 1s waiting for the HTTP response}, or {@code passive: ...} when the proxy
 * reported it.
 */
public record HealthEvent(
    Backend backend, HealthState from, HealthState to, String reason, Instant at) {}
