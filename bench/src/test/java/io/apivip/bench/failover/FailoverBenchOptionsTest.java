package io.apivip.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FailoverBenchOptionsTest {

  @Test
  void defaultsAreTwentyTrialsAMinuteOfCpuHogAndEverySystem() {
    FailoverBench.Options options = FailoverBench.Options.parse("--jar", "apivip.jar");

    assertThat(options.trials()).isEqualTo(20);
    assertThat(options.cpuHog()).isEqualTo(Duration.ofSeconds(60));
    assertThat(options.systems()).containsExactly(FailoverBench.SystemName.values());
    assertThat(options.readme()).isEmpty();
  }

  @Test
  void aQuickRunPicksTrialsAndSystems() {
    FailoverBench.Options options =
        FailoverBench.Options.parse(
            "--jar",
            "a.jar",
            "--trials",
            "2",
            "--cpu-seconds",
            "5",
            "--systems",
            "keepalived-fast, apivip",
            "--readme",
            "R.md");

    assertThat(options.trials()).isEqualTo(2);
    assertThat(options.cpuHog()).isEqualTo(Duration.ofSeconds(5));
    assertThat(options.systems())
        .containsExactly(FailoverBench.SystemName.KEEPALIVED_FAST, FailoverBench.SystemName.APIVIP);
    assertThat(options.readme()).contains(Path.of("R.md"));
  }

  @Test
  void theReadmeSectionNamesTheCommitAndIsNotIndented() {
    FailoverBench.Options options =
        FailoverBench.Options.parse(
            "--jar", "a.jar", "--machine", "AMD EPYC, 2 CPUs", "--commit", "9111756");

    String section = FailoverBench.section(options, "| table |\n", "0.10", "0.20");

    assertThat(section)
        .contains(
            "on AMD EPYC, 2 CPUs with `bench/failover/run.sh` at apivip commit 9111756 (20 trials");
    // Markdown reads four leading spaces as code: no line of the section may have them.
    assertThat(section.lines()).noneMatch(line -> line.startsWith("    "));
  }

  @Test
  void badArgumentsAreNamed() {
    assertThatThrownBy(() -> FailoverBench.Options.parse("--trials", "2"))
        .hasMessageContaining("--jar");
    assertThatThrownBy(() -> FailoverBench.Options.parse("--jar", "a.jar", "--trials", "0"))
        .hasMessageContaining("--trials 0");
    assertThatThrownBy(() -> FailoverBench.Options.parse("--jar", "a.jar", "--systems", "kube-vip"))
        .hasMessageContaining("kube-vip");
    assertThatThrownBy(() -> FailoverBench.Options.parse("--jar"))
        .hasMessageContaining("--jar needs a value");
  }
}
