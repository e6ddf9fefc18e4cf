package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.doctor.InterfaceCheck.Subnet;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class InterfaceCheckTest {

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of(
            "192.0.2.100",
            List.of("192.0.2.11/24"),
            Severity.OK,
            "the VIP 192.0.2.100 is inside eth0's subnet 192.0.2.11/24"),
        Arguments.of(
            "192.0.2.100",
            List.of("198.51.100.7/24", "2001:db8::11/64"),
            Severity.WARN,
            "vip.address = 192.0.2.100: not inside any subnet of eth0 [198.51.100.7/24]; clients on"
                + " that network will not reach it without a route"),
        // The holder carries the VIP itself: that address proves nothing about the subnet.
        Arguments.of(
            "192.0.2.100",
            List.of("192.0.2.100/32"),
            Severity.WARN,
            "vip.address = 192.0.2.100: not inside any subnet of eth0 []; clients on that network"
                + " will not reach it without a route"),
        Arguments.of(
            "192.0.2.100",
            List.of("192.0.2.129/25"),
            Severity.WARN,
            "vip.address = 192.0.2.100: not inside any subnet of eth0 [192.0.2.129/25]; clients on"
                + " that network will not reach it without a route"),
        Arguments.of(
            "2001:db8::100",
            List.of("192.0.2.11/24", "2001:db8::11/64"),
            Severity.OK,
            "the VIP 2001:db8:0:0:0:0:0:100 is inside eth0's subnet 2001:db8:0:0:0:0:0:11/64"));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void theVipBelongsInASubnetOfItsInterface(
      String vip, List<String> addresses, Severity severity, String message) throws Exception {
    List<Subnet> subnets = addresses.stream().map(InterfaceCheckTest::subnet).toList();
    Finding finding =
        InterfaceCheck.check(
            vip(vip, "eth0"),
            name -> name.equals("eth0") ? Optional.of(subnets) : Optional.empty());
    assertThat(finding).isEqualTo(new Finding("interface", severity, message));
  }

  @Test
  void anInterfaceThisMachineLacksFails() throws Exception {
    Finding finding = InterfaceCheck.check(vip("192.0.2.100", "nosuch0"), name -> Optional.empty());
    assertThat(finding.severity()).isEqualTo(Severity.FAIL);
    assertThat(finding.message())
        .startsWith("vip.interface = nosuch0: no such interface on this machine;");
  }

  @Test
  void theSystemsInterfacesAreRead() throws Exception {
    // Every Linux machine has lo with 127.0.0.1/8, and no interface of this name.
    assertThat(
            InterfaceCheck.check(vip("127.0.0.100", "lo"), InterfaceCheck.Interfaces.SYSTEM)
                .severity())
        .isEqualTo(Severity.OK);
    assertThat(
            InterfaceCheck.check(vip("192.0.2.100", "lo"), InterfaceCheck.Interfaces.SYSTEM)
                .severity())
        .isEqualTo(Severity.WARN);
    assertThat(InterfaceCheck.Interfaces.SYSTEM.addresses("nosuch0")).isEmpty();
  }

  private static Settings.Vip vip(String address, String interfaceName)
      throws UnknownHostException {
    InetAddress vip = InetAddress.getByName(address);
    return new Settings.Vip(
        vip,
        vip.getAddress().length * 8,
        interfaceName,
        3,
        Duration.ofSeconds(1),
        Duration.ZERO,
        Duration.ofSeconds(1));
  }

  private static Subnet subnet(String cidr) {
    String[] parts = cidr.split("/");
    try {
      return new Subnet(InetAddress.getByName(parts[0]), Integer.parseInt(parts[1]));
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(cidr, e);
    }
  }
}
