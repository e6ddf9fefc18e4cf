package io.apivip.daemon.vip;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a foreign claimant of the VIP (another host answering ARP or neighbour discovery for it)
 * from apivip's own handoffs, counts its frames, logs it and keeps the last one for the status.
 *
 * <p>The rule: a claim by another MAC is foreign when this node held the VIP from {@code grace}
 * before it to {@code grace} after it. A handoff between apivip nodes never meets it: the node
 * taking the VIP over may still see the previous holder's frames, and its kernel's answers, until
 * that one has let go, which is within a heartbeat or two of the new holder's announcement; and the
 * node letting go sees its successor's announcements for as long before it releases. {@link
 * #holdStarted} is called again when the cluster says another member's claim on the VIP ended
 * (however long it lasted). What the rule cannot tell: two apivip nodes holding the VIP at once for
 * longer than {@code grace} (a split, which {@code ApivipSeveralHolders} reports) count as
 * claimants of each other, which the MAC in the log then shows.
 *
 * <p>Claims are judged in batches per MAC, each at {@code grace} after its first frame; a MAC that
 * claims without pause is judged once per {@code grace}. What this node does about a foreign
 * claimant: counts it, logs it (once at once, then at most once per {@link #LOG_INTERVAL} per MAC)
 * and shows it in the status; it does not contest the VIP (announcing more would start an ARP war
 * that neither side wins, with clients flipping between the two): the operator must remove the
 * address from the other host.
 *
 * <p>Threads: {@link #offer} from any thread (the watch's); {@link #last} from any; everything else
 * on the VIP thread.
 */
final class ForeignClaims {

  /**
   * The daemon's grace, well beyond the overlap of a handoff (a heartbeat interval or two, then
   * {@code ip addr del}); also how long after taking the VIP the holder first probes.
   */
  static final Duration GRACE = Duration.ofSeconds(5);

  static final Duration LOG_INTERVAL = Duration.ofMinutes(1);

  /** Claimants tracked at once; frames of more are dropped uncounted (a flood of forged MACs). */
  static final int MAX_CLAIMANTS = 16;

  private static final Logger log = LoggerFactory.getLogger(ForeignClaims.class);
  private static final long NEVER = Long.MIN_VALUE;

  /** The frames of one MAC from its first on, until judged. */
  private static final class Batch {
    final String mac;
    final long firstNanos;
    final Map<Claims.Kind, Long> frames = new EnumMap<>(Claims.Kind.class);
    Claims.Kind lastKind;
    Instant lastSeen;

    Batch(String mac, long firstNanos) {
      this.mac = mac;
      this.firstNanos = firstNanos;
    }

    void add(Claims.Kind kind, long count, Instant seen) {
      frames.merge(kind, count, Long::sum);
      lastKind = kind;
      lastSeen = seen;
    }

    long total() {
      return frames.values().stream().mapToLong(Long::longValue).sum();
    }

    String describe() {
      return frames.entrySet().stream()
          .map(entry -> entry.getKey().tag() + " x" + entry.getValue())
          .collect(Collectors.joining(" + "));
    }
  }

  /** What is known of one foreign claimant: its frames so far and when it was last logged. */
  private static final class Claimant {
    long frames;
    long unlogged;
    long loggedNanos = NEVER;
  }

  private final VipAddress vip;
  private final Duration grace;
  private final VipMetrics metrics;

  /** Filled by the watch's thread, emptied by the VIP thread; guarded by itself. */
  private final Map<String, Batch> inbox = new LinkedHashMap<>();

  // Owned by the VIP thread.
  private final Map<String, Batch> pending = new LinkedHashMap<>();
  private final Map<String, Claimant> claimants =
      new LinkedHashMap<>(MAX_CLAIMANTS, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Claimant> eldest) {
          return size() > MAX_CLAIMANTS;
        }
      };
  private boolean holding;
  private long holdingSince;

  private volatile VipManager.ForeignClaim last;

  ForeignClaims(VipAddress vip, Duration grace, VipMetrics metrics) {
    this.vip = vip;
    this.grace = grace;
    this.metrics = metrics;
  }

  Duration grace() {
    return grace;
  }

  /**
   * A claim seen at {@code nanos} (the VIP thread's clock) and {@code seen} (wall clock). Returns
   * true when it is the first since the last {@link #judge}, so the caller must have the VIP thread
   * judge soon; false otherwise, which keeps a flood of frames to one task.
   */
  boolean offer(Claims.Claim claim, long nanos, Instant seen) {
    synchronized (inbox) {
      boolean first = inbox.isEmpty();
      Batch batch = inbox.get(claim.mac());
      if (batch == null) {
        if (inbox.size() >= MAX_CLAIMANTS) {
          return false;
        }
        batch = new Batch(claim.mac(), nanos);
        inbox.put(claim.mac(), batch);
      }
      batch.add(claim.kind(), 1, seen);
      return first;
    }
  }

  /** The last foreign claimant, if any was seen since this node started. */
  Optional<VipManager.ForeignClaim> last() {
    return Optional.ofNullable(last);
  }

  /**
   * This node holds the VIP from {@code nanos} on, or another member's claim on it ended then:
   * frames from within {@code grace} after it are not foreign.
   */
  void holdStarted(long nanos) {
    holding = true;
    holdingSince = nanos;
  }

  /**
   * This node lets the VIP go at {@code nanos}: what is due is judged, and every claim not yet due
   * came within {@code grace} before the release, so it is not foreign (a successor's).
   */
  void holdEnded(long nanos) {
    if (!holding) {
      return;
    }
    judge(nanos);
    for (Batch batch : pending.values()) {
      notForeign(batch, "this node let the VIP go within " + grace.toMillis() + " ms of it");
    }
    pending.clear();
    holding = false;
  }

  /** Whether this node has held the VIP for {@code grace}: a probe's answers are then foreign. */
  boolean settled(long nanos) {
    return holding && nanos - holdingSince >= grace.toNanos();
  }

  /**
   * Takes in what the watch offered and judges every batch due by {@code nanos}; returns when the
   * next batch is due ({@link Long#MAX_VALUE} when none is pending).
   */
  long judge(long nanos) {
    List<Batch> arrived;
    synchronized (inbox) {
      arrived = new ArrayList<>(inbox.values());
      inbox.clear();
    }
    for (Batch batch : arrived) {
      if (!holding) {
        notForeign(batch, "this node does not hold the VIP");
        continue;
      }
      Batch waiting = pending.get(batch.mac);
      if (waiting == null) {
        pending.put(batch.mac, batch);
      } else {
        batch.frames.forEach((kind, count) -> waiting.add(kind, count, batch.lastSeen));
        waiting.lastKind = batch.lastKind;
      }
    }
    long next = Long.MAX_VALUE;
    for (var entries = pending.values().iterator(); entries.hasNext(); ) {
      Batch batch = entries.next();
      long due = batch.firstNanos + grace.toNanos();
      if (nanos - due < 0) {
        next = Math.min(next, due);
        continue;
      }
      entries.remove();
      if (batch.firstNanos - holdingSince >= grace.toNanos()) {
        foreign(batch, nanos);
      } else {
        notForeign(
            batch,
            "within "
                + grace.toMillis()
                + " ms of this node taking the VIP or of a member's claim");
      }
    }
    return next;
  }

  private void foreign(Batch batch, long nanos) {
    batch.frames.forEach((kind, count) -> metrics.foreignClaim(kind, count));
    metrics.foreignClaimSeen(batch.lastSeen);
    Claimant claimant = claimants.computeIfAbsent(batch.mac, mac -> new Claimant());
    claimant.frames += batch.total();
    claimant.unlogged += batch.total();
    last =
        new VipManager.ForeignClaim(
            batch.mac, batch.lastKind.tag(), batch.lastSeen, claimant.frames);
    if (claimant.loggedNanos == NEVER) {
      log.warn(
          "another host claims VIP {} on {}: {} sent {} while this node holds it. apivip does not"
              + " contest it; clients may reach that host instead. Find it (`ip neigh | grep -i"
              + " {}` on a machine of this LAN, or the switch's MAC address table) and remove the"
              + " address there",
          vip.literal(),
          vip.interfaceName(),
          batch.mac,
          batch.describe(),
          batch.mac);
    } else if (nanos - claimant.loggedNanos >= LOG_INTERVAL.toNanos()) {
      log.warn(
          "VIP {} still claimed by {}: {} frames in the last {} s (last: {})",
          vip.literal(),
          batch.mac,
          claimant.unlogged,
          (nanos - claimant.loggedNanos) / 1_000_000_000L,
          batch.lastKind.tag());
    } else {
      log.debug("VIP {} claimed again by {}: {}", vip.literal(), batch.mac, batch.describe());
      return;
    }
    claimant.loggedNanos = nanos;
    claimant.unlogged = 0;
  }

  private static void notForeign(Batch batch, String why) {
    log.debug("claim of the VIP by {} ({}) not counted: {}", batch.mac, batch.describe(), why);
  }
}
