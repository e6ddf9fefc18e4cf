package io.apivip.daemon.cluster;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * The cluster's meters. Counters are bumped on the owner thread; gauges read the latest {@link
 * ClusterStatus} snapshot, so they are safe from the scrape thread. Every meter name is here once.
 * Each method does nothing unless overridden, as in {@link #NONE}.
 */
public interface ClusterMetrics {

  default void received() {}

  default void dropped(DropReason reason) {}

  default void transition(Election.Reason reason) {}

  /**
   * This node's takeover finished: the VIP's address is up here. {@code nanos} runs from the start
   * of its candidacy (it backed itself) and {@code reason} is why it took the VIP.
   */
  default void tookOver(Election.Reason reason, long nanos) {}

  /**
   * This node's handoff ended ({@code reason}: handed_over or handoff_timeout), {@code nanos} after
   * it began.
   */
  default void handedOver(Election.Reason reason, long nanos) {}

  /** This node entered (at {@code wallMillis}) or left maintenance. */
  default void maintenance(boolean on, long wallMillis) {}

  /** The peers are now {@code peerIds} (a reload): their per-peer meters follow. */
  default void peersChanged(List<String> peerIds) {}

  /** For the simulation, which runs thousands of nodes: every meter does nothing. */
  ClusterMetrics NONE = new ClusterMetrics() {};

  /** Registers the meters; {@code status} is read at scrape time only. */
  static ClusterMetrics micrometer(
      MeterRegistry registry, List<String> peerIds, Supplier<ClusterStatus> status) {
    return new Micrometer(registry, peerIds, status);
  }

  /**
   * Prometheus names: apivip_vip_transitions_total, apivip_vip_takeover_duration_seconds,
   * apivip_vip_handoff_duration_seconds, apivip_cluster_... (quorum_present, peers_alive, eligible,
   * maintenance, maintenance_start_timestamp_seconds, peer_last_heard_age_seconds, datagrams_...).
   */
  final class Micrometer implements ClusterMetrics {
    /**
     * Histogram buckets of a takeover or handoff: a takeover takes a heartbeat or two, one that
     * waits out a failure timeout or a start-up abstention seconds, a handoff up to
     * handoff-timeout.
     */
    private static final Duration[] MOVE_BUCKETS =
        Stream.of(50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
            .map(Duration::ofMillis)
            .toArray(Duration[]::new);

    private final Counter received;
    private final Map<DropReason, Counter> dropped = new EnumMap<>(DropReason.class);
    private final Map<Election.Reason, Counter> transitions = new EnumMap<>(Election.Reason.class);
    private final Map<Election.Reason, Timer> takeovers = new EnumMap<>(Election.Reason.class);
    private final Map<Election.Reason, Timer> handoffs = new EnumMap<>(Election.Reason.class);

    /**
     * Seconds since the epoch when this node entered maintenance; NaN when it is not in
     * maintenance.
     */
    private final AtomicReference<Double> maintenanceStart = new AtomicReference<>(Double.NaN);

    private final MeterRegistry registry;
    private final Supplier<ClusterStatus> status;

    /** The per-peer gauges, by peer id; changed on the owner thread only. */
    private final Map<String, Gauge> peerGauges = new LinkedHashMap<>();

    Micrometer(MeterRegistry registry, List<String> peerIds, Supplier<ClusterStatus> status) {
      this.registry = registry;
      this.status = status;
      // apivip_vip_held comes from the VIP part (io.apivip.daemon.vip.VipMetrics): the address on
      // the
      // interface, which is what clients reach.
      Gauge.builder(
              "apivip.cluster.quorum.present", () -> read(status, s -> s.quorumPresent() ? 1 : 0))
          .description("1 while this node sees a quorum of the cluster, itself included")
          .register(registry);
      Gauge.builder("apivip.cluster.peers.alive", () -> read(status, ClusterStatus::peersAlive))
          .description("Peers whose heartbeats arrive")
          .register(registry);
      Gauge.builder("apivip.cluster.eligible", () -> read(status, s -> self(s).eligible() ? 1 : 0))
          .description(
              "1 while this node tells its peers it can hold the VIP: its proxy can route to an"
                  + " apiserver and its VIP part works")
          .register(registry);
      Gauge.builder(
              "apivip.cluster.maintenance", () -> read(status, s -> self(s).maintenance() ? 1 : 0))
          .description("1 while this node is in maintenance (apivip drain), else 0")
          .register(registry);
      Gauge.builder(
              "apivip.cluster.maintenance.start.timestamp", maintenanceStart, AtomicReference::get)
          .description(
              "When this node entered maintenance, in seconds since the epoch; NaN while it is not"
                  + " in maintenance")
          .baseUnit("seconds")
          .strongReference(true)
          .register(registry);
      peersChanged(peerIds);
      received =
          Counter.builder("apivip.cluster.datagrams.received")
              .description("Heartbeat datagrams received, dropped ones included")
              .register(registry);
      for (DropReason reason : DropReason.values()) {
        dropped.put(
            reason,
            Counter.builder("apivip.cluster.datagrams.dropped")
                .description("Heartbeat datagrams dropped, by reason")
                .tag("reason", reason.tag())
                .register(registry));
      }
      for (Election.Reason reason : Election.Reason.values()) {
        transitions.put(
            reason,
            Counter.builder("apivip.vip.transitions")
                .description(
                    "Times this node took (action=hold) or let go of (action=release) the VIP")
                .tag("action", reason.hold() ? "hold" : "release")
                .tag("reason", reason.tag())
                .register(registry));
      }
      for (Election.Reason reason : Election.Reason.values()) {
        if (reason.hold()) {
          takeovers.put(
              reason,
              Timer.builder("apivip.vip.takeover.duration")
                  .description(
                      "Takeovers by this node, from the start of its candidacy to the VIP's address"
                          + " being up here")
                  .tag("reason", reason.tag())
                  .serviceLevelObjectives(MOVE_BUCKETS)
                  .register(registry));
        }
      }
      for (Election.Reason reason :
          List.of(Election.Reason.HANDED_OVER, Election.Reason.HANDOFF_TIMEOUT)) {
        handoffs.put(
            reason,
            Timer.builder("apivip.vip.handoff.duration")
                .description(
                    "Handoffs by this node (drain, not eligible, preemption), from their start to"
                        + " its release of the VIP")
                .tag("reason", reason.tag())
                .serviceLevelObjectives(MOVE_BUCKETS)
                .register(registry));
      }
    }

    @Override
    public void peersChanged(List<String> peerIds) {
      for (String gone : List.copyOf(peerGauges.keySet())) {
        if (!peerIds.contains(gone)) {
          registry.remove(peerGauges.remove(gone));
        }
      }
      for (String peer : peerIds) {
        peerGauges.computeIfAbsent(
            peer,
            id ->
                Gauge.builder(
                        "apivip.cluster.peer.last.heard.age",
                        () -> read(status, s -> lastHeardSeconds(s, id)))
                    .description(
                        "Time since the last accepted heartbeat of the peer; NaN before the first")
                    .baseUnit("seconds")
                    .tag("peer", id)
                    .register(registry));
      }
    }

    private static ClusterStatus.Member self(ClusterStatus status) {
      return status.members().stream()
          .filter(m -> m.liveness() == ClusterStatus.Liveness.SELF)
          .findFirst()
          .orElseThrow();
    }

    /** NaN until the first snapshot exists (a scrape racing the start). */
    private static double read(
        Supplier<ClusterStatus> status, ToDoubleFunction<ClusterStatus> value) {
      ClusterStatus current = status.get();
      return current == null ? Double.NaN : value.applyAsDouble(current);
    }

    private static double lastHeardSeconds(ClusterStatus status, String peer) {
      return status.members().stream()
          .filter(member -> member.id().equals(peer))
          .findFirst()
          .flatMap(ClusterStatus.Member::lastHeardAge)
          .map(age -> age.toNanos() / 1e9)
          .orElse(Double.NaN);
    }

    @Override
    public void received() {
      received.increment();
    }

    @Override
    public void dropped(DropReason reason) {
      dropped.get(reason).increment();
    }

    @Override
    public void transition(Election.Reason reason) {
      transitions.get(reason).increment();
    }

    @Override
    public void tookOver(Election.Reason reason, long nanos) {
      Timer timer = takeovers.get(reason);
      if (timer != null) {
        timer.record(nanos, TimeUnit.NANOSECONDS);
      }
    }

    @Override
    public void handedOver(Election.Reason reason, long nanos) {
      Timer timer = handoffs.get(reason);
      if (timer != null) {
        timer.record(nanos, TimeUnit.NANOSECONDS);
      }
    }

    @Override
    public void maintenance(boolean on, long wallMillis) {
      maintenanceStart.set(on ? wallMillis / 1e3 : Double.NaN);
    }
  }
}
