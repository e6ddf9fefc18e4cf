package io.apivip.daemon.vip;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VipAddressTest {

  @ParameterizedTest
  @CsvSource({
    "192.0.2.100,                            192.0.2.100",
    "2001:db8:0:0:0:0:0:100,                 2001:db8::100",
    "2001:0db8:0000:0000:0001:0000:0000:0001, 2001:db8::1:0:0:1",
    "2001:db8:0:1:1:1:1:1,                   2001:db8:0:1:1:1:1:1",
    "2001:db8:0:0:1:0:0:0,                   2001:db8:0:0:1::",
    "0:0:0:0:0:0:0:0,                        ::",
    "0:0:0:0:0:0:0:1,                        ::1",
    "fe80:0:0:0:0:0:0:0,                     fe80::",
    "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff, 2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff",
  })
  void writesAddressesAsPeopleDo(String given, String written) throws Exception {
    VipAddress vip = new VipAddress(InetAddress.getByName(given), 64, "eth0");

    assertThat(vip.literal()).isEqualTo(written);
    assertThat(vip.cidr()).isEqualTo(written + "/64");
    assertThat(InetAddress.getByName(vip.literal())).isEqualTo(vip.address());
  }
}
