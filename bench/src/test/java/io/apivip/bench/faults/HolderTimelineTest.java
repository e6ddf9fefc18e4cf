package io.apivip.bench.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.bench.faults.HolderTimeline.Occupancy;
import io.apivip.bench.faults.HolderTimeline.Sample;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HolderTimelineTest {

  private static Sample at(long millis, String... holders) {
    return new Sample(millis, Set.of(holders));
  }

  @Test
  void eachSampleHoldsUntilTheNextAndTheWindowClipsBothEnds() {
    // n3 until 1,000; nobody until 1,500; n2 and n3 until 1,700; n2 after.
    List<Sample> samples =
        List.of(at(900, "n3"), at(1_000), at(1_500, "n2", "n3"), at(1_700, "n2"), at(2_500, "n2"));

    Occupancy occupancy = HolderTimeline.measure(samples, 950, 2_000);

    assertThat(occupancy.noHolderMillis()).isEqualTo(500);
    assertThat(occupancy.manyHoldersMillis()).isEqualTo(200);
    assertThat(occupancy.observedMillis()).isEqualTo(1_050);
    assertThat(occupancy.longestGapMillis()).isEqualTo(800);
    assertThat(occupancy.spans()).isEqualTo(4);
  }

  @Test
  void timeBeforeTheFirstSampleOrAfterTheLastIsNotObserved() {
    List<Sample> samples = List.of(at(1_200), at(1_300), at(1_400, "n1"));

    Occupancy occupancy = HolderTimeline.measure(samples, 1_000, 2_000);

    assertThat(occupancy.noHolderMillis()).isEqualTo(200);
    assertThat(occupancy.manyHoldersMillis()).isZero();
    assertThat(occupancy.observedMillis()).isEqualTo(200);
  }

  @Test
  void samplesMayComeInAnyOrderAndNoneMeansNothingObserved() {
    Occupancy shuffled =
        HolderTimeline.measure(List.of(at(300, "n1"), at(100, "n1", "n2"), at(200)), 0, 1_000);

    assertThat(shuffled.manyHoldersMillis()).isEqualTo(100);
    assertThat(shuffled.noHolderMillis()).isEqualTo(100);
    assertThat(HolderTimeline.measure(List.of(), 0, 1_000).observedMillis()).isZero();
    assertThatThrownBy(() -> HolderTimeline.measure(List.of(), 10, 5))
        .hasMessageContaining("before it starts");
  }

  @Test
  void theSamplersLinesAreReadToTheMillisecond() {
    assertThat(HolderTimeline.parse("1764758400.123456 n1=0 n2=1 n3=1"))
        .contains(at(1_764_758_400_123L, "n2", "n3"));
    assertThat(HolderTimeline.parse("1764758400.5 n1=0")).contains(at(1_764_758_400_500L));
    assertThat(HolderTimeline.parse("")).isEmpty();
    assertThat(HolderTimeline.parse("bash: ip: command not found")).isEmpty();
    assertThat(HolderTimeline.parse("1764758400.1 n1=2")).isEmpty();
    assertThat(HolderTimeline.parse("1764758400.1 n1")).isEmpty();
    assertThat(HolderTimeline.parse("1764758400.1")).isEmpty();
  }

  @Test
  void changesNameTheHolderAtTheStartThenEachChangeInSeconds() {
    List<Sample> samples =
        List.of(
            at(500, "n1"),
            at(900, "n3"),
            at(1_100, "n3"),
            at(2_200),
            at(3_410, "n2"),
            at(3_500, "n2"),
            at(9_000, "n1"));

    assertThat(HolderTimeline.changes(samples, 1_000, 5_000))
        .isEqualTo("n3, +1.20 s none, +2.41 s n2");
  }
}
