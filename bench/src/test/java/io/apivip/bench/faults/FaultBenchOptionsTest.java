package io.apivip.bench.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class FaultBenchOptionsTest {

  @Test
  void defaultsAreOneTrialOfEveryFaultForApivipAndKeepalived() {
    FaultBench.Options options = FaultBench.Options.parse("--jar", "apivip.jar");

    assertThat(options.trials()).isEqualTo(1);
    assertThat(options.faults()).containsExactly(Fault.values());
    assertThat(options.systems())
        .containsExactly(FaultBench.SystemName.APIVIP, FaultBench.SystemName.KEEPALIVED);
    assertThat(options.readme()).isEmpty();
    assertThat(options.work()).isEmpty();
  }

  @Test
  void aSubsetOfFaultsRunsInTheMatrixOrder() {
    FaultBench.Options options =
        FaultBench.Options.parse(
            "--jar",
            "a.jar",
            "--faults",
            "partition, holder-deaf,partition",
            "--systems",
            "keepalived-fast",
            "--trials",
            "3",
            "--work",
            "/tmp/w",
            "--readme",
            "R.md");

    assertThat(options.faults()).containsExactly(Fault.HOLDER_DEAF, Fault.PARTITION);
    assertThat(options.systems()).containsExactly(FaultBench.SystemName.KEEPALIVED_FAST);
    assertThat(options.trials()).isEqualTo(3);
    assertThat(options.work()).contains(Path.of("/tmp/w"));
    assertThat(options.readme()).contains(Path.of("R.md"));
  }

  @Test
  void badArgumentsAreNamed() {
    assertThatThrownBy(() -> FaultBench.Options.parse("--faults", "pause"))
        .hasMessageContaining("--jar");
    assertThatThrownBy(() -> FaultBench.Options.parse("--jar", "a.jar", "--faults", "reboot"))
        .hasMessageContaining("reboot")
        .hasMessageContaining("holder-deaf");
    assertThatThrownBy(() -> FaultBench.Options.parse("--jar", "a.jar", "--faults", " , "))
        .hasMessageContaining("empty");
    assertThatThrownBy(() -> FaultBench.Options.parse("--jar", "a.jar", "--trials", "0"))
        .hasMessageContaining("--trials 0");
    assertThatThrownBy(() -> FaultBench.Options.parse("--jar", "a.jar", "--systems", "kube-vip"))
        .hasMessageContaining("kube-vip");
    assertThatThrownBy(() -> FaultBench.Options.parse("--jar", "a.jar", "--no-readme"))
        .hasMessageContaining("--no-readme needs a value");
    assertThatThrownBy(() -> FaultBench.Options.parse("--jar", "a.jar", "--colour", "red"))
        .hasMessageContaining("unknown option --colour");
  }

  @Test
  void theReadmeSectionNamesTheCommitAndIsNotIndented() {
    FaultBench.Options options =
        FaultBench.Options.parse(
            "--jar", "a.jar", "--machine", "Intel Xeon, 2 CPUs", "--commit", "73b1bb2");

    String section = FaultBench.section(options, true, "| table |\n", "0.10", "0.20");

    assertThat(section)
        .startsWith(FaultBench.HEADING + "\n")
        .contains(
            "on Intel Xeon, 2 CPUs with `bench/faults/run.sh` at apivip commit 73b1bb2 (one trial")
        .contains("| table |");
    // Markdown reads four leading spaces as code: no line of the section may have them.
    assertThat(section.lines()).noneMatch(line -> line.startsWith("    "));
    assertThat(section).contains("netem loss 20% delay 50ms 50ms").doesNotContain("numgen");
    assertThat(FaultBench.section(options, false, "| table |\n", "0.10", "0.20"))
        .contains("has no netem")
        .contains("`oifname \"eth0\" numgen random mod 100 < 20 drop`");
  }
}
