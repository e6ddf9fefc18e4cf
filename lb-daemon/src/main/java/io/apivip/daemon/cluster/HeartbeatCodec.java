package io.apivip.daemon.cluster;

import io.apivip.daemon.cluster.Heartbeat.PeerEntry;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The heartbeat wire format (field by field in README.md next to this file): encoding, HMAC-SHA256
 * signing and a decoder that never throws on any input. Every check that needs only the datagram
 * and the configuration is here; the checks that need history (replay) are in {@link ReplayGuard}.
 *
 * <p>The decoder authenticates before it parses: only the fixed header (magic, version, key id) is
 * read before the MAC is verified, so a forger cannot reach the parser. The MAC is compared in
 * constant time. A heartbeat names the key that signed it ({@link KeyRing}): the decoder verifies
 * it with that key alone, and drops one whose key this node does not hold as {@code unknown_key}.
 *
 * <p>Version 1, from releases before key ids, is still decoded (with each key of the ring in turn,
 * as those releases did with their two keys) and encoded for the peers that send it, so that a
 * rolling upgrade keeps every node's heartbeats heard: see {@code ClusterNode}, which picks the
 * version per peer, and README.md.
 *
 * <p>Not thread-safe (it reuses {@link Mac} instances): one codec per owner thread.
 */
public final class HeartbeatCodec {

  /** The version this release sends; it names the signing key. */
  public static final int VERSION = 2;

  /**
   * The version of releases before key ids: no key id. Still decoded, and sent to a peer whose
   * latest heartbeat was of it, for the length of a rolling upgrade.
   */
  public static final int LEGACY_VERSION = 1;

  static final int KEY_ID_BYTES = 8;

  /** Nodes in one cluster; with 32-byte ids a heartbeat of 16 nodes is 880 bytes. */
  public static final int MAX_NODES = 16;

  /** Larger datagrams are dropped unread; no valid heartbeat comes close. */
  public static final int MAX_DATAGRAM = 1024;

  static final int MAC_BYTES = 32;
  static final int MAX_ID_BYTES = 32;
  private static final byte[] MAGIC = {'A', 'V', 'I', 'P'};
  private static final int FLAG_ELIGIBLE = 1;
  private static final int FLAG_MAINTENANCE = 1 << 1;
  private static final int FLAG_HOLDS_VIP = 1 << 2;
  private static final int FLAG_CANDIDATE = 1 << 3;

  /**
   * Set only while a node's address removal is pending, for a moment: a node of a release before
   * this flag drops those heartbeats as malformed, which costs it nothing but a few heartbeats.
   */
  private static final int FLAG_RELEASING = 1 << 4;

  private static final int ENTRY_ALIVE = 1;
  private static final int ENTRY_BACKED = 1 << 1;

  /**
   * Version 1: magic, version, flags, priority, two id lengths, incarnation, sequence, clock, peer
   * count. Version 2 has the key id after the version.
   */
  private static final int FIXED_BYTES = 4 + 1 + 1 + 1 + 1 + 1 + 8 + 8 + 8 + 1;

  /** Where the flags begin: after magic and version, and in version 2 the key id. */
  private static final int LEGACY_BODY = MAGIC.length + 1;

  private static final int BODY = LEGACY_BODY + KEY_ID_BYTES;

  /** The shortest datagram of any version (a version 1 heartbeat with one-letter ids). */
  static final int MIN_DATAGRAM = FIXED_BYTES + 2 + MAC_BYTES;

  private final String clusterId;
  private final String selfId;
  private final Set<String> nodeIds;
  private final KeyRing keys;

  /** One MAC per key of the ring, by key id, in the ring's order (the signing key first). */
  private final Map<Long, Mac> macs = new LinkedHashMap<>();

  private final Mac signer;
  private final byte[] macBuffer = new byte[MAC_BYTES];
  private final byte[] receivedMac = new byte[MAC_BYTES];

  /** The outcome of decoding one datagram. */
  public sealed interface Decoded permits Accepted, Dropped {}

  /**
   * A valid heartbeat of a member, signed with the key {@code keyId} of this node's ring, in wire
   * version {@code version}.
   */
  public record Accepted(Heartbeat heartbeat, long keyId, int version) implements Decoded {}

  /**
   * {@code keyId} is the id the datagram named when the reason is {@link DropReason#UNKNOWN_KEY},
   * else 0.
   */
  public record Dropped(DropReason reason, long keyId) implements Decoded {
    public Dropped(DropReason reason) {
      this(reason, 0);
    }
  }

  public HeartbeatCodec(String clusterId, String selfId, Set<String> nodeIds, KeyRing keys) {
    this.clusterId = clusterId;
    this.selfId = selfId;
    this.nodeIds = Set.copyOf(nodeIds);
    this.keys = keys;
    for (KeyRing.Key key : keys.keys()) {
      macs.put(key.id(), hmac(key.material()));
    }
    this.signer = macs.get(keys.signing().id());
  }

  /** The keys it signs and verifies with. */
  public KeyRing keys() {
    return keys;
  }

  private static Mac hmac(byte[] key) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac;
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable in this Java runtime", e);
    }
  }

  /**
   * The signed datagram, of {@link #VERSION}; the heartbeat must be valid (it is ours), else
   * IllegalArgumentException.
   */
  public byte[] encode(Heartbeat heartbeat) {
    return encode(heartbeat, VERSION);
  }

  /** As {@link #encode(Heartbeat)}, in {@link #VERSION} or {@link #LEGACY_VERSION}. */
  public byte[] encode(Heartbeat heartbeat, int version) {
    if (version != VERSION && version != LEGACY_VERSION) {
      throw new IllegalArgumentException("no wire version " + version);
    }
    byte[] cluster = ascii(heartbeat.clusterId());
    byte[] sender = ascii(heartbeat.senderId());
    List<byte[]> peerIds = new ArrayList<>();
    int size =
        FIXED_BYTES
            + (version == VERSION ? KEY_ID_BYTES : 0)
            + cluster.length
            + sender.length
            + MAC_BYTES;
    for (PeerEntry peer : heartbeat.peers()) {
      byte[] id = ascii(peer.id());
      peerIds.add(id);
      size += 1 + id.length + 8 + 8 + 1;
    }
    if (heartbeat.peers().size() >= MAX_NODES) {
      throw new IllegalArgumentException(
          "at most " + (MAX_NODES - 1) + " peers fit in a heartbeat");
    }
    if (heartbeat.priority() < 1 || heartbeat.priority() > 255) {
      throw new IllegalArgumentException("priority must be 1..255: " + heartbeat.priority());
    }
    byte[] out = new byte[size];
    Writer writer = new Writer(out);
    writer.bytes(MAGIC);
    writer.u8(version);
    if (version == VERSION) {
      writer.i64(keys.signing().id());
    }
    writer.u8(
        (heartbeat.eligible() ? FLAG_ELIGIBLE : 0)
            | (heartbeat.maintenance() ? FLAG_MAINTENANCE : 0)
            | (heartbeat.holdsVip() ? FLAG_HOLDS_VIP : 0)
            | (heartbeat.candidate() ? FLAG_CANDIDATE : 0)
            | (heartbeat.releasing() ? FLAG_RELEASING : 0));
    writer.u8(heartbeat.priority());
    writer.u8(cluster.length);
    writer.bytes(cluster);
    writer.u8(sender.length);
    writer.bytes(sender);
    writer.i64(heartbeat.incarnation());
    writer.i64(heartbeat.sequence());
    writer.i64(heartbeat.wallClockMillis());
    writer.u8(heartbeat.peers().size());
    for (int i = 0; i < peerIds.size(); i++) {
      PeerEntry peer = heartbeat.peers().get(i);
      writer.u8(peerIds.get(i).length);
      writer.bytes(peerIds.get(i));
      writer.i64(peer.incarnation());
      writer.i64(peer.lastSequence());
      writer.u8((peer.alive() ? ENTRY_ALIVE : 0) | (peer.backed() ? ENTRY_BACKED : 0));
    }
    signer.update(out, 0, size - MAC_BYTES);
    try {
      signer.doFinal(out, size - MAC_BYTES);
    } catch (javax.crypto.ShortBufferException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  private static byte[] ascii(String id) {
    if (!validId(id)) {
      throw new IllegalArgumentException("not a valid id: " + id);
    }
    return id.getBytes(StandardCharsets.US_ASCII);
  }

  /** Decodes {@code length} bytes of {@code data}; never throws, whatever the bytes. */
  public Decoded decode(byte[] data, int length) {
    if (length > MAX_DATAGRAM || length > data.length) {
      return new Dropped(DropReason.OVERSIZED);
    }
    if (length < MIN_DATAGRAM) {
      return new Dropped(DropReason.TRUNCATED);
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (data[i] != MAGIC[i]) {
        return new Dropped(DropReason.BAD_MAGIC);
      }
    }
    int version = data[MAGIC.length] & 0xff;
    int signed = length - MAC_BYTES;
    long keyId;
    int body;
    if (version == VERSION) {
      if (length < MIN_DATAGRAM + KEY_ID_BYTES) {
        return new Dropped(DropReason.TRUNCATED);
      }
      keyId = i64(data, LEGACY_BODY);
      Mac verifier = macs.get(keyId);
      if (verifier == null) {
        return new Dropped(DropReason.UNKNOWN_KEY, keyId);
      }
      if (!macMatches(verifier, data, signed)) {
        return new Dropped(DropReason.BAD_MAC);
      }
      body = BODY;
    } else if (version == LEGACY_VERSION) {
      OptionalLong matching = legacyKey(data, signed);
      if (matching.isEmpty()) {
        return new Dropped(DropReason.BAD_MAC);
      }
      keyId = matching.getAsLong();
      body = LEGACY_BODY;
    } else {
      return new Dropped(DropReason.WRONG_VERSION);
    }
    Heartbeat heartbeat = parse(data, body, signed);
    if (heartbeat == null) {
      return new Dropped(DropReason.MALFORMED);
    }
    if (!heartbeat.clusterId().equals(clusterId)) {
      return new Dropped(DropReason.WRONG_CLUSTER);
    }
    if (heartbeat.senderId().equals(selfId)) {
      return new Dropped(DropReason.FROM_SELF);
    }
    if (!nodeIds.contains(heartbeat.senderId())) {
      return new Dropped(DropReason.UNKNOWN_SENDER);
    }
    return new Accepted(heartbeat, keyId, version);
  }

  /**
   * Which key of the ring signed a version 1 datagram, which does not say: each is tried, as the
   * releases that send it tried their two keys.
   */
  private OptionalLong legacyKey(byte[] data, int signed) {
    for (Map.Entry<Long, Mac> key : macs.entrySet()) {
      if (macMatches(key.getValue(), data, signed)) {
        return OptionalLong.of(key.getKey());
      }
    }
    return OptionalLong.empty();
  }

  private static long i64(byte[] data, int offset) {
    long value = 0;
    for (int i = offset; i < offset + Long.BYTES; i++) {
      value = (value << 8) | (data[i] & 0xff);
    }
    return value;
  }

  private boolean macMatches(Mac mac, byte[] data, int signed) {
    mac.update(data, 0, signed);
    try {
      mac.doFinal(macBuffer, 0);
    } catch (javax.crypto.ShortBufferException e) {
      throw new IllegalStateException(e);
    }
    System.arraycopy(data, signed, receivedMac, 0, MAC_BYTES);
    // MessageDigest.isEqual takes the same time wherever the first difference is.
    return MessageDigest.isEqual(macBuffer, receivedMac);
  }

  /** The heartbeat in data[body, end), or null when it is not a valid one. */
  private static Heartbeat parse(byte[] data, int body, int end) {
    Reader reader = new Reader(data, end);
    reader.skip(body);
    int flags = reader.u8();
    int priority = reader.u8();
    String cluster = reader.id();
    String sender = reader.id();
    long incarnation = reader.i64();
    long sequence = reader.i64();
    long clock = reader.i64();
    int peerCount = reader.u8();
    if (reader.failed
        || (flags
                & ~(FLAG_ELIGIBLE
                    | FLAG_MAINTENANCE
                    | FLAG_HOLDS_VIP
                    | FLAG_CANDIDATE
                    | FLAG_RELEASING))
            != 0
        || (flags & FLAG_RELEASING) != 0 && (flags & FLAG_HOLDS_VIP) != 0
        || priority < 1
        || incarnation <= 0
        || sequence <= 0
        || peerCount >= MAX_NODES) {
      return null;
    }
    List<PeerEntry> peers = new ArrayList<>(peerCount);
    Set<String> seen = new HashSet<>();
    int backed = (flags & FLAG_CANDIDATE) != 0 ? 1 : 0;
    for (int i = 0; i < peerCount; i++) {
      String id = reader.id();
      long peerIncarnation = reader.i64();
      long lastSequence = reader.i64();
      int entryFlags = reader.u8();
      if (reader.failed
          || (entryFlags & ~(ENTRY_ALIVE | ENTRY_BACKED)) != 0
          || peerIncarnation < 0
          || lastSequence < 0
          || id.equals(sender)
          || !seen.add(id)) {
        return null;
      }
      boolean isBacked = (entryFlags & ENTRY_BACKED) != 0;
      backed += isBacked ? 1 : 0;
      peers.add(
          new PeerEntry(
              id, peerIncarnation, lastSequence, (entryFlags & ENTRY_ALIVE) != 0, isBacked));
    }
    if (reader.position != end || backed > 1) {
      return null;
    }
    return new Heartbeat(
        cluster,
        sender,
        incarnation,
        sequence,
        clock,
        priority,
        (flags & FLAG_ELIGIBLE) != 0,
        (flags & FLAG_MAINTENANCE) != 0,
        (flags & FLAG_HOLDS_VIP) != 0,
        (flags & FLAG_CANDIDATE) != 0,
        peers,
        (flags & FLAG_RELEASING) != 0);
  }

  /**
   * Node and cluster ids: what SettingsLoader accepts, 1 to 32 of [A-Za-z0-9._-], first
   * alphanumeric.
   */
  static boolean validId(String id) {
    if (id.isEmpty() || id.length() > MAX_ID_BYTES) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean alphanumeric =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alphanumeric && (i == 0 || (c != '.' && c != '_' && c != '-'))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Reads big-endian fields; past the end it sets {@code failed} and returns zeros instead of
   * throwing.
   */
  private static final class Reader {
    private final byte[] data;
    private final int end;
    int position;
    boolean failed;

    Reader(byte[] data, int end) {
      this.data = data;
      this.end = end;
    }

    private boolean has(int bytes) {
      if (failed || end - position < bytes) {
        failed = true;
        return false;
      }
      return true;
    }

    void skip(int bytes) {
      if (has(bytes)) {
        position += bytes;
      }
    }

    int u8() {
      return has(1) ? data[position++] & 0xff : 0;
    }

    long i64() {
      if (!has(8)) {
        return 0;
      }
      long value = 0;
      for (int i = 0; i < 8; i++) {
        value = (value << 8) | (data[position++] & 0xff);
      }
      return value;
    }

    String id() {
      int length = u8();
      if (length == 0 || length > MAX_ID_BYTES || !has(length)) {
        failed = true;
        return "";
      }
      String id = new String(data, position, length, StandardCharsets.US_ASCII);
      position += length;
      if (!validId(id)) {
        failed = true;
      }
      return id;
    }
  }

  private static final class Writer {
    private final byte[] out;
    private int position;

    Writer(byte[] out) {
      this.out = out;
    }

    void u8(int value) {
      out[position++] = (byte) value;
    }

    void bytes(byte[] value) {
      System.arraycopy(value, 0, out, position, value.length);
      position += value.length;
    }

    void i64(long value) {
      for (int shift = 56; shift >= 0; shift -= 8) {
        out[position++] = (byte) (value >>> shift);
      }
    }
  }
}
