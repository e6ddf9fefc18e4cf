package io.apivip.daemon.proxy;

import java.net.InetAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts the client connections open per source address and says whether one more may open, so that
 * one host cannot fill the proxy ({@code proxy.max-connections-per-source}). Loopback clients of
 * the node-local listeners are this node's own components and are not limited; every client of the
 * VIP is. Every event loop calls it.
 */
final class SourceLimit {

  private final int max;
  private final Map<InetAddress, Integer> open = new ConcurrentHashMap<>();

  /** Sources refused since they last went below the limit; its size is a gauge. */
  private final Set<InetAddress> limited = ConcurrentHashMap.newKeySet();

  /**
   * @param max 0: no limit
   */
  SourceLimit(int max) {
    this.max = max;
  }

  /** Whether a client of the node-local listeners from this address is exempt. */
  static boolean exempt(InetAddress source, boolean onVip) {
    return !onVip && source.isLoopbackAddress();
  }

  /** Whether {@code source} may open one more; if so it is counted until {@link #release}. */
  boolean acquire(InetAddress source) {
    if (max == 0) {
      return true;
    }
    boolean[] admitted = {false};
    open.compute(
        source,
        (address, count) -> {
          int now = count == null ? 0 : count;
          if (now >= max) {
            return count;
          }
          admitted[0] = true;
          return now + 1;
        });
    if (!admitted[0]) {
      limited.add(source);
    }
    return admitted[0];
  }

  /**
   * One connection of {@code source}, admitted by {@link #acquire}, closed. Answers whether it was
   * the last limited source to go below its limit.
   */
  boolean release(InetAddress source) {
    if (max == 0) {
      return false;
    }
    Integer left = open.computeIfPresent(source, (address, count) -> count <= 1 ? null : count - 1);
    return (left == null || left < max) && limited.remove(source) && limited.isEmpty();
  }

  /** Sources at their limit that were refused a connection; for the gauge. */
  int limitedSources() {
    return limited.size();
  }

  int max() {
    return max;
  }
}
