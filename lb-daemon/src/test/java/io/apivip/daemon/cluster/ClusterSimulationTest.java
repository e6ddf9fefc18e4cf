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
 * duplication, reordering, partitions, one-way links, pauses, deaths, restarts, eligibility and
 * maintenance flips, forged, replayed and malformed datagrams) and calm phases, with the invariants
 * of {@link Simulation#check} after every event. Prints the failover figures.
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

  /** Figures gathered over runs. */
  static final class Figures {
    final List<Long> unheldAfterDeath = Collections.synchronizedList(new ArrayList<>());
    final List<Long> drainOverlap = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger drains = new AtomicInteger();
    final AtomicInteger injected = new AtomicInteger();
  }

  @Test
  void seededRunsKeepEveryInvariant() throws InterruptedException {
    String single = System.getProperty("apivip.sim.seed");
    long[] seeds =
        single != null
            ? new long[] {Long.parseLong(single)}
            : LongStream.range(0, Integer.getInteger("apivip.sim.seeds", 1800))
                .map(i -> i + Long.getLong("apivip.sim.first", 1))
                .toArray();
    Figures figures = new Figures();
    long started = System.nanoTime();
    AtomicInteger next = new AtomicInteger();
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    Thread[] workers = new Thread[Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors()))];
    for (int w = 0; w < workers.length; w++) {
      workers[w] =
          new Thread(
              () -> {
                for (int i = next.getAndIncrement(); i < seeds.length && failures.isEmpty(); i = next.getAndIncrement()) {
                  try {
                    run(seeds[i], figures);
                  } catch (Throwable e) {
                    failures.add(e);
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
        "cluster simulation: %d runs (3, 5, 7 nodes) in %.1f s wall, %d adversarial datagrams dropped%n",
        seeds.length, seconds, figures.injected.get());
    System.out.println("  VIP unheld after the holder dies: " + summary(figures.unheldAfterDeath));
    System.out.println(
        "  planned drains: " + figures.drains.get() + ", both nodes holding for " + summary(figures.drainOverlap)
            + ", never an instant without a holder");
    assertThat(figures.unheldAfterDeath).as("failover samples").isNotEmpty();
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

  /** One seeded run: start, settle, then chaos and calm three times, then kill the holder. */
  static void run(long seed, Figures figures) {
    int size = SIZES[(int) Math.floorMod(seed, SIZES.length)];
    boolean preempt = Math.floorMod(seed / SIZES.length, 4) == 0;
    Simulation sim = new Simulation(seed, size, Duration.ofSeconds(3), preempt);
    for (Node node : sim.nodes) {
      sim.at(sim.random.nextInt(300) * MS, node::start);
    }
    Adversary adversary = new Adversary(sim, figures);
    adversary.every(150 * MS);
    long t = calm(sim, 0, SETTLE + SECOND, figures);
    for (int cycle = 0; cycle < 3; cycle++) {
      t = chaos(sim, t, (1500 + sim.random.nextInt(1500)) * MS);
      t = calm(sim, t, SETTLE + SECOND, figures);
    }
    killHolder(sim, figures);
  }

  private static long calm(Simulation sim, long start, long length, Figures figures) {
    sim.runUntil(start);
    sim.network.calm();
    for (Node node : sim.nodes) {
      if (!node.up && sim.random.nextBoolean()) {
        node.start();
      }
    }
    long end = start + length;
    sim.runUntil(start + SETTLE);
    sim.expectOneHolder = settled(sim);
    if (sim.random.nextBoolean()) {
      sim.runUntil(sim.now + sim.random.nextInt(500) * MS);
      drain(sim, figures);
      sim.expectOneHolder = false;
      sim.runUntil(sim.now + SETTLE);
      sim.expectOneHolder = settled(sim);
    }
    sim.runUntil(Math.max(end, sim.now));
    sim.expectOneHolder = false;
    return sim.now;
  }

  /** A quorum of qualified nodes can talk (the calm network links everyone up). */
  private static boolean settled(Simulation sim) {
    return sim.qualifiedCount() >= sim.quorum();
  }

  /** Drains the holder when someone can take over; checks that the VIP is never absent meanwhile. */
  private static void drain(Simulation sim, Figures figures) {
    Optional<Node> holder = sim.soleAddressHolder();
    if (holder.isEmpty() || !holder.get().qualified() || sim.qualifiedCount() < 2 || sim.upCount() < sim.quorum()) {
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
      boolean other = Arrays.stream(sim.nodes).anyMatch(n -> n != old && n.up && n.addressPresent);
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

  private static long chaos(Simulation sim, long start, long length) {
    sim.runUntil(start);
    Simulation.Network network = sim.network;
    network.loss = sim.random.nextDouble() * 0.3;
    network.duplicate = sim.random.nextDouble() * 0.1;
    network.reorder = sim.random.nextDouble() * 0.3;
    network.maxDelay = (2 + sim.random.nextInt(30)) * MS;
    long end = start + length;
    int faults = 3 + sim.random.nextInt(8);
    for (int i = 0; i < faults; i++) {
      long when = start + (long) (sim.random.nextDouble() * (length - 500 * MS));
      sim.at(when, () -> fault(sim, end));
    }
    sim.runUntil(end);
    return end;
  }

  /** One random fault; every one of them is over by {@code end}, except deaths and flips. */
  private static void fault(Simulation sim, long end) {
    Node node = sim.nodes[sim.random.nextInt(sim.size)];
    Optional<Node> holder = sim.soleAddressHolder();
    if (holder.isPresent() && sim.random.nextInt(3) == 0) {
      node = holder.get();
    }
    switch (sim.random.nextInt(9)) {
      case 0 -> partition(sim);
      case 1 -> oneWay(sim);
      case 2 -> {
        sim.note("network heals");
        for (boolean[] row : sim.network.blocked) {
          Arrays.fill(row, false);
        }
      }
      case 3, 4 -> node.pause(Math.min((50 + sim.random.nextInt(750)) * MS, end - sim.now));
      case 5 -> node.setEligible(!node.eligible);
      case 6 -> node.setMaintenance(!node.maintenance);
      case 7 -> {
        if (node.up) {
          node.kill();
          Node dead = node;
          long restart = sim.now + (1 + sim.random.nextInt(2)) * SECOND;
          if (restart < end) {
            sim.at(restart, dead::start);
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
    long died = sim.now;
    while (sim.now < died + 5 * SECOND) {
      sim.runUntil(sim.now + MS);
      if (sim.soleAddressHolder().isPresent()) {
        figures.unheldAfterDeath.add(sim.now - died);
        return;
      }
    }
    sim.fail("nobody took the VIP within 5 s after its holder died");
  }
}
