package io.apivip.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StatsTest {

  @Test
  void medianOfAnOddCountIsTheMiddleValue() {
    assertThat(Stats.median(List.of(900L, 100L, 300L)).getAsDouble()).isEqualTo(300.0);
  }

  @Test
  void medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
    assertThat(Stats.median(List.of(400L, 100L, 300L, 1000L)).getAsDouble()).isEqualTo(350.0);
  }

  @Test
  void worstIsTheLargestAndTotalTheSum() {
    assertThat(Stats.worst(List.of(3L, 9L, 1L)).getAsLong()).isEqualTo(9);
    assertThat(Stats.total(List.of(3L, 9L, 1L))).isEqualTo(13);
  }

  @Test
  void noValuesHaveNoMedianAndNoWorst() {
    assertThat(Stats.median(List.of())).isEmpty();
    assertThat(Stats.worst(List.of())).isEmpty();
    assertThat(Stats.total(List.of())).isZero();
  }
}
