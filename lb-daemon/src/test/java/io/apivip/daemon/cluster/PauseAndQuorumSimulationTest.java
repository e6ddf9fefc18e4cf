package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Simulation.MS;
import static io.apivip.daemon.cluster.Simulation.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cluster.Simulation.Node;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Focused simulations: a paused node (GC, CPU starvation) must not move the VIP on its own, and the
 * quorum edge cases (two nodes with quorum 1, even-sized clusters) behave as documented. Default
 * settings: interval 100 ms, failure-timeout 500 ms, on a LAN with 0.1 to 2 ms delay.
 */
@ExtendWith(QuietClusterLogs.class)
class PauseAndQuorumSimulationTest {

  private static final long SETTLE = 2 * SECOND;

  private static Simulation settled(long seed, int size, int quorum) {
    Simulation sim = new Simulation(seed, size, quorum, Duration.ofSeconds(3), false);
    for (Node node : sim.nodes) {
      sim.at(sim.random.nextInt(300) * MS, node::start);
    }
    sim.runUntil(SETTLE);
    return sim;
  }

  /**
   * Runs in which a pause of {@code pause} caused any VIP decision, pausing the holder or another
   * node.
   */
  private static int flaps(long pause, boolean pauseHolder, int runs) {
    int flapped = 0;
    for (int run = 0; run < runs; run++) {
      int size = new int[] {3, 5, 7}[run % 3];
      Simulation sim = settled(run, size, size / 2 + 1);
      Node holder =
          sim.soleAddressHolder().orElseThrow(() -> new AssertionError("no holder after settling"));
      AtomicInteger decisions = new AtomicInteger();
      for (Node node : sim.nodes) {
        node.decisions = decision -> decisions.incrementAndGet();
      }
      Node paused = pauseHolder ? holder : sim.nodes[(holder.index + 1 + run % (size - 1)) % size];
      // Any phase relative to the heartbeat timers.
      sim.runUntil(sim.now + sim.random.nextInt(100 * (int) MS));
      paused.pause(pause);
      sim.runUntil(sim.now + pause + 2 * SECOND);
      flapped += decisions.get() > 0 ? 1 : 0;
    }
    return flapped;
  }

  @Test
  void aPauseShorterThanTheFailureTimeoutMinusAnIntervalMovesNothing() {
    int runs = 100;
    int holder200 = flaps(200 * MS, true, runs);
    int other200 = flaps(200 * MS, false, runs);
    int holder300 = flaps(300 * MS, true, runs);
    int other300 = flaps(300 * MS, false, runs);
    int holder400 = flaps(400 * MS, true, runs);
    int other400 = flaps(400 * MS, false, runs);
    System.out.printf(
        "pauses, runs with any VIP transition out of %d: 200 ms holder %d, other %d; 300 ms holder"
            + " %d, other %d; 400 ms holder %d, other %d%n",
        runs, holder200, other200, holder300, other300, holder400, other400);
    assertThat(holder200 + other200 + holder300 + other300).isZero();
    assertThat(other400).as("a paused non-holder never moves the VIP").isZero();
  }

  /**
   * Fencing (issue 23): a holder paused for longer than the failure timeout has been replaced
   * meanwhile; on resume it must let the VIP go at once, before its read grace, and announce
   * nothing. Before the fence it released a fifth of an interval later, after reading its backlog.
   */
  @Test
  void aHolderPausedPastItsLeasesReleasesFirstOnResumeAndAnnouncesNothing() {
    int runs = 0;
    for (long seed = 1; seed <= 60; seed++) {
      int size = new int[] {3, 5, 7}[(int) (seed % 3)];
      Simulation sim = settled(seed, size, size / 2 + 1);
      Node holder = sim.soleAddressHolder().orElseThrow();
      sim.runUntil(sim.now + sim.random.nextInt(100 * (int) MS));
      long pause = (600 + sim.random.nextInt(2000)) * MS;
      long[] released = {-1};
      holder.decisions =
          decision -> {
            if (!decision.hold() && released[0] < 0) {
              released[0] = sim.now;
            }
          };
      long resume = sim.now + pause;
      holder.pause(pause);
      sim.runUntil(resume - MS);
      assertThat(
              Arrays.stream(sim.nodes)
                  .filter(node -> node != holder && node.addressPresent)
                  .count())
          .as("seed %d: another node holds while %s is paused %d ms", seed, holder.id, pause / MS)
          .isEqualTo(1);
      sim.runUntil(resume + 2 * SECOND);
      assertThat(released[0])
          .as("seed %d: released at the instant of resume", seed)
          .isEqualTo(resume);
      assertThat(sim.announced)
          .as("seed %d: the stale holder announced nothing", seed)
          .isNotSameAs(holder);
      runs++;
    }
    assertThat(runs).isEqualTo(60);
  }

  @Test
  void twoNodesWithQuorumOneEachHoldWhenCutApartAndOneYieldsWhenTheyMeet() {
    Simulation sim = settled(7, 2, 1);
    assertThat(sim.soleAddressHolder()).isPresent();
    sim.network.blocked[0][1] = true;
    sim.network.blocked[1][0] = true;
    sim.runUntil(sim.now + SETTLE);
    assertThat(Arrays.stream(sim.nodes).filter(node -> node.addressPresent).count())
        .as("a quorum below a majority gives up split-brain safety, as the config loader warns")
        .isEqualTo(2);
    sim.network.calm();
    sim.runUntil(sim.now + SETTLE);
    assertThat(sim.soleAddressHolder().map(node -> node.id)).contains("n2");
  }

  @Test
  void twoNodesWithTheDefaultQuorumNeedEachOther() {
    Simulation sim = settled(8, 2, 2);
    Node holder = sim.soleAddressHolder().orElseThrow();
    sim.nodes[1 - holder.index].kill();
    sim.runUntil(sim.now + SETTLE);
    assertThat(holder.addressPresent).as("alone is not a majority of two").isFalse();
  }

  @Test
  void fourNodesSplitTwoAndTwoHaveNoHolderAndThreeAndOneHaveOne() {
    Simulation sim = settled(9, 4, 3);
    assertThat(sim.soleAddressHolder()).isPresent();
    split(sim, 0, 0, 1, 1);
    sim.runUntil(sim.now + SETTLE);
    assertThat(Arrays.stream(sim.nodes).noneMatch(node -> node.addressPresent))
        .as("2 | 2: no side has 3")
        .isTrue();
    split(sim, 0, 0, 0, 1);
    sim.runUntil(sim.now + SETTLE);
    Optional<Node> holder = sim.soleAddressHolder();
    assertThat(holder).isPresent();
    assertThat(holder.get().index).as("the side of three holds").isLessThan(3);
    sim.network.calm();
    sim.runUntil(sim.now + SETTLE);
    assertThat(sim.soleAddressHolder()).isPresent();
  }

  private static void split(Simulation sim, int... side) {
    for (int a = 0; a < side.length; a++) {
      for (int b = 0; b < side.length; b++) {
        sim.network.blocked[a][b] = side[a] != side[b];
      }
    }
  }
}
