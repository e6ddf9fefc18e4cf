package io.apivip.bench.failover;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Counts how often the VIP moved, from samples of which nodes carried it. */
final class VipMoves {

  private VipMoves() {}

  /**
   * A move is a sample in which a node carries the VIP that did not carry it in the last sample
   * where any node did: so a VIP that vanishes and comes back on the same node is no move, and two
   * holders at once count as one move, to the newcomer.
   */
  static int count(List<Set<String>> samples) {
    int moves = 0;
    Set<String> lastHolders = null;
    for (Set<String> holders : samples) {
      if (holders.isEmpty()) {
        continue;
      }
      if (lastHolders != null) {
        Set<String> newcomers = new HashSet<>(holders);
        newcomers.removeAll(lastHolders);
        if (!newcomers.isEmpty()) {
          moves++;
        }
      }
      lastHolders = holders;
    }
    return moves;
  }
}
