package io.apivip.daemon.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.daemon.cluster.Heartbeat.PeerEntry;
import io.apivip.daemon.cluster.HeartbeatCodec.Accepted;
import io.apivip.daemon.cluster.HeartbeatCodec.Decoded;
import io.apivip.daemon.cluster.HeartbeatCodec.Dropped;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class HeartbeatCodecTest {

  static final byte[] KEY =
      "0123456789abcdef0123456789abcdef-current".getBytes(StandardCharsets.US_ASCII);
  static final byte[] OLD_KEY =
      "0123456789abcdef0123456789abcdef-previous".getBytes(StandardCharsets.US_ASCII);
  static final byte[] NEW_KEY =
      "0123456789abcdef0123456789abcdef-next".getBytes(StandardCharsets.US_ASCII);
  static final long KEY_ID = KeyRing.of(KEY).signing().id();
  static final Set<String> NODES = Set.of("node1", "node2", "node3");
  static final long WALL = 1_700_000_000_000L;

  /** The codec of node1. */
  static HeartbeatCodec receiver() {
    return new HeartbeatCodec("prod", "node1", NODES, KeyRing.of(KEY));
  }

  static HeartbeatCodec sender(String id, byte[] key) {
    return new HeartbeatCodec("prod", id, NODES, KeyRing.of(key));
  }

  /**
   * Entries about the first two other nodes: the first one heard and backed, the second never
   * heard.
   */
  static Heartbeat heartbeat(String sender, long incarnation, long sequence, long wall) {
    List<String> others =
        Stream.of("node1", "node2", "node3").filter(id -> !id.equals(sender)).toList();
    return new Heartbeat(
        "prod",
        sender,
        incarnation,
        sequence,
        wall,
        150,
        true,
        false,
        true,
        false,
        List.of(
            new PeerEntry(others.get(0), 7, 41, true, true),
            new PeerEntry(others.get(1), 0, 0, false, false)));
  }

  static Heartbeat heartbeat() {
    return heartbeat("node2", 1_699_999_000_000L, 42, WALL);
  }

  @Test
  void roundTripsEveryField() {
    Heartbeat sent = heartbeat();
    byte[] bytes = sender("node2", KEY).encode(sent);
    Decoded decoded = receiver().decode(bytes, bytes.length);
    assertThat(decoded).isEqualTo(new Accepted(sent, KEY_ID, HeartbeatCodec.VERSION));
    assertThat(((Accepted) decoded).heartbeat().backing()).contains("node1");

    Heartbeat candidate =
        new Heartbeat(
            "prod", "node3", 1, Long.MAX_VALUE, -5, 1, false, true, false, true, List.of());
    byte[] datagram = sender("node3", KEY).encode(candidate);
    assertThat(receiver().decode(datagram, datagram.length))
        .isEqualTo(new Accepted(candidate, KEY_ID, HeartbeatCodec.VERSION));
    assertThat(candidate.backing()).contains("node3");
  }

  @Test
  void carriesReleasingAndRefusesItWithHoldsVip() {
    Heartbeat releasing =
        new Heartbeat("prod", "node3", 1, 7, -5, 100, true, false, false, false, List.of(), true);
    byte[] datagram = sender("node3", KEY).encode(releasing);
    assertThat(receiver().decode(datagram, datagram.length))
        .isEqualTo(new Accepted(releasing, KEY_ID, HeartbeatCodec.VERSION));
    Heartbeat both =
        new Heartbeat("prod", "node3", 1, 8, -5, 100, true, false, true, false, List.of(), true);
    byte[] contradictory = sender("node3", KEY).encode(both);
    assertThat(receiver().decode(contradictory, contradictory.length)).isInstanceOf(Dropped.class);
  }

  @Test
  void sevenNodesWithLongestIdsFitWellUnder1200Bytes() {
    String longest = "n".repeat(HeartbeatCodec.MAX_ID_BYTES - 1);
    List<PeerEntry> peers = new ArrayList<>();
    for (int i = 1; i < 7; i++) {
      peers.add(new PeerEntry(longest + i, Long.MAX_VALUE, Long.MAX_VALUE, true, false));
    }
    Heartbeat sent =
        new Heartbeat("c".repeat(32), longest + 0, 1, 1, 1, 255, true, true, true, true, peers);
    byte[] datagram =
        new HeartbeatCodec("c".repeat(32), "x", Set.of(), KeyRing.of(KEY)).encode(sent);
    assertThat(datagram.length).isLessThan(600);
  }

  @Test
  void aHeartbeatNamesItsKeyRightAfterTheVersion() {
    byte[] datagram = sender("node2", KEY).encode(heartbeat());
    assertThat(datagram[4]).isEqualTo((byte) HeartbeatCodec.VERSION);
    assertThat(java.nio.ByteBuffer.wrap(datagram, 5, 8).getLong()).isEqualTo(KEY_ID);
    assertThat(io.apivip.daemon.config.KeyFile.fingerprint(KEY))
        .isEqualTo(java.util.HexFormat.of().formatHex(datagram, 5, 13));
  }

  /** Every step of the key change in docs/microk8s.md, between a switched node and the others. */
  @Test
  void aRingAcceptsEachOfItsKeysAndSignsWithOne() {
    long oldId = KeyRing.of(OLD_KEY).signing().id();
    long newId = KeyRing.of(NEW_KEY).signing().id();
    HeartbeatCodec onOld = new HeartbeatCodec("prod", "node1", NODES, KeyRing.of(OLD_KEY));
    HeartbeatCodec acceptingNew =
        new HeartbeatCodec("prod", "node1", NODES, KeyRing.of(OLD_KEY, List.of(NEW_KEY)));
    HeartbeatCodec switched =
        new HeartbeatCodec("prod", "node2", NODES, KeyRing.of(NEW_KEY, List.of(OLD_KEY)));
    HeartbeatCodec onNew = new HeartbeatCodec("prod", "node1", NODES, KeyRing.of(NEW_KEY));

    byte[] fromSwitched = switched.encode(heartbeat());
    assertThat(onOld.decode(fromSwitched, fromSwitched.length))
        .as("a node that does not accept the new key yet")
        .isEqualTo(new Dropped(DropReason.UNKNOWN_KEY, newId));
    assertThat(acceptingNew.decode(fromSwitched, fromSwitched.length))
        .isEqualTo(new Accepted(heartbeat(), newId, HeartbeatCodec.VERSION));
    assertThat(onNew.decode(fromSwitched, fromSwitched.length)).isInstanceOf(Accepted.class);

    byte[] fromOld = acceptingNew.encode(heartbeat("node1", 1, 1, WALL));
    HeartbeatCodec switchedReceiver =
        new HeartbeatCodec("prod", "node2", NODES, KeyRing.of(NEW_KEY, List.of(OLD_KEY)));
    assertThat(switchedReceiver.decode(fromOld, fromOld.length))
        .as("the switched node still accepts the old key")
        .isEqualTo(new Accepted(heartbeat("node1", 1, 1, WALL), oldId, HeartbeatCodec.VERSION));
    HeartbeatCodec dropped = new HeartbeatCodec("prod", "node2", NODES, KeyRing.of(NEW_KEY));
    assertThat(dropped.decode(fromOld, fromOld.length))
        .as("once the old key is dropped")
        .isEqualTo(new Dropped(DropReason.UNKNOWN_KEY, oldId));
  }

  @Test
  void aForgedDatagramThatNamesAKnownKeyFailsItsMac() {
    byte[] forged = sender("node2", OLD_KEY).encode(heartbeat());
    // Named as signed by the receiver's key, but signed with another.
    java.nio.ByteBuffer.wrap(forged, 5, 8).putLong(KEY_ID);
    assertThat(receiver().decode(forged, forged.length)).isEqualTo(new Dropped(DropReason.BAD_MAC));
  }

  @Test
  void aKeyListedTwiceIsOneKeyAndTheRingSaysWhatItHolds() {
    KeyRing ring = KeyRing.of(KEY, List.of(OLD_KEY, KEY, OLD_KEY.clone()));
    assertThat(ring.keys())
        .extracting(KeyRing.Key::id)
        .containsExactly(KEY_ID, KeyRing.of(OLD_KEY).signing().id());
    assertThat(ring.signing().id()).isEqualTo(KEY_ID);
    assertThat(ring.find(KeyRing.of(NEW_KEY).signing().id())).isEmpty();
    assertThat(ring.otherFingerprints())
        .containsExactly(io.apivip.daemon.config.KeyFile.fingerprint(OLD_KEY));
    assertThat(ring.sameKeys(KeyRing.of(KEY, List.of(OLD_KEY)))).isTrue();
    assertThat(ring.sameKeys(KeyRing.of(OLD_KEY, List.of(KEY)))).as("signs with another").isFalse();
    assertThat(ring.sameKeys(KeyRing.of(KEY))).as("accepts fewer").isFalse();
  }

  /**
   * A node of a release before key ids sends version 1, which names no key: it is verified with
   * each key of the ring (the one that matches is reported), and version 1 is what this node can
   * send back to it.
   */
  @Test
  void version1FromAnOlderReleaseIsVerifiedWithEachKeyAndCanBeSentBack() {
    HeartbeatCodec ring =
        new HeartbeatCodec("prod", "node1", NODES, KeyRing.of(KEY, List.of(OLD_KEY)));
    byte[] legacy = sender("node2", OLD_KEY).encode(heartbeat(), HeartbeatCodec.LEGACY_VERSION);
    assertThat(legacy[4]).isEqualTo((byte) 1);
    assertThat(legacy.length).isEqualTo(sender("node2", OLD_KEY).encode(heartbeat()).length - 8);
    assertThat(ring.decode(legacy, legacy.length))
        .isEqualTo(
            new Accepted(
                heartbeat(), KeyRing.of(OLD_KEY).signing().id(), HeartbeatCodec.LEGACY_VERSION));
    assertThat(receiver().decode(legacy, legacy.length))
        .as("no key of the ring signed it")
        .isEqualTo(new Dropped(DropReason.BAD_MAC));
    assertThat(legacyBody(legacy))
        .as("the layout of version 1, as releases before key ids write it")
        .isEqualTo(v1Layout(heartbeat()));
  }

  /** A version 1 datagram's bytes before the MAC. */
  static byte[] legacyBody(byte[] datagram) {
    return Arrays.copyOf(datagram, datagram.length - HeartbeatCodec.MAC_BYTES);
  }

  /** Version 1 written field by field from README.md's table, independently of the codec. */
  static byte[] v1Layout(Heartbeat h) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.DataOutputStream data = new java.io.DataOutputStream(out);
    try {
      data.write("AVIP".getBytes(StandardCharsets.US_ASCII));
      data.writeByte(1);
      data.writeByte(
          (h.eligible() ? 1 : 0)
              | (h.maintenance() ? 2 : 0)
              | (h.holdsVip() ? 4 : 0)
              | (h.candidate() ? 8 : 0)
              | (h.releasing() ? 16 : 0));
      data.writeByte(h.priority());
      data.writeByte(h.clusterId().length());
      data.write(h.clusterId().getBytes(StandardCharsets.US_ASCII));
      data.writeByte(h.senderId().length());
      data.write(h.senderId().getBytes(StandardCharsets.US_ASCII));
      data.writeLong(h.incarnation());
      data.writeLong(h.sequence());
      data.writeLong(h.wallClockMillis());
      data.writeByte(h.peers().size());
      for (PeerEntry peer : h.peers()) {
        data.writeByte(peer.id().length());
        data.write(peer.id().getBytes(StandardCharsets.US_ASCII));
        data.writeLong(peer.incarnation());
        data.writeLong(peer.lastSequence());
        data.writeByte((peer.alive() ? 1 : 0) | (peer.backed() ? 2 : 0));
      }
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  @Test
  void refusesToEncodeWhatItWouldNotDecode() {
    HeartbeatCodec codec = sender("node2", KEY);
    assertThatThrownBy(() -> codec.encode(heartbeat("bad id", 1, 1, WALL)))
        .isInstanceOf(IllegalArgumentException.class);
    Heartbeat zeroPriority =
        new Heartbeat("prod", "node2", 1, 1, WALL, 0, true, false, false, false, List.of());
    assertThatThrownBy(() -> codec.encode(zeroPriority))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** Signs {@code body} (everything before the MAC) the way a sender holding the key would. */
  static byte[] signed(byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(KEY, "HmacSHA256"));
      byte[] out = Arrays.copyOf(body, body.length + HeartbeatCodec.MAC_BYTES);
      mac.update(body);
      mac.doFinal(out, body.length);
      return out;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A valid datagram's body changed by {@code edit}, then signed again: well signed, badly formed.
   */
  static byte[] resigned(UnaryOperator<byte[]> edit) {
    byte[] valid = sender("node2", KEY).encode(heartbeat());
    return signed(edit.apply(Arrays.copyOf(valid, valid.length - HeartbeatCodec.MAC_BYTES)));
  }

  /**
   * In heartbeat(): magic, version, key id, flags, priority, "prod" and "node2" with lengths, three
   * numbers.
   */
  static final int PEER_COUNT = 4 + 1 + 8 + 1 + 1 + 1 + 4 + 1 + 5 + 24;

  /** Where the flags are, after magic, version and key id; priority and the cluster id follow. */
  static final int FLAGS = 4 + 1 + 8;

  /** The first entry ("node1") follows: length, id, incarnation, sequence, then its flags. */
  static final int FIRST_ENTRY_FLAGS = PEER_COUNT + 1 + 1 + 5 + 16;

  static byte[] set(byte[] body, int offset, int value) {
    body[offset] = (byte) value;
    return body;
  }

  static Stream<Arguments> rejections() {
    byte[] valid = sender("node2", KEY).encode(heartbeat());
    return Stream.of(
        Arguments.of("oversized", new byte[HeartbeatCodec.MAX_DATAGRAM + 1], DropReason.OVERSIZED),
        Arguments.of("empty", new byte[0], DropReason.TRUNCATED),
        Arguments.of(
            "truncated",
            Arrays.copyOf(valid, HeartbeatCodec.MIN_DATAGRAM - 1),
            DropReason.TRUNCATED),
        Arguments.of(
            "not apivip",
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(4).getBytes(StandardCharsets.US_ASCII),
            DropReason.BAD_MAGIC),
        Arguments.of("version 3", resigned(body -> set(body, 4, 3)), DropReason.WRONG_VERSION),
        Arguments.of("version 0", resigned(body -> set(body, 4, 0)), DropReason.WRONG_VERSION),
        Arguments.of(
            "version 2 too short for its key id",
            Arrays.copyOf(valid, HeartbeatCodec.MIN_DATAGRAM + 7),
            DropReason.TRUNCATED),
        Arguments.of(
            "a key this node does not hold",
            sender("node2", OLD_KEY).encode(heartbeat()),
            DropReason.UNKNOWN_KEY),
        Arguments.of(
            "version 1 with a key this node does not hold",
            sender("node2", OLD_KEY).encode(heartbeat(), HeartbeatCodec.LEGACY_VERSION),
            DropReason.BAD_MAC),
        Arguments.of("a bit of the key id flipped", flip(valid, 7), DropReason.UNKNOWN_KEY),
        Arguments.of("one bit flipped", flip(valid, 40), DropReason.BAD_MAC),
        Arguments.of("MAC cut short", Arrays.copyOf(valid, valid.length - 1), DropReason.BAD_MAC),
        Arguments.of("a byte appended", Arrays.copyOf(valid, valid.length + 1), DropReason.BAD_MAC),
        Arguments.of(
            "unknown header flag",
            resigned(body -> set(body, FLAGS, body[FLAGS] | 0x80)),
            DropReason.MALFORMED),
        Arguments.of("priority 0", resigned(body -> set(body, FLAGS + 1, 0)), DropReason.MALFORMED),
        Arguments.of(
            "empty cluster id", resigned(body -> set(body, FLAGS + 2, 0)), DropReason.MALFORMED),
        Arguments.of(
            "id longer than the datagram",
            resigned(body -> set(body, FLAGS + 2, 200)),
            DropReason.MALFORMED),
        Arguments.of(
            "id with a space", resigned(body -> set(body, FLAGS + 3, ' ')), DropReason.MALFORMED),
        Arguments.of(
            "unknown entry flag",
            resigned(body -> set(body, FIRST_ENTRY_FLAGS, 0x04)),
            DropReason.MALFORMED),
        Arguments.of(
            "backs two nodes",
            resigned(body -> set(body, body.length - 1, 0x03)),
            DropReason.MALFORMED),
        Arguments.of(
            "backs itself and a peer",
            resigned(body -> set(body, FLAGS, body[FLAGS] | 0x08)),
            DropReason.MALFORMED),
        Arguments.of(
            "trailing byte",
            resigned(body -> Arrays.copyOf(body, body.length + 1)),
            DropReason.MALFORMED),
        Arguments.of(
            "entry cut short",
            resigned(body -> Arrays.copyOf(body, body.length - 1)),
            DropReason.MALFORMED),
        Arguments.of(
            "more peers than listed",
            resigned(body -> set(body, PEER_COUNT, 3)),
            DropReason.MALFORMED),
        Arguments.of(
            "another cluster",
            encode(
                new HeartbeatCodec("test", "node2", NODES, KeyRing.of(KEY)), withCluster("test")),
            DropReason.WRONG_CLUSTER),
        Arguments.of(
            "unknown sender",
            sender("node9", KEY).encode(heartbeat("node9", 1, 1, WALL)),
            DropReason.UNKNOWN_SENDER),
        Arguments.of(
            "from itself",
            sender("node1", KEY).encode(heartbeat("node1", 1, 1, WALL)),
            DropReason.FROM_SELF));
  }

  static byte[] flip(byte[] datagram, int offset) {
    byte[] copy = datagram.clone();
    copy[offset] ^= 1;
    return copy;
  }

  static Heartbeat withCluster(String cluster) {
    Heartbeat h = heartbeat();
    return new Heartbeat(
        cluster,
        h.senderId(),
        h.incarnation(),
        h.sequence(),
        h.wallClockMillis(),
        h.priority(),
        h.eligible(),
        h.maintenance(),
        h.holdsVip(),
        h.candidate(),
        h.peers());
  }

  static byte[] encode(HeartbeatCodec codec, Heartbeat heartbeat) {
    return codec.encode(heartbeat);
  }

  @ParameterizedTest(name = "{0}: {2}")
  @MethodSource("rejections")
  void dropsAndSaysWhy(String what, byte[] datagram, DropReason reason) {
    assertThat(receiver().decode(datagram, datagram.length))
        .isInstanceOfSatisfying(
            Dropped.class, dropped -> assertThat(dropped.reason()).isEqualTo(reason));
  }

  @Test
  void theReplayWindowBoundsTheSendersClockBothWays() {
    ReplayGuard guard = new ReplayGuard(Duration.ofSeconds(10));
    assertThat(guard.admit(heartbeat("node2", 1, 1, WALL + 10_001), 0, WALL))
        .contains(DropReason.OUTSIDE_WINDOW);
    assertThat(guard.admit(heartbeat("node2", 1, 1, WALL - 10_001), 0, WALL))
        .contains(DropReason.OUTSIDE_WINDOW);
    assertThat(guard.admit(heartbeat("node2", 1, 1, Long.MIN_VALUE), 0, WALL))
        .contains(DropReason.OUTSIDE_WINDOW);
    assertThat(guard.admit(heartbeat("node2", 1, 1, WALL + 10_000), 0, WALL)).isEmpty();
    assertThat(guard.admit(heartbeat("node3", 1, 1, WALL - 10_000), 0, WALL)).isEmpty();
  }

  @Test
  void onlyNewerHeartbeatsOfASenderAreAdmitted() {
    ReplayGuard guard = new ReplayGuard(Duration.ofSeconds(10));
    assertThat(guard.admit(heartbeat("node2", 5, 10, WALL), 0, WALL)).isEmpty();
    assertThat(guard.admit(heartbeat("node2", 5, 10, WALL), 1, WALL))
        .as("the same again")
        .contains(DropReason.REPLAYED);
    assertThat(guard.admit(heartbeat("node2", 5, 9, WALL), 1, WALL))
        .as("an older one")
        .contains(DropReason.REPLAYED);
    assertThat(guard.admit(heartbeat("node2", 4, 99, WALL), 1, WALL))
        .as("a previous life")
        .contains(DropReason.REPLAYED);
    assertThat(guard.admit(heartbeat("node3", 5, 10, WALL), 1, WALL))
        .as("other senders are separate")
        .isEmpty();
    assertThat(guard.admit(heartbeat("node2", 5, 11, WALL), 2, WALL)).isEmpty();
    assertThat(guard.admit(heartbeat("node2", 6, 1, WALL), 3, WALL)).as("a restart").isEmpty();
  }

  @Test
  void aSenderSilentForTwoWindowsIsForgottenSoAStepBackInItsClockHealsItself() {
    ReplayGuard guard = new ReplayGuard(Duration.ofSeconds(10));
    long second = 1_000_000_000L;
    assertThat(guard.admit(heartbeat("node2", 5_000, 10, WALL), 0, WALL)).isEmpty();
    assertThat(guard.admit(heartbeat("node2", 4_000, 1, WALL), 19 * second, WALL))
        .contains(DropReason.REPLAYED);
    assertThat(guard.admit(heartbeat("node2", 4_000, 2, WALL), 20 * second, WALL)).isEmpty();
  }
}
