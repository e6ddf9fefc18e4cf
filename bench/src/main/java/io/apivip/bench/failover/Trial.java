package io.apivip.bench.failover;

import java.util.OptionalLong;

/**
 * What the client saw in one trial: its longest run of failed connections (from the start of the
 * first failed attempt to the start of the next successful one), how many failed out of how many,
 * and, where the VIP moved, how long after the trigger another node carried it.
 */
record Trial(
    long failureWindowMillis, long failedConnections, long attempts, OptionalLong vipMovedMillis) {

  static Trial of(long failureWindowMillis, long failedConnections, long attempts) {
    return new Trial(failureWindowMillis, failedConnections, attempts, OptionalLong.empty());
  }
}
