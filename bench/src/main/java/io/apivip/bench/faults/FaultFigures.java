package io.apivip.bench.faults;

import io.apivip.lab.cluster.LabProbe;
import java.util.List;

/**
 * What one fault cost one system in one trial, over its observation window: milliseconds with no
 * node carrying the VIP and with two or more, the client's calls (started in the window) that
 * failed out of all, and the slowest call, failed or not. {@code observedMillis} and {@code
 * longestGapMillis} tell how well the samples covered the window.
 */
record FaultFigures(
    long noHolderMillis,
    long manyHoldersMillis,
    int failedCalls,
    int calls,
    long slowestCallMillis,
    long observedMillis,
    long longestGapMillis) {

  /** The figures from the window's samples and the client's attempts (any, filtered here). */
  static FaultFigures of(
      HolderTimeline.Occupancy occupancy, List<LabProbe.Attempt> attempts, long from, long until) {
    List<LabProbe.Attempt> inWindow =
        attempts.stream()
            .filter(attempt -> attempt.startMillis() >= from && attempt.startMillis() <= until)
            .toList();
    return new FaultFigures(
        occupancy.noHolderMillis(),
        occupancy.manyHoldersMillis(),
        (int) inWindow.stream().filter(attempt -> !attempt.ok()).count(),
        inWindow.size(),
        inWindow.stream().mapToLong(LabProbe.Attempt::millis).max().orElse(0),
        occupancy.observedMillis(),
        occupancy.longestGapMillis());
  }
}
