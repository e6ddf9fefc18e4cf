package io.apivip.daemon.vip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BackoffTest {

  @ParameterizedTest
  @CsvSource({
    "1, 100",
    "2, 200",
    "3, 400",
    "7, 6400",
    "8, 10000",
    "9, 10000",
    "1000, 10000",
    "2147483647, 10000"
  })
  void doublesFromTheInitialDelayUpToTheMaximum(int failures, long expectedMillis) {
    assertThat(Backoff.VIP.delay(failures)).isEqualTo(Duration.ofMillis(expectedMillis));
  }

  @ParameterizedTest
  @CsvSource({"0", "-1"})
  void countsFailuresFromOne(int failures) {
    assertThatThrownBy(() -> Backoff.VIP.delay(failures))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
