package io.apivip.daemon.vip;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The kernel's filter, run by a classic BPF interpreter of the kernel's rules (a load past the
 * frame drops it) on the frames of {@link ClaimsTest}: it passes every claim, and drops the LAN's
 * ordinary traffic. The netns tests run it in the kernel.
 */
class ClaimFilterTest {

  @ParameterizedTest
  @MethodSource("io.apivip.daemon.vip.ClaimsTest#cases")
  void passesEveryClaimAndDropsOrdinaryTraffic(ClaimsTest.Case frame) {
    boolean claims =
        Claims.read(frame.frame(), frame.frame().length, frame.vip(), new byte[6]).isPresent();
    int accepted = run(ClaimFilter.program(frame.vip()), frame.frame());

    if (claims) {
      assertThat(accepted).isEqualTo(ClaimFilter.CAPTURE_LENGTH);
    }
    if (frame.ordinary()) {
      assertThat(accepted).isZero();
    }
  }

  @Test
  void dropsFramesTooShortForWhatItReads() {
    byte[] probe = Frames.arpProbe(ClaimsTest.OTHER, ClaimsTest.VIP4).bytes();
    assertThat(run(ClaimFilter.program(ClaimsTest.VIP4), probe)).isPositive();
    assertThat(run(ClaimFilter.program(ClaimsTest.VIP4), Arrays.copyOf(probe, 40))).isZero();
  }

  @Test
  void everyProgramIsOneTheKernelTakes() throws Exception {
    for (InetAddress vip :
        List.of(ClaimsTest.VIP4, ClaimsTest.VIP6, InetAddress.getByName("0.0.0.1"))) {
      List<ClaimFilter.Instruction> program = ClaimFilter.program(vip);
      assertThat(program.size()).isBetween(1, 4096);
      assertThat(program.get(program.size() - 1).code()).isEqualTo(ClaimFilter.RETURN);
      for (int i = 0; i < program.size(); i++) {
        ClaimFilter.Instruction instruction = program.get(i);
        if (instruction.code() == ClaimFilter.JUMP_IF_EQUAL) {
          assertThat(i + 1 + Math.max(instruction.jumpIfTrue(), instruction.jumpIfFalse()))
              .as("jumps of instruction " + i)
              .isLessThan(program.size());
        }
      }
    }
  }

  /** What the kernel would do with {@code frame}: the bytes to copy to the socket, 0 to drop it. */
  static int run(List<ClaimFilter.Instruction> program, byte[] frame) {
    ByteBuffer bytes = ByteBuffer.wrap(frame);
    int accumulator = 0;
    int at = 0;
    while (true) {
      ClaimFilter.Instruction instruction = program.get(at);
      int k = instruction.k();
      switch (instruction.code()) {
        case ClaimFilter.LOAD_WORD -> {
          if (k + 4 > frame.length) {
            return 0;
          }
          accumulator = bytes.getInt(k);
          at++;
        }
        case ClaimFilter.LOAD_HALF -> {
          if (k + 2 > frame.length) {
            return 0;
          }
          accumulator = bytes.getShort(k) & 0xffff;
          at++;
        }
        case ClaimFilter.LOAD_BYTE -> {
          if (k + 1 > frame.length) {
            return 0;
          }
          accumulator = bytes.get(k) & 0xff;
          at++;
        }
        case ClaimFilter.JUMP_IF_EQUAL ->
            at += 1 + (accumulator == k ? instruction.jumpIfTrue() : instruction.jumpIfFalse());
        case ClaimFilter.RETURN -> {
          return k;
        }
        default -> throw new AssertionError("unknown instruction " + instruction);
      }
    }
  }
}
