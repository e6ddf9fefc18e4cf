package io.apivip.daemon.vip;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The VIP's meters, each name defined here once. Every tag combination is registered up front, so
 * it reads 0 rather than missing.
 */
final class VipMetrics {

  static final String ADDRESS_OPERATIONS = "apivip.vip.address.operations";
  static final String ANNOUNCEMENTS_SENT = "apivip.vip.announcements.sent";
  static final String ANNOUNCEMENT_FAILURES = "apivip.vip.announcement.failures";
  static final String DISRUPTIONS = "apivip.vip.disruptions";
  static final String DECISION_TO_PRESENT = "apivip.vip.decision.to.present";
  static final String DECISION_TO_ANNOUNCED = "apivip.vip.decision.to.announced";
  static final String HELD = "apivip.vip.held";
  static final String ELIGIBLE = "apivip.vip.eligible";
  static final String FOREIGN_CLAIMS = "apivip.vip.foreign.claims";
  static final String FOREIGN_CLAIM_LAST_SEEN = "apivip.vip.foreign.claim.last.seen.timestamp";
  static final String CLAIM_PROBES = "apivip.vip.claim.probes";

  static final String ADD = "add";
  static final String REMOVE = "remove";
  static final String CHANGED = "changed";
  static final String UNCHANGED = "unchanged";
  static final String FAILED = "failed";
  static final String NO_PERMISSION = "no-permission";
  static final String ERROR = "error";
  static final String ADDRESS_REMOVED = "address-removed";
  static final String LINK_DOWN = "link-down";

  /** An announcement skipped because its timer fired after a stall of this process (VipManager). */
  static final String STALE_ANNOUNCEMENT = "stale-announcement";

  /** Frames the claim watch sends, which are not announcements. */
  private static final Set<Frames.Kind> PROBES =
      Set.of(Frames.Kind.ARP_PROBE, Frames.Kind.DAD_PROBE);

  private final MeterRegistry registry;
  private final Timer decisionToPresent;
  private final Timer decisionToAnnounced;
  private final Counter claimProbes;

  /** Unix seconds of the last foreign claim; NaN before one. */
  private final AtomicReference<Double> foreignClaimLastSeen = new AtomicReference<>(Double.NaN);

  VipMetrics(MeterRegistry registry, Supplier<VipManager.Status> status) {
    this.registry = registry;
    for (String operation : List.of(ADD, REMOVE)) {
      for (String outcome : List.of(CHANGED, UNCHANGED, FAILED)) {
        addressOperations(operation, outcome);
      }
    }
    for (Frames.Kind kind : Frames.Kind.values()) {
      if (!PROBES.contains(kind)) {
        announcementsSent(kind);
      }
    }
    for (Claims.Kind kind : Claims.Kind.values()) {
      foreignClaims(kind);
    }
    this.claimProbes =
        Counter.builder(CLAIM_PROBES)
            .description(
                "ARP probes and duplicate address detection solicitations the holder sent to find"
                    + " another host that has the VIP")
            .register(registry);
    Gauge.builder(FOREIGN_CLAIM_LAST_SEEN, foreignClaimLastSeen, AtomicReference::get)
        .description(
            "When another host last claimed the VIP while this node held it (Unix time); NaN"
                + " before any did")
        .baseUnit("seconds")
        .strongReference(true)
        .register(registry);
    for (String reason : List.of(NO_PERMISSION, ERROR)) {
      announcementFailures(reason);
    }
    for (String cause : List.of(ADDRESS_REMOVED, LINK_DOWN, STALE_ANNOUNCEMENT)) {
      disruptions(cause);
    }
    this.decisionToPresent =
        Timer.builder(DECISION_TO_PRESENT)
            .description("From the decision to hold the VIP to the address being on the interface")
            .register(registry);
    this.decisionToAnnounced =
        Timer.builder(DECISION_TO_ANNOUNCED)
            .description("From the decision to hold the VIP to its first announcement on the LAN")
            .register(registry);
    Gauge.builder(HELD, status, s -> s.get().holding() ? 1 : 0)
        .description("1 while this node has the VIP on its interface and means to hold it")
        .strongReference(true)
        .register(registry);
    Gauge.builder(ELIGIBLE, status, s -> s.get().machineryWorks() ? 1 : 0)
        .description(
            "1 while this node can hold the VIP: interface up, last kernel operation succeeded")
        .strongReference(true)
        .register(registry);
  }

  void addressOperation(String operation, String outcome) {
    addressOperations(operation, outcome).increment();
  }

  void announcementSent(Frames.Kind kind) {
    announcementsSent(kind).increment();
  }

  void announcementFailed(String reason) {
    announcementFailures(reason).increment();
  }

  void disruption(String cause) {
    disruptions(cause).increment();
  }

  void foreignClaim(Claims.Kind kind, long frames) {
    foreignClaims(kind).increment(frames);
  }

  void foreignClaimSeen(Instant seen) {
    foreignClaimLastSeen.set(seen.toEpochMilli() / 1e3);
  }

  void claimProbeSent() {
    claimProbes.increment();
  }

  void decisionToPresent(long nanos) {
    decisionToPresent.record(Duration.ofNanos(nanos));
  }

  void decisionToAnnounced(long nanos) {
    decisionToAnnounced.record(Duration.ofNanos(nanos));
  }

  private Counter addressOperations(String operation, String outcome) {
    return Counter.builder(ADDRESS_OPERATIONS)
        .description(
            "VIP address additions and removals by outcome; unchanged means it already was as"
                + " wanted")
        .tag("operation", operation)
        .tag("outcome", outcome)
        .register(registry);
  }

  private Counter announcementsSent(Frames.Kind kind) {
    return Counter.builder(ANNOUNCEMENTS_SENT)
        .description(
            "Gratuitous ARP and unsolicited neighbour advertisement frames sent for the VIP")
        .tag("kind", kind.tag())
        .register(registry);
  }

  private Counter foreignClaims(Claims.Kind kind) {
    return Counter.builder(FOREIGN_CLAIMS)
        .description(
            "Frames in which another host claimed the VIP while this node held it (ARP from the"
                + " VIP, neighbour advertisements for it, probes for it), by kind; a handoff"
                + " between apivip nodes does not count")
        .tag("kind", kind.tag())
        .register(registry);
  }

  private Counter announcementFailures(String reason) {
    return Counter.builder(ANNOUNCEMENT_FAILURES)
        .description("Announcements of the VIP that could not be sent")
        .tag("reason", reason)
        .register(registry);
  }

  private Counter disruptions(String cause) {
    return Counter.builder(DISRUPTIONS)
        .description(
            "Times the VIP's interface went down, the held address disappeared without apivip"
                + " removing it, or an announcement was skipped after a stall of this process")
        .tag("cause", cause)
        .register(registry);
  }
}
