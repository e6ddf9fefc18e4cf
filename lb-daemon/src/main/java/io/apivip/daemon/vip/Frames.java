package io.apivip.daemon.vip;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;

/**
 * The Ethernet frames that tell a LAN where the VIP now lives, built byte by byte: gratuitous ARP
 * (RFC 5227 announcement) for IPv4, in both the request and the reply form because devices differ
 * in which one they accept, and an unsolicited neighbour advertisement (RFC 4861 7.2.6) with the
 * override flag for IPv6. Also the probes that ask whether another host has the VIP (RFC 5227 ARP
 * probe, RFC 4862 duplicate address detection), which change no neighbour's table. Pure functions:
 * the announcer and the claim watch only hand these to a packet socket.
 */
final class Frames {

  /** What a frame is, also the tag of the "announcements sent" counter. */
  enum Kind {
    GARP_REQUEST("garp-request"),
    GARP_REPLY("garp-reply"),
    UNSOLICITED_NA("unsolicited-na"),
    ARP_PROBE("arp-probe"),
    DAD_PROBE("dad-probe");

    private final String tag;

    Kind(String tag) {
      this.tag = tag;
    }

    String tag() {
      return tag;
    }
  }

  /** One frame, complete from the destination MAC on (the NIC adds the FCS). */
  record Frame(Kind kind, byte[] bytes) {

    byte[] destinationMac() {
      byte[] destination = new byte[MAC_LENGTH];
      System.arraycopy(bytes, 0, destination, 0, MAC_LENGTH);
      return destination;
    }

    int etherType() {
      return ((bytes[12] & 0xff) << 8) | (bytes[13] & 0xff);
    }
  }

  static final int ETHERTYPE_ARP = 0x0806;
  static final int ETHERTYPE_IPV6 = 0x86dd;
  static final int MAC_LENGTH = 6;

  /** Ethernet's minimum frame without the FCS; not every driver pads short frames itself. */
  private static final int MIN_FRAME_LENGTH = 60;

  private static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
  private static final byte[] NO_MAC = new byte[MAC_LENGTH];
  private static final byte[] NO_IPV4 = new byte[4];
  private static final byte[] NO_IPV6 = new byte[16];
  static final int ARP_REQUEST = 1;
  static final int ARP_REPLY = 2;
  static final int ICMPV6 = 58;
  static final int NEIGHBOUR_SOLICITATION = 135;
  static final int NEIGHBOUR_ADVERTISEMENT = 136;
  static final int SOURCE_LINK_LAYER_ADDRESS = 1;
  static final int TARGET_LINK_LAYER_ADDRESS = 2;
  private static final int OVERRIDE_FLAG = 0x20;

  /** Receivers drop neighbour discovery that a router may have forwarded (RFC 4861 7.1.2). */
  static final int ND_HOP_LIMIT = 255;

  private static final byte[] ALL_NODES = hex("ff020000000000000000000000000001");
  private static final byte[] ALL_NODES_MAC = hex("333300000001");
  private static final byte[] SOLICITED_NODE_PREFIX = hex("ff0200000000000000000001ff");
  private static final byte[] SOLICITED_NODE_MAC_PREFIX = hex("3333ff");

  private Frames() {}

  /** The frames of one announcement of {@code address} from {@code mac}. */
  static List<Frame> announcement(byte[] mac, InetAddress address) {
    if (address instanceof Inet4Address ipv4) {
      return List.of(gratuitousArpRequest(mac, ipv4), gratuitousArpReply(mac, ipv4));
    }
    return List.of(unsolicitedNeighbourAdvertisement(mac, (Inet6Address) address));
  }

  /** Who-has VIP tell VIP, broadcast: sender and target protocol address are both the VIP. */
  static Frame gratuitousArpRequest(byte[] mac, Inet4Address address) {
    return new Frame(
        Kind.GARP_REQUEST, arp(ARP_REQUEST, mac, address.getAddress(), address, NO_MAC));
  }

  /** The probe that makes any other host that has {@code address} answer for it. */
  static Frame probe(byte[] mac, InetAddress address) {
    if (address instanceof Inet4Address ipv4) {
      return arpProbe(mac, ipv4);
    }
    return duplicateAddressProbe(mac, (Inet6Address) address);
  }

  /**
   * Who-has VIP tell 0.0.0.0, broadcast (RFC 5227 2.1.1): a host that has the VIP answers with an
   * ARP reply to this MAC, and since the sender address is zero, no neighbour learns anything from
   * it.
   */
  static Frame arpProbe(byte[] mac, Inet4Address address) {
    return new Frame(Kind.ARP_PROBE, arp(ARP_REQUEST, mac, NO_IPV4, address, NO_MAC));
  }

  /**
   * A neighbour solicitation for the VIP from the unspecified address to its solicited-node group,
   * without a source link-layer option (RFC 4862 5.4.2): a host that has the VIP answers with an
   * advertisement to all nodes (RFC 4861 7.2.4), which every node of the link sees.
   */
  static Frame duplicateAddressProbe(byte[] mac, Inet6Address address) {
    byte[] target = address.getAddress();
    byte[] group = solicitedNode(target);
    ByteBuffer icmp = ByteBuffer.allocate(24);
    icmp.put((byte) NEIGHBOUR_SOLICITATION).put((byte) 0).putShort((short) 0).putInt(0);
    icmp.put(target);
    byte[] message = icmp.array();
    int checksum = icmpv6Checksum(NO_IPV6, group, message);
    message[2] = (byte) (checksum >> 8);
    message[3] = (byte) checksum;

    byte[] groupMac = new byte[MAC_LENGTH];
    System.arraycopy(SOLICITED_NODE_MAC_PREFIX, 0, groupMac, 0, 3);
    System.arraycopy(target, 13, groupMac, 3, 3);
    return new Frame(Kind.DAD_PROBE, ipv6(groupMac, mac, NO_IPV6, group, message));
  }

  /**
   * VIP is-at MAC, broadcast; Linux takes a gratuitous reply only when the target MAC is the
   * sender's.
   */
  static Frame gratuitousArpReply(byte[] mac, Inet4Address address) {
    return new Frame(Kind.GARP_REPLY, arp(ARP_REPLY, mac, address.getAddress(), address, mac));
  }

  /**
   * Neighbour advertisement to all nodes, solicited flag clear, override flag set so receivers
   * replace the MAC they cached, with the target link-layer address option; sent from the VIP.
   */
  static Frame unsolicitedNeighbourAdvertisement(byte[] mac, Inet6Address address) {
    byte[] source = address.getAddress();
    ByteBuffer icmp = ByteBuffer.allocate(32);
    icmp.put((byte) NEIGHBOUR_ADVERTISEMENT).put((byte) 0).putShort((short) 0);
    icmp.put((byte) OVERRIDE_FLAG).put(new byte[3]);
    icmp.put(source);
    icmp.put((byte) TARGET_LINK_LAYER_ADDRESS).put((byte) 1).put(mac);
    byte[] message = icmp.array();
    int checksum = icmpv6Checksum(source, ALL_NODES, message);
    message[2] = (byte) (checksum >> 8);
    message[3] = (byte) checksum;

    return new Frame(Kind.UNSOLICITED_NA, ipv6(ALL_NODES_MAC, mac, source, ALL_NODES, message));
  }

  /** ff02::1:ffXX:XXXX, the group of every address ending in the same 24 bits (RFC 4291 2.7.1). */
  static byte[] solicitedNode(byte[] address) {
    byte[] group = new byte[16];
    System.arraycopy(SOLICITED_NODE_PREFIX, 0, group, 0, 13);
    System.arraycopy(address, 13, group, 13, 3);
    return group;
  }

  /**
   * The ICMPv6 checksum (RFC 4443 2.3) of {@code message} (its checksum field zero) between two
   * addresses.
   */
  static int icmpv6Checksum(byte[] source, byte[] destination, byte[] message) {
    long sum = sum16(source) + sum16(destination) + message.length + ICMPV6 + sum16(message);
    while ((sum >> 16) != 0) {
      sum = (sum & 0xffff) + (sum >> 16);
    }
    return (int) (~sum & 0xffff);
  }

  static String formatMac(byte[] mac) {
    return HexFormat.ofDelimiter(":").formatHex(mac);
  }

  /** An IPv6 packet carrying one neighbour discovery message, in an Ethernet frame. */
  private static byte[] ipv6(
      byte[] destinationMac, byte[] mac, byte[] source, byte[] destination, byte[] message) {
    ByteBuffer frame = ethernet(destinationMac, mac, ETHERTYPE_IPV6, 40 + message.length);
    frame.putInt(0x6000_0000); // version 6, traffic class 0, flow label 0
    frame.putShort((short) message.length).put((byte) ICMPV6).put((byte) ND_HOP_LIMIT);
    frame.put(source).put(destination).put(message);
    return frame.array();
  }

  private static byte[] arp(
      int operation, byte[] mac, byte[] senderIp, Inet4Address target, byte[] targetMac) {
    ByteBuffer frame = ethernet(BROADCAST, mac, ETHERTYPE_ARP, 28);
    frame
        .putShort((short) 1)
        .putShort((short) 0x0800)
        .put((byte) MAC_LENGTH)
        .put((byte) 4)
        .putShort((short) operation);
    frame.put(mac).put(senderIp).put(targetMac).put(target.getAddress());
    return frame.array();
  }

  /** A buffer holding the Ethernet header, positioned at the payload, sized for it and padding. */
  private static ByteBuffer ethernet(
      byte[] destination, byte[] source, int etherType, int payloadLength) {
    if (source.length != MAC_LENGTH) {
      throw new IllegalArgumentException("a MAC address has 6 bytes, got " + source.length);
    }
    ByteBuffer frame = ByteBuffer.allocate(Math.max(MIN_FRAME_LENGTH, 14 + payloadLength));
    return frame.put(destination).put(source).putShort((short) etherType);
  }

  private static long sum16(byte[] bytes) {
    long sum = 0;
    for (int i = 0; i < bytes.length; i += 2) {
      int low = i + 1 < bytes.length ? bytes[i + 1] & 0xff : 0;
      sum += ((bytes[i] & 0xff) << 8) | low;
    }
    return sum;
  }

  private static byte[] hex(String hex) {
    return HexFormat.of().parseHex(hex);
  }
}
