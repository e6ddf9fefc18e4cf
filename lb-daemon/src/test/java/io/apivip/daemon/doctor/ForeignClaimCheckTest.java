package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.StatusReport;
import org.junit.jupiter.api.Test;

/** The doctor on a foreign claimant of the VIP, as the daemon's status reports it. */
class ForeignClaimCheckTest {

  private static final StatusReport.ForeignClaim CLAIM =
      new StatusReport.ForeignClaim(
          "02:00:00:00:00:0c", "arp-reply", "2025-01-02T03:04:05Z", 30.2, 4);

  @Test
  void aRecentClaimantFailsWithItsMacAndHowToFindAndRemoveIt() {
    Finding finding = ForeignClaimCheck.check(status("node1", true, CLAIM));

    assertThat(finding.check()).isEqualTo("vip-claimant");
    assertThat(finding.severity()).isEqualTo(Severity.FAIL);
    assertThat(finding.message())
        .startsWith(
            "another host claimed the VIP 192.0.2.100 while this node held it: 02:00:00:00:00:0c"
                + " (arp-reply, 4 frames), last at 2025-01-02T03:04:05Z, 30 s ago.")
        .contains("`ip neigh | grep -i 02:00:00:00:00:0c`")
        .contains("`arping -c 3 -I eth0 192.0.2.100`")
        .contains("`sudo ip addr del 192.0.2.100 dev eth0` there");
  }

  @Test
  void aClaimantNotSeenForLongWarnsThatItMayBeOver() {
    StatusReport.ForeignClaim old =
        new StatusReport.ForeignClaim(
            CLAIM.mac(),
            CLAIM.kind(),
            CLAIM.lastSeen(),
            ForeignClaimCheck.RECENT.toSeconds() + 1,
            1);
    Finding finding = ForeignClaimCheck.check(status("node2", false, old));

    assertThat(finding.severity()).isEqualTo(Severity.WARN);
    assertThat(finding.message())
        .contains("(arp-reply, 1 frame)")
        .endsWith("(none seen for over 10 minutes: it may be over)");
  }

  @Test
  void noClaimantIsFineAndSaysWhoWatches() {
    assertThat(ForeignClaimCheck.check(status("node1", true, null)))
        .isEqualTo(
            Finding.ok(
                "vip-claimant",
                "no other host claimed the VIP 192.0.2.100 while this node held it; this node"
                    + " holds it and watches for ARP and neighbour discovery for it"));
    assertThat(ForeignClaimCheck.check(status("node2", false, null)).message())
        .endsWith("node2 holds it now and watches: run apivip doctor there too");
    assertThat(ForeignClaimCheck.check(status(null, false, null)).message())
        .endsWith("no node holds it now");
  }

  private static StatusReport status(
      String holder, boolean heldHere, StatusReport.ForeignClaim claim) {
    StatusReport status = DoctorLab.status();
    return new StatusReport(
        status.node(),
        status.cluster(),
        status.version(),
        status.transport(),
        status.maintenance(),
        new StatusReport.Vip("192.0.2.100", "eth0", holder, heldHere, heldHere, claim),
        status.quorum(),
        status.members(),
        status.backends(),
        status.drain(),
        status.acceptedKeys());
  }
}
