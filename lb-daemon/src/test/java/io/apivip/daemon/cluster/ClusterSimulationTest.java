package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Simulation.MS;
import static io.apivip.daemon.cluster.Simulation.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cluster.Simulation.Node;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The main test of the cluster: thousands of seeded runs of 3, 5 and 7 nodes through chaos (loss,
 * duplication, reordering, partitions, one-way links, links down whose datagrams arrive in a burst
 * when they come back, pauses, deaths, restarts, eligibility and maintenance flips, forged,
 * replayed and malformed datagrams) and calm phases, with the invariants of {@link
 * Simulation#check} after every event. Prints the failover figures.
 *
 * <p>A longer run: {@code bench/cluster/simulate SEEDS [FIRST]} (or {@code -Dapivip.sim.seeds=N
 * -Dapivip.sim.first=F}); one seed again: {@code bench/cluster/simulate --seed S} (or {@code
 * -Dapivip.sim.seed=S}).
 */
@ExtendWith(QuietClusterLogs.class)
class ClusterSimulationTest {

  private static final int[] SIZES = {3, 5, 7};
  private static final long FAILURE_TIMEOUT = 500 * MS;
  private static final long INTERVAL = 100 * MS;

  /** Invariant 2's margin: time to suspect the dead, abstain once, back and take the VIP. */
  private static final long SETTLE = 2 * FAILURE_TIMEOUT + 5 * INTERVAL + 100 * MS;

  /** The wall-clock limit of one seeded run; the slowest take well under a second. */
  private static final long RUN_LIMIT_NANOS = 30 * SECOND;

  /** Figures gathered over runs. */
  static final class Figures {
    final List<Long> unheldAfterDeath = Collections.synchronizedList(new ArrayList<>());

    /** The same where links were cut for good: the survivors do not all hear each other. */
    final List<Long> unheldAfterDeathWithCuts = Collections.synchronizedList(new ArrayList<>());

    final List<Long> drainOverlap = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger drains = new AtomicInteger();
    final AtomicInteger injected = new AtomicInteger();
    final AtomicInteger replayedIntoRestarted = new AtomicInteger();
    final AtomicInteger runs = new AtomicInteger();

    /**
     * Runs in which invariant 2 (a holder whenever a quorum of qualified nodes can talk) was
     * checked at least once.
     */
    final AtomicInteger runsCheckingLiveness = new AtomicInteger();

    /**
     * Calm phases that checked invariant 2, and those of them with a link cut for good (a deaf or
     * mute node).
     */
    final AtomicInteger livenessPhases = new AtomicInteger();

    final AtomicInteger livenessPhasesWithCutLinks = new AtomicInteger();
    final AtomicInteger runsWithCutLinks = new AtomicInteger();
    final AtomicInteger longPauses = new AtomicInteger();
    final AtomicInteger runsWithSlowRemoval = new AtomicInteger();
    final AtomicInteger overlapsWhileRemoving = new AtomicInteger();

    /** Datagrams that waited behind a link that was down and arrived in a burst when it came up. */
    final AtomicInteger burstDelivered = new AtomicInteger();
  }

  /** What one run checked; summed into {@link Figures} at its end. */
  private static final class RunChecks {
    boolean livenessChecked;
  }

  @Test
  void seededRunsKeepEveryInvariant() throws InterruptedException {
    String single = System.getProperty("apivip.sim.seed");
    long[] seeds =
        single != null
            ? new long[] {Long.parseLong(single)}
            : LongStream.range(0, Integer.getInteger("apivip.sim.seeds", 1000))
                .map(i -> i + Long.getLong("apivip.sim.first", 1))
                .toArray();
    Figures figures = new Figures();
    long started = System.nanoTime();
    AtomicInteger next = new AtomicInteger();
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    Thread[] workers =
        new Thread[Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors()))];
    for (int w = 0; w < workers.length; w++) {
      workers[w] =
          new Thread(
              () -> {
                for (int i = next.getAndIncrement();
                    i < seeds.length && failures.isEmpty();
                    i = next.getAndIncrement()) {
                  try {
                    run(seeds[i], figures);
                  } catch (Simulation.InvariantViolation e) {
                    failures.add(e);
                  } catch (Throwable e) {
                    // Anything else (a bug in the node or in the simulation) keeps its seed too.
                    failures.add(
                        new AssertionError(
                            e
                                + "\n  seed "
                                + seeds[i]
                                + "; reproduce with -Dapivip.sim.seed="
                                + seeds[i],
                            e));
                  }
                }
              });
      workers[w].start();
    }
    for (Thread worker : workers) {
      worker.join();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    if (!failures.isEmpty()) {
      throw new AssertionError(failures.get(0).getMessage(), failures.get(0));
    }
    System.out.printf(
        "cluster simulation: %d runs (3, 5, 7 nodes) in %.1f s wall, %d adversarial datagrams"
            + " dropped%n",
        seeds.length, seconds, figures.injected.get());
    System.out.println("  VIP unheld after the holder dies: " + summary(figures.unheldAfterDeath));
    System.out.println(
        "  the same with links cut for good: " + summary(figures.unheldAfterDeathWithCuts));
    System.out.println(
        "  planned drains: "
            + figures.drains.get()
            + ", both nodes holding for "
            + summary(figures.drainOverlap)
            + ", never an instant without a holder");
    int runs = figures.runs.get();
    System.out.printf(
        "  liveness (a holder whenever a quorum of qualified nodes can talk both ways) checked in"
            + " %d of %d runs, %d calm phases, %d of them with links cut for good (%d runs had a"
            + " deaf or mute node)%n",
        figures.runsCheckingLiveness.get(),
        runs,
        figures.livenessPhases.get(),
        figures.livenessPhasesWithCutLinks.get(),
        figures.runsWithCutLinks.get());
    System.out.printf(
        "  %d pauses longer than the failure timeout; %d runs with slow or failing address removal,"
            + " in %d of them another node carried the address while a released one waited for the"
            + " kernel; %d old datagrams replayed into restarted nodes; %d delivered in bursts when"
            + " a link came back up%n",
        figures.longPauses.get(),
        figures.runsWithSlowRemoval.get(),
        figures.overlapsWhileRemoving.get(),
        figures.replayedIntoRestarted.get(),
        figures.burstDelivered.get());
    assertThat(runs).isEqualTo(seeds.length);
    // Checks that ran too rarely prove nothing: each must have run in a good share of the runs.
    assertThat(figures.runsCheckingLiveness.get())
        .as("runs that checked liveness")
        .isGreaterThanOrEqualTo(Math.max(1, runs * 6 / 10));
    assertThat(figures.livenessPhasesWithCutLinks.get())
        .as("liveness checks with links cut for good")
        .isGreaterThanOrEqualTo(Math.max(1, runs / 10));
    assertThat(figures.unheldAfterDeath.size())
        .as("failover samples")
        .isGreaterThanOrEqualTo(Math.max(1, runs / 4));
    assertThat(Collections.max(figures.unheldAfterDeath))
        .as("worst time the VIP was on no node after its holder died")
        .isLessThanOrEqualTo(FAILURE_TIMEOUT + 2 * INTERVAL);
    // A survivor deaf to one peer is backed only once that peer's lease to its old choice ends
    // (Election, rule 4): up to one interval more. Seeds 1000..16999 (2026-12-03): 743 ms worst.
    assertThat(figures.unheldAfterDeathWithCuts)
        .as("times the VIP was on no node after its holder died, links cut for good")
        .allMatch(unheld -> unheld <= FAILURE_TIMEOUT + 3 * INTERVAL);
    if (runs >= 100) {
      assertThat(figures.longPauses.get())
          .as("pauses longer than the failure timeout")
          .isPositive();
      assertThat(figures.replayedIntoRestarted.get())
          .as("replays into restarted nodes")
          .isPositive();
      assertThat(figures.runsWithSlowRemoval.get())
          .as("runs with slow address removal")
          .isPositive();
      assertThat(figures.burstDelivered.get())
          .as("datagrams delivered in bursts when a link came back up")
          .isPositive();
    }
  }

  static String summary(List<Long> nanos) {
    if (nanos.isEmpty()) {
      return "no samples";
    }
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    return String.format(
        "median %d ms, p99 %d ms, worst %d ms (%d samples)",
        sorted.get(sorted.size() / 2) / MS,
        sorted.get((int) (sorted.size() * 0.99)) / MS,
        sorted.get(sorted.size() - 1) / MS,
        sorted.size());
  }

  /**
   * One seeded run: start, settle, then chaos and calm three times, then kill the holder. Half the
   * runs cut links for good at the first chaos (a deaf or mute node, often the top-ranked node or
   * the holder), and the cut stays through the calm phases that check liveness.
   */
  static void run(long seed, Figures figures) {
    int size = SIZES[(int) Math.floorMod(seed, SIZES.length)];
    boolean preempt = Math.floorMod(seed / SIZES.length, 4) == 0;
    Simulation sim = new Simulation(seed, size, Duration.ofSeconds(3), preempt);
    sim.wallDeadline = System.nanoTime() + RUN_LIMIT_NANOS;
    sim.slowRemoval = sim.random.nextInt(3) == 0;
    RunChecks checks = new RunChecks();
    for (Node node : sim.nodes) {
      sim.at(sim.random.nextInt(300) * MS, node::start);
    }
    Adversary adversary = new Adversary(sim, figures);
    adversary.every(150 * MS);
    boolean cutForGood = sim.random.nextBoolean();
    long t = calm(sim, 0, SETTLE + SECOND, figures, checks);
    for (int cycle = 0; cycle < 3; cycle++) {
      if (cycle == 0 && cutForGood) {
        cutForGood(sim);
      }
      t = chaos(sim, t, (1500 + sim.random.nextInt(1500)) * MS, figures);
      t = calm(sim, t, SETTLE + SECOND, figures, checks);
    }
    killHolder(sim, figures);
    figures.runs.incrementAndGet();
    figures.runsCheckingLiveness.addAndGet(checks.livenessChecked ? 1 : 0);
    figures.runsWithCutLinks.addAndGet(cutForGood ? 1 : 0);
    figures.runsWithSlowRemoval.addAndGet(sim.slowRemoval ? 1 : 0);
    figures.overlapsWhileRemoving.addAndGet(sim.overlapWhileRemoving ? 1 : 0);
    figures.burstDelivered.addAndGet(sim.network.burstDelivered);
  }

  /** Cuts links for the rest of the run: a node made deaf (its inbound lost) or mute. */
  private static void cutForGood(Simulation sim) {
    Simulation.Network network = sim.network;
    int node =
        sim.random.nextBoolean()
            ? topRanked(sim)
            : sim.soleAddressHolder().map(n -> n.index).orElse(sim.random.nextInt(sim.size));
    int kind = sim.random.nextInt(4);
    if (kind == 3) {
      int other = Math.floorMod(node + 1 + sim.random.nextInt(sim.size - 1), sim.size);
      network.cut[other][node] = true; // one link lost one way: deaf to one peer only
      sim.note("cut for good: " + sim.nodes[node].id + " is deaf to " + sim.nodes[other].id);
      return;
    }
    for (int other = 0; other < sim.size; other++) {
      if (other == node) {
        continue;
      }
      switch (kind) {
        case 0, 1 -> network.cut[other][node] = true; // deaf: the outage of issue 23
        case 2 -> network.cut[node][other] = true; // mute
        default -> throw new IllegalStateException();
      }
    }
    sim.note("cut for good: " + sim.nodes[node].id + (kind == 2 ? " is mute" : " is deaf"));
  }

  private static int topRanked(Simulation sim) {
    int best = 0;
    for (int i = 1; i < sim.size; i++) {
      int priority = sim.config().nodes().get(i).priority();
      int bestPriority = sim.config().nodes().get(best).priority();
      if (priority > bestPriority
          || (priority == bestPriority && sim.nodes[i].id.compareTo(sim.nodes[best].id) > 0)) {
        best = i;
      }
    }
    return best;
  }

  private static long calm(
      Simulation sim, long start, long length, Figures figures, RunChecks checks) {
    sim.runUntil(start);
    sim.network.calm();
    // Most calm phases bring every node back, so that liveness is checked in most runs; the others
    // keep what chaos left (deaths, ineligible and drained nodes) and check only if it allows.
    boolean heal = sim.random.nextInt(4) != 0;
    for (Node node : sim.nodes) {
      if (!node.up && (heal || sim.random.nextBoolean())) {
        node.start();
      }
      if (heal && !node.eligible) {
        node.setEligible(true);
      }
      if (heal && node.maintenance) {
        node.setMaintenance(false);
      }
    }
    long end = start + length;
    sim.runUntil(start + SETTLE);
    expectLiveness(sim, figures, checks);
    if (sim.random.nextBoolean()) {
      sim.runUntil(sim.now + sim.random.nextInt(500) * MS);
      drain(sim, figures);
      sim.expectOneHolder = false;
      sim.runUntil(sim.now + SETTLE);
      expectLiveness(sim, figures, checks);
    }
    sim.runUntil(Math.max(end, sim.now));
    sim.expectOneHolder = false;
    return sim.now;
  }

  private static void expectLiveness(Simulation sim, Figures figures, RunChecks checks) {
    sim.expectOneHolder = settled(sim);
    if (sim.expectOneHolder) {
      checks.livenessChecked = true;
      figures.livenessPhases.incrementAndGet();
      if (anyCut(sim)) {
        figures.livenessPhasesWithCutLinks.incrementAndGet();
      }
    }
  }

  private static boolean anyCut(Simulation sim) {
    for (int a = 0; a < sim.size; a++) {
      for (int b = 0; b < sim.size; b++) {
        if (sim.network.cut[a][b]) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * A quorum of qualified nodes can talk both ways: some set of that many qualified nodes has no
   * link cut between any two of them (the calm network has no other fault).
   */
  static boolean settled(Simulation sim) {
    int best = 0;
    for (int set = 1; set < 1 << sim.size; set++) {
      if (Integer.bitCount(set) <= best || Integer.bitCount(set) < sim.quorum()) {
        continue;
      }
      boolean ok = true;
      for (int a = 0; a < sim.size && ok; a++) {
        if ((set & 1 << a) == 0) {
          continue;
        }
        ok = sim.nodes[a].qualified();
        for (int b = a + 1; b < sim.size && ok; b++) {
          ok = (set & 1 << b) == 0 || sim.network.bothWays(a, b);
        }
      }
      if (ok) {
        best = Integer.bitCount(set);
      }
    }
    return best >= sim.quorum();
  }

  /**
   * Drains the holder when someone can take over; checks that the VIP is never absent meanwhile.
   */
  private static void drain(Simulation sim, Figures figures) {
    Optional<Node> holder = sim.soleAddressHolder();
    // With links cut for good, whether another node can collect a quorum is a question of which
    // links; make-before-break is promised on a network that lets the nodes talk.
    if (holder.isEmpty()
        || !holder.get().qualified()
        || sim.qualifiedCount() < 2
        || sim.upCount() < sim.quorum()
        || anyCut(sim)) {
      return;
    }
    Node old = holder.get();
    sim.expectOneHolder = false;
    sim.expectNoGap = true;
    old.setMaintenance(true);
    long drained = sim.now;
    long overlapStart = -1;
    long deadline = drained + sim.config().handoffTimeout().toNanos() + SECOND;
    while (sim.now < deadline) {
      sim.runUntil(sim.now + MS);
      boolean other = sim.addressHolders().stream().anyMatch(n -> n != old);
      if (other && overlapStart < 0) {
        overlapStart = sim.now;
      }
      if (other && !old.addressPresent) {
        break;
      }
    }
    sim.expectNoGap = false;
    if (overlapStart < 0 || old.addressPresent) {
      sim.fail("a planned drain of " + old.id + " did not hand the VIP over");
    }
    figures.drains.incrementAndGet();
    figures.drainOverlap.add(sim.now - overlapStart);
  }

  private static long chaos(Simulation sim, long start, long length, Figures figures) {
    sim.runUntil(start);
    Simulation.Network network = sim.network;
    network.loss = sim.random.nextDouble() * 0.3;
    if (sim.random.nextInt(3) == 0) {
      // One node's inbound heartbeats lost heavily, its outbound not: a lossy one-way link.
      int deafish = sim.random.nextInt(sim.size);
      network.inboundLoss[deafish] = 0.5 + sim.random.nextDouble() * 0.5;
      sim.note(
          sim.nodes[deafish].id
              + " loses "
              + Math.round(network.inboundLoss[deafish] * 100)
              + "% of its inbound heartbeats");
    }
    network.duplicate = sim.random.nextDouble() * 0.1;
    network.reorder = sim.random.nextDouble() * 0.3;
    network.maxDelay = (2 + sim.random.nextInt(30)) * MS;
    long end = start + length;
    int faults = 3 + sim.random.nextInt(8);
    for (int i = 0; i < faults; i++) {
      long when = start + (long) (sim.random.nextDouble() * (length - 500 * MS));
      sim.at(when, () -> fault(sim, end, figures));
    }
    sim.runUntil(end);
    return end;
  }

  /** One random fault; every one of them is over by {@code end}, except deaths and flips. */
  private static void fault(Simulation sim, long end, Figures figures) {
    Node node = sim.nodes[sim.random.nextInt(sim.size)];
    Optional<Node> holder = sim.soleAddressHolder();
    if (holder.isPresent() && sim.random.nextInt(3) == 0) {
      node = holder.get();
    }
    switch (sim.random.nextInt(10)) {
      case 0 -> partition(sim);
      case 1 -> oneWay(sim);
      case 2 -> {
        sim.note("network heals");
        for (boolean[] row : sim.network.blocked) {
          Arrays.fill(row, false);
        }
      }
      case 3 -> node.pause(Math.min((50 + sim.random.nextInt(750)) * MS, end - sim.now));
      case 4 -> {
        // Longer than the failure timeout: the others move on, and the node must not act on its
        // stale decision when it resumes.
        long pause = Math.min((600 + sim.random.nextInt(2400)) * MS, end - sim.now);
        if (pause > FAILURE_TIMEOUT && node.up && !node.paused()) {
          figures.longPauses.incrementAndGet();
        }
        node.pause(pause);
      }
      case 5 -> node.setEligible(!node.eligible);
      case 6 -> node.setMaintenance(!node.maintenance);
      case 8 -> linkDown(sim, node, Math.min((200 + sim.random.nextInt(1800)) * MS, end - sim.now));
      case 7 -> {
        if (node.up) {
          node.kill();
          Node dead = node;
          long restart = sim.now + (1 + sim.random.nextInt(2)) * SECOND;
          if (restart < end) {
            sim.at(
                restart,
                () -> {
                  dead.start();
                  // What an attacker captured before the restart, replayed into the new life: its
                  // replay guard starts empty, so these may be accepted; the invariants must hold.
                  replayInto(sim, dead, figures);
                });
          }
        }
      }
      default -> {
        for (Node down : sim.nodes) {
          if (!down.up) {
            down.start();
            break;
          }
        }
      }
    }
  }

  private static void replayInto(Simulation sim, Node restarted, Figures figures) {
    List<byte[]> old = new ArrayList<>(restarted.capturedBeforeDeath);
    Collections.shuffle(old, sim.random);
    for (byte[] datagram : old.subList(0, Math.min(4, old.size()))) {
      sim.at(
          sim.now + sim.random.nextInt(200) * MS,
          () -> restarted.deliver(datagram, Simulation.address(sim.random.nextInt(sim.size))));
      figures.replayedIntoRestarted.incrementAndGet();
    }
  }

  /**
   * The node's link goes down for {@code length} and comes back: what it and the others sent
   * meanwhile waits in the neighbour queues and arrives in one burst ({@link
   * Simulation.Network#down}).
   */
  private static void linkDown(Simulation sim, Node node, long length) {
    sim.note(node.id + "'s link goes down for " + length / MS + " ms");
    sim.network.linkDown(node);
    sim.at(
        sim.now + length,
        () -> {
          sim.note(node.id + "'s link comes back up");
          sim.network.linkUp(node);
        });
  }

  private static void partition(Simulation sim) {
    int[] side = IntStream.range(0, sim.size).map(i -> sim.random.nextInt(2)).toArray();
    StringBuilder groups = new StringBuilder("partition:");
    for (int a = 0; a < sim.size; a++) {
      groups.append(' ').append(sim.nodes[a].id).append('=').append(side[a]);
      for (int b = 0; b < sim.size; b++) {
        sim.network.blocked[a][b] = side[a] != side[b];
      }
    }
    sim.note(groups.toString());
  }

  private static void oneWay(Simulation sim) {
    int from = sim.random.nextInt(sim.size);
    boolean all = sim.random.nextBoolean();
    for (int to = 0; to < sim.size; to++) {
      if (to != from && (all || sim.random.nextBoolean())) {
        sim.network.blocked[from][to] = true;
      }
    }
    sim.note("one-way loss from " + sim.nodes[from].id + (all ? " to everyone" : " to some"));
  }

  /** The holder's host dies at a random moment; measures how long the VIP is on no host. */
  private static void killHolder(Simulation sim, Figures figures) {
    sim.runUntil(sim.now + sim.random.nextInt(100) * MS);
    Optional<Node> holder = sim.soleAddressHolder();
    if (holder.isEmpty() || sim.qualifiedCount() < 2 || sim.upCount() - 1 < sim.quorum()) {
      return;
    }
    sim.expectOneHolder = false;
    holder.get().kill();
    if (!settled(sim)) {
      return; // links cut for good leave no quorum that can talk both ways without it
    }
    long died = sim.now;
    while (sim.now < died + 5 * SECOND) {
      sim.runUntil(sim.now + MS);
      if (sim.soleAddressHolder().isPresent()) {
        (anyCut(sim) ? figures.unheldAfterDeathWithCuts : figures.unheldAfterDeath)
            .add(sim.now - died);
        return;
      }
    }
    sim.fail("nobody took the VIP within 5 s after its holder died");
  }
}
