package io.apivip.daemon.cluster;

import java.util.Locale;

/** Why a received datagram was dropped; a metric tag, so the set is small and fixed. */
public enum DropReason {
  /**
   * From an address that is no node's of cluster.nodes: dropped by the transport on arrival, before
   * it is copied or authenticated, so that a flood from elsewhere costs next to nothing.
   */
  NOT_MEMBER,
  /** Longer than {@link HeartbeatCodec#MAX_DATAGRAM} bytes. */
  OVERSIZED,
  /** Shorter than the smallest possible heartbeat. */
  TRUNCATED,
  /** Does not start with "AVIP": not an apivip heartbeat at all. */
  BAD_MAGIC,
  /** A heartbeat of a version this node does not speak (a rolling upgrade, or garbage). */
  WRONG_VERSION,
  /**
   * Signed with a key this node does not hold (by the key id the heartbeat names): the sender signs
   * with a key not yet in this node's cluster.accept-key-files, or this node dropped a key the
   * sender still signs with (a key change done out of order), or a forgery.
   */
  UNKNOWN_KEY,
  /**
   * The HMAC does not match the key the heartbeat names (or, in version 1, any key): a key file
   * that differs under the same id is impossible, so a corrupted datagram or a forgery.
   */
  BAD_MAC,
  /** Correctly signed but not a valid heartbeat: a bug on the sending side. */
  MALFORMED,
  /** Signed by our key but from another cluster id: two clusters share a key. */
  WRONG_CLUSTER,
  /** The sender id is not in cluster.nodes. */
  UNKNOWN_SENDER,
  /** Claims to come from this node: a reflected datagram or two nodes with the same node-id. */
  FROM_SELF,
  /** Sender clock further from ours than heartbeat.replay-window: a replay or a broken clock. */
  OUTSIDE_WINDOW,
  /**
   * Not newer than the last heartbeat accepted from that sender: a replay, duplicate or late
   * datagram.
   */
  REPLAYED;

  /** The metric tag value, e.g. "bad_mac". */
  public String tag() {
    return name().toLowerCase(Locale.ROOT);
  }
}
