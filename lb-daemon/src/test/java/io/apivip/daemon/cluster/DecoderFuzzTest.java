package io.apivip.daemon.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cluster.HeartbeatCodec.Accepted;
import io.apivip.daemon.cluster.HeartbeatCodec.Decoded;
import io.apivip.daemon.cluster.HeartbeatCodec.Dropped;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A million random and mutated datagrams through the decoder: none may throw, and none but an
 * intact signed one may be accepted. A third are mutations signed again with the right key, so the
 * parser behind the MAC is fuzzed too, not only the MAC check.
 */
class DecoderFuzzTest {

  private static final int DATAGRAMS = 1_000_000;

  @Test
  void neverThrowsAndAcceptsOnlyIntactHeartbeats() {
    Random random = new Random(Long.getLong("apivip.fuzz.seed", 20240611L));
    HeartbeatCodec codec = HeartbeatCodecTest.receiver();
    byte[] valid =
        HeartbeatCodecTest.sender("node2", HeartbeatCodecTest.KEY)
            .encode(HeartbeatCodecTest.heartbeat());
    byte[] body = Arrays.copyOf(valid, valid.length - HeartbeatCodec.MAC_BYTES);
    Map<DropReason, Integer> reasons = new EnumMap<>(DropReason.class);
    int acceptedMutants = 0;
    for (int i = 0; i < DATAGRAMS; i++) {
      byte[] datagram;
      boolean resigned = false;
      switch (i % 3) {
        case 0 -> {
          datagram = new byte[random.nextInt(HeartbeatCodec.MAX_DATAGRAM + 64)];
          random.nextBytes(datagram);
          if (datagram.length >= 5 && random.nextBoolean()) {
            System.arraycopy(valid, 0, datagram, 0, 5); // get past magic and version
          }
        }
        case 1 -> datagram = mutate(valid, random);
        default -> {
          datagram = HeartbeatCodecTest.signed(mutate(body, random));
          resigned = true;
        }
      }
      Decoded decoded = codec.decode(datagram, datagram.length);
      if (decoded instanceof Dropped dropped) {
        reasons.merge(dropped.reason(), 1, Integer::sum);
      } else if (!resigned && !Arrays.equals(datagram, valid)) {
        throw new AssertionError("accepted an unsigned mutation: " + Arrays.toString(datagram));
      } else {
        assertThat(((Accepted) decoded).heartbeat().peers().size())
            .isLessThan(HeartbeatCodec.MAX_NODES);
        acceptedMutants++;
      }
    }
    System.out.println(
        "decoder fuzz: "
            + DATAGRAMS
            + " datagrams, "
            + acceptedMutants
            + " accepted (re-signed), dropped "
            + reasons);
    assertThat(reasons)
        .containsKeys(
            DropReason.BAD_MAC, DropReason.MALFORMED, DropReason.TRUNCATED, DropReason.BAD_MAGIC);
  }

  /** One to four edits: bit flips, byte overwrites, truncation, extension, a splice of itself. */
  private static byte[] mutate(byte[] original, Random random) {
    byte[] data = original.clone();
    int edits = 1 + random.nextInt(4);
    for (int e = 0; e < edits && data.length > 0; e++) {
      switch (random.nextInt(5)) {
        case 0 -> data[random.nextInt(data.length)] ^= (byte) (1 << random.nextInt(8));
        case 1 -> data[random.nextInt(data.length)] = (byte) random.nextInt(256);
        case 2 -> data = Arrays.copyOf(data, random.nextInt(data.length));
        case 3 -> data = Arrays.copyOf(data, data.length + 1 + random.nextInt(40));
        default -> {
          int from = random.nextInt(data.length);
          int to = random.nextInt(data.length);
          int length = random.nextInt(data.length - Math.max(from, to) + 1);
          System.arraycopy(data, from, data, to, length);
        }
      }
    }
    return data;
  }
}
