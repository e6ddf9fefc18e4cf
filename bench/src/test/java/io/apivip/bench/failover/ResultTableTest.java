package io.apivip.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ResultTableTest {

  private static Trial window(long millis, long failed) {
    return new Trial(millis, failed, 800, OptionalLong.of(millis));
  }

  private static SystemResult result(
      String title,
      boolean apivip,
      List<Trial> unplanned,
      long plannedFailures,
      long apiserverFailures,
      int moves) {
    return new SystemResult(
        title,
        apivip,
        Optional.of(Trial.of(0, 0, 1000)),
        unplanned,
        List.of(Trial.of(0, 0, 900)),
        List.of(Trial.of(0, plannedFailures, 900)),
        List.of(Trial.of(0, 0, 900)),
        List.of(Trial.of(0, apiserverFailures, 900)),
        OptionalInt.of(moves),
        Optional.of(Trial.of(0, 0, 6000)),
        Optional.empty());
  }

  @Test
  void apivipMeetingEveryTargetPasses() {
    SystemResult apivip =
        result(
            "apivip (defaults)",
            true,
            List.of(window(400, 40), window(500, 50), window(900, 90)),
            0,
            0,
            0);
    SystemResult keepalived =
        result(
            "keepalived",
            false,
            List.of(window(3600, 120), window(3900, 130), window(4100, 140)),
            3,
            0,
            2);

    String table = ResultTable.markdown(List.of(apivip, keepalived), 60);

    assertThat(table)
        .startsWith(
            "| measurement | apivip (defaults) | keepalived | apivip target |\n"
                + "| --- | ---: | ---: | --- |\n");
    assertThat(table)
        .contains(
            "| Link cut on the holder: failure window, median | 0.50 s | 3.90 s | < 0.6 s: PASS |");
    assertThat(table)
        .contains(
            "| Link cut on the holder: failure window, worst | 0.90 s | 4.10 s | < 1 s: PASS |");
    assertThat(table)
        .contains(
            "| Planned handoff: failed connections, all trials (worst trial) | 0 (0) | 3 (3) | 0:"
                + " PASS |");
    assertThat(table)
        .contains(
            "| CPU hog on the holder for 60 s: VIP moves (false failovers) | 0 | 2 | 0: PASS |");
    assertThat(ResultTable.verdicts(List.of(apivip, keepalived), 60))
        .hasSize(5)
        .allMatch(line -> line.startsWith("PASS"));
  }

  @Test
  void aMissedTargetSaysMissWithTheFigure() {
    SystemResult apivip =
        result(
            "apivip (defaults)",
            true,
            List.of(window(400, 40), window(1200, 120), window(500, 50)),
            2,
            1,
            1);

    List<String> verdicts = ResultTable.verdicts(List.of(apivip), 60);

    assertThat(verdicts)
        .contains(
            "PASS  Link cut on the holder: failure window, median: 0.50 s (target < 0.6 s)",
            "MISS  Link cut on the holder: failure window, worst: 1.20 s (target < 1 s)",
            "MISS  Planned handoff: failed connections, all trials (worst trial): 2 (2) (target 0)",
            "MISS  API server failure on the holder: failed connections, all trials (worst trial):"
                + " 1 (1) (target 0)");
  }

  @Test
  void withoutApivipOrItsFiguresTheTargetsAreNotMeasured() {
    SystemResult broken =
        new SystemResult(
            "apivip (defaults)",
            true,
            Optional.empty(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            OptionalInt.empty(),
            Optional.empty(),
            Optional.of("apivip on n1 exited"));

    String table = ResultTable.markdown(List.of(broken), 60);

    assertThat(table)
        .contains("| Link cut on the holder: failure window, worst | – | < 1 s: not measured |");
    assertThat(table).contains("apivip (defaults): stopped early: apivip on n1 exited");
    assertThat(ResultTable.verdicts(List.of(), 60))
        .allMatch(line -> line.startsWith("not measured"));
  }
}
