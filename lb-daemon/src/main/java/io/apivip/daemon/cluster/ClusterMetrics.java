package io.apivip.daemon.cluster;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The cluster's meters. Counters are bumped on the owner thread; gauges read the latest {@link
 * ClusterStatus} snapshot, so they are safe from the scrape thread. Every meter name is here once.
 */
public interface ClusterMetrics {

  void received();

  void dropped(DropReason reason);

  void transition(Election.Reason reason);

  /** For the simulation, which runs thousands of nodes. */
  ClusterMetrics NONE =
      new ClusterMetrics() {
        @Override
        public void received() {}

        @Override
        public void dropped(DropReason reason) {}

        @Override
        public void transition(Election.Reason reason) {}
      };

  /** Registers the meters; {@code status} is read at scrape time only. */
  static ClusterMetrics micrometer(MeterRegistry registry, List<String> peerIds, Supplier<ClusterStatus> status) {
    return new Micrometer(registry, peerIds, status);
  }

  /** Prometheus names: apivip_vip_held, apivip_vip_transitions_total, apivip_cluster_... */
  final class Micrometer implements ClusterMetrics {
    private final Counter received;
    private final Map<DropReason, Counter> dropped = new EnumMap<>(DropReason.class);
    private final Map<Election.Reason, Counter> transitions = new EnumMap<>(Election.Reason.class);

    Micrometer(MeterRegistry registry, List<String> peerIds, Supplier<ClusterStatus> status) {
      Gauge.builder("apivip.vip.held", () -> read(status, s -> s.holding() ? 1 : 0))
          .description("1 while this node holds the VIP")
          .register(registry);
      Gauge.builder("apivip.cluster.quorum.present", () -> read(status, s -> s.quorumPresent() ? 1 : 0))
          .description("1 while this node sees a quorum of the cluster, itself included")
          .register(registry);
      Gauge.builder("apivip.cluster.peers.alive", () -> read(status, ClusterStatus::peersAlive))
          .description("Peers whose heartbeats arrive")
          .register(registry);
      for (String peer : peerIds) {
        Gauge.builder("apivip.cluster.peer.last.heard.age", () -> read(status, s -> lastHeardSeconds(s, peer)))
            .description("Time since the last accepted heartbeat of the peer; NaN before the first")
            .baseUnit("seconds")
            .tag("peer", peer)
            .register(registry);
      }
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
                .description("Times this node took (action=hold) or let go of (action=release) the VIP")
                .tag("action", reason.hold() ? "hold" : "release")
                .tag("reason", reason.tag())
                .register(registry));
      }
    }

    /** NaN until the first snapshot exists (a scrape racing the start). */
    private static double read(Supplier<ClusterStatus> status, ToDoubleFunction<ClusterStatus> value) {
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
  }
}
