package io.apivip.daemon.setup;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CsrTemplateTest {

  static final InetAddress VIP = NetUtil.createInetAddressFromIpAddressString("192.0.2.100");

  static String stock() throws IOException {
    return Files.readString(FakeMicroK8sNode.TEMPLATE);
  }

  static Stream<Arguments> numbering() {
    return Stream.of(
        // what the alt_names hold besides the stock lines, the DNS names asked, the lines added
        Arguments.of("", List.of(), List.of("IP.99 = 192.0.2.100")),
        Arguments.of(
            "",
            List.of("k8s-api.example.internal", "api.example.internal"),
            List.of(
                "IP.99 = 192.0.2.100",
                "DNS.6 = k8s-api.example.internal",
                "DNS.7 = api.example.internal")),
        // An index in use is skipped, for addresses and names alike.
        Arguments.of(
            "IP.99 = 198.51.100.7\nIP.100 = 198.51.100.8\nDNS.6 = other.example\n",
            List.of("k8s-api.example.internal"),
            List.of("IP.101 = 192.0.2.100", "DNS.7 = k8s-api.example.internal")),
        // Named already, in whatever index or notation: nothing to add.
        Arguments.of("IP.3 = 192.0.2.100\n", List.of(), List.of()),
        Arguments.of("IP.42 = 192.000.002.100\n", List.of(), List.of()),
        Arguments.of(
            "IP.99 = 192.0.2.100\nDNS.6 = K8S-API.example.internal\n",
            List.of("k8s-api.example.internal"),
            List.of()),
        // The same name asked twice is added once.
        Arguments.of(
            "",
            List.of("a.example", "A.example"),
            List.of("IP.99 = 192.0.2.100", "DNS.6 = a.example")));
  }

  @ParameterizedTest
  @MethodSource
  void numbering(String extra, List<String> dnsNames, List<String> added) throws IOException {
    String text = stock().replace("#MOREIPS", extra + "#MOREIPS");
    CsrTemplate template = CsrTemplate.parse(text).orElseThrow();

    List<String> lines =
        template.missing(VIP, dnsNames).stream().map(CsrTemplate.Entry::line).toList();

    assertThat(lines).isEqualTo(added);
  }

  @Test
  void theLinesGoJustAboveMoreIpsAndNothingElseMoves() throws IOException {
    String text = stock();
    CsrTemplate template = CsrTemplate.parse(text).orElseThrow();

    String edited = template.with(template.missing(VIP, List.of("k8s-api.example.internal")));

    assertThat(edited)
        .isEqualTo(
            text.replace(
                "IP.2 = 10.152.183.1\n#MOREIPS\n",
                "IP.2 = 10.152.183.1\nIP.99 = 192.0.2.100\nDNS.6 = k8s-api.example.internal\n"
                    + "#MOREIPS\n"));
    assertThat(
            CsrTemplate.parse(edited)
                .orElseThrow()
                .missing(VIP, List.of("k8s-api.example.internal")))
        .as("a second pass adds nothing")
        .isEmpty();
  }

  @Test
  void anIpv6VipIsAnIpLine() throws IOException {
    CsrTemplate template = CsrTemplate.parse(stock()).orElseThrow();
    InetAddress vip = NetUtil.createInetAddressFromIpAddressString("2001:db8::100");

    assertThat(template.missing(vip, List.of()))
        .extracting(CsrTemplate.Entry::line)
        .containsExactly("IP.99 = 2001:db8::100");
    CsrTemplate edited =
        CsrTemplate.parse(template.with(template.missing(vip, List.of()))).orElseThrow();
    assertThat(edited.address(NetUtil.createInetAddressFromIpAddressString("2001:DB8::100")))
        .isPresent();
  }

  @Test
  void aTemplateWithoutTheMarkerIsNotMicroK8ss() throws IOException {
    assertThat(CsrTemplate.parse(stock().replace("#MOREIPS\n", ""))).isEmpty();
  }
}
