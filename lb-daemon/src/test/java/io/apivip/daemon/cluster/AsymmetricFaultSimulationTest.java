package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Simulation.MS;
import static io.apivip.daemon.cluster.Simulation.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cluster.Simulation.Node;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The outage of issue 23, replayed: every heartbeat sent to the holder is lost while it still
 * sends. It loses its quorum and releases; the others still hear it. Another node must take the VIP
 * within failure-timeout plus two intervals of the fault (see Election), never two at once, and the
 * VIP must stay put for the rest of a 15 s fault. Defaults: interval 100 ms, failure-timeout 500
 * ms.
 */
@ExtendWith(QuietClusterLogs.class)
class AsymmetricFaultSimulationTest {

  private static final long INTERVAL = 100 * MS;
  private static final long FAILURE_TIMEOUT = 500 * MS;
  private static final long FAULT = 15 * SECOND;

  /** What one run measured. */
  private record Outcome(
      long seed,
      int size,
      long firstTakeAfter,
      long firstHolderAfter,
      long unheld,
      int mostHolders) {}

  /**
   * The deaf holder is the top-ranked node, or (as after that node rebooted, preemption being off)
   * a lower-ranked one, which the others leave for a node they prefer as soon as it lets go.
   */
  @ParameterizedTest(name = "top-ranked holder: {0}")
  @ValueSource(booleans = {true, false})
  void aDeafHolderIsReplacedWithinTheFailureTimeoutPlusTwoIntervals(boolean topRankedHolder) {
    List<Outcome> outcomes = new ArrayList<>();
    for (long seed = 1; outcomes.size() < 30; seed++) {
      assertThat(seed).as("seeds tried to find 30 runs").isLessThan(300);
      int size = seed % 2 == 0 ? 3 : 5;
      Simulation sim = new Simulation(seed, size, Duration.ofSeconds(3), false);
      for (Node node : sim.nodes) {
        sim.at(sim.random.nextInt(300) * MS, node::start);
      }
      sim.runUntil(2 * SECOND);
      Node holder = soleHolder(sim);
      if (holder != topRanked(sim)) {
        continue;
      }
      if (!topRankedHolder) {
        holder.kill();
        sim.runUntil(sim.now + 2 * SECOND);
        holder.start();
        sim.runUntil(sim.now + 2 * SECOND);
        holder = soleHolder(sim);
        assertThat(holder)
            .as("holder after the top-ranked node's restart")
            .isNotEqualTo(topRanked(sim));
      }
      outcomes.add(deafen(sim, holder));
    }
    System.out.printf(
        "deaf %s holder, %d runs (3 and 5 nodes): another node takes the VIP after %s;"
            + " has the address after %s; VIP unheld %d ms worst over the 15 s fault%n",
        topRankedHolder ? "top-ranked" : "lower-ranked",
        outcomes.size(),
        spread(outcomes.stream().map(Outcome::firstTakeAfter).toList()),
        spread(outcomes.stream().map(Outcome::firstHolderAfter).toList()),
        outcomes.stream().mapToLong(Outcome::unheld).max().orElseThrow() / MS);
    for (Outcome outcome : outcomes) {
      assertThat(outcome.mostHolders())
          .as("nodes with the address at once, seed %d", outcome.seed())
          .isLessThanOrEqualTo(1);
      // The bound: the backers' leases to the deaf node end by failure-timeout + 2 intervals after
      // the last heartbeat it heard (Election, Membership#acknowledgementStale).
      assertThat(outcome.firstTakeAfter())
          .as(
              "time to another node taking the VIP, seed %d (%d nodes)",
              outcome.seed(), outcome.size())
          .isBetween(0L, FAILURE_TIMEOUT + 2 * INTERVAL);
      // The VIP part adds the address up to 20 ms after the decision in the simulation.
      assertThat(outcome.firstHolderAfter())
          .isLessThanOrEqualTo(FAILURE_TIMEOUT + 2 * INTERVAL + 20 * MS);
    }
  }

  /**
   * One link lost one way for good (a firewall rule on one node against one peer), for each ordered
   * pair of three nodes: every pair of nodes still talks, directly or through the third, and two of
   * the three links work both ways, so a quorum can hold the VIP: after settling, one node holds it
   * and keeps it.
   */
  @Test
  void aSingleLinkLostOneWayLeavesOneSteadyHolder() {
    List<String> failures = new ArrayList<>();
    int runs = 0;
    for (long seed = 1; seed <= 20; seed++) {
      int size = seed % 2 == 0 ? 3 : 5;
      for (int from = 0; from < size; from++) {
        for (int to = 0; to < size; to++) {
          if (from == to) {
            continue;
          }
          runs++;
          Simulation sim = new Simulation(seed, size, Duration.ofSeconds(3), seed % 4 == 0);
          for (Node node : sim.nodes) {
            sim.at(sim.random.nextInt(300) * MS, node::start);
          }
          sim.runUntil(2 * SECOND);
          sim.network.cut[from][to] = true;
          sim.note("cut for good: " + sim.nodes[from].id + " -> " + sim.nodes[to].id);
          sim.runUntil(sim.now + 3 * SECOND);
          int[] takes = {0};
          for (Node node : sim.nodes) {
            node.decisions = decision -> takes[0] += decision.hold() ? 1 : 0;
          }
          long unheld = 0;
          long until = sim.now + 10 * SECOND;
          while (sim.now < until) {
            sim.runUntil(sim.now + MS);
            unheld += sim.addressHolders().isEmpty() ? MS : 0;
          }
          if (takes[0] > 0 || unheld > 0) {
            failures.add(
                String.format(
                    "seed %d, %d nodes, %s -> %s lost: %d takes, VIP unheld %d ms in 10 s after"
                        + " settling",
                    seed, size, sim.nodes[from].id, sim.nodes[to].id, takes[0], unheld / MS));
          }
        }
      }
    }
    System.out.printf(
        "one link lost one way, %d runs of 3 and 5 nodes: %d without one steady holder%n",
        runs, failures.size());
    assertThat(failures).isEmpty();
  }

  private static String spread(List<Long> nanos) {
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    return String.format(
        "median %d ms, worst %d ms",
        sorted.get(sorted.size() / 2) / MS, sorted.get(sorted.size() - 1) / MS);
  }

  /** Drops every heartbeat to {@code holder} for 15 s, sampling every millisecond. */
  private static Outcome deafen(Simulation sim, Node holder) {
    sim.runUntil(sim.now + sim.random.nextInt(100) * MS);
    sim.note(holder.id + " goes deaf");
    for (int from = 0; from < sim.size; from++) {
      sim.network.blocked[from][holder.index] = true;
    }
    long start = sim.now;
    long[] firstTake = {-1};
    for (Node node : sim.nodes) {
      node.decisions =
          decision -> {
            if (decision.hold() && node != holder && firstTake[0] < 0) {
              firstTake[0] = sim.now - start;
            }
          };
    }
    long firstHolder = -1;
    long unheld = 0;
    int most = 0;
    while (sim.now < start + FAULT) {
      sim.runUntil(sim.now + MS);
      List<Node> present = sim.addressHolders();
      most = Math.max(most, present.size());
      if (present.isEmpty()) {
        unheld += MS;
      } else if (firstHolder < 0 && present.get(0) != holder) {
        firstHolder = sim.now - start;
      }
    }
    if (firstHolder < 0) {
      sim.fail("no other node took the VIP during 15 s with " + holder.id + " deaf");
    }
    return new Outcome(sim.seed, sim.size, firstTake[0], firstHolder, unheld, most);
  }

  private static Node soleHolder(Simulation sim) {
    return sim.soleAddressHolder().orElseThrow(() -> new AssertionError("no single holder"));
  }

  private static Node topRanked(Simulation sim) {
    Comparator<Node> rank =
        Comparator.<Node>comparingInt(node -> sim.config().nodes().get(node.index).priority())
            .thenComparing(node -> node.id);
    return Arrays.stream(sim.nodes).max(rank).orElseThrow();
  }
}
