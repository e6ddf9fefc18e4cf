package io.apivip.daemon.vip;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads a frame received on the VIP's interface: does another host claim the VIP in it, and with
 * which MAC? A claim is what makes neighbours send the VIP's traffic to a MAC (an ARP packet sent
 * from the VIP, a neighbour advertisement for it, a solicitation sent from it), or a probe for the
 * VIP (a host about to take it: RFC 5227, RFC 4862). Pure; anything else, malformed frames
 * included, is no claim.
 */
final class Claims {

  /** What the claiming frame was; also the tag of the foreign claims counter. */
  enum Kind {
    /** An ARP reply from the VIP, to our probe or to anyone's request that we saw. */
    ARP_REPLY("arp-reply"),
    /** An ARP request from the VIP: a gratuitous ARP, or a host using the VIP as its address. */
    ARP_REQUEST("arp-request"),
    /** Who-has VIP tell 0.0.0.0: a host checking that the VIP is free before it takes it. */
    ARP_PROBE("arp-probe"),
    /** A neighbour advertisement for the VIP, solicited or not. */
    NEIGHBOUR_ADVERTISEMENT("na"),
    /** A neighbour solicitation sent from the VIP: a host using the VIP as its address. */
    NEIGHBOUR_SOLICITATION("ns"),
    /** Duplicate address detection for the VIP: a host about to take it. */
    DAD_PROBE("dad-probe");

    private final String tag;

    Kind(String tag) {
      this.tag = tag;
    }

    String tag() {
      return tag;
    }
  }

  /** Another host claims the VIP for {@code mac} ("02:00:00:00:00:0c"). */
  record Claim(Kind kind, String mac) {}

  private static final int ETHERNET_HEADER = 14;
  private static final int ARP_LENGTH = 28;
  private static final int IPV6_HEADER = 40;
  private static final int NEIGHBOUR_MESSAGE = 24;
  private static final int OPTION_UNIT = 8;

  private Claims() {}

  /**
   * The claim in the first {@code length} bytes of {@code frame}, if it claims {@code vip} for a
   * MAC other than {@code ownMac}.
   */
  static Optional<Claim> read(byte[] frame, int length, InetAddress vip, byte[] ownMac) {
    if (length < ETHERNET_HEADER || length > frame.length) {
      return Optional.empty();
    }
    int etherType = unsigned16(frame, 12);
    Optional<Claim> claim;
    if (vip instanceof Inet4Address) {
      claim = etherType == Frames.ETHERTYPE_ARP ? arp(frame, length, vip) : Optional.empty();
    } else {
      claim = etherType == Frames.ETHERTYPE_IPV6 ? neighbour(frame, length, vip) : Optional.empty();
    }
    return claim.filter(found -> !found.mac().equals(Frames.formatMac(ownMac)));
  }

  private static Optional<Claim> arp(byte[] frame, int length, InetAddress vip) {
    int at = ETHERNET_HEADER;
    if (length < at + ARP_LENGTH
        || unsigned16(frame, at) != 1 // Ethernet
        || unsigned16(frame, at + 2) != 0x0800 // IPv4
        || frame[at + 4] != Frames.MAC_LENGTH
        || frame[at + 5] != 4) {
      return Optional.empty();
    }
    int operation = unsigned16(frame, at + 6);
    byte[] senderMac = Arrays.copyOfRange(frame, at + 8, at + 14);
    byte[] senderIp = Arrays.copyOfRange(frame, at + 14, at + 18);
    byte[] targetIp = Arrays.copyOfRange(frame, at + 24, at + 28);
    byte[] address = vip.getAddress();
    if (!unicast(senderMac) || (operation != Frames.ARP_REQUEST && operation != Frames.ARP_REPLY)) {
      return Optional.empty();
    }
    if (Arrays.equals(senderIp, address)) {
      Kind kind = operation == Frames.ARP_REPLY ? Kind.ARP_REPLY : Kind.ARP_REQUEST;
      return Optional.of(new Claim(kind, Frames.formatMac(senderMac)));
    }
    if (operation == Frames.ARP_REQUEST
        && Arrays.equals(senderIp, new byte[4])
        && Arrays.equals(targetIp, address)) {
      return Optional.of(new Claim(Kind.ARP_PROBE, Frames.formatMac(senderMac)));
    }
    return Optional.empty();
  }

  /**
   * A neighbour advertisement or solicitation, validated as RFC 4861 7.1 asks (hop limit 255, code
   * 0, checksum, options of non-zero length) so a forwarded or damaged one is no claim.
   */
  private static Optional<Claim> neighbour(byte[] frame, int length, InetAddress vip) {
    int ip = ETHERNET_HEADER;
    if (length < ip + IPV6_HEADER + NEIGHBOUR_MESSAGE
        || (frame[ip] & 0xf0) != 0x60
        || (frame[ip + 6] & 0xff) != Frames.ICMPV6
        || (frame[ip + 7] & 0xff) != Frames.ND_HOP_LIMIT) {
      return Optional.empty();
    }
    int payload = unsigned16(frame, ip + 4);
    int icmp = ip + IPV6_HEADER;
    if (payload < NEIGHBOUR_MESSAGE || icmp + payload > length || frame[icmp + 1] != 0) {
      return Optional.empty();
    }
    byte[] source = Arrays.copyOfRange(frame, ip + 8, ip + 24);
    byte[] destination = Arrays.copyOfRange(frame, ip + 24, ip + 40);
    byte[] message = Arrays.copyOfRange(frame, icmp, icmp + payload);
    if (Frames.icmpv6Checksum(source, destination, message) != 0) {
      return Optional.empty();
    }
    int type = message[0] & 0xff;
    byte[] target = Arrays.copyOfRange(message, 8, 24);
    byte[] address = vip.getAddress();
    byte[] ethernetSource = Arrays.copyOfRange(frame, 6, 12);
    Optional<LinkOptions> options = LinkOptions.of(message);
    if (options.isEmpty()) {
      return Optional.empty();
    }
    Kind kind;
    byte[] mac;
    if (type == Frames.NEIGHBOUR_ADVERTISEMENT && Arrays.equals(target, address)) {
      kind = Kind.NEIGHBOUR_ADVERTISEMENT;
      mac = options.get().target().orElse(ethernetSource);
    } else if (type == Frames.NEIGHBOUR_SOLICITATION && Arrays.equals(source, address)) {
      kind = Kind.NEIGHBOUR_SOLICITATION;
      mac = options.get().source().orElse(ethernetSource);
    } else if (type == Frames.NEIGHBOUR_SOLICITATION
        && Arrays.equals(source, new byte[16])
        && Arrays.equals(target, address)) {
      kind = Kind.DAD_PROBE;
      mac = ethernetSource;
    } else {
      return Optional.empty();
    }
    return unicast(mac) ? Optional.of(new Claim(kind, Frames.formatMac(mac))) : Optional.empty();
  }

  /** The link-layer address options of a neighbour discovery message, when it has them. */
  private record LinkOptions(Optional<byte[]> source, Optional<byte[]> target) {

    /** The options after the 24 bytes of the message; empty when they are malformed. */
    static Optional<LinkOptions> of(byte[] message) {
      Optional<byte[]> source = Optional.empty();
      Optional<byte[]> target = Optional.empty();
      int at = NEIGHBOUR_MESSAGE;
      while (at < message.length) {
        int optionLength = at + 1 < message.length ? (message[at + 1] & 0xff) * OPTION_UNIT : 0;
        if (optionLength == 0 || at + optionLength > message.length) {
          return Optional.empty();
        }
        int type = message[at] & 0xff;
        byte[] mac = Arrays.copyOfRange(message, at + 2, at + 2 + Frames.MAC_LENGTH);
        if (optionLength == OPTION_UNIT && type == Frames.SOURCE_LINK_LAYER_ADDRESS) {
          source = source.or(() -> Optional.of(mac));
        } else if (optionLength == OPTION_UNIT && type == Frames.TARGET_LINK_LAYER_ADDRESS) {
          target = target.or(() -> Optional.of(mac));
        }
        at += optionLength;
      }
      return Optional.of(new LinkOptions(source, target));
    }
  }

  /** Not zero, not a group address: a MAC a host can have. */
  private static boolean unicast(byte[] mac) {
    return (mac[0] & 1) == 0 && !Arrays.equals(mac, new byte[Frames.MAC_LENGTH]);
  }

  private static int unsigned16(byte[] bytes, int at) {
    return ((bytes[at] & 0xff) << 8) | (bytes[at + 1] & 0xff);
  }
}
