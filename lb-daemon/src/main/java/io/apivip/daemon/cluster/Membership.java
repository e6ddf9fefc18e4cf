package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Election.NEVER;

import io.apivip.daemon.config.Settings;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What one node knows of its peers, and the failure detector: a peer is alive while its heartbeats
 * arrive, suspected after failure-timeout without one (why fixed, not accrual: see {@link
 * Election}). It also keeps this node's own send times, so that a peer's acknowledgement of one of
 * our sequences tells how long that peer cannot have suspected us (our lease from it).
 *
 * <p>Pauses: if this node itself stalls (GC, CPU starvation) it notices the gap between two of its
 * own steps and does not count the stall against its peers: their last-heard times move forward by
 * the excess. That only makes this node suspect later, which the safety argument allows; without it
 * a node resuming from a 400 ms pause would suspect everyone before reading the heartbeats queued
 * in its socket, and drop the VIP for nothing. For the same reason {@link ClusterNode} reads for a
 * short grace after a stall before it decides anything.
 *
 * <p>Owned by the cluster's owner thread, like everything it holds.
 */
final class Membership {

  /** Unknown key ids logged per peer, at most. */
  static final int REPORTED_KEYS = 4;

  /** Sequence numbers whose send time is remembered; more than a failure timeout's worth. */
  private static final int SENT_TIMES = 256;

  /** What is known of one peer. */
  static final class Peer {
    final String id;
    final InetAddress address;
    int configuredPriority;
    Heartbeat last;

    /** The key that signed {@code last}, and its wire version. */
    long keyId;

    int version;

    /**
     * The key ids of datagrams from its address that this node holds no key for, logged once each
     * (at most {@link #REPORTED_KEYS}, so that forgeries with made-up ids cannot flood the log).
     */
    final Set<Long> reportedUnknownKeys = new HashSet<>();

    /** Derived from {@code last} once at receipt: whom it backs, and its entry about us. */
    Optional<String> backing = Optional.empty();

    Heartbeat.PeerEntry aboutMe;
    long lastHeardNanos = NEVER;
    long qualifiedSince = NEVER;
    long clockOffsetMillis;
    long badMacDatagrams;
    boolean reportedAlive;

    /**
     * When {@code last} arrived, not moved by stall forgiveness: the receipt time a lease is
     * bounded by.
     */
    long receivedNanos = NEVER;

    long previousReceivedNanos = NEVER;

    /**
     * What our latest heartbeat acknowledged of it (incarnation, sequence), and when that arrived.
     */
    long ackedIncarnation;

    long ackedSequence;
    long ackedReceivedNanos = NEVER;

    /**
     * Until when it may count our backing, over every heartbeat of ours that backed it (see
     * Election, rule 4).
     */
    long backingLeaseEnd = NEVER;

    Peer(Settings.Node node) {
      this.id = node.id();
      this.address = node.address();
      this.configuredPriority = node.priority();
    }

    int priority() {
      return last == null ? configuredPriority : last.priority();
    }
  }

  private final String selfId;
  private final long failureTimeoutNanos;
  private final long expectedGapNanos;
  private final long leaseMarginNanos;
  private final long talkingWindowNanos;
  private final long staleAcknowledgementNanos;
  private final Map<String, Peer> peers = new LinkedHashMap<>();
  private final long[] sentSequence = new long[SENT_TIMES];
  private final long[] sentNanos = new long[SENT_TIMES];
  private long lastStepNanos = NEVER;

  /** When this node last sent a heartbeat. */
  private long lastSentNanos = NEVER;

  /** When this node last noticed a stall of its own. */
  private long lastStallNanos = NEVER;

  Membership(
      String selfId, List<Settings.Node> others, long intervalNanos, long failureTimeoutNanos) {
    this.selfId = selfId;
    this.failureTimeoutNanos = failureTimeoutNanos;
    // Our own steps come at least every interval; a longer gap is a stall of ours.
    this.expectedGapNanos = intervalNanos + intervalNanos / 2;
    // Covers a timer that fires a little late; clock rates differ by parts per million only. Kept
    // small: every millisecond here is a millisecond less of pause a holder survives.
    this.leaseMarginNanos = intervalNanos / 50;
    this.talkingWindowNanos = intervalNanos + intervalNanos / 2;
    // The freeze of rule 4 starts about this long after a backed node stops hearing us, and a
    // deaf holder's backers move on that much after the failure timeout. A healthy link shows one
    // interval plus transit; the other interval is for timers and threads that run late on a busy
    // host (in the lab, eight JVMs on two cores: at 1.1 intervals the freeze held back the
    // acknowledgements of healthy nodes for long enough that a holder lost its leases, and a new
    // candidate never collected the acknowledgement of its epoch).
    this.staleAcknowledgementNanos = 2 * intervalNanos;
    for (Settings.Node node : others) {
      peers.put(node.id(), new Peer(node));
    }
  }

  Collection<Peer> peers() {
    return peers.values();
  }

  /**
   * The peers become {@code others} (a reload of cluster.nodes): a peer whose id and address stay
   * keeps all that is known of it, and takes its new configured priority; a new id, or an id at a
   * new address (a replaced machine), starts unheard; a peer no longer listed is forgotten. Answers
   * what changed, for the log: "added n4", "removed n3", "n2 moved to 192.0.2.22".
   */
  List<String> reconcile(List<Settings.Node> others) {
    List<String> changes = new ArrayList<>();
    Map<String, Peer> next = new LinkedHashMap<>();
    for (Settings.Node node : others) {
      Peer known = peers.get(node.id());
      if (known != null && known.address.equals(node.address())) {
        known.configuredPriority = node.priority();
        next.put(node.id(), known);
      } else {
        changes.add(
            known == null
                ? "added " + node.id()
                : node.id() + " moved to " + node.address().getHostAddress());
        next.put(node.id(), new Peer(node));
      }
    }
    for (String id : peers.keySet()) {
      if (!next.containsKey(id)) {
        changes.add("removed " + id);
      }
    }
    peers.clear();
    peers.putAll(next);
    return changes;
  }

  Optional<Peer> peer(String id) {
    return Optional.ofNullable(peers.get(id));
  }

  Optional<Peer> peerAt(InetAddress address) {
    return peers.values().stream().filter(peer -> peer.address.equals(address)).findFirst();
  }

  /**
   * Called first at every step: forgives peers the part of a gap since our last step that was our
   * own stall. Returns true when there was such a stall.
   */
  boolean step(long now) {
    boolean stalled = lastStepNanos != NEVER && now - lastStepNanos > expectedGapNanos;
    if (stalled) {
      lastStallNanos = now;
      long stall = now - lastStepNanos - expectedGapNanos;
      for (Peer peer : peers.values()) {
        if (peer.lastHeardNanos != NEVER) {
          peer.lastHeardNanos = Math.min(now, peer.lastHeardNanos + stall);
        }
      }
    }
    lastStepNanos = now;
    return stalled;
  }

  void heard(Peer peer, Heartbeat heartbeat, long keyId, int version, long now, long wallMillis) {
    peer.last = heartbeat;
    peer.keyId = keyId;
    peer.version = version;
    peer.backing = heartbeat.backing();
    peer.aboutMe = heartbeat.entry(selfId).orElse(null);
    peer.lastHeardNanos = now;
    peer.previousReceivedNanos = peer.receivedNanos;
    peer.receivedNanos = now;
    peer.clockOffsetMillis = heartbeat.wallClockMillis() - wallMillis;
  }

  boolean alive(Peer peer, long now) {
    return peer.lastHeardNanos != NEVER && now - peer.lastHeardNanos < failureTimeoutNanos;
  }

  /** Tracks since when each peer has been qualified without a break (for preemption). */
  void updateQualified(long now) {
    for (Peer peer : peers.values()) {
      boolean qualified = alive(peer, now) && peer.last.eligible() && !peer.last.maintenance();
      if (!qualified) {
        peer.qualifiedSince = NEVER;
      } else if (peer.qualifiedSince == NEVER) {
        peer.qualifiedSince = now;
      }
    }
  }

  void sent(long sequence, long now) {
    lastSentNanos = now;
    int slot = (int) (sequence % SENT_TIMES);
    sentSequence[slot] = sequence;
    sentNanos[slot] = now;
  }

  /**
   * Until when the peer cannot have suspected us, from its acknowledgement of our sequence; NEVER
   * if unknown.
   */
  long leaseEnd(Peer peer, long incarnation) {
    Heartbeat.PeerEntry entry = peer.aboutMe;
    if (entry == null || entry.incarnation() != incarnation || entry.lastSequence() <= 0) {
      return NEVER;
    }
    long sent = sentAt(entry.lastSequence());
    return sent == NEVER ? NEVER : sent + failureTimeoutNanos - leaseMarginNanos;
  }

  /**
   * Whether every lease this node could hold has ended, whatever is queued in its socket: a lease
   * comes from a peer's acknowledgement of one of our heartbeats and lasts failure-timeout from its
   * sending, so none outlives our latest heartbeat by more than that. After a stall this long there
   * is nothing to wait for before letting the VIP go.
   */
  /** How long ago this node last sent a heartbeat: after a stall, how long it said nothing. */
  long sinceLastSentNanos(long now) {
    return lastSentNanos == NEVER ? 0 : now - lastSentNanos;
  }

  boolean everyLeaseOver(long now) {
    return lastSentNanos == NEVER || now >= lastSentNanos + failureTimeoutNanos - leaseMarginNanos;
  }

  /**
   * Whether the peer, still sending, shows it has not heard us lately: the newest of our heartbeats
   * that its latest one acknowledges had been sent more than 2 intervals before that one arrived
   * (with no loss it is one interval at most, plus transit and late timers: the peer acknowledges
   * what it heard before its own send). A stall of ours since that heartbeat of ours excuses it:
   * the peer's heartbeats queued up while we could not send.
   */
  boolean acknowledgementStale(Peer peer, long incarnation, long now) {
    if (!talking(peer, now)) {
      return false;
    }
    Heartbeat.PeerEntry entry = peer.aboutMe;
    long sent =
        entry == null || entry.incarnation() != incarnation ? NEVER : sentAt(entry.lastSequence());
    if (sent == NEVER) {
      return true;
    }
    return peer.receivedNanos - sent > staleAcknowledgementNanos && lastStallNanos < sent;
  }

  /**
   * Heard within the last 1.5 intervals, and the heartbeat before that one no longer before: a peer
   * that is sending, as opposed to one gone quiet. The first heartbeat after a silence is left out
   * because a node back from a stall sends before it has read what queued up meanwhile, so what it
   * acknowledges there says nothing of what it hears.
   */
  private boolean talking(Peer peer, long now) {
    return peer.previousReceivedNanos != NEVER
        && now - peer.receivedNanos <= talkingWindowNanos
        && peer.receivedNanos - peer.previousReceivedNanos <= talkingWindowNanos;
  }

  private long sentAt(long sequence) {
    int slot = (int) (sequence % SENT_TIMES);
    return sentSequence[slot] == sequence ? sentNanos[slot] : NEVER;
  }

  /** The election's picture of one peer. */
  Election.Member member(Peer peer, long now, long incarnation, long epoch) {
    boolean alive = alive(peer, now);
    Heartbeat last = peer.last;
    boolean connected = alive && now < leaseEnd(peer, incarnation);
    // Still sending, not connected, and its latest heartbeat says it has not heard us for a
    // failure timeout: it does not hear us. A quiet peer is not judged deaf (it may be paused; the
    // failure detector covers it), nor is one whose first heartbeat after a stall of its own
    // acknowledges only what it heard before (it forgives its stall, so it still calls us alive).
    boolean deaf =
        alive
            && !connected
            && talking(peer, now)
            && (peer.aboutMe == null || !peer.aboutMe.alive());
    boolean backsMe =
        connected
            && peer.backing.isPresent()
            && peer.backing.get().equals(selfId)
            && peer.aboutMe.lastSequence() >= epoch;
    return new Election.Member(
        peer.id,
        peer.priority(),
        alive,
        last != null && last.eligible(),
        last != null && last.maintenance(),
        last != null && last.holdsVip(),
        peer.backing,
        peer.qualifiedSince,
        connected,
        deaf,
        backsMe,
        now - peer.receivedNanos > talkingWindowNanos);
  }

  /**
   * The next instant at which a peer's state changes by itself (suspicion, lease end, preemption
   * delay).
   */
  long nextChange(long now, long incarnation, long preemptDelayNanos) {
    long next = Long.MAX_VALUE;
    for (Peer peer : peers.values()) {
      if (peer.lastHeardNanos != NEVER) {
        next = after(now, peer.lastHeardNanos + failureTimeoutNanos, next);
      }
      long lease = leaseEnd(peer, incarnation);
      if (lease != NEVER) {
        next = after(now, lease, next);
      }
      if (peer.qualifiedSince != NEVER) {
        next = after(now, peer.qualifiedSince + preemptDelayNanos, next);
      }
    }
    return next;
  }

  static long after(long now, long candidate, long current) {
    return candidate > now && candidate < current ? candidate : current;
  }

  /** For the simulation's check that a dropped datagram changed nothing. */
  List<Object> digest() {
    List<Object> state = new ArrayList<>();
    for (Peer peer : peers.values()) {
      state.add(peer.last);
      state.add(peer.lastHeardNanos);
      state.add(peer.qualifiedSince);
    }
    return state;
  }
}
