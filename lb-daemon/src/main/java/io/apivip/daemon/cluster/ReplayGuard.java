package io.apivip.daemon.cluster;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The replay rules: a heartbeat is admitted only if its sender clock is within the replay window of
 * ours, and it is newer than the last one admitted from that sender: a higher incarnation, or the
 * same incarnation and a higher sequence. The incarnation is the sender's wall clock at start, so a
 * restarted node is newer than its previous life.
 *
 * <p>What is remembered about a sender is forgotten after two replay windows without an admitted
 * heartbeat from it. That lets a node whose clock was stepped back before a restart (so its new
 * incarnation is lower) rejoin after at most 2 x window, and stays safe: a captured datagram older
 * than that is outside the window (clocks within one window of each other, as the window check
 * itself enforces).
 */
final class ReplayGuard {

  private record Last(long incarnation, long sequence, long admittedNanos) {}

  private final long windowMillis;
  private final long forgetNanos;
  private final Map<String, Last> last = new HashMap<>();

  ReplayGuard(Duration window) {
    this.windowMillis = window.toMillis();
    this.forgetNanos = window.multipliedBy(2).toNanos();
  }

  /** Empty when admitted (and remembered), else why the heartbeat is dropped. */
  Optional<DropReason> admit(Heartbeat heartbeat, long nowNanos, long nowWallMillis) {
    long skew = heartbeat.wallClockMillis() - nowWallMillis;
    if (skew > windowMillis || skew < -windowMillis) {
      return Optional.of(DropReason.OUTSIDE_WINDOW);
    }
    Last previous = last.get(heartbeat.senderId());
    if (previous != null && nowNanos - previous.admittedNanos() < forgetNanos) {
      boolean newer =
          heartbeat.incarnation() > previous.incarnation()
              || (heartbeat.incarnation() == previous.incarnation()
                  && heartbeat.sequence() > previous.sequence());
      if (!newer) {
        return Optional.of(DropReason.REPLAYED);
      }
    }
    last.put(
        heartbeat.senderId(), new Last(heartbeat.incarnation(), heartbeat.sequence(), nowNanos));
    return Optional.empty();
  }
}
