package io.apivip.daemon.vip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Reading {@code ip -j addr show dev IF} as iproute2 6.1 prints it. */
class IpRoute2Test {

  private static final String LINK =
      "[{\"ifindex\":2,\"ifname\":\"eth0\",\"flags\":[%s],\"mtu\":1500,"
          + "\"qdisc\":\"noqueue\",\"operstate\":\"UP\","
          + "\"link_type\":\"ether\",\"address\":\"02:00:00:00:00:0b\",\"addr_info\":["
          + "{\"family\":\"inet\",\"local\":\"192.0.2.11\",\"prefixlen\":24,"
          + "\"scope\":\"global\",\"label\":\"eth0\"},"
          + "{\"family\":\"inet\",\"local\":\"192.0.2.100\",\"prefixlen\":32,"
          + "\"scope\":\"global\",\"label\":\"eth0\"},"
          + "{\"family\":\"inet6\",\"local\":\"2001:db8::100\",\"prefixlen\":128,"
          + "\"scope\":\"global\",\"nodad\":true},"
          + "{\"family\":\"inet6\",\"local\":\"fe80::ff:fe00:b\",\"prefixlen\":64,"
          + "\"scope\":\"link\"}]}]";
  private static final String UP = "\"BROADCAST\",\"MULTICAST\",\"UP\",\"LOWER_UP\"";

  @ParameterizedTest
  @CsvSource({
    "192.0.2.100,   32,  true",
    "192.0.2.100,   24,  false",
    "192.0.2.101,   32,  false",
    "2001:db8::100, 128, true",
    "2001:db8:0:0:0:0:0:100, 128, true",
    "2001:db8::100, 64,  false",
    "192.0.2.11,    24,  true",
  })
  void findsTheVipOnlyWithItsPrefixLength(String address, int prefixLength, boolean present)
      throws Exception {
    LinkState state = IpRoute2.parseAddrShow(LINK.formatted(UP), vip(address, prefixLength));

    assertThat(state).isEqualTo(new LinkState(true, true, true, present));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "\"BROADCAST\",\"MULTICAST\",\"UP\",\"LOWER_UP\" | true  | true  | true",
        "\"NO-CARRIER\",\"BROADCAST\",\"MULTICAST\",\"UP\" | true | false | false",
        "\"BROADCAST\",\"MULTICAST\"                     | false | false | false",
      })
  void readsWhetherTheLinkIsUpAndHasCarrier(
      String flags, boolean up, boolean carrier, boolean usable) throws Exception {
    LinkState state = IpRoute2.parseAddrShow(LINK.formatted(flags), vip("192.0.2.100", 32));

    assertThat(state.up()).isEqualTo(up);
    assertThat(state.carrier()).isEqualTo(carrier);
    assertThat(state.usable()).isEqualTo(usable);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {"[]", "[{\"ifname\":\"eth0\",\"flags\":[\"UP\",\"LOWER_UP\"]}] "})
  void anEmptyAnswerOrALinkWithoutAddressesHasNoVip(String json) throws Exception {
    LinkState state = IpRoute2.parseAddrShow(json, vip("192.0.2.100", 32));

    assertThat(state.present()).isFalse();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {"Device \"eth9\" does not exist.", "[{\"ifname\":"})
  void refusesWhatIsNotItsJson(String output) {
    assertThatThrownBy(() -> IpRoute2.parseAddrShow(output, vip("192.0.2.100", 32)))
        .isInstanceOf(JsonProcessingException.class);
  }

  private static VipAddress vip(String address, int prefixLength) throws Exception {
    return new VipAddress(InetAddress.getByName(address), prefixLength, "eth0");
  }
}
