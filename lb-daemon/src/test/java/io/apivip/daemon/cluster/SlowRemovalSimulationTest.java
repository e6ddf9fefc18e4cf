package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Simulation.MS;
import static io.apivip.daemon.cluster.Simulation.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cluster.Simulation.Node;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A kernel slow to remove the address (issue 23: `ip addr del` may take seconds): a node that lets
 * the VIP go keeps saying "releasing" until the address is off, so the holder's fresh announcement
 * (which points the LAN's neighbour tables at it) comes after the old node stopped answering for
 * the address, not while it still does.
 */
@ExtendWith(QuietClusterLogs.class)
class SlowRemovalSimulationTest {

  @Test
  void theHolderAnnouncesAgainOnlyAfterTheOldHoldersAddressIsOff() {
    int runs = 0;
    for (long seed = 1; seed <= 30; seed++) {
      int size = seed % 2 == 0 ? 3 : 5;
      Simulation sim = new Simulation(seed, size, Duration.ofSeconds(3), false);
      sim.fixedRemovalNanos = (200 + sim.random.nextInt(800)) * MS;
      for (Node node : sim.nodes) {
        sim.at(sim.random.nextInt(300) * MS, node::start);
      }
      sim.runUntil(2 * SECOND);
      Node old = sim.soleAddressHolder().orElseThrow();
      old.setMaintenance(true);
      sim.runUntil(sim.now + sim.fixedRemovalNanos + SECOND);
      Node holder =
          Arrays.stream(sim.nodes)
              .filter(node -> node != old && node.addressPresent)
              .findFirst()
              .orElseThrow();
      assertThat(old.addressPresent).as("seed %d: removed in the end", seed).isFalse();
      assertThat(holder.lastAnnouncedAt)
          .as("seed %d: %s announced again after %s's address was removed", seed, holder.id, old.id)
          .isGreaterThan(old.removedAt);
      assertThat(sim.announced).isSameAs(holder);
      runs++;
    }
    assertThat(runs).isEqualTo(30);
  }
}
