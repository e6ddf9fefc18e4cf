package io.apivip.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RiseFallTest {

  /**
   * Each case: thresholds, a run of results (+ healthy, - failed, P passive failure) and the state
   * after each one (U up, D down).
   */
  @ParameterizedTest(name = "rise={0} fall={1}: {2} -> {3}")
  @CsvSource(
      delimiter = '|',
      value = {
        // The first result decides at once, whatever the thresholds.
        "2|2|+|U",
        "2|2|-|D",
        "5|5|+|U",
        "5|5|-|D",
        // Up: fall failures in a row take it down; a success in between starts the count again.
        "2|2|+ -|U U",
        "2|2|+ - -|U U D",
        "2|2|+ - + - + -|U U U U U U",
        "2|3|+ - - -|U U U D",
        "1|1|+ -|U D",
        // Down: rise successes in a row bring it up; a failure in between starts the count again.
        "2|2|- +|D D",
        "2|2|- + +|D D U",
        "2|2|- + - + - +|D D D D D D",
        "3|2|- + + +|D D D U",
        "1|1|- +|D U",
        // Flapping with rise=fall=2.
        "2|2|+ - - + + - -|U U D D U U D",
        // A passive failure counts toward fall like a failed check, at most once between checks.
        "2|2|+ P|U U",
        "2|2|+ P P P P|U U U U U",
        "2|2|+ P -|U U D",
        "2|2|+ P + P|U U U U",
        "2|2|+ - P|U U D",
        "3|3|+ P - P -|U U U D D",
        "1|1|+ P +|U D U",
        "2|2|+ P - + +|U U D D U",
        // Unknown: the first check decides. Down: it cuts a rise short.
        "2|2|P + +|? U U",
        "2|2|- + P + +|D D D D U",
      })
  void followsTheRiseFallRule(int rise, int fall, String results, String expected) {
    RiseFall.Progress progress = RiseFall.Progress.START;
    List<String> states = new ArrayList<>();
    for (String result : results.split(" ")) {
      progress =
          switch (result) {
            case "+" -> RiseFall.afterCheck(progress, true, rise, fall);
            case "-" -> RiseFall.afterCheck(progress, false, rise, fall);
            case "P" -> RiseFall.afterPassiveFailure(progress, fall);
            default -> throw new IllegalArgumentException(result);
          };
      states.add(
          progress.state() == HealthState.UP
              ? "U"
              : progress.state() == HealthState.DOWN ? "D" : "?");
    }
    assertThat(String.join(" ", states)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "rise={0} fall={1}")
  @CsvSource({"1,1", "1,3", "2,2", "3,1", "4,4"})
  void neverFlipsOnFewerThanThresholdResultsInARow(int rise, int fall) {
    // Every sequence of up to 10 results: a flip happens only after exactly the threshold run.
    for (int length = 1; length <= 10; length++) {
      for (int bits = 0; bits < (1 << length); bits++) {
        RiseFall.Progress progress = RiseFall.Progress.START;
        int run = 0;
        boolean last = false;
        for (int i = 0; i < length; i++) {
          boolean healthy = (bits >> i & 1) == 1;
          run = i > 0 && healthy == last ? run + 1 : 1;
          last = healthy;
          RiseFall.Progress next = RiseFall.afterCheck(progress, healthy, rise, fall);
          if (i > 0 && next.state() != progress.state()) {
            assertThat(run)
                .as("bits %s step %d", Integer.toBinaryString(bits), i)
                .isEqualTo(healthy ? rise : fall);
          }
          if (i > 0 && run == (healthy ? rise : fall)) {
            assertThat(next.state()).isEqualTo(healthy ? HealthState.UP : HealthState.DOWN);
          }
          progress = next;
        }
      }
    }
  }
}
