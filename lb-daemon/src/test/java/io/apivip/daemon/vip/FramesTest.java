package io.apivip.daemon.vip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Every byte of every frame, against frames worked out by hand field by field. */
class FramesTest {

  private static final byte[] MAC = hex("02000000000b");

  @Test
  void gratuitousArpRequestAsksForTheVipOnBehalfOfTheVip() throws Exception {
    Frames.Frame frame = Frames.gratuitousArpRequest(MAC, ipv4("192.0.2.100"));

    assertThat(frame.kind()).isEqualTo(Frames.Kind.GARP_REQUEST);
    assertThat(frame.bytes())
        .isEqualTo(
            hex(
                "ffffffffffff" // destination: broadcast
                    + "02000000000b" // source: our MAC
                    + "0806" // ARP
                    + "0001"
                    + "0800"
                    + "06"
                    + "04" // Ethernet, IPv4, address lengths
                    + "0001" // request
                    + "02000000000b"
                    + "c0000264" // sender: our MAC, the VIP
                    + "000000000000"
                    + "c0000264" // target: unknown MAC, the VIP
                    + "000000000000000000000000000000000000")); // padding to 60 bytes
    assertThat(frame.destinationMac()).isEqualTo(hex("ffffffffffff"));
    assertThat(frame.etherType()).isEqualTo(Frames.ETHERTYPE_ARP);
  }

  @Test
  void gratuitousArpReplyNamesOurMacAsTargetAsLinuxRequires() throws Exception {
    Frames.Frame frame = Frames.gratuitousArpReply(MAC, ipv4("192.0.2.100"));

    assertThat(frame.kind()).isEqualTo(Frames.Kind.GARP_REPLY);
    assertThat(frame.bytes())
        .isEqualTo(
            hex(
                "ffffffffffff"
                    + "02000000000b"
                    + "0806"
                    + "0001"
                    + "0800"
                    + "06"
                    + "04"
                    + "0002" // reply
                    + "02000000000b"
                    + "c0000264"
                    + "02000000000b"
                    + "c0000264"
                    + "000000000000000000000000000000000000"));
  }

  @Test
  void unsolicitedNeighbourAdvertisementOverridesAndCarriesOurMac() throws Exception {
    Frames.Frame frame = Frames.unsolicitedNeighbourAdvertisement(MAC, ipv6("2001:db8::100"));

    assertThat(frame.kind()).isEqualTo(Frames.Kind.UNSOLICITED_NA);
    assertThat(frame.bytes())
        .isEqualTo(
            hex(
                "333300000001" // destination: all-nodes multicast MAC
                    + "02000000000b"
                    + "86dd" // source, IPv6
                    + "60000000" // version 6, no traffic class or flow label
                    + "0020"
                    + "3a"
                    + "ff" // 32 bytes of ICMPv6, hop limit 255
                    + "20010db8000000000000000000000100" // source: the VIP
                    + "ff020000000000000000000000000001" // destination: all nodes
                    + "88"
                    + "00"
                    + "f722" // neighbour advertisement, code 0, checksum
                    + "20000000" // override; not router, not solicited
                    + "20010db8000000000000000000000100" // target: the VIP
                    + "02"
                    + "01"
                    + "02000000000b")); // target link-layer address option
    assertThat(frame.bytes()).hasSize(86);
    assertThat(frame.destinationMac()).isEqualTo(hex("333300000001"));
    assertThat(frame.etherType()).isEqualTo(Frames.ETHERTYPE_IPV6);
  }

  @Test
  void arpProbeAsksForTheVipFromTheZeroAddressSoNoNeighbourLearnsFromIt() throws Exception {
    Frames.Frame frame = Frames.probe(MAC, ipv4("192.0.2.100"));

    assertThat(frame.kind()).isEqualTo(Frames.Kind.ARP_PROBE);
    assertThat(frame.bytes())
        .isEqualTo(
            hex(
                "ffffffffffff"
                    + "02000000000b"
                    + "0806"
                    + "0001"
                    + "0800"
                    + "06"
                    + "04"
                    + "0001" // request
                    + "02000000000b"
                    + "00000000" // sender: our MAC, no address (RFC 5227 2.1.1)
                    + "000000000000"
                    + "c0000264" // target: the VIP
                    + "000000000000000000000000000000000000"));
  }

  @Test
  void duplicateAddressProbeSolicitsTheVipFromTheUnspecifiedAddress() throws Exception {
    Frames.Frame frame = Frames.probe(MAC, ipv6("2001:db8::100"));

    assertThat(frame.kind()).isEqualTo(Frames.Kind.DAD_PROBE);
    assertThat(frame.bytes())
        .isEqualTo(
            hex(
                "3333ff000100" // destination: the VIP's solicited-node group's MAC
                    + "02000000000b"
                    + "86dd"
                    + "60000000"
                    + "0018"
                    + "3a"
                    + "ff" // 24 bytes of ICMPv6, hop limit 255
                    + "00000000000000000000000000000000" // source: unspecified
                    + "ff0200000000000000000001ff000100" // destination: solicited-node group
                    + "87"
                    + "00"
                    + "4aef" // neighbour solicitation, code 0, checksum
                    + "00000000" // reserved
                    + "20010db8000000000000000000000100")); // target: the VIP; no option
    assertThat(frame.destinationMac()).isEqualTo(hex("3333ff000100"));
  }

  @Test
  void theChecksumOfAMessageWithItsChecksumInPlaceIsZero() throws Exception {
    byte[] source = ipv6("2001:db8::7").getAddress();
    byte[] destination = ipv6("ff02::1").getAddress();
    byte[] frame =
        Frames.unsolicitedNeighbourAdvertisement(hex("0a1b2c3d4e5f"), ipv6("2001:db8::7")).bytes();
    byte[] message = java.util.Arrays.copyOfRange(frame, 54, frame.length);

    assertThat(Frames.icmpv6Checksum(source, destination, message)).isZero();
    message[10] ^= 1;
    assertThat(Frames.icmpv6Checksum(source, destination, message)).isNotZero();
  }

  @Test
  void theChecksumPadsAnOddLengthWithAZeroByte() {
    byte[] none = new byte[16];
    // Pseudo-header: length 3 + next header 58; message 0x0102 + 0x0300; sum 0x043f, complement
    // 0xfbc0.
    assertThat(Frames.icmpv6Checksum(none, none, new byte[] {1, 2, 3})).isEqualTo(0xfbc0);
  }

  @Test
  void oneAnnouncementIsBothArpFormsForIpv4AndOneAdvertisementForIpv6() throws Exception {
    assertThat(Frames.announcement(MAC, ipv4("192.0.2.100")))
        .extracting(Frames.Frame::kind)
        .containsExactly(Frames.Kind.GARP_REQUEST, Frames.Kind.GARP_REPLY);
    assertThat(Frames.announcement(MAC, ipv6("2001:db8::100")))
        .extracting(Frames.Frame::kind)
        .containsExactly(Frames.Kind.UNSOLICITED_NA);
  }

  @Test
  void refusesAMacThatIsNotEthernet() {
    assertThatThrownBy(() -> Frames.gratuitousArpRequest(new byte[8], ipv4("192.0.2.100")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("6 bytes");
  }

  @Test
  void formatsMacsAsIpShowsThem() {
    assertThat(Frames.formatMac(hex("02000000000b"))).isEqualTo("02:00:00:00:00:0b");
  }

  private static Inet4Address ipv4(String literal) throws Exception {
    return (Inet4Address) InetAddress.getByName(literal);
  }

  private static Inet6Address ipv6(String literal) throws Exception {
    return (Inet6Address) InetAddress.getByName(literal);
  }

  private static byte[] hex(String hex) {
    return HexFormat.of().parseHex(hex);
  }
}
