package io.apivip.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.Json;
import io.apivip.daemon.admin.StatusReport;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code apivip status} prints of the keys and of a foreign claimant of the VIP. */
class StatusTableTest {

  static StatusReport report(List<String> accepted, StatusReport.ForeignClaim claim) {
    return new StatusReport(
        "n1",
        "apivip",
        "test",
        "epoll",
        false,
        new StatusReport.Vip("192.0.2.100", "eth0", "n1", true, true, claim),
        new StatusReport.Quorum(2, 3, true),
        List.of(
            new StatusReport.Member(
                "n1", "192.0.2.11", 100, "self", true, false, true, null, null, 0, "bbbb"),
            new StatusReport.Member(
                "n2", "192.0.2.12", 100, "alive", true, false, false, 0.05, 0.001, 0, "aaaa"),
            new StatusReport.Member(
                "n3", "192.0.2.13", 100, "never-heard", false, false, false, null, null, 0, null)),
        List.of(),
        new StatusReport.Drain(false, false, ""),
        accepted);
  }

  static StatusReport claimed(StatusReport.ForeignClaim claim) {
    return report(List.of(), claim);
  }

  @Test
  void eachMemberShowsTheKeyItSignsWithAndThisNodeWhatElseItAccepts() {
    String text = StatusTable.render(report(List.of("aaaa"), null));
    List<String> lines = text.lines().toList();
    assertThat(lines).contains("keys: also accepts aaaa (a key change is under way)");
    String header = lines.stream().filter(l -> l.startsWith("MEMBER")).findFirst().orElseThrow();
    assertThat(header).matches(".*CLOCK +KEY");
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("n1 ").endsWith("bbbb"));
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("n2 ").endsWith("aaaa"));
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("n3 ").endsWith("-"));
    assertThat(StatusTable.render(report(List.of(), null))).doesNotContain("keys:");
  }

  @Test
  void aForeignClaimantGetsALineOfItsOwnWithItsMacAndTime() throws Exception {
    StatusReport.ForeignClaim claim =
        new StatusReport.ForeignClaim(
            "02:00:00:00:00:0c", "arp-reply", "2025-01-02T03:04:05.600Z", 42.4, 3);
    String table = StatusTable.render(claimed(claim));

    assertThat(table)
        .contains(
            "foreign claimant: 02:00:00:00:00:0c at 2025-01-02T03:04:05.600Z (42 s ago,"
                + " arp-reply, 3 frames): another host answers for the VIP; see apivip doctor\n");
    // And it survives the JSON between the daemon and the command line.
    assertThat(Json.read(Json.write(claimed(claim)), StatusReport.class).vip().foreignClaim())
        .isEqualTo(claim);
  }

  @Test
  void ageIsInMinutesOrHoursOnceLong() {
    String minutes =
        StatusTable.render(
            claimed(new StatusReport.ForeignClaim("02:00:00:00:00:0c", "na", "t", 750, 1)));
    String hours =
        StatusTable.render(
            claimed(new StatusReport.ForeignClaim("02:00:00:00:00:0c", "na", "t", 36_000, 1)));

    assertThat(minutes).contains("(12 min ago, na, 1 frame)");
    assertThat(hours).contains("(10 h ago, na, 1 frame)");
  }

  @Test
  void withoutOneThereIsNoSuchLine() {
    assertThat(StatusTable.render(claimed(null))).doesNotContain("foreign claimant");
  }
}
