package io.apivip.daemon.vip;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The classic BPF program the kernel runs on every frame of the VIP's family that reaches the claim
 * watch's packet socket, so that only frames that may claim the VIP are copied to apivip: on a busy
 * LAN that is none of the ARP requests and neighbour solicitations of clients looking for the VIP,
 * only frames sent from the VIP, advertising it, or probing for it. {@link Claims} then reads them
 * in full; this program only narrows, it does not validate.
 *
 * <p>IPv4 (ARP frames): the sender address is the VIP, or it is 0.0.0.0 and the target is the VIP.
 * IPv6: ICMPv6 with hop limit 255, either a neighbour advertisement whose target is the VIP, or a
 * solicitation sent from the VIP, or one sent from :: whose target is the VIP. Offsets are those of
 * an untagged Ethernet frame, which is what a packet socket on the interface receives.
 */
final class ClaimFilter {

  /** One instruction of a classic BPF program (struct sock_filter). */
  record Instruction(int code, int jumpIfTrue, int jumpIfFalse, int k) {}

  static final int LOAD_WORD = 0x20; // BPF_LD | BPF_W | BPF_ABS
  static final int LOAD_HALF = 0x28; // BPF_LD | BPF_H | BPF_ABS
  static final int LOAD_BYTE = 0x30; // BPF_LD | BPF_B | BPF_ABS
  static final int JUMP_IF_EQUAL = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
  static final int RETURN = 0x06; // BPF_RET | BPF_K

  /**
   * Bytes of an accepted frame copied to apivip: more than any claim needs, ND options included.
   */
  static final int CAPTURE_LENGTH = 256;

  private static final String ACCEPT = "accept";
  private static final String DROP = "drop";

  private ClaimFilter() {}

  static List<Instruction> program(InetAddress vip) {
    return vip instanceof Inet4Address ? arp(vip.getAddress()) : neighbourDiscovery(vip);
  }

  private static List<Instruction> arp(byte[] vip) {
    int address = ByteBuffer.wrap(vip).getInt();
    return new Assembler()
        .load(LOAD_HALF, 12)
        .jumpUnless(Frames.ETHERTYPE_ARP, DROP)
        .load(LOAD_WORD, 28) // sender protocol address
        .jumpIf(address, ACCEPT)
        .jumpUnless(0, DROP)
        .load(LOAD_WORD, 38) // target protocol address
        .jumpUnless(address, DROP)
        .label(ACCEPT)
        .accept()
        .label(DROP)
        .drop()
        .assemble();
  }

  private static List<Instruction> neighbourDiscovery(InetAddress vip) {
    ByteBuffer address = ByteBuffer.wrap(vip.getAddress());
    int[] words = {address.getInt(), address.getInt(), address.getInt(), address.getInt()};
    Assembler program =
        new Assembler()
            .load(LOAD_HALF, 12)
            .jumpUnless(Frames.ETHERTYPE_IPV6, DROP)
            .load(LOAD_BYTE, 20) // next header
            .jumpUnless(Frames.ICMPV6, DROP)
            .load(LOAD_BYTE, 21) // hop limit
            .jumpUnless(Frames.ND_HOP_LIMIT, DROP)
            .load(LOAD_BYTE, 54) // ICMPv6 type
            .jumpIf(Frames.NEIGHBOUR_ADVERTISEMENT, "target")
            .jumpUnless(Frames.NEIGHBOUR_SOLICITATION, DROP);
    // A solicitation from the VIP, or else from ::; source address at 22.
    for (int i = 0; i < 4; i++) {
      program.load(LOAD_WORD, 22 + 4 * i).jumpUnless(words[i], "unspecified");
    }
    program.jump(ACCEPT).label("unspecified");
    for (int i = 0; i < 4; i++) {
      program.load(LOAD_WORD, 22 + 4 * i).jumpUnless(0, DROP);
    }
    // The target address, at 62, is the VIP.
    program.label("target");
    for (int i = 0; i < 4; i++) {
      program.load(LOAD_WORD, 62 + 4 * i).jumpUnless(words[i], DROP);
    }
    return program.label(ACCEPT).accept().label(DROP).drop().assemble();
  }

  /**
   * Writes a program with named forward jumps, which classic BPF encodes as offsets from the next
   * instruction.
   */
  private static final class Assembler {

    private record Step(int code, String ifTrue, String ifFalse, int k) {}

    private final List<Step> steps = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();

    Assembler load(int code, int offset) {
      steps.add(new Step(code, null, null, offset));
      return this;
    }

    /**
     * Goes on with the next instruction when the accumulator is {@code value}, else to {@code
     * label}.
     */
    Assembler jumpUnless(int value, String label) {
      steps.add(new Step(JUMP_IF_EQUAL, null, label, value));
      return this;
    }

    /** Goes to {@code label} when the accumulator is {@code value}, else on. */
    Assembler jumpIf(int value, String label) {
      steps.add(new Step(JUMP_IF_EQUAL, label, null, value));
      return this;
    }

    /**
     * Goes to {@code label} whatever the accumulator: both branches of the comparison lead there.
     */
    Assembler jump(String label) {
      steps.add(new Step(JUMP_IF_EQUAL, label, label, 0));
      return this;
    }

    Assembler label(String name) {
      labels.put(name, steps.size());
      return this;
    }

    Assembler accept() {
      steps.add(new Step(RETURN, null, null, CAPTURE_LENGTH));
      return this;
    }

    Assembler drop() {
      steps.add(new Step(RETURN, null, null, 0));
      return this;
    }

    List<Instruction> assemble() {
      List<Instruction> program = new ArrayList<>();
      for (int i = 0; i < steps.size(); i++) {
        Step step = steps.get(i);
        program.add(
            new Instruction(
                step.code(), offset(i, step.ifTrue()), offset(i, step.ifFalse()), step.k()));
      }
      return program;
    }

    private int offset(int from, String label) {
      if (label == null) {
        return 0;
      }
      int offset = labels.get(label) - from - 1;
      if (offset < 0 || offset > 255) {
        throw new IllegalStateException("jump to " + label + " is not forward within 255");
      }
      return offset;
    }
  }
}
