package io.apivip.daemon.vip;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.lab.netns.Exec;
import io.apivip.lab.netns.Host;
import io.apivip.lab.netns.NetnsLab;
import io.apivip.lab.netns.NetnsSupport;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The VIP on real kernels: two nodes and a client on a bridge, each in a network namespace, a
 * {@link VipManager} per node in a JVM of its own, and a name server on every node so a TCP
 * connection from the client tells which node it reached.
 */
@Tag("netns")
class VipNetnsTest {

  private static final int PORT = 6443;

  /**
   * Less than the announce interval: the client must be repointed by the first announcement alone.
   */
  private static final long NEIGHBOUR_WAIT_MILLIS = 200;

  private static NetnsLab lab;
  private static Host n1;
  private static Host n2;
  private static Host client;

  @BeforeAll
  static void buildLab() throws Exception {
    NetnsSupport.assumeAvailable();
    lab = NetnsLab.create(2);
    n1 = lab.node(1);
    n2 = lab.node(2);
    client = lab.client();
    for (Host node : lab.nodes()) {
      // The kernel's own announcements stay off (they are by default), so only ours can repoint the
      // client.
      lab.exec(
              node,
              "sh",
              "-c",
              "echo 0 > /proc/sys/net/ipv4/conf/all/arp_notify && echo 0 >"
                  + " /proc/sys/net/ipv6/conf/all/ndisc_notify")
          .orThrow();
      lab.startNameServer(node, PORT);
    }
  }

  @AfterAll
  static void deleteLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {NetnsLab.VIP_IPV4, NetnsLab.VIP_IPV6})
  void movingTheVipRepointsTheClientAtOnceAndConnectionsFollowIt(String literal) throws Exception {
    InetAddress vip = InetAddress.getByName(literal);
    try (AgentProcess agent1 = AgentProcess.start(lab, n1, vip, List.of());
        AgentProcess agent2 = AgentProcess.start(lab, n2, vip, List.of())) {
      // Control: moved by hand, with no announcement, the address leaves the client pointing at n1.
      addByHand(n1, vip);
      assertThat(lab.connect(client, vip, PORT)).hasValue("n1");
      removeByHand(n1, vip);
      addByHand(n2, vip);
      Thread.sleep(NEIGHBOUR_WAIT_MILLIS);
      assertThat(lab.neighbourMac(client, vip)).hasValue(n1.mac());
      removeByHand(n2, vip);

      agent2.send("hold");
      agent2.awaitLog("announced on eth0");
      assertThat(neighbourSoon(vip, n2.mac())).hasValue(n2.mac());
      assertThat(lab.connect(client, vip, PORT)).hasValue("n2");

      agent2.send("release");
      agent2.awaitLog("removed from eth0");
      agent1.send("hold");
      agent1.awaitLog("announced on eth0");
      assertThat(neighbourSoon(vip, n1.mac())).hasValue(n1.mac());
      assertThat(lab.connect(client, vip, PORT)).hasValue("n1");
      assertThat(lab.hasAddress(n2, vip)).isFalse();
      assertThat(agent1.metric(VipMetrics.ANNOUNCEMENTS_SENT)).isPositive();
    } finally {
      removeByHand(n1, vip);
      removeByHand(n2, vip);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {NetnsLab.VIP_IPV4, NetnsLab.VIP_IPV6})
  void anAddressRemovedByHandWhileHeldIsRepaired(String literal) throws Exception {
    InetAddress vip = InetAddress.getByName(literal);
    try (AgentProcess agent = AgentProcess.start(lab, n1, vip, List.of())) {
      agent.send("hold");
      agent.awaitLog("announced on eth0");

      removeByHand(n1, vip);
      agent.awaitLog("disappeared from eth0 while held");
      agent.awaitLog("added on eth0");
      assertThat(lab.hasAddress(n1, vip)).isTrue();
      assertThat(agent.metric(VipMetrics.DISRUPTIONS, "cause", VipMetrics.ADDRESS_REMOVED))
          .isEqualTo(1);
      assertThat(lab.connect(client, vip, PORT)).hasValue("n1");
    } finally {
      removeByHand(n1, vip);
    }
  }

  @Test
  void aHolderThatLosesItsLinkIsNotEligibleUntilTheLinkIsBack() throws Exception {
    InetAddress vip = InetAddress.getByName(NetnsLab.VIP_IPV4);
    try (AgentProcess agent = AgentProcess.start(lab, n2, vip, List.of())) {
      agent.send("hold");
      agent.awaitLog("announced on eth0");

      lab.cutLink(n2);
      agent.awaitStatus("machineryWorks=false problem=interface eth0 has no carrier");
      lab.restoreLink(n2);
      agent.awaitLog("interface eth0 is usable again");
      agent.awaitLog("announced on eth0");
      agent.awaitStatus("present=true machineryWorks=true");
      assertThat(agent.metric(VipMetrics.DISRUPTIONS, "cause", VipMetrics.LINK_DOWN)).isEqualTo(1);
      assertThat(lab.connect(client, vip, PORT)).hasValue("n2");
    } finally {
      lab.restoreLink(n2);
      removeByHand(n2, vip);
    }
  }

  @Test
  void withoutCapNetRawTheNodeSaysSoAndIsNotEligible() throws Exception {
    InetAddress vip = InetAddress.getByName(NetnsLab.VIP_IPV4);
    List<String> withoutNetRaw =
        List.of("setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", "--");
    try (AgentProcess agent = AgentProcess.start(lab, n1, vip, withoutNetRaw)) {
      String complaint =
          agent.await(line -> line.contains("ERROR"), java.time.Duration.ofSeconds(10));
      assertThat(complaint).contains("CAP_NET_RAW", "EPERM");
      agent.send("hold");
      agent.awaitLog("added on eth0");
      assertThat(agent.metric(VipMetrics.ANNOUNCEMENT_FAILURES, "reason", VipMetrics.NO_PERMISSION))
          .isGreaterThanOrEqualTo(2);
      agent.send("release");
      agent.awaitLog("removed from eth0");
      assertThat(agent.output())
          .contains("machineryWorks=false")
          .doesNotContain("machineryWorks=true");
      assertThat(agent.output().lines().filter(line -> line.contains("ERROR"))).hasSize(1);
    } finally {
      removeByHand(n1, vip);
    }
  }

  /**
   * The client's MAC for the VIP, polled briefly (the frame crosses the bridge asynchronously)
   * until it is {@code expected}.
   */
  private static Optional<String> neighbourSoon(InetAddress vip, String expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + NEIGHBOUR_WAIT_MILLIS * 1_000_000;
    Optional<String> mac = lab.neighbourMac(client, vip);
    while (!mac.equals(Optional.of(expected)) && System.nanoTime() < deadline) {
      Thread.sleep(10);
      mac = lab.neighbourMac(client, vip);
    }
    return mac;
  }

  private static void addByHand(Host host, InetAddress vip) {
    List<String> command =
        new ArrayList<>(List.of("ip", "addr", "add", cidr(vip), "dev", host.interfaceName()));
    if (vip instanceof Inet6Address) {
      command.add("nodad");
    }
    lab.exec(host, java.time.Duration.ofSeconds(5), command).orThrow();
  }

  /** Removes the VIP if it is there; also the cleanup of every test. */
  private static Exec.Result removeByHand(Host host, InetAddress vip) {
    return lab.exec(host, "ip", "addr", "del", cidr(vip), "dev", host.interfaceName());
  }

  private static String cidr(InetAddress vip) {
    return vip.getHostAddress() + (vip instanceof Inet6Address ? "/128" : "/32");
  }
}
