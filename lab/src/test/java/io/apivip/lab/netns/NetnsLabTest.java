package io.apivip.lab.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("netns")
class NetnsLabTest {

  private static final Duration TCP_TIMEOUT = Duration.ofSeconds(3);

  private static NetnsLab lab;

  @BeforeAll
  static void buildLab() {
    NetnsSupport.assumeAvailable();
    lab = NetnsLab.create(2);
  }

  @AfterAll
  static void deleteLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void hostsHaveTheDocumentedAddressesAndReachEachOtherOverTheBridge() throws Exception {
    assertThat(lab.node(2).ipv4().getHostAddress()).isEqualTo("192.0.2.12");
    assertThat(lab.node(2).ipv6()).isEqualTo(InetAddress.getByName("2001:db8::12"));
    assertThat(lab.client().ipv4().getHostAddress()).isEqualTo("192.0.2.200");
    assertThat(lab.hasAddress(lab.node(1), lab.node(1).ipv4())).isTrue();
    assertThat(lab.hasAddress(lab.node(1), lab.node(2).ipv4())).isFalse();

    Process server = lab.startNameServer(lab.node(1), 7000);
    try {
      assertThat(lab.connect(lab.client(), lab.node(1).ipv4(), 7000)).hasValue("n1");
      // IPv6 without waiting: duplicate address detection is off in the lab.
      assertThat(lab.connect(lab.client(), lab.node(1).ipv6(), 7000)).hasValue("n1");
    } finally {
      server.destroy();
    }
    assertThat(lab.neighbourMac(lab.client(), lab.node(1).ipv4())).hasValue("02:00:00:00:00:0b");
    assertThat(lab.neighbourMac(lab.client(), lab.node(1).ipv6())).hasValue("02:00:00:00:00:0b");
  }

  @Test
  void aCutLinkDropsTrafficUntilRestored() throws Exception {
    Process server = lab.startNameServer(lab.node(2), 7001);
    try {
      assertThat(lab.connect(lab.client(), lab.node(2).ipv4(), 7001)).hasValue("n2");
      lab.cutLink(lab.node(2));
      try {
        assertThat(lab.exec(lab.node(2), "ip", "link", "show", "dev", "eth0").stdout())
            .contains("NO-CARRIER");
        assertThat(lab.connect(lab.client(), lab.node(2).ipv4(), 7001)).isEmpty();
      } finally {
        lab.restoreLink(lab.node(2));
      }
      assertThat(lab.connect(lab.client(), lab.node(2).ipv4(), 7001)).hasValue("n2");
    } finally {
      server.destroy();
    }
  }

  @Test
  void closeDeletesEveryNamespaceAndSweepDeletesThoseOfDeadRuns() throws Exception {
    NetnsLab other = NetnsLab.create(1);
    String prefix = other.prefix();
    assertThat(namespaces()).anyMatch(name -> name.startsWith(prefix));
    other.close();
    assertThat(namespaces()).noneMatch(name -> name.startsWith(prefix));

    Process finished = new ProcessBuilder("true").start();
    finished.waitFor();
    String stale = LabNames.labPrefix(finished.pid(), 1) + "n1";
    String live = LabNames.labPrefix(ProcessHandle.current().pid(), 999) + "n1";
    Exec.run(TCP_TIMEOUT, List.of("ip", "netns", "add", stale)).orThrow();
    Exec.run(TCP_TIMEOUT, List.of("ip", "netns", "add", live)).orThrow();
    try {
      assertThat(NetnsLab.sweepStale()).isGreaterThanOrEqualTo(1);
      assertThat(namespaces()).doesNotContain(stale).contains(live);
    } finally {
      Exec.run(TCP_TIMEOUT, List.of("ip", "netns", "delete", stale));
      Exec.run(TCP_TIMEOUT, List.of("ip", "netns", "delete", live));
    }
  }

  private static List<String> namespaces() {
    return Exec.run(TCP_TIMEOUT, List.of("ip", "netns", "list"))
        .orThrow()
        .stdout()
        .lines()
        .map(LabNames::namespaceOfListLine)
        .toList();
  }
}
