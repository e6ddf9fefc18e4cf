package io.apivip.bench.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.lab.cluster.LabProbe.Attempt;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FaultTableTest {

  private static FaultFigures figures(long none, long many, int failed, int calls, long slowest) {
    return new FaultFigures(none, many, failed, calls, slowest, 20_000, 40);
  }

  @Test
  void aRowPerFaultAndACellPerSystem() {
    SystemFaults apivip =
        new SystemFaults(
            "apivip",
            Map.of(Fault.HOLDER_DEAF, List.of(figures(12_040, 0, 57, 400, 3_012))),
            Optional.empty());
    SystemFaults keepalived =
        new SystemFaults(
            "keepalived",
            Map.of(Fault.HOLDER_DEAF, List.of(figures(0, 10_700, 3, 398, 1_020))),
            Optional.of("not back in its steady state"));

    String table =
        FaultTable.markdown(List.of(apivip, keepalived), List.of(Fault.HOLDER_DEAF, Fault.PAUSE));

    assertThat(table.lines().toList())
        .startsWith(
            "| fault: no holder / two holders / failed calls (of) / slowest call | apivip |"
                + " keepalived |",
            "| --- | ---: | ---: |",
            "| "
                + Fault.HOLDER_DEAF.title
                + " | 12.04 s / 0.00 s / 57 (400) / 3.01 s |"
                + " 0.00 s / 10.70 s / 3 (398) / 1.02 s |",
            "| " + Fault.PAUSE.title + " | – | – |");
    assertThat(table).contains("keepalived: stopped early: not back in its steady state");
  }

  @Test
  void overTrialsTheSecondsAreTheWorstAndTheCallsTheSum() {
    assertThat(
            FaultTable.cell(
                List.of(figures(1_000, 0, 2, 400, 900), figures(250, 300, 5, 398, 3_100))))
        .isEqualTo("1.00 s / 0.30 s / 7 (798) / 3.10 s");
  }

  @Test
  void theClientsFiguresCountOnlyCallsStartedInTheWindow() {
    List<Attempt> attempts =
        List.of(
            new Attempt(900, false, 6_000, "before"),
            new Attempt(1_000, true, 20, ""),
            new Attempt(1_050, false, 3_000, "connect timed out"),
            new Attempt(2_000, true, 3_100, ""),
            new Attempt(2_001, false, 9_000, "after"));

    FaultFigures figures =
        FaultFigures.of(new HolderTimeline.Occupancy(1, 2, 3, 4, 5), attempts, 1_000, 2_000);

    assertThat(figures).isEqualTo(new FaultFigures(1, 2, 1, 3, 3_100, 3, 4));
  }
}
