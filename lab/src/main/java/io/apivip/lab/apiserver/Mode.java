package io.apivip.lab.apiserver;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * How the stand-in kube-apiserver behaves right now: the failures a health check has to tell apart
 * from a healthy server. The same words are the commands of {@link StandInApiServerMain}.
 */
public sealed interface Mode {

  /** Answers every request at once. */
  record Healthy() implements Mode {}

  /** 500 on /readyz, as when the datastore fails; every other path still answers. */
  record FailReadyz() implements Mode {}

  /** Accepts connections and reads them, but never answers, not even the TLS handshake. */
  record Hang() implements Mode {}

  /** The listener is closed and open connections are dropped: connects are refused. */
  record Refuse() implements Mode {}

  /** Answers every request after a delay. */
  record Slow(Duration delay) implements Mode {
    public Slow {
      if (delay.isNegative()) {
        throw new IllegalArgumentException("delay must not be negative: " + delay);
      }
    }
  }

  Mode HEALTHY = new Healthy();
  Mode FAIL_READYZ = new FailReadyz();
  Mode HANG = new Hang();
  Mode REFUSE = new Refuse();

  static Mode slow(long millis) {
    return new Slow(Duration.ofMillis(millis));
  }

  /**
   * The command word(s) for this mode: {@code healthy}, {@code fail-readyz}, {@code hang}, {@code
   * refuse}, {@code slow MS}.
   */
  default String command() {
    if (this instanceof Healthy) {
      return "healthy";
    } else if (this instanceof FailReadyz) {
      return "fail-readyz";
    } else if (this instanceof Hang) {
      return "hang";
    } else if (this instanceof Refuse) {
      return "refuse";
    }
    return "slow " + ((Slow) this).delay().toMillis();
  }

  /** Parses a command as written by {@link #command()}; empty when it is not one. */
  static Optional<Mode> parse(String command) {
    String[] words = command.trim().toLowerCase(Locale.ROOT).split("\\s+");
    switch (words[0]) {
      case "healthy":
        return words.length == 1 ? Optional.of(HEALTHY) : Optional.empty();
      case "fail-readyz":
        return words.length == 1 ? Optional.of(FAIL_READYZ) : Optional.empty();
      case "hang":
        return words.length == 1 ? Optional.of(HANG) : Optional.empty();
      case "refuse":
        return words.length == 1 ? Optional.of(REFUSE) : Optional.empty();
      case "slow":
        if (words.length != 2) {
          return Optional.empty();
        }
        try {
          long millis = Long.parseLong(words[1]);
          return millis < 0 ? Optional.empty() : Optional.of(slow(millis));
        } catch (NumberFormatException e) {
          return Optional.empty();
        }
      default:
        return Optional.empty();
    }
  }
}
