package io.apivip.lab.cluster;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads the UDP payloads out of a classic pcap file of Ethernet frames (what tcpdump -w writes).
 */
final class Pcap {

  private static final int MAGIC_MICROS = 0xa1b2c3d4;
  private static final int MAGIC_NANOS = 0xa1b23c4d;
  private static final int LINKTYPE_ETHERNET = 1;
  private static final int ETHERTYPE_VLAN = 0x8100;
  private static final int ETHERTYPE_IPV4 = 0x0800;
  private static final int ETHERTYPE_IPV6 = 0x86dd;
  private static final int PROTOCOL_UDP = 17;

  private Pcap() {}

  static List<byte[]> udpPayloads(Path file) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file));
    List<byte[]> payloads = new ArrayList<>();
    if (in.remaining() < 24) {
      return payloads;
    }
    int magic = in.getInt(0);
    if (magic != MAGIC_MICROS && magic != MAGIC_NANOS) {
      in.order(ByteOrder.LITTLE_ENDIAN);
      magic = in.getInt(0);
      if (magic != MAGIC_MICROS && magic != MAGIC_NANOS) {
        throw new IOException(file + " is not a pcap file");
      }
    }
    if (in.getInt(20) != LINKTYPE_ETHERNET) {
      throw new IOException(file + " does not hold Ethernet frames");
    }
    in.position(24);
    while (in.remaining() >= 16) {
      in.getInt();
      in.getInt();
      int captured = in.getInt();
      in.getInt();
      if (captured < 0 || captured > in.remaining()) {
        break;
      }
      byte[] frame = new byte[captured];
      in.get(frame);
      byte[] payload = udpPayload(ByteBuffer.wrap(frame));
      if (payload != null) {
        payloads.add(payload);
      }
    }
    return payloads;
  }

  private static byte[] udpPayload(ByteBuffer frame) {
    if (frame.remaining() < 14) {
      return null;
    }
    int offset = 12;
    int etherType = frame.getShort(offset) & 0xffff;
    if (etherType == ETHERTYPE_VLAN) {
      offset += 4;
      etherType = frame.getShort(offset) & 0xffff;
    }
    offset += 2;
    int protocol;
    if (etherType == ETHERTYPE_IPV4) {
      int headerLength = (frame.get(offset) & 0x0f) * 4;
      protocol = frame.get(offset + 9) & 0xff;
      offset += headerLength;
    } else if (etherType == ETHERTYPE_IPV6) {
      protocol = frame.get(offset + 6) & 0xff;
      offset += 40;
    } else {
      return null;
    }
    if (protocol != PROTOCOL_UDP || frame.limit() < offset + 8) {
      return null;
    }
    int udpLength = frame.getShort(offset + 4) & 0xffff;
    int end = Math.min(frame.limit(), offset + udpLength);
    return Arrays.copyOfRange(frame.array(), offset + 8, end);
  }
}
