package io.apivip.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReadmeSectionTest {

  private static final String SECTION = "## Failover and handoff\n\nnew table\n";

  @Test
  void aMissingReadmeBecomesANewOneWithTheSection() {
    String readme = ReadmeSection.update("", SECTION);

    assertThat(readme)
        .startsWith("# Benchmarks\n")
        .endsWith("## Failover and handoff\n\nnew table\n");
  }

  @Test
  void theSectionIsAppendedAfterOtherSections() {
    String readme =
        ReadmeSection.update("# Benchmarks\n\n## Proxy throughput\n\nold figures", SECTION);

    assertThat(readme)
        .isEqualTo(
            "# Benchmarks\n\n"
                + "## Proxy throughput\n\n"
                + "old figures\n\n"
                + "## Failover and handoff\n\n"
                + "new table\n");
  }

  @Test
  void anOldSectionIsReplacedAndTheNextSectionKept() {
    String old =
        "# Benchmarks\n\n## Failover and handoff\n\nold table\n\n## Proxy throughput\n\nfigures\n";

    assertThat(ReadmeSection.update(old, SECTION))
        .isEqualTo(
            "# Benchmarks\n\n"
                + "## Failover and handoff\n\n"
                + "new table\n\n"
                + "## Proxy throughput\n\n"
                + "figures\n");
  }

  @Test
  void anOldLastSectionIsReplacedToTheEnd() {
    String old =
        "# Benchmarks\n\n"
            + "## Proxy throughput\n\n"
            + "figures\n\n"
            + "## Failover and handoff\n\n"
            + "old table\n"
            + "### detail\n"
            + "more\n";

    assertThat(ReadmeSection.update(old, SECTION))
        .isEqualTo(
            "# Benchmarks\n\n"
                + "## Proxy throughput\n\n"
                + "figures\n\n"
                + "## Failover and handoff\n\n"
                + "new table\n");
  }

  @Test
  void aLongerHeadingThatStartsTheSameIsNotTheSection() {
    String old = "# Benchmarks\n\n## Failover and handoff (old method)\n\nkept\n";

    assertThat(ReadmeSection.update(old, SECTION)).startsWith(old).endsWith(SECTION);
  }

  @Test
  void anotherHeadingReplacesOnlyItsOwnSection() {
    String old = "# Benchmarks\n\n## Faults\n\nold matrix\n\n" + SECTION;

    assertThat(ReadmeSection.update(old, "## Faults", "## Faults\n\nnew matrix\n"))
        .isEqualTo("# Benchmarks\n\n## Faults\n\nnew matrix\n\n" + SECTION);
  }
}
