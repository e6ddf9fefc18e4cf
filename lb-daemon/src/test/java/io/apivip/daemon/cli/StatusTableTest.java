package io.apivip.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.Json;
import io.apivip.daemon.admin.StatusReport;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code apivip status} prints of a foreign claimant of the VIP. */
class StatusTableTest {

  @Test
  void aForeignClaimantGetsALineOfItsOwnWithItsMacAndTime() throws Exception {
    StatusReport.ForeignClaim claim =
        new StatusReport.ForeignClaim(
            "02:00:00:00:00:0c", "arp-reply", "2025-01-02T03:04:05.600Z", 42.4, 3);
    String table = StatusTable.render(status(claim));

    assertThat(table)
        .contains(
            "foreign claimant: 02:00:00:00:00:0c at 2025-01-02T03:04:05.600Z (42 s ago,"
                + " arp-reply, 3 frames): another host answers for the VIP; see apivip doctor\n");
    // And it survives the JSON between the daemon and the command line.
    assertThat(Json.read(Json.write(status(claim)), StatusReport.class).vip().foreignClaim())
        .isEqualTo(claim);
  }

  @Test
  void ageIsInMinutesOrHoursOnceLong() {
    String minutes =
        StatusTable.render(
            status(new StatusReport.ForeignClaim("02:00:00:00:00:0c", "na", "t", 750, 1)));
    String hours =
        StatusTable.render(
            status(new StatusReport.ForeignClaim("02:00:00:00:00:0c", "na", "t", 36_000, 1)));

    assertThat(minutes).contains("(12 min ago, na, 1 frame)");
    assertThat(hours).contains("(10 h ago, na, 1 frame)");
  }

  @Test
  void withoutOneThereIsNoSuchLine() {
    assertThat(StatusTable.render(status(null))).doesNotContain("foreign claimant");
  }

  private static StatusReport status(StatusReport.ForeignClaim claim) {
    return new StatusReport(
        "node1",
        "apivip",
        "test",
        "epoll",
        false,
        new StatusReport.Vip("192.0.2.100", "eth0", "node1", true, true, claim),
        new StatusReport.Quorum(2, 3, true),
        List.of(
            new StatusReport.Member(
                "node1", "192.0.2.11", 100, "self", true, false, true, null, null, 0)),
        List.of(),
        new StatusReport.Drain(false, false, ""));
  }
}
