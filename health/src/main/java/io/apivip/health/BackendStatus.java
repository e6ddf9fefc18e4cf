package io.apivip.health;

import java.time.Instant;

/** A backend's state, the result that set it, and since when. */
public record BackendStatus(HealthState state, String reason, Instant since) {}
