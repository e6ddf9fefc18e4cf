package io.apivip.health;

/**
 * The rise/fall rule, a pure function: a backend goes down after {@code fall} failed checks in a
 * row and up after {@code rise} good ones in a row; the first result after start-up decides at
 * once. A passive failure (a connect the proxy saw fail) counts toward {@code fall} like a failed
 * check, but at most one between two checks: a burst of failed connects (many clients at once, one
 * network blip) is one piece of evidence, not {@code fall} of them, so it cannot take every backend
 * down at once. On a backend rising again it cuts the run of good checks short.
 */
final class RiseFall {

  private RiseFall() {}

  /** Where a backend stands: its state and the current run of results against it. */
  record Progress(HealthState state, int successes, int failures, boolean passiveCounted) {
    static final Progress START = new Progress(HealthState.UNKNOWN, 0, 0, false);

    Progress(HealthState state, int successes, int failures) {
      this(state, successes, failures, false);
    }

    static Progress settled(HealthState state) {
      return new Progress(state, 0, 0);
    }
  }

  static Progress afterCheck(Progress progress, boolean healthy, int rise, int fall) {
    switch (progress.state()) {
      case UNKNOWN:
        return Progress.settled(healthy ? HealthState.UP : HealthState.DOWN);
      case UP:
        if (healthy) {
          return Progress.settled(HealthState.UP);
        }
        return progress.failures() + 1 >= fall
            ? Progress.settled(HealthState.DOWN)
            : new Progress(HealthState.UP, 0, progress.failures() + 1);
      case DOWN:
        if (!healthy) {
          return Progress.settled(HealthState.DOWN);
        }
        return progress.successes() + 1 >= rise
            ? Progress.settled(HealthState.UP)
            : new Progress(HealthState.DOWN, progress.successes() + 1, 0);
      default:
        throw new AssertionError(progress.state());
    }
  }

  static Progress afterPassiveFailure(Progress progress, int fall) {
    switch (progress.state()) {
      case UNKNOWN:
        return progress; // the first check decides
      case DOWN:
        return Progress.settled(HealthState.DOWN);
      case UP:
        if (progress.passiveCounted()) {
          return progress;
        }
        return progress.failures() + 1 >= fall
            ? Progress.settled(HealthState.DOWN)
            : new Progress(HealthState.UP, 0, progress.failures() + 1, true);
      default:
        throw new AssertionError(progress.state());
    }
  }
}
