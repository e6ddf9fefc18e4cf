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
 * override flag for IPv6. Pure functions: the announcer only hands these to a packet socket.
 */
final class Frames {

  /** What a frame is, also the tag of the "announcements sent" counter. */
  enum Kind {
    GARP_REQUEST("garp-request"),
    GARP_REPLY("garp-reply"),
    UNSOLICITED_NA("unsolicited-na");

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
  private static final int ARP_REQUEST = 1;
  private static final int ARP_REPLY = 2;
  private static final int ICMPV6 = 58;
  private static final int NEIGHBOUR_ADVERTISEMENT = 136;
  private static final int OVERRIDE_FLAG = 0x20;
  private static final int TARGET_LINK_LAYER_ADDRESS = 2;

  /** Receivers drop neighbour discovery that a router may have forwarded (RFC 4861 7.1.2). */
  private static final int ND_HOP_LIMIT = 255;

  private static final byte[] ALL_NODES = hex("ff020000000000000000000000000001");
  private static final byte[] ALL_NODES_MAC = hex("333300000001");

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
    return new Frame(Kind.GARP_REQUEST, arp(ARP_REQUEST, mac, address, NO_MAC));
  }

  /**
   * VIP is-at MAC, broadcast; Linux takes a gratuitous reply only when the target MAC is the
   * sender's.
   */
  static Frame gratuitousArpReply(byte[] mac, Inet4Address address) {
    return new Frame(Kind.GARP_REPLY, arp(ARP_REPLY, mac, address, mac));
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

    ByteBuffer frame = ethernet(ALL_NODES_MAC, mac, ETHERTYPE_IPV6, 40 + message.length);
    frame.putInt(0x6000_0000); // version 6, traffic class 0, flow label 0
    frame.putShort((short) message.length).put((byte) ICMPV6).put((byte) ND_HOP_LIMIT);
    frame.put(source).put(ALL_NODES).put(message);
    return new Frame(Kind.UNSOLICITED_NA, frame.array());
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

  private static byte[] arp(int operation, byte[] mac, Inet4Address address, byte[] targetMac) {
    byte[] ip = address.getAddress();
    ByteBuffer frame = ethernet(BROADCAST, mac, ETHERTYPE_ARP, 28);
    frame
        .putShort((short) 1)
        .putShort((short) 0x0800)
        .put((byte) MAC_LENGTH)
        .put((byte) 4)
        .putShort((short) operation);
    frame.put(mac).put(ip).put(targetMac).put(ip);
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
