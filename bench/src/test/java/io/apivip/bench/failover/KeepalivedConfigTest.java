package io.apivip.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeepalivedConfigTest {

  private static KeepalivedConfig config(KeepalivedConfig.Variant variant, boolean master) {
    return new KeepalivedConfig(
        variant,
        "n2",
        "192.0.2.12",
        List.of("192.0.2.11", "192.0.2.13"),
        master,
        "192.0.2.100",
        24,
        "eth0",
        List.of(
            new KeepalivedConfig.Backend("n1", "192.0.2.11", 16443),
            new KeepalivedConfig.Backend("n2", "192.0.2.12", 16443),
            new KeepalivedConfig.Backend("n3", "192.0.2.13", 16443)),
        new KeepalivedConfig.Ports(6443, 8404),
        Path.of("/work/n2/check_apiserver.sh"));
  }

  @Test
  void defaultVariantIsTheGuidesVrrpv2InstanceOverUnicast() {
    String conf = config(KeepalivedConfig.Variant.DEFAULT, false).keepalivedConf();

    assertThat(conf)
        .contains(
            "state BACKUP",
            "priority 100",
            "advert_int 1\n",
            "virtual_router_id 51",
            "interface eth0")
        .contains(
            "unicast_src_ip 192.0.2.12",
            "unicast_peer {\n        192.0.2.11\n        192.0.2.13\n    }")
        .contains(
            "auth_type PASS", "192.0.2.100/24 dev eth0", "script \"/work/n2/check_apiserver.sh\"")
        .contains(
            "interval 3",
            "weight -2",
            "fall 10",
            "rise 2",
            "track_script {\n        check_apiserver")
        .doesNotContain("vrrp_version");
  }

  @Test
  void fastVariantAdvertisesTenTimesASecondOverVrrpv3WithoutAuthentication() {
    String conf = config(KeepalivedConfig.Variant.FAST, true).keepalivedConf();

    assertThat(conf)
        .contains("vrrp_version 3", "advert_int 0.1\n", "state MASTER", "priority 101")
        .doesNotContain("authentication");
  }

  @Test
  void vrrpv2CannotAdvertiseInFractionsOfASecond() {
    assertThatThrownBy(() -> new KeepalivedConfig.Variant("x", "0.1", 2))
        .hasMessageContaining("whole seconds");
    assertThatThrownBy(() -> new KeepalivedConfig.Variant("x", "1", 4))
        .hasMessageContaining("2 or 3");
  }

  @Test
  void haproxyBalancesInTcpModeOverEveryApiserverWithHttpsReadyzChecks() {
    String cfg = config(KeepalivedConfig.Variant.DEFAULT, false).haproxyCfg();

    assertThat(cfg)
        .contains(
            "bind *:6443",
            "mode tcp",
            "balance roundrobin",
            "option httpchk GET /readyz",
            "http-check expect status 200")
        .contains("server n1 192.0.2.11:16443 check check-ssl verify none")
        .contains("server n2 192.0.2.12:16443 check check-ssl verify none")
        .contains("server n3 192.0.2.13:16443 check check-ssl verify none")
        .contains(
            "timeout connect         5s",
            "retries                 1",
            "option                  redispatch")
        .contains("bind 127.0.0.1:8404", "stats uri /stats");
  }

  @Test
  void checkScriptAsksThroughTheLocalHaproxyAndOnTheVipWhileHoldingIt() {
    String script = config(KeepalivedConfig.Variant.DEFAULT, false).checkScriptText();

    assertThat(script)
        .startsWith("#!/bin/sh\n")
        .contains(
            "https://127.0.0.1:6443/",
            "ip -4 addr show dev eth0 | grep -q \" 192.0.2.100/\"",
            "https://192.0.2.100:6443/");
  }

  private static final String STATS_HEADER =
      "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
          + "wredis,status,weight\n";

  private static String stats(String... serverStatuses) {
    StringBuilder csv =
        new StringBuilder(STATS_HEADER)
            .append("apiserver,FRONTEND,,,0,0,4000,0,0,0,0,0,0,,,,,OPEN,\n");
    for (int i = 0; i < serverStatuses.length; i++) {
      csv.append("apiserverbackend,n")
          .append(i + 1)
          .append(",0,0,0,0,,0,0,0,,0,,0,0,0,0,")
          .append(serverStatuses[i])
          .append(",1\n");
    }
    return csv.append("apiserverbackend,BACKEND,0,0,0,0,400,0,0,0,0,0,,0,0,0,0,UP,3\n").toString();
  }

  @Test
  void backendsCountAsUpOnlyWhenEveryServerIsFullyUp() {
    assertThat(KeepalivedConfig.allBackendsUp(stats("UP", "UP", "UP"), 3)).isTrue();
    assertThat(KeepalivedConfig.allBackendsUp(stats("UP", "UP 1/2", "UP"), 3)).isFalse();
    assertThat(KeepalivedConfig.allBackendsUp(stats("UP", "DOWN", "UP"), 3)).isFalse();
    assertThat(KeepalivedConfig.allBackendsUp(stats("UP", "UP"), 3)).isFalse();
    assertThat(KeepalivedConfig.allBackendsUp("<html>not csv</html>", 3)).isFalse();
  }
}
