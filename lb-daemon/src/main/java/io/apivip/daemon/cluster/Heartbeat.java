package io.apivip.daemon.cluster;

import java.util.List;
import java.util.Optional;

/**
 * One heartbeat, as decoded from (or encoded to) the wire; see README.md in this folder for the
 * byte layout. {@code candidate} says the sender backs itself for the VIP; {@code releasing} that
 * it decided to let the VIP go and its address is still on its interface (the kernel has not
 * removed it yet), so its claim on the VIP has not ended; a peer entry's {@code backed} says the
 * sender backs that peer (at most one of these is set). See {@link Election} for what backing
 * means.
 */
public record Heartbeat(
    String clusterId,
    String senderId,
    long incarnation,
    long sequence,
    long wallClockMillis,
    int priority,
    boolean eligible,
    boolean maintenance,
    boolean holdsVip,
    boolean candidate,
    List<PeerEntry> peers,
    boolean releasing) {

  public Heartbeat {
    peers = List.copyOf(peers);
  }

  /** A heartbeat of a node that is not releasing the VIP. */
  public Heartbeat(
      String clusterId,
      String senderId,
      long incarnation,
      long sequence,
      long wallClockMillis,
      int priority,
      boolean eligible,
      boolean maintenance,
      boolean holdsVip,
      boolean candidate,
      List<PeerEntry> peers) {
    this(
        clusterId,
        senderId,
        incarnation,
        sequence,
        wallClockMillis,
        priority,
        eligible,
        maintenance,
        holdsVip,
        candidate,
        peers,
        false);
  }

  /**
   * The sender's view of another node: the incarnation and sequence of the last heartbeat it
   * accepted from it (0 when none), whether it considers it alive, whether it backs it.
   */
  public record PeerEntry(
      String id, long incarnation, long lastSequence, boolean alive, boolean backed) {}

  /** Whom the sender backs for the VIP, if anyone. */
  public Optional<String> backing() {
    if (candidate) {
      return Optional.of(senderId);
    }
    return peers.stream().filter(PeerEntry::backed).map(PeerEntry::id).findFirst();
  }

  /** The sender's entry about {@code nodeId}, if it sent one. */
  public Optional<PeerEntry> entry(String nodeId) {
    for (PeerEntry peer : peers) {
      if (peer.id().equals(nodeId)) {
        return Optional.of(peer);
      }
    }
    return Optional.empty();
  }
}
