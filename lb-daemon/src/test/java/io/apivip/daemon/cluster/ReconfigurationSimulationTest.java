package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Simulation.MS;
import static io.apivip.daemon.cluster.Simulation.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cluster.Simulation.Node;
import io.apivip.daemon.config.Settings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reloads of a running cluster ({@link ClusterNode#reconfigure}), node by node at random moments
 * over a lossy network, with the simulation's invariants checked after every event: a change of the
 * cluster key in the three documented steps (accept the new key everywhere, sign with it
 * everywhere, drop the old one), and a fourth node added to three. Neither moves the VIP nor drops
 * a heartbeat; done out of order, the key change does both, which shows the test can tell.
 */
@ExtendWith(QuietClusterLogs.class)
class ReconfigurationSimulationTest {

  static final int SEEDS = 40;

  /** Counts what a node drops; the simulation runs the nodes on one thread. */
  static final class Drops implements ClusterMetrics {
    final Map<DropReason, Integer> counts = new EnumMap<>(DropReason.class);

    int of(DropReason reason) {
      return counts.getOrDefault(reason, 0);
    }

    @Override
    public void dropped(DropReason reason) {
      counts.merge(reason, 1, Integer::sum);
    }
  }

  /** A simulation with its drops and VIP decisions recorded. */
  record Run(Simulation sim, Drops drops, List<String> decisions) {
    static Run of(long seed, int size) {
      Simulation sim = new Simulation(seed, size, Duration.ofSeconds(3), false);
      sim.network.loss = 0.02;
      Drops drops = new Drops();
      List<String> decisions = new ArrayList<>();
      for (Node node : sim.nodes) {
        node.metrics = drops;
        node.decisions = decision -> decisions.add(node.id + " " + decision);
      }
      return new Run(sim, drops, decisions);
    }

    void start(List<Node> nodes) {
      for (Node node : nodes) {
        sim.at(sim.now + sim.random.nextInt(300) * MS, node::start);
      }
      sim.runUntil(sim.now + 3 * SECOND);
    }

    /** Reloads each node once, in a random order, at random moments within a second. */
    void reloadEach(List<Node> nodes, Function<ClusterConfig, ClusterConfig> change) {
      List<Node> order = new ArrayList<>(nodes);
      Collections.shuffle(order, sim.random);
      for (Node node : order) {
        sim.at(
            sim.now + sim.random.nextInt(1000) * MS,
            () -> sim.reconfigure(node, change.apply(sim.configs[node.index])));
      }
      sim.runUntil(sim.now + 1500 * MS);
    }
  }

  static ClusterConfig with(ClusterConfig config, KeyRing keys) {
    return with(config, config.nodes(), keys);
  }

  static ClusterConfig with(ClusterConfig config, List<Settings.Node> nodes, KeyRing keys) {
    return new ClusterConfig(
        config.clusterId(),
        config.selfId(),
        nodes,
        nodes.size() / 2 + 1,
        config.preempt(),
        config.preemptDelay(),
        config.handoffTimeout(),
        config.interval(),
        config.failureTimeout(),
        config.replayWindow(),
        keys);
  }

  @ParameterizedTest(name = "{0} nodes")
  @ValueSource(ints = {3, 4})
  void aKeyChangeInThreeReloadsMovesNoVipAndDropsNoHeartbeat(int size) {
    for (long seed = 1; seed <= SEEDS; seed++) {
      Run run = Run.of(seed * 10 + size, size);
      Simulation sim = run.sim();
      List<Node> all = Arrays.asList(sim.nodes);
      run.start(all);
      Node holder = sim.soleAddressHolder().orElseThrow();
      int decided = run.decisions().size();
      sim.expectOneHolder = true;
      byte[] old = sim.config().keys().signing().material();
      byte[] next = new byte[32];
      sim.random.nextBytes(next);

      run.reloadEach(all, c -> with(c, KeyRing.of(old, List.of(next))));
      run.reloadEach(all, c -> with(c, KeyRing.of(next, List.of(old))));
      run.reloadEach(all, c -> with(c, KeyRing.of(next)));

      String what = "seed " + sim.seed + ", " + size + " nodes";
      assertThat(sim.soleAddressHolder()).as(what + ": the holder").contains(holder);
      assertThat(run.decisions().subList(decided, run.decisions().size()))
          .as(what + ": VIP decisions during the key change")
          .isEmpty();
      assertThat(run.drops().of(DropReason.UNKNOWN_KEY) + run.drops().of(DropReason.BAD_MAC))
          .as(what + ": heartbeats dropped for their key")
          .isZero();
      for (Node node : sim.nodes) {
        assertThat(node.cluster.status().members())
            .as(what + ": " + node.id + " sees every node sign with the new key")
            .allSatisfy(
                member ->
                    assertThat(member.key())
                        .contains(io.apivip.daemon.config.KeyFile.fingerprint(next)));
      }
    }
  }

  /** The documented order matters: a holder that signs with a key nobody accepts loses the VIP. */
  @Test
  void signingWithTheNewKeyBeforeTheOthersAcceptItCutsTheNodeOff() {
    for (long seed = 1; seed <= SEEDS / 4; seed++) {
      Run run = Run.of(seed, 3);
      Simulation sim = run.sim();
      run.start(Arrays.asList(sim.nodes));
      Node holder = sim.soleAddressHolder().orElseThrow();
      byte[] old = sim.config().keys().signing().material();
      byte[] next = new byte[32];
      sim.random.nextBytes(next);
      sim.reconfigure(holder, with(sim.configs[holder.index], KeyRing.of(next, List.of(old))));
      sim.runUntil(sim.now + 3 * SECOND);
      assertThat(run.drops().of(DropReason.UNKNOWN_KEY)).as("seed " + seed).isPositive();
      assertThat(sim.soleAddressHolder()).as("seed " + seed).isPresent().get().isNotSameAs(holder);
    }
  }

  @Test
  void aReloadThatAddsAFourthNodeKeepsTheHolder() {
    for (long seed = 1; seed <= SEEDS; seed++) {
      Run run = Run.of(seed, 4);
      Simulation sim = run.sim();
      List<Settings.Node> four = sim.config().nodes();
      List<Node> three = Arrays.asList(sim.nodes).subList(0, 3);
      for (Node node : three) {
        sim.configs[node.index] =
            with(sim.configs[node.index], four.subList(0, 3), sim.config().keys());
      }
      run.start(three);
      Node holder = sim.soleAddressHolder().orElseThrow();
      int decided = run.decisions().size();
      sim.expectOneHolder = true;

      run.reloadEach(three, c -> with(c, four, c.keys()));
      sim.at(sim.now + sim.random.nextInt(500) * MS, sim.nodes[3]::start);
      sim.runUntil(sim.now + 3 * SECOND);

      String what = "seed " + sim.seed;
      assertThat(sim.soleAddressHolder()).as(what + ": the holder").contains(holder);
      assertThat(run.decisions().subList(decided, run.decisions().size()))
          .as(what + ": VIP decisions while n4 was added")
          .isEmpty();
      for (Node node : sim.nodes) {
        ClusterStatus status = node.cluster.status();
        assertThat(status.quorum()).as(what + ": " + node.id + "'s quorum").isEqualTo(3);
        assertThat(status.members())
            .as(what + ": " + node.id + " sees four nodes alive")
            .hasSize(4)
            .allSatisfy(
                m ->
                    assertThat(m.liveness())
                        .isIn(ClusterStatus.Liveness.SELF, ClusterStatus.Liveness.ALIVE));
        assertThat(status.holder()).as(what + ": " + node.id + "'s holder").contains(holder.id);
      }
    }
  }
}
