package io.apivip.bench.failover;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Everything measured for one system under test; lists hold one entry per finished trial, so a run
 * cut short by {@code error} still reports what it measured.
 *
 * @param baseline what the client saw while nothing happened
 * @param returns the unplanned trials' aftermath: the cut node plugged back in until all was steady
 * @param plannedReturns the planned trials' aftermath: the stopped node started again until all was
 *     steady
 * @param cpuMoves VIP moves while the holder's CPU was saturated; empty if not measured
 * @param cpu what the client saw meanwhile
 */
record SystemResult(
    String title,
    boolean apivip,
    Optional<Trial> baseline,
    List<Trial> unplanned,
    List<Trial> returns,
    List<Trial> planned,
    List<Trial> plannedReturns,
    List<Trial> apiserver,
    OptionalInt cpuMoves,
    Optional<Trial> cpu,
    Optional<String> error) {

  SystemResult {
    unplanned = List.copyOf(unplanned);
    returns = List.copyOf(returns);
    planned = List.copyOf(planned);
    plannedReturns = List.copyOf(plannedReturns);
    apiserver = List.copyOf(apiserver);
  }
}
