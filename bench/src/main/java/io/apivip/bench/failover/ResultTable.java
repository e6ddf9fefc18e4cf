package io.apivip.bench.failover;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;

/** The benchmark's one table, systems side by side, and apivip's verdict against its targets. */
final class ResultTable {

  private static final String NONE = "–";

  /** A goal apivip with default settings must meet; judged on apivip's column only. */
  enum Target {
    UNPLANNED_MEDIAN("< 0.6 s"),
    UNPLANNED_WORST("< 1 s"),
    PLANNED_FAILURES("0"),
    APISERVER_FAILURES("0"),
    FALSE_FAILOVERS("0");

    final String goal;

    Target(String goal) {
      this.goal = goal;
    }

    /** Whether {@code result} meets this target; empty when it was not measured. */
    Optional<Boolean> met(SystemResult result) {
      return switch (this) {
        case UNPLANNED_MEDIAN ->
            Stats.median(windows(result.unplanned())).stream()
                .mapToObj(median -> median < 600)
                .findFirst();
        case UNPLANNED_WORST ->
            Stats.worst(windows(result.unplanned())).stream()
                .mapToObj(worst -> worst < 1000)
                .findFirst();
        case PLANNED_FAILURES ->
            result.planned().isEmpty()
                ? Optional.empty()
                : Optional.of(Stats.total(failures(result.planned())) == 0);
        case APISERVER_FAILURES ->
            result.apiserver().isEmpty()
                ? Optional.empty()
                : Optional.of(Stats.total(failures(result.apiserver())) == 0);
        case FALSE_FAILOVERS ->
            result.cpuMoves().isPresent()
                ? Optional.of(result.cpuMoves().getAsInt() == 0)
                : Optional.empty();
      };
    }
  }

  private record Row(String label, Function<SystemResult, String> cell, Optional<Target> target) {}

  private ResultTable() {}

  /** The table in Markdown: one row per figure, one column per system, and apivip's targets. */
  static String markdown(List<SystemResult> results, long cpuSeconds) {
    Optional<SystemResult> apivip = results.stream().filter(SystemResult::apivip).findFirst();
    StringBuilder out = new StringBuilder();
    out.append("| measurement | ")
        .append(results.stream().map(SystemResult::title).collect(Collectors.joining(" | ")))
        .append(" | apivip target |\n");
    out.append("| --- |").append(" ---: |".repeat(results.size())).append(" --- |\n");
    for (Row row : rows(cpuSeconds)) {
      out.append("| ").append(row.label()).append(" | ");
      out.append(results.stream().map(row.cell()).collect(Collectors.joining(" | ")));
      out.append(" | ")
          .append(
              row.target().map(target -> target.goal + verdictSuffix(target, apivip)).orElse(""))
          .append(" |\n");
    }
    for (SystemResult result : results) {
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

  /** One line per target: "PASS ..." or "MISS ..." (or "not measured"), for the console. */
  static List<String> verdicts(List<SystemResult> results, long cpuSeconds) {
    Optional<SystemResult> apivip = results.stream().filter(SystemResult::apivip).findFirst();
    List<String> lines = new ArrayList<>();
    for (Row row : rows(cpuSeconds)) {
      row.target()
          .ifPresent(
              target -> {
                String verdict =
                    apivip
                        .flatMap(target::met)
                        .map(met -> met ? "PASS" : "MISS")
                        .orElse("not measured");
                String value = apivip.map(row.cell()).orElse(NONE);
                lines.add(
                    verdict + "  " + row.label() + ": " + value + " (target " + target.goal + ")");
              });
    }
    return lines;
  }

  private static String verdictSuffix(Target target, Optional<SystemResult> apivip) {
    return apivip
        .flatMap(target::met)
        .map(met -> met ? ": PASS" : ": MISS")
        .orElse(": not measured");
  }

  private static List<Row> rows(long cpuSeconds) {
    return List.of(
        new Row(
            "No fault for " + Trials.BASELINE.toSeconds() + " s: failed connections (of all)",
            r ->
                r.baseline()
                    .map(trial -> trial.failedConnections() + " (" + trial.attempts() + ")")
                    .orElse(NONE),
            Optional.empty()),
        new Row(
            "Link cut on the holder: VIP on another node after, median",
            r -> seconds(Stats.median(moves(r.unplanned()))),
            Optional.empty()),
        new Row(
            "Link cut on the holder: failure window, median",
            r -> seconds(Stats.median(windows(r.unplanned()))),
            Optional.of(Target.UNPLANNED_MEDIAN)),
        new Row(
            "Link cut on the holder: failure window, worst",
            r -> seconds(Stats.worst(windows(r.unplanned()))),
            Optional.of(Target.UNPLANNED_WORST)),
        new Row(
            "Link cut on the holder: failed connections per trial, median / worst",
            r -> medianAndWorst(failures(r.unplanned())),
            Optional.empty()),
        new Row(
            "Cut node plugged back in: failed connections, all trials",
            r -> total(r.returns(), Trial::failedConnections),
            Optional.empty()),
        new Row(
            "Planned handoff: failed connections, all trials (worst trial)",
            r -> totalAndWorst(r.planned()),
            Optional.of(Target.PLANNED_FAILURES)),
        new Row(
            "Planned handoff: failure window, worst",
            r -> seconds(Stats.worst(windows(r.planned()))),
            Optional.empty()),
        new Row(
            "Stopped node started again: failed connections, all trials",
            r -> total(r.plannedReturns(), Trial::failedConnections),
            Optional.empty()),
        new Row(
            "API server failure on the holder: failed connections, all trials (worst trial)",
            r -> totalAndWorst(r.apiserver()),
            Optional.of(Target.APISERVER_FAILURES)),
        new Row(
            "CPU hog on the holder for " + cpuSeconds + " s: VIP moves (false failovers)",
            r -> r.cpuMoves().isPresent() ? Integer.toString(r.cpuMoves().getAsInt()) : NONE,
            Optional.of(Target.FALSE_FAILOVERS)),
        new Row(
            "CPU hog on the holder: failed connections",
            r -> r.cpu().map(trial -> Long.toString(trial.failedConnections())).orElse(NONE),
            Optional.empty()));
  }

  private static List<Long> windows(List<Trial> trials) {
    return trials.stream().map(Trial::failureWindowMillis).toList();
  }

  private static List<Long> failures(List<Trial> trials) {
    return trials.stream().map(Trial::failedConnections).toList();
  }

  private static List<Long> moves(List<Trial> trials) {
    return trials.stream()
        .map(Trial::vipMovedMillis)
        .filter(OptionalLong::isPresent)
        .map(OptionalLong::getAsLong)
        .toList();
  }

  private static String total(List<Trial> trials, ToLongFunction<Trial> figure) {
    return trials.isEmpty() ? NONE : Long.toString(trials.stream().mapToLong(figure).sum());
  }

  private static String totalAndWorst(List<Trial> trials) {
    return trials.isEmpty()
        ? NONE
        : Stats.total(failures(trials)) + " (" + Stats.worst(failures(trials)).getAsLong() + ")";
  }

  private static String medianAndWorst(List<Long> values) {
    OptionalDouble median = Stats.median(values);
    return median.isEmpty()
        ? NONE
        : number(median.getAsDouble()) + " / " + Stats.worst(values).getAsLong();
  }

  private static String seconds(OptionalDouble millis) {
    return millis.isEmpty()
        ? NONE
        : String.format(Locale.ROOT, "%.2f s", millis.getAsDouble() / 1000);
  }

  private static String seconds(OptionalLong millis) {
    return millis.isEmpty()
        ? NONE
        : String.format(Locale.ROOT, "%.2f s", millis.getAsLong() / 1000.0);
  }

  private static String number(double value) {
    return value == Math.rint(value)
        ? Long.toString((long) value)
        : String.format(Locale.ROOT, "%.1f", value);
  }
}
