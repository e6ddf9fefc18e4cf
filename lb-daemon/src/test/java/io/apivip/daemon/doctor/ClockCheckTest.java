package io.apivip.daemon.doctor;

import static io.apivip.daemon.doctor.DoctorLab.peer;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClockCheckTest {

  static final Duration WINDOW = Duration.ofSeconds(10);

  @Test
  void skewBeyondTheReplayWindowFailsWithTheFix() {
    List<Finding> findings =
        ClockCheck.check(List.of(peer("node2", "suspected", 3.0, -42.0, 0)), WINDOW);
    assertThat(findings)
        .containsExactly(
            Finding.fail(
                "clock",
                "node2's clock differs from this node's by 42.0s, beyond heartbeat.replay-window"
                    + " (10.0s): its heartbeats are dropped as replays; run NTP on every node"
                    + " (timedatectl must say \"System clock synchronized: yes\")"));
  }

  @Test
  void skewAboveHalfTheWindowWarns() {
    List<Finding> findings = ClockCheck.check(List.of(peer("node3", "alive", 0.1, 6.5, 0)), WINDOW);
    assertThat(findings)
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.WARN);
              assertThat(f.message())
                  .startsWith(
                      "node3's clock differs from this node's by 6.5s, more than half of"
                          + " heartbeat.replay-window")
                  .contains("run NTP on every node");
            });
  }

  @Test
  void smallSkewIsOneOkLineAndUnmeasuredPeersAreLeftOut() {
    List<Finding> findings =
        ClockCheck.check(
            List.of(
                peer("node2", "alive", 0.1, 0.004, 0),
                peer("node3", "alive", 0.1, -5.0, 0),
                peer("node4", "suspected", null, null, 0)),
            WINDOW);
    assertThat(findings)
        .containsExactly(
            Finding.ok(
                "clock",
                "clocks of 2 peers within 5.000s of this node's, well inside"
                    + " heartbeat.replay-window (10.0s)"));
  }

  @Test
  void oneSkewedPeerHidesTheOkLine() {
    List<Finding> findings =
        ClockCheck.check(
            List.of(peer("node2", "alive", 0.1, 0.0, 0), peer("node3", "alive", 0.1, 11.0, 0)),
            WINDOW);
    assertThat(findings).extracting(Finding::severity).containsExactly(Severity.FAIL);
  }
}
