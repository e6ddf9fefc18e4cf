package io.apivip.bench.faults;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which nodes really carried the VIP over time, from samples of their interfaces: how long no node
 * had it and how long two or more had it within a window. A sample's state is taken to hold until
 * the next sample; time before the first sample or after the last is not observed.
 */
final class HolderTimeline {

  /** The nodes whose interface carried the VIP at {@code millis} (wall clock). */
  record Sample(long millis, Set<String> holders) {
    Sample {
      holders = Set.copyOf(holders);
    }
  }

  /**
   * Within a window: milliseconds with no holder, with two or more, observed at all (the rest fell
   * before the first or after the last sample), the longest time between two samples, and how many
   * samples' spans it counted.
   */
  record Occupancy(
      long noHolderMillis,
      long manyHoldersMillis,
      long observedMillis,
      long longestGapMillis,
      int spans) {}

  private HolderTimeline() {}

  static Occupancy measure(List<Sample> samples, long from, long until) {
    if (until < from) {
      throw new IllegalArgumentException(
          "window ends (" + until + ") before it starts (" + from + ")");
    }
    List<Sample> sorted =
        samples.stream().sorted(Comparator.comparingLong(Sample::millis)).toList();
    long none = 0;
    long many = 0;
    long observed = 0;
    long longestGap = 0;
    int spans = 0;
    for (int i = 0; i + 1 < sorted.size(); i++) {
      Sample sample = sorted.get(i);
      long next = sorted.get(i + 1).millis();
      long start = Math.max(sample.millis(), from);
      long end = Math.min(next, until);
      if (end <= start) {
        continue;
      }
      long span = end - start;
      observed += span;
      spans++;
      longestGap = Math.max(longestGap, next - sample.millis());
      if (sample.holders().isEmpty()) {
        none += span;
      } else if (sample.holders().size() > 1) {
        many += span;
      }
    }
    return new Occupancy(none, many, observed, longestGap, spans);
  }

  /**
   * Who carried the VIP in the window and when that changed, in seconds from {@code from}: {@code
   * "n3, +1.20 s none, +3.41 s n2"}, for a reader of the run's details.
   */
  static String changes(List<Sample> samples, long from, long until) {
    List<String> shown = new ArrayList<>();
    Set<String> last = null;
    for (Sample sample :
        samples.stream().sorted(Comparator.comparingLong(Sample::millis)).toList()) {
      if (sample.millis() > until) {
        break;
      }
      if (sample.holders().equals(last)) {
        continue;
      }
      last = sample.holders();
      String who =
          sample.holders().isEmpty() ? "none" : String.join("+", new TreeSet<>(sample.holders()));
      if (sample.millis() <= from) {
        // Before the window only the latest state counts: who held the VIP as it opened.
        shown.clear();
        shown.add(who);
      } else {
        shown.add(String.format(Locale.ROOT, "+%.2f s %s", (sample.millis() - from) / 1000.0, who));
      }
    }
    return String.join(", ", shown);
  }

  /**
   * One line of the sampler's output, {@code SECONDS.MICROS id=0|1 ...} (bash's {@code
   * $EPOCHREALTIME}, then each node with 1 when its interface carried the VIP); empty for a line of
   * any other shape.
   */
  static Optional<Sample> parse(String line) {
    String[] fields = line.strip().split("\\s+");
    if (fields.length < 2 || !fields[0].matches("[0-9]+\\.[0-9]{1,9}")) {
      return Optional.empty();
    }
    String[] time = fields[0].split("\\.");
    String fraction = (time[1] + "000").substring(0, 3);
    long millis = Long.parseLong(time[0]) * 1000 + Long.parseLong(fraction);
    Set<String> holders = new TreeSet<>();
    for (int i = 1; i < fields.length; i++) {
      String[] node = fields[i].split("=", -1);
      if (node.length != 2 || node[0].isEmpty() || !node[1].matches("[01]")) {
        return Optional.empty();
      }
      if (node[1].equals("1")) {
        holders.add(node[0]);
      }
    }
    return Optional.of(new Sample(millis, holders));
  }
}
