package io.apivip.daemon.doctor;

import static io.apivip.daemon.doctor.DoctorLab.alive;
import static io.apivip.daemon.doctor.DoctorLab.peer;
import static io.apivip.daemon.doctor.DoctorLab.status;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.config.Settings;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerCheckTest {

  @TempDir Path dir;

  @Test
  void alivePeersAndQuorumAreOneOkLine() {
    assertThat(PeerCheck.fromStatus(status(alive("node2"), alive("node3")), 6480, Set.of()))
        .containsExactly(
            Finding.ok(
                "peers",
                "node2, node3 alive; this node sees 3 nodes (itself included), 2 needed for"
                    + " quorum"));
  }

  @Test
  void aSilentPeerFailsWithWhereToLook() {
    List<Finding> findings =
        PeerCheck.fromStatus(
            status(alive("node2"), peer("node3", "suspected", 12.25, 0.0, 0)), 6480, Set.of());
    assertThat(findings)
        .contains(
            Finding.fail(
                "peers",
                "node3 (192.0.2.13) is silent for 12.3s: is it up and is apivip running there"
                    + " (systemctl status apivip)? is UDP 6480 blocked between the nodes"
                    + " (docs/microk8s.md section 9)?"));
  }

  @Test
  void aPeerNeverHeardFromAndNoQuorumFail() {
    List<Finding> findings =
        PeerCheck.fromStatus(
            status(
                peer("node2", "suspected", null, null, 0),
                peer("node3", "suspected", null, null, 0)),
            6480,
            Set.of());
    assertThat(findings)
        .contains(
            Finding.fail(
                "peers",
                "node2 (192.0.2.12) has never been heard from: check that apivip runs there"
                    + " (systemctl status apivip) and that UDP 6480 passes between the nodes both"
                    + " ways (docs/microk8s.md section 9)"));
    assertThat(findings)
        .contains(
            Finding.fail(
                "peers",
                "this node sees 1 node (itself included), 2 needed for quorum: it will not hold the"
                    + " VIP until more peers are heard"));
    assertThat(findings).extracting(Finding::severity).doesNotContain(Severity.OK);
  }

  @Test
  void aPeerInMaintenanceIsOnlyAWarningAndAKeyMismatchIsLeftToTheKeyCheck() {
    StatusReport.Member draining =
        new StatusReport.Member(
            "node2", "192.0.2.12", 100, "suspected", true, true, false, 40.0, 0.0, 0, null);
    List<Finding> findings =
        PeerCheck.fromStatus(
            status(draining, peer("node3", "suspected", 2.0, null, 50)), 6480, Set.of("node3"));
    assertThat(findings)
        .filteredOn(f -> f.message().contains("node2"))
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.WARN);
              assertThat(f.message())
                  .startsWith(
                      "node2 (192.0.2.12) is in maintenance and silent for 40.0s (rebooting?)");
            });
    assertThat(findings).noneSatisfy(f -> assertThat(f.message()).contains("node3 ("));
  }

  @Test
  void withoutTheDaemonPeersAreTriedByTcp() throws Exception {
    try (ServerSocket listening =
        new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      int closedPort;
      try (ServerSocket closed =
          new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        closedPort = closed.getLocalPort();
      }
      Settings settings =
          DoctorLab.settings(
              DoctorLab.config(
                  dir,
                  List.of(
                      new InetSocketAddress("127.0.0.1", 1),
                      new InetSocketAddress("127.0.0.1", listening.getLocalPort()),
                      new InetSocketAddress("127.0.0.1", closedPort)),
                  ""));
      List<Finding> findings = PeerCheck.byTcp(settings, Duration.ofSeconds(2));
      assertThat(findings)
          .containsExactly(
              Finding.ok(
                  "peers",
                  "node2 (192.0.2.12) answers on TCP "
                      + listening.getLocalPort()
                      + " (its apiserver); UDP 6480 is tested only while the daemon runs"),
              Finding.warn(
                  "peers",
                  "node3 (192.0.2.13) refuses TCP "
                      + closedPort
                      + ": the host is up but its apiserver is not listening (microk8s status on"
                      + " node3)"));
    }
  }
}
