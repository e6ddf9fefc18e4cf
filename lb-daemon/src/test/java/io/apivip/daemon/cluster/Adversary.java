package io.apivip.daemon.cluster;

import io.apivip.daemon.cluster.Simulation.Node;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Invariant 4 of the simulation: forged, replayed and malformed datagrams, injected into running
 * nodes, are all dropped and change nothing but the drop counters.
 */
final class Adversary {

  private final Simulation sim;
  private final ClusterSimulationTest.Figures figures;
  private final HeartbeatCodec forger;

  Adversary(Simulation sim, ClusterSimulationTest.Figures figures) {
    this.sim = sim;
    this.figures = figures;
    byte[] wrongKey = new byte[32];
    sim.random.nextBytes(wrongKey);
    Set<String> ids = Set.of("n1", "n2", "n3", "n4", "n5", "n6", "n7", "x");
    this.forger = new HeartbeatCodec("sim", "x", ids, KeyRing.of(wrongKey));
  }

  /** Injects one datagram every {@code period} on average, for the whole run. */
  void every(long period) {
    sim.at(
        sim.now + (long) (sim.random.nextDouble() * 2 * period),
        () -> {
          inject();
          every(period);
        });
  }

  private void inject() {
    Node target = sim.nodes[sim.random.nextInt(sim.size)];
    if (!target.up || target.paused()) {
      return;
    }
    byte[] datagram = datagram(target);
    Object before = target.cluster.digest();
    Optional<DropReason> dropped =
        target.cluster.receive(
            datagram, datagram.length, Simulation.address(sim.random.nextInt(sim.size)));
    if (dropped.isEmpty()) {
      sim.fail("an adversarial datagram was accepted by " + target.id);
    }
    if (!before.equals(target.cluster.digest())) {
      sim.fail("a datagram dropped as " + dropped.get() + " changed the state of " + target.id);
    }
    figures.injected.incrementAndGet();
  }

  private byte[] datagram(Node target) {
    List<byte[]> captured = new ArrayList<>(target.captured);
    byte[] sample =
        captured.isEmpty() ? new byte[0] : captured.get(sim.random.nextInt(captured.size()));
    switch (captured.isEmpty() ? 0 : sim.random.nextInt(5)) {
      case 1 -> {
        return sample.clone(); // replayed as is
      }
      case 2 -> {
        byte[] flipped = sample.clone();
        flipped[sim.random.nextInt(flipped.length)] ^= (byte) (1 << sim.random.nextInt(8));
        return flipped;
      }
      case 3 -> {
        byte[] truncated = new byte[sim.random.nextInt(sample.length)];
        System.arraycopy(sample, 0, truncated, 0, truncated.length);
        return truncated;
      }
      case 4 -> {
        return forged(target);
      }
      default -> {
        byte[] noise = new byte[sim.random.nextInt(1200)];
        sim.random.nextBytes(noise);
        return noise;
      }
    }
  }

  /**
   * A fresh, well-formed heartbeat claiming to come from a real peer, signed with the wrong key.
   */
  private byte[] forged(Node target) {
    String sender = "n" + (1 + (target.index + 1 + sim.random.nextInt(sim.size - 1)) % sim.size);
    Heartbeat heartbeat =
        new Heartbeat(
            "sim",
            sender,
            Long.MAX_VALUE / 2,
            Long.MAX_VALUE / 2,
            target.wallMillis(),
            255,
            true,
            false,
            true,
            true,
            List.of());
    return forger.encode(heartbeat);
  }
}
