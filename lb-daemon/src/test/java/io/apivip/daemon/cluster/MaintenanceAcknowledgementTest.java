package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Simulation.MS;
import static io.apivip.daemon.cluster.Simulation.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A draining node learns from its peers' heartbeats which of them have heard of its maintenance.
 */
@ExtendWith(QuietClusterLogs.class)
class MaintenanceAcknowledgementTest {

  private final Simulation sim = new Simulation(7, 3, Duration.ofSeconds(3), false);

  private void startAndSettle() {
    for (Simulation.Node node : sim.nodes) {
      node.start();
    }
    sim.runUntil(3 * SECOND);
  }

  @Test
  void everyLivePeerAcknowledgesWithinAHeartbeatOrTwo() {
    startAndSettle();
    Simulation.Node draining = sim.nodes[0];
    assertThat(draining.cluster.status().maintenanceUnheard()).as("not in maintenance").isEmpty();

    draining.setMaintenance(true);
    sim.runUntil(sim.now + MS);
    assertThat(draining.cluster.status().maintenanceUnheard())
        .containsExactlyInAnyOrder("n2", "n3");
    sim.runUntil(sim.now + 250 * MS);
    assertThat(draining.cluster.status().maintenanceUnheard()).isEmpty();
  }

  @Test
  void aPeerThatDoesNotReceiveOurHeartbeatsIsNamedForAsLongAsWeStillHearIt() {
    startAndSettle();
    Simulation.Node draining = sim.nodes[0];
    sim.network.blocked[0][1] = true; // n1 -> n2 lost; n2 -> n1 still arrives

    draining.setMaintenance(true);
    sim.runUntil(sim.now + 2 * SECOND);
    assertThat(draining.cluster.status().maintenanceUnheard()).containsExactly("n2");

    sim.network.blocked[0][1] = false;
    sim.runUntil(sim.now + 250 * MS);
    assertThat(draining.cluster.status().maintenanceUnheard()).isEmpty();
  }

  @Test
  void aSuspectedPeerIsNotWaitedFor() {
    startAndSettle();
    sim.nodes[2].kill();
    Simulation.Node draining = sim.nodes[0];
    draining.setMaintenance(true);
    sim.runUntil(sim.now + SECOND);
    assertThat(draining.cluster.status().maintenanceUnheard()).isEmpty();
  }
}
