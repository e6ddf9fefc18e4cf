package io.apivip.daemon.vip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.apivip.daemon.vip.Claims.Claim;
import io.apivip.daemon.vip.Claims.Kind;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Which received frames claim the VIP, for which MAC: every kind, our own, and malformed ones. */
class ClaimsTest {

  static final byte[] OWN = hex("02000000000b");
  static final byte[] OTHER = hex("02000000000c");
  static final byte[] CLIENT = hex("0200000000c8");
  static final String OTHER_MAC = "02:00:00:00:00:0c";
  static final Inet4Address VIP4 = ipv4("192.0.2.100");
  static final Inet6Address VIP6 = ipv6("2001:db8::100");
  private static final byte[] NO_MAC = new byte[6];
  private static final byte[] ZERO4 = new byte[4];
  private static final byte[] CLIENT4 = ipv4("192.0.2.200").getAddress();
  private static final byte[] CLIENT6 = ipv6("2001:db8::c8").getAddress();
  private static final byte[] UNSPECIFIED = new byte[16];
  private static final byte[] ALL_NODES = ipv6("ff02::1").getAddress();

  /**
   * One frame and what it is.
   *
   * @param claim what {@link Claims#read} finds in it, null for nothing
   * @param ordinary traffic of a LAN that is no claim, which the kernel's filter must drop too
   */
  record Case(String name, InetAddress vip, byte[] frame, Claim claim, boolean ordinary) {
    @Override
    public String toString() {
      return name;
    }
  }

  static List<Case> cases() {
    byte[] vip4 = VIP4.getAddress();
    byte[] vip6 = VIP6.getAddress();
    byte[] gateway6 = ipv6("2001:db8::1").getAddress();
    byte[] linkLocal = ipv6("fe80::c").getAddress();
    byte[] targetOption = option(2, OTHER);
    byte[] na = Frames.unsolicitedNeighbourAdvertisement(OTHER, VIP6).bytes();
    List<Case> cases = new ArrayList<>();
    // IPv4
    cases.add(
        claim(
            "a gratuitous ARP request from another host",
            VIP4,
            Frames.gratuitousArpRequest(OTHER, VIP4).bytes(),
            Kind.ARP_REQUEST));
    cases.add(
        claim(
            "a gratuitous ARP reply from another host",
            VIP4,
            Frames.gratuitousArpReply(OTHER, VIP4).bytes(),
            Kind.ARP_REPLY));
    cases.add(
        claim(
            "another host's answer to our ARP probe",
            VIP4,
            arp(2, OTHER, vip4, OWN, ZERO4),
            Kind.ARP_REPLY));
    cases.add(
        claim(
            "another host's answer to a client",
            VIP4,
            arp(2, OTHER, vip4, CLIENT, CLIENT4),
            Kind.ARP_REPLY));
    cases.add(
        claim(
            "a host using the VIP as its address asks for its gateway",
            VIP4,
            arp(1, OTHER, vip4, NO_MAC, ipv4("192.0.2.1").getAddress()),
            Kind.ARP_REQUEST));
    cases.add(
        claim(
            "an ARP probe for the VIP",
            VIP4,
            Frames.arpProbe(OTHER, VIP4).bytes(),
            Kind.ARP_PROBE));
    cases.add(none("our own announcement", VIP4, Frames.gratuitousArpRequest(OWN, VIP4).bytes()));
    cases.add(none("our own probe", VIP4, Frames.arpProbe(OWN, VIP4).bytes()));
    cases.add(
        ordinary("a client asks who has the VIP", VIP4, arp(1, CLIENT, CLIENT4, NO_MAC, vip4)));
    cases.add(
        ordinary(
            "an ARP reply for another address",
            VIP4,
            arp(2, OTHER, ipv4("192.0.2.12").getAddress(), CLIENT, CLIENT4)));
    cases.add(
        ordinary(
            "a probe for another address",
            VIP4,
            Frames.arpProbe(OTHER, ipv4("192.0.2.12")).bytes()));
    cases.add(
        none("ARP from a broadcast MAC", VIP4, arp(1, hex("ffffffffffff"), vip4, NO_MAC, vip4)));
    cases.add(none("ARP from the zero MAC", VIP4, arp(2, NO_MAC, vip4, NO_MAC, vip4)));
    cases.add(none("ARP operation 3 (RARP)", VIP4, arp(3, OTHER, vip4, NO_MAC, vip4)));
    byte[] otherProtocol = arp(2, OTHER, vip4, NO_MAC, vip4);
    otherProtocol[16] = (byte) 0x86;
    otherProtocol[17] = (byte) 0xdd;
    cases.add(none("ARP of another protocol type", VIP4, otherProtocol));
    cases.add(
        none(
            "ARP cut short",
            VIP4,
            Arrays.copyOf(Frames.gratuitousArpReply(OTHER, VIP4).bytes(), 40)));
    cases.add(ordinary("an IPv6 frame where the VIP is IPv4", VIP4, na));
    // IPv6
    cases.add(
        claim(
            "an unsolicited advertisement from another host",
            VIP6,
            na,
            Kind.NEIGHBOUR_ADVERTISEMENT));
    cases.add(
        claim(
            "another host's answer to our duplicate address probe",
            VIP6,
            neighbour(136, OTHER, linkLocal, ALL_NODES, vip6, targetOption),
            Kind.NEIGHBOUR_ADVERTISEMENT));
    cases.add(
        claim(
            "an advertisement whose option names another MAC than its sender's",
            VIP6,
            neighbour(136, CLIENT, vip6, ALL_NODES, vip6, targetOption),
            Kind.NEIGHBOUR_ADVERTISEMENT));
    cases.add(
        claim(
            "an advertisement without a link-layer option",
            VIP6,
            neighbour(136, OTHER, vip6, CLIENT6, vip6, new byte[0]),
            Kind.NEIGHBOUR_ADVERTISEMENT));
    cases.add(
        claim(
            "duplicate address detection for the VIP",
            VIP6,
            Frames.duplicateAddressProbe(OTHER, VIP6).bytes(),
            Kind.DAD_PROBE));
    cases.add(
        claim(
            "a host using the VIP as its address solicits its gateway",
            VIP6,
            neighbour(
                135, CLIENT, vip6, Frames.solicitedNode(gateway6), gateway6, option(1, OTHER)),
            Kind.NEIGHBOUR_SOLICITATION));
    cases.add(
        none(
            "our own advertisement",
            VIP6,
            Frames.unsolicitedNeighbourAdvertisement(OWN, VIP6).bytes()));
    cases.add(
        ordinary(
            "a client solicits the VIP",
            VIP6,
            neighbour(135, CLIENT, CLIENT6, Frames.solicitedNode(vip6), vip6, option(1, CLIENT))));
    cases.add(
        ordinary(
            "an advertisement for another address",
            VIP6,
            Frames.unsolicitedNeighbourAdvertisement(OTHER, ipv6("2001:db8::12")).bytes()));
    cases.add(
        ordinary(
            "duplicate address detection for another address",
            VIP6,
            Frames.duplicateAddressProbe(OTHER, ipv6("2001:db8::12")).bytes()));
    byte[] echo = neighbour(128, OTHER, CLIENT6, vip6, vip6, new byte[0]);
    cases.add(ordinary("an ICMPv6 echo request to the VIP", VIP6, echo));
    cases.add(
        ordinary(
            "an ARP frame where the VIP is IPv6",
            VIP6,
            Frames.gratuitousArpRequest(OTHER, VIP4).bytes()));
    byte[] forwarded = na.clone();
    forwarded[21] = 64;
    cases.add(ordinary("an advertisement a router forwarded (hop limit 64)", VIP6, forwarded));
    byte[] damaged = na.clone();
    damaged[na.length - 1] ^= 1;
    cases.add(none("an advertisement with a bad checksum", VIP6, damaged));
    cases.add(
        none(
            "an advertisement with an option of length zero",
            VIP6,
            neighbour(136, OTHER, vip6, ALL_NODES, vip6, hex("0200000000000000"))));
    byte[] code = na.clone();
    code[55] = 1;
    cases.add(none("an advertisement of code 1", VIP6, code));
    cases.add(none("an advertisement cut short", VIP6, Arrays.copyOf(na, 70)));
    byte[] overlong = na.clone();
    overlong[19] = 64; // payload length 64, beyond the 32 bytes present
    cases.add(none("an advertisement whose length runs past the frame", VIP6, overlong));
    cases.add(none("a frame shorter than its Ethernet header", VIP6, new byte[10]));
    return cases;
  }

  @ParameterizedTest
  @MethodSource("cases")
  void readsTheClaimOfEveryFrame(Case frame) {
    assertThat(Claims.read(frame.frame(), frame.frame().length, frame.vip(), OWN))
        .isEqualTo(Optional.ofNullable(frame.claim()));
  }

  @Test
  void everyPrefixOfEveryFrameAndRandomBytesAreReadWithoutError() {
    Random random = new Random(23);
    for (Case frame : cases()) {
      for (int length = 0; length <= frame.frame().length; length++) {
        int cut = length;
        assertThatCode(() -> Claims.read(frame.frame(), cut, frame.vip(), OWN))
            .as(frame.name() + " cut at " + cut)
            .doesNotThrowAnyException();
      }
    }
    for (int i = 0; i < 10_000; i++) {
      byte[] noise = new byte[random.nextInt(120)];
      random.nextBytes(noise);
      if (noise.length > 14) {
        noise[12] = (byte) (i % 2 == 0 ? 0x08 : 0x86);
        noise[13] = (byte) (i % 2 == 0 ? 0x06 : 0xdd);
      }
      InetAddress vip = i % 2 == 0 ? VIP4 : VIP6;
      assertThatCode(() -> Claims.read(noise, noise.length, vip, OWN)).doesNotThrowAnyException();
    }
  }

  @Test
  void onlyTheLengthReceivedIsRead() {
    byte[] buffer = new byte[256];
    byte[] frame = Frames.gratuitousArpReply(OTHER, VIP4).bytes();
    System.arraycopy(frame, 0, buffer, 0, frame.length);

    assertThat(Claims.read(buffer, frame.length, VIP4, OWN))
        .contains(new Claim(Kind.ARP_REPLY, OTHER_MAC));
    assertThat(Claims.read(buffer, 20, VIP4, OWN)).isEmpty();
  }

  private static Case claim(String name, InetAddress vip, byte[] frame, Kind kind) {
    return new Case(name, vip, frame, new Claim(kind, OTHER_MAC), false);
  }

  private static Case none(String name, InetAddress vip, byte[] frame) {
    return new Case(name, vip, frame, null, false);
  }

  private static Case ordinary(String name, InetAddress vip, byte[] frame) {
    return new Case(name, vip, frame, null, true);
  }

  /** An ARP frame from {@code sender}, broadcast, padded to Ethernet's minimum. */
  static byte[] arp(int operation, byte[] sender, byte[] senderIp, byte[] target, byte[] targetIp) {
    ByteBuffer frame = ByteBuffer.allocate(60);
    frame.put(hex("ffffffffffff")).put(sender).putShort((short) Frames.ETHERTYPE_ARP);
    frame.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4);
    frame.putShort((short) operation).put(sender).put(senderIp).put(target).put(targetIp);
    return frame.array();
  }

  /**
   * A neighbour discovery message (or another ICMPv6 type) from {@code ethernetSource}, with a
   * correct checksum; the override flag set on advertisements.
   */
  static byte[] neighbour(
      int type,
      byte[] ethernetSource,
      byte[] source,
      byte[] destination,
      byte[] target,
      byte[] options) {
    ByteBuffer icmp = ByteBuffer.allocate(24 + options.length);
    icmp.put((byte) type).put((byte) 0).putShort((short) 0);
    icmp.put((byte) (type == 136 ? 0x20 : 0)).put(new byte[3]).put(target).put(options);
    byte[] message = icmp.array();
    int checksum = Frames.icmpv6Checksum(source, destination, message);
    message[2] = (byte) (checksum >> 8);
    message[3] = (byte) checksum;
    ByteBuffer frame = ByteBuffer.allocate(14 + 40 + message.length);
    frame.put(hex("333300000001")).put(ethernetSource).putShort((short) Frames.ETHERTYPE_IPV6);
    frame.putInt(0x6000_0000).putShort((short) message.length).put((byte) 58).put((byte) 255);
    frame.put(source).put(destination).put(message);
    return frame.array();
  }

  /** A link-layer address option: 1 source, 2 target. */
  private static byte[] option(int type, byte[] mac) {
    return ByteBuffer.allocate(8).put((byte) type).put((byte) 1).put(mac).array();
  }

  static byte[] hex(String hex) {
    return HexFormat.of().parseHex(hex);
  }

  private static Inet4Address ipv4(String literal) {
    try {
      return (Inet4Address) InetAddress.getByName(literal);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static Inet6Address ipv6(String literal) {
    try {
      return (Inet6Address) InetAddress.getByName(literal);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
