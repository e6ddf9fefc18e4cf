package io.apivip.daemon;

import java.time.Duration;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this node may hold the VIP: its VIP part works and its proxy can route a new connection
 * somewhere (an apiserver up and out of maintenance).
 *
 * <p>With one exception, for the holder. Every node checks the same apiservers, each at its own
 * moments, so when all of them fail at once (the control plane is down or slow, say while dqlite
 * elects a leader) one node sees it first, and when they come back one node sees that first. If the
 * holder gave the VIP up as soon as it could route nowhere, it would go to whichever node noticed
 * last or recovered first, and on again: every move resets every connection, and gains nothing. So
 * a holder that can route nowhere stays eligible while no other node is (then no node could serve
 * better), and for a settle time (one health interval plus one check timeout) after another one
 * is: long enough for the views of the same apiservers to agree. Only when this node alone has lost
 * its apiservers does the VIP move, a settle time after another node could take it.
 *
 * <p>Thread-safe. The daemon calls {@link #judge} whenever an input changes, and again after the
 * delay a verdict asks for: while the holder keeps the VIP this way, its inputs include other nodes'
 * eligibility, which it learns from heartbeats and is polled for.
 */
final class Eligibility {

  private static final Logger log = LoggerFactory.getLogger(Eligibility.class);
  private static final long NEVER = Long.MIN_VALUE;
  /** How often a holder that keeps the VIP this way looks again. */
  static final Duration POLL = Duration.ofMillis(100);

  /** Eligible or not, and when to judge again even if no input changes (empty: no need). */
  record Verdict(boolean eligible, Optional<Duration> judgeAgainIn) {}

  private final Duration settle;
  private final LongSupplier nanoClock;
  private boolean keeping;
  private boolean gaveUp;
  private long anotherQualifiesSince = NEVER;

  Eligibility(Duration settle, LongSupplier nanoClock) {
    this.settle = settle;
    this.nanoClock = nanoClock;
  }

  /**
   * @param routable an apiserver is up and out of maintenance, as this node's health checks see it
   * @param vipWorks the VIP part can add and announce the VIP
   * @param holding this node holds the VIP
   * @param anotherQualifies another node is alive, eligible and not in maintenance, as heartbeats say
   */
  synchronized Verdict judge(boolean routable, boolean vipWorks, boolean holding, boolean anotherQualifies) {
    if (routable || !holding || !vipWorks) {
      if (keeping && routable) {
        log.info("an apiserver is routable from this node again");
      }
      keeping = false;
      gaveUp = false;
      anotherQualifiesSince = NEVER;
      return new Verdict(routable && vipWorks, Optional.empty());
    }
    if (!keeping) {
      keeping = true;
      log.warn(
          "no apiserver is routable from this node; it keeps the VIP while no other node can route, and for {} ms after one can "
              + "(if every node finds the same, moving the VIP would only reset connections)",
          settle.toMillis());
    }
    if (!anotherQualifies) {
      anotherQualifiesSince = NEVER;
      gaveUp = false;
      return new Verdict(true, Optional.of(POLL));
    }
    long now = nanoClock.getAsLong();
    if (anotherQualifiesSince == NEVER) {
      anotherQualifiesSince = now;
    }
    long left = anotherQualifiesSince + settle.toNanos() - now;
    if (left > 0) {
      return new Verdict(true, Optional.of(POLL.compareTo(Duration.ofNanos(left)) < 0 ? POLL : Duration.ofNanos(left)));
    }
    if (!gaveUp) {
      gaveUp = true;
      log.warn("still no apiserver routable from this node, and another node has been able to serve for {} ms: it gives the VIP up", settle.toMillis());
    }
    return new Verdict(false, Optional.of(POLL));
  }
}
