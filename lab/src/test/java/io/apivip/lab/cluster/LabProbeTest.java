package io.apivip.lab.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.lab.cluster.LabProbe.Attempt;
import java.util.List;
import org.junit.jupiter.api.Test;

class LabProbeTest {

  static Attempt ok(long start) {
    return new Attempt(start, true, 3, "n1");
  }

  static Attempt fail(long start) {
    return new Attempt(start, false, 1000, "SocketTimeoutException");
  }

  @Test
  void noFailureNoWindow() {
    assertThat(LabProbe.summarize(List.of(ok(0), ok(20), ok(40))).longestFailureWindowMillis())
        .isZero();
  }

  @Test
  void windowRunsFromFirstFailureToNextSuccess() {
    LabProbe.Summary summary =
        LabProbe.summarize(
            List.of(ok(0), fail(20), fail(40), fail(60), ok(80), fail(100), ok(120)));
    assertThat(summary.failures()).isEqualTo(4);
    assertThat(summary.longestFailureWindowMillis()).isEqualTo(60);
    assertThat(summary.attempts()).isEqualTo(7);
  }

  @Test
  void failuresUntilTheEndCountAsAnOpenWindow() {
    assertThat(LabProbe.summarize(List.of(ok(0), fail(20), fail(540))).longestFailureWindowMillis())
        .isEqualTo(521);
  }
}
