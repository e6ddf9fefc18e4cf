package io.apivip.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReadmeSectionTest {

  private static final String SECTION = "## Failover and handoff\n\nnew table\n";

  @Test
  void aMissingReadmeBecomesANewOneWithTheSection() {
    String readme = ReadmeSection.update("", SECTION);

    assertThat(readme).startsWith("# Benchmarks\n").endsWith("## Failover and handoff\n\nnew table\n");
  }

  @Test
  void theSectionIsAppendedAfterOtherSections() {
    String readme = ReadmeSection.update("# Benchmarks\n\n## Proxy throughput\n\nold figures", SECTION);

    assertThat(readme).isEqualTo("# Benchmarks\n\n## Proxy throughput\n\nold figures\n\n## Failover and handoff\n\nnew table\n");
  }

  @Test
  void anOldSectionIsReplacedAndTheNextSectionKept() {
    String old = "# Benchmarks\n\n## Failover and handoff\n\nold table\n\n## Proxy throughput\n\nfigures\n";

    assertThat(ReadmeSection.update(old, SECTION))
        .isEqualTo("# Benchmarks\n\n## Failover and handoff\n\nnew table\n\n## Proxy throughput\n\nfigures\n");
  }

  @Test
  void anOldLastSectionIsReplacedToTheEnd() {
    String old = "# Benchmarks\n\n## Proxy throughput\n\nfigures\n\n## Failover and handoff\n\nold table\n### detail\nmore\n";

    assertThat(ReadmeSection.update(old, SECTION)).isEqualTo("# Benchmarks\n\n## Proxy throughput\n\nfigures\n\n## Failover and handoff\n\nnew table\n");
  }

  @Test
  void aLongerHeadingThatStartsTheSameIsNotTheSection() {
    String old = "# Benchmarks\n\n## Failover and handoff (old method)\n\nkept\n";

    assertThat(ReadmeSection.update(old, SECTION)).startsWith(old).endsWith(SECTION);
  }
}
