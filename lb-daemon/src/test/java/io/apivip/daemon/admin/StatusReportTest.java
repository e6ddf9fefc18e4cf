package io.apivip.daemon.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The one line systemctl status shows, in each role a node can be in. */
class StatusReportTest {

  static StatusReport report(
      boolean maintenance,
      StatusReport.Drain drain,
      String holder,
      boolean heldHere,
      boolean quorum,
      String... health) {
    List<StatusReport.Member> members =
        List.of(
            new StatusReport.Member(
                "n1", "192.0.2.11", 100, "self", true, maintenance, heldHere, null, null, 0, null),
            new StatusReport.Member(
                "n2",
                "192.0.2.12",
                100,
                "alive",
                true,
                false,
                !heldHere && holder != null,
                0.01,
                0.0,
                0,
                null),
            new StatusReport.Member(
                "n3",
                "192.0.2.13",
                100,
                quorum ? "alive" : "suspected",
                true,
                false,
                false,
                0.02,
                0.0,
                0,
                null));
    List<StatusReport.Apiserver> backends =
        List.of(
            new StatusReport.Apiserver("n1", "192.0.2.11:16443", health[0], "", true, 0),
            new StatusReport.Apiserver("n2", "192.0.2.12:16443", health[1], "", true, 0),
            new StatusReport.Apiserver("n3", "192.0.2.13:16443", health[2], "", true, 0));
    return new StatusReport(
        "n1",
        "apivip",
        "0.1",
        "epoll",
        maintenance,
        new StatusReport.Vip("192.0.2.100", "eth0", holder, heldHere, heldHere, null),
        new StatusReport.Quorum(2, quorum ? 3 : 1, quorum),
        members,
        backends,
        drain,
        List.of());
  }

  static final StatusReport.Drain NONE = new StatusReport.Drain(false, false, "");

  @Test
  void saysTheRoleQuorumAndApiservers() {
    assertThat(report(false, NONE, "n1", true, true, "up", "up", "up").oneLine())
        .isEqualTo("holds the VIP 192.0.2.100 on eth0; quorum 3 of 3 nodes; apiservers up 3 of 3");
    assertThat(report(false, NONE, "n2", false, true, "up", "down", "up").oneLine())
        .isEqualTo(
            "standby; n2 holds the VIP 192.0.2.100; quorum 3 of 3 nodes; apiservers up 2 of 3");
    assertThat(report(false, NONE, null, false, false, "down", "unknown", "up").oneLine())
        .isEqualTo(
            "standby; no node holds the VIP 192.0.2.100; quorum LOST, 1 of 3 nodes; apiservers up 1"
                + " of 3");
    assertThat(
            report(
                    true,
                    new StatusReport.Drain(true, true, "n2 holds the VIP"),
                    "n2",
                    false,
                    true,
                    "up",
                    "up",
                    "up")
                .oneLine())
        .isEqualTo("in maintenance (drained); quorum 3 of 3 nodes; apiservers up 3 of 3");
    assertThat(
            report(
                    true,
                    new StatusReport.Drain(true, false, "waiting for a successor"),
                    "n1",
                    true,
                    true,
                    "up",
                    "up",
                    "up")
                .oneLine())
        .startsWith("draining: waiting for a successor;");
  }
}
