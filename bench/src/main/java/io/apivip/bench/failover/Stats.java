package io.apivip.bench.failover;

import java.util.Collection;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/** The few statistics the benchmark reports, over trials' figures. */
final class Stats {

  private Stats() {}

  /** The median (the mean of the two middle values for an even count); empty for no values. */
  static OptionalDouble median(Collection<Long> values) {
    if (values.isEmpty()) {
      return OptionalDouble.empty();
    }
    List<Long> sorted = values.stream().sorted().toList();
    int middle = sorted.size() / 2;
    return OptionalDouble.of(
        sorted.size() % 2 == 1
            ? sorted.get(middle)
            : (sorted.get(middle - 1) + sorted.get(middle)) / 2.0);
  }

  /** The largest value; empty for no values. */
  static OptionalLong worst(Collection<Long> values) {
    return values.stream().mapToLong(Long::longValue).max();
  }

  static long total(Collection<Long> values) {
    return values.stream().mapToLong(Long::longValue).sum();
  }
}
