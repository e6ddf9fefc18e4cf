package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Simulation.MS;
import static io.apivip.daemon.cluster.Simulation.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The durations of takeovers and handoffs and the start of a maintenance, as the cluster meters
 * record them, on the simulation's clock: a drain of the holder is one handoff on it and one
 * takeover on its successor.
 */
@ExtendWith(QuietClusterLogs.class)
class MoveMetricsTest {

  private final Simulation sim = new Simulation(11, 3, Duration.ofSeconds(3), false);
  private final List<SimpleMeterRegistry> registries = new ArrayList<>();

  private void startAndSettle() {
    for (Simulation.Node node : sim.nodes) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      registries.add(registry);
      List<String> peers =
          Arrays.stream(sim.nodes).map(n -> n.id).filter(id -> !id.equals(node.id)).toList();
      node.metrics = ClusterMetrics.micrometer(registry, peers, () -> node.cluster.status());
      node.start();
    }
    sim.runUntil(3 * SECOND);
  }

  private Simulation.Node holder() {
    return Arrays.stream(sim.nodes)
        .filter(node -> node.cluster.holding())
        .findFirst()
        .orElseThrow();
  }

  private SimpleMeterRegistry registry(Simulation.Node node) {
    return registries.get(Arrays.asList(sim.nodes).indexOf(node));
  }

  @Test
  void theFirstHolderRecordsOneElectedTakeover() {
    startAndSettle();
    Simulation.Node holder = holder();
    var takeover =
        registry(holder).get("apivip.vip.takeover.duration").tag("reason", "elected").timer();
    assertThat(takeover.count()).isEqualTo(1);
    // At start a node abstains for a failure timeout, then a quorum backs it within a heartbeat or
    // two.
    assertThat(takeover.totalTime(TimeUnit.MILLISECONDS)).isBetween(1.0, 3000.0);
    assertThat(registry(holder).get("apivip.cluster.maintenance.start.timestamp").gauge().value())
        .isNaN();
  }

  @Test
  void aDrainedHolderRecordsItsHandoffAndItsSuccessorTheTakeover() {
    startAndSettle();
    Simulation.Node holder = holder();
    long drainedAt = sim.now;
    long wallAtDrain = holder.wallMillis();
    holder.setMaintenance(true);
    sim.runUntil(sim.now + 2 * SECOND);
    Simulation.Node successor = holder();
    assertThat(successor).isNotSameAs(holder);

    var handoff =
        registry(holder).get("apivip.vip.handoff.duration").tag("reason", "handed_over").timer();
    assertThat(handoff.count()).isEqualTo(1);
    assertThat(handoff.totalTime(TimeUnit.NANOSECONDS))
        .as("within the 2 s that ran")
        .isBetween(1.0, (double) (sim.now - drainedAt));
    var takeover =
        registry(successor).get("apivip.vip.takeover.duration").tag("reason", "took_over").timer();
    assertThat(takeover.count()).isEqualTo(1);
    assertThat(takeover.totalTime(TimeUnit.NANOSECONDS))
        .as("the takeover is part of the handoff")
        .isBetween(1.0, handoff.totalTime(TimeUnit.NANOSECONDS));
    assertThat(registry(holder).get("apivip.cluster.maintenance.start.timestamp").gauge().value())
        .isEqualTo(wallAtDrain / 1e3);

    holder.setMaintenance(false);
    sim.runUntil(sim.now + 100 * MS);
    assertThat(registry(holder).get("apivip.cluster.maintenance.start.timestamp").gauge().value())
        .isNaN();
  }
}
