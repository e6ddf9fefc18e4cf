package io.apivip.bench.faults;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The matrix's one table: a row per fault, a column per system, each cell "no holder / two or more
 * holders / failed calls (of all) / slowest call". Over several trials the seconds are the worst
 * trial's and the calls are summed.
 */
final class FaultTable {

  private static final String NONE = "–";

  private FaultTable() {}

  static String markdown(List<SystemFaults> results, List<Fault> faults) {
    StringBuilder out = new StringBuilder();
    out.append("| fault: no holder / two holders / failed calls (of) / slowest call | ")
        .append(results.stream().map(SystemFaults::title).collect(Collectors.joining(" | ")))
        .append(" |\n");
    out.append("| --- |").append(" ---: |".repeat(results.size())).append("\n");
    for (Fault fault : faults) {
      out.append("| ").append(fault.title).append(" | ");
      out.append(
          results.stream()
              .map(result -> cell(result.of(fault)))
              .collect(Collectors.joining(" | ")));
      out.append(" |\n");
    }
    for (SystemFaults result : results) {
      result
          .error()
          .ifPresent(
              error ->
                  out.append("\n")
                      .append(result.title())
                      .append(": stopped early: ")
                      .append(error)
                      .append("\n"));
    }
    return out.toString();
  }

  /** One system's figures for one fault, over its trials; a dash when none finished. */
  static String cell(List<FaultFigures> trials) {
    if (trials.isEmpty()) {
      return NONE;
    }
    long none = trials.stream().mapToLong(FaultFigures::noHolderMillis).max().getAsLong();
    long many = trials.stream().mapToLong(FaultFigures::manyHoldersMillis).max().getAsLong();
    long failed = trials.stream().mapToLong(FaultFigures::failedCalls).sum();
    long calls = trials.stream().mapToLong(FaultFigures::calls).sum();
    long slowest = trials.stream().mapToLong(FaultFigures::slowestCallMillis).max().getAsLong();
    return seconds(none)
        + " / "
        + seconds(many)
        + " / "
        + failed
        + " ("
        + calls
        + ") / "
        + seconds(slowest);
  }

  static String seconds(long millis) {
    return String.format(Locale.ROOT, "%.2f s", millis / 1000.0);
  }
}
