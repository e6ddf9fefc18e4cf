package io.apivip.health;

/**
 * The rise/fall rule, a pure function: a backend goes down after {@code fall} failed checks in a row
 * and up after {@code rise} good ones in a row; the first result after start-up decides at once; a
 * passive failure (a connect the proxy saw fail) takes it down at once, and it must rise again.
 */
final class RiseFall {

  private RiseFall() {}

  /** Where a backend stands: its state and the current run of results against it. */
  record Progress(HealthState state, int successes, int failures) {
    static final Progress START = new Progress(HealthState.UNKNOWN, 0, 0);

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

  static Progress afterPassiveFailure(Progress progress) {
    return Progress.settled(HealthState.DOWN);
  }
}
