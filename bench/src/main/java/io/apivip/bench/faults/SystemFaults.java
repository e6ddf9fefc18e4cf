package io.apivip.bench.faults;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything measured for one system under test: per fault, one entry per finished trial, so a run
 * cut short by {@code error} still reports what it measured.
 */
record SystemFaults(String title, Map<Fault, List<FaultFigures>> figures, Optional<String> error) {

  SystemFaults {
    figures = Map.copyOf(figures);
  }

  List<FaultFigures> of(Fault fault) {
    return figures.getOrDefault(fault, List.of());
  }
}
