package io.apivip.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.StatusReport;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusTableTest {

  static StatusReport report(List<String> accepted) {
    return new StatusReport(
        "n1",
        "apivip",
        "test",
        "epoll",
        false,
        new StatusReport.Vip("192.0.2.100", "eth0", "n1", true, true),
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

  @Test
  void eachMemberShowsTheKeyItSignsWithAndThisNodeWhatElseItAccepts() {
    String text = StatusTable.render(report(List.of("aaaa")));
    List<String> lines = text.lines().toList();
    assertThat(lines).contains("keys: also accepts aaaa (a key change is under way)");
    String header = lines.stream().filter(l -> l.startsWith("MEMBER")).findFirst().orElseThrow();
    assertThat(header).matches(".*CLOCK +KEY");
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("n1 ").endsWith("bbbb"));
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("n2 ").endsWith("aaaa"));
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("n3 ").endsWith("-"));
    assertThat(StatusTable.render(report(List.of()))).doesNotContain("keys:");
  }
}
