package io.apivip.daemon.vip;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.lab.netns.Exec;
import io.apivip.lab.netns.Host;
import io.apivip.lab.netns.NetnsLab;
import io.apivip.lab.netns.NetnsSupport;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
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

  /** Shorter than the daemon's, so the tests of foreign claims take seconds. */
  private static final Duration CLAIM_GRACE = Duration.ofSeconds(1);

  /** How long two apivip nodes hold the VIP at once in a handoff: a heartbeat or two, and more. */
  private static final long HANDOFF_OVERLAP_MILLIS = 300;

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
      // The probe at start failed once; the announcement that follows the add fails after the
      // add is logged, so the count reaches 2 a moment later.
      awaitMetric(agent, VipMetrics.ANNOUNCEMENT_FAILURES, 2, "reason", VipMetrics.NO_PERMISSION);
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
   * Another host that takes the VIP while n1 holds it says so on the LAN: by gratuitous ARP
   * (iputils' arping, as scripts and keepalived do) or, for IPv6, by the duplicate address
   * detection of {@code ip addr add}. n1 counts it, logs its MAC, and shows it as the last
   * claimant.
   */
  @ParameterizedTest
  @ValueSource(strings = {NetnsLab.VIP_IPV4, NetnsLab.VIP_IPV6})
  void aHostThatTakesTheVipWhileHeldIsCountedLoggedAndShown(String literal) throws Exception {
    InetAddress vip = InetAddress.getByName(literal);
    try (AgentProcess agent =
        AgentProcess.start(lab, n1, vip, List.of(), Duration.ZERO, CLAIM_GRACE)) {
      agent.send("hold");
      agent.awaitLog("announced on eth0");
      awaitMetric(agent, VipMetrics.CLAIM_PROBES, 1);
      assertThat(agent.claim()).isEqualTo("none");

      String kind;
      if (vip instanceof Inet6Address) {
        // The lab turns duplicate address detection off; a host on a LAN has it on.
        setDuplicateAddressDetection(n2, true);
        lab.exec(n2, "ip", "addr", "add", cidr(vip), "dev", n2.interfaceName()).orThrow();
        kind = Claims.Kind.DAD_PROBE.tag();
      } else {
        addByHand(n2, vip);
        lab.exec(n2, "arping", "-U", "-c", "2", "-I", n2.interfaceName(), literal).orThrow();
        kind = Claims.Kind.ARP_REQUEST.tag();
      }

      assertClaimedByN2(agent, literal, kind);
      // It did not contest the VIP: no announcement beyond the first burst.
      assertThat(agent.metric(VipMetrics.ANNOUNCEMENTS_SENT))
          .isEqualTo(vip instanceof Inet6Address ? 3 : 6);
    } finally {
      setDuplicateAddressDetection(n2, false);
      removeEverywhere(vip);
    }
  }

  /**
   * A host that has the VIP but says nothing (an address configured by hand, or left by a crashed
   * daemon) is found by the holder's probe: it answers the ARP probe, or the duplicate address
   * detection solicitation, for the VIP.
   */
  @ParameterizedTest
  @ValueSource(strings = {NetnsLab.VIP_IPV4, NetnsLab.VIP_IPV6})
  void aSilentHostWithTheVipIsFoundByTheProbe(String literal) throws Exception {
    InetAddress vip = InetAddress.getByName(literal);
    addByHand(n2, vip);
    try (AgentProcess agent =
        AgentProcess.start(lab, n1, vip, List.of(), Duration.ZERO, CLAIM_GRACE)) {
      agent.send("hold");
      agent.awaitLog("announced on eth0");

      String kind =
          (vip instanceof Inet6Address
                  ? Claims.Kind.NEIGHBOUR_ADVERTISEMENT
                  : Claims.Kind.ARP_REPLY)
              .tag();
      assertClaimedByN2(agent, literal, kind);
      assertThat(agent.metric(VipMetrics.CLAIM_PROBES)).isEqualTo(1);
      assertThat(agent.metric(VipMetrics.FOREIGN_CLAIMS, "kind", kind)).isEqualTo(1);
      assertThat(agent.claim()).isEqualTo(n2.mac() + " " + kind + " 1");
    } finally {
      removeEverywhere(vip);
    }
  }

  /**
   * A make-before-break handoff from n1 to n2: each sees the other's announcements and answers
   * while both have the address, and neither counts a foreign claim. The control: the same two
   * holders kept beyond the grace (a split) do count each other, so the watch was listening.
   */
  @ParameterizedTest
  @ValueSource(strings = {NetnsLab.VIP_IPV4, NetnsLab.VIP_IPV6})
  void aHandoffBetweenApivipNodesIsNoForeignClaim(String literal) throws Exception {
    InetAddress vip = InetAddress.getByName(literal);
    Duration refresh = Duration.ofMillis(300);
    try (AgentProcess agent1 = AgentProcess.start(lab, n1, vip, List.of(), refresh, CLAIM_GRACE);
        AgentProcess agent2 = AgentProcess.start(lab, n2, vip, List.of(), refresh, CLAIM_GRACE)) {
      agent1.send("hold");
      agent1.awaitLog("announced on eth0");
      awaitMetric(agent1, VipMetrics.CLAIM_PROBES, 2);

      // The successor takes the VIP first, the holder lets go a heartbeat or two later, and the
      // successor hears that the holder's claim ended (the cluster's announceAgain).
      agent2.send("hold");
      agent2.awaitLog("announced on eth0");
      Thread.sleep(HANDOFF_OVERLAP_MILLIS);
      agent1.send("release");
      agent1.awaitLog("removed from eth0");
      agent2.send("announce-again");
      awaitMetric(agent2, VipMetrics.CLAIM_PROBES, 4);
      Thread.sleep(2 * CLAIM_GRACE.toMillis());

      assertThat(agent1.metric(VipMetrics.FOREIGN_CLAIMS)).isZero();
      assertThat(agent2.metric(VipMetrics.FOREIGN_CLAIMS)).isZero();
      assertThat(agent1.claim()).isEqualTo("none");
      assertThat(agent2.claim()).isEqualTo("none");
      assertThat(agent1.output()).doesNotContain("another host claims");
      assertThat(agent2.output()).doesNotContain("another host claims");

      agent1.send("hold");
      agent1.awaitLog("announced on eth0");
      assertThat(agent2.awaitLog("another host claims VIP " + literal)).contains(n1.mac());
      assertThat(agent1.awaitLog("another host claims VIP " + literal)).contains(n2.mac());
    } finally {
      removeEverywhere(vip);
    }
  }

  /** Polls a counter of the agent until it reaches {@code atLeast}; fails after 10 s. */
  private static void awaitMetric(AgentProcess agent, String name, double atLeast, String... tags)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    double value = agent.metric(name, tags);
    while (value < atLeast && System.nanoTime() < deadline) {
      Thread.sleep(50);
      value = agent.metric(name, tags);
    }
    assertThat(value).as(name).isGreaterThanOrEqualTo(atLeast);
  }

  private static void setDuplicateAddressDetection(Host host, boolean on) {
    lab.exec(
            host,
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf." + host.interfaceName() + ".accept_dad=" + (on ? 1 : 0))
        .orThrow();
  }

  /** The agent logged n2 as a claimant at WARN, counted it and shows it as the last one. */
  private static void assertClaimedByN2(AgentProcess agent, String literal, String kind)
      throws Exception {
    String warning = agent.awaitLog("another host claims VIP " + literal + " on eth0");
    assertThat(warning).contains("WARN", n2.mac(), kind);
    assertThat(agent.metric(VipMetrics.FOREIGN_CLAIMS, "kind", kind)).isPositive();
    assertThat(agent.claim()).startsWith(n2.mac() + " " + kind + " ");
  }

  /**
   * Removes the VIP from both nodes, and every host forgets the VIP's MAC, which a claimant's
   * announcement may have changed.
   */
  private static void removeEverywhere(InetAddress vip) {
    removeByHand(n1, vip);
    removeByHand(n2, vip);
    for (Host host : List.of(n1, n2, client)) {
      lab.exec(host, "ip", "neigh", "flush", "dev", host.interfaceName());
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
