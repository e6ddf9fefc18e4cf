package io.apivip.daemon.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.transport.Transports;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Three real nodes over UDP on loopback (127.0.0.1 to .3, each on its own port) in one JVM. */
class UdpClusterTest {

  private static final Duration FLOOD_FAILURE_TIMEOUT = Duration.ofSeconds(2);
  private static final byte[] KEY =
      "a-test-key-of-at-least-32-bytes-for-the-loopback-cluster".getBytes();

  private EventLoopGroup group;
  private final List<ClusterService> services = new ArrayList<>();

  /** Stands in for the VIP part: adds the address at once and confirms it. */
  static final class FakeVip implements ClusterListener {
    volatile ClusterService service;
    volatile boolean up;
    volatile VipDecision last;

    @Override
    public void vipDecision(VipDecision decision) {
      last = decision;
      up = decision.hold();
      if (decision.hold()) {
        service.addressUp(decision.id());
      }
    }
  }

  @BeforeEach
  void group() {
    group = Transports.best().newGroup(2, "cluster-test");
  }

  @AfterEach
  void close() throws InterruptedException {
    services.forEach(ClusterService::close);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  private static Map<String, InetSocketAddress> loopbackAddresses(int nodes) throws Exception {
    Map<String, InetSocketAddress> addresses = new LinkedHashMap<>();
    for (int i = 1; i <= nodes; i++) {
      InetAddress address = InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) i});
      try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress(address, 0))) {
        addresses.put("node" + i, new InetSocketAddress(address, probe.getLocalPort()));
      }
    }
    return addresses;
  }

  private ClusterConfig config(String self, Map<String, InetSocketAddress> addresses, byte[] key) {
    return config(self, addresses, key, Duration.ofMillis(500));
  }

  private ClusterConfig config(
      String self, Map<String, InetSocketAddress> addresses, byte[] key, Duration failureTimeout) {
    List<Settings.Node> nodes = new ArrayList<>();
    addresses.forEach((id, address) -> nodes.add(new Settings.Node(id, address.getAddress(), 100)));
    return new ClusterConfig(
        "loopback",
        self,
        nodes,
        nodes.size() / 2 + 1,
        false,
        Duration.ofSeconds(30),
        Duration.ofSeconds(3),
        Duration.ofMillis(100),
        failureTimeout,
        Duration.ofSeconds(10),
        KeyRing.of(key));
  }

  private FakeVip start(
      String id, Map<String, InetSocketAddress> addresses, byte[] key, SimpleMeterRegistry registry)
      throws InterruptedException {
    return start(id, addresses, key, registry, Duration.ofMillis(500));
  }

  /**
   * The flood tests use a failure timeout of 2 s: the test JVM runs Netty's paranoid leak detector,
   * which takes a stack trace for every datagram read, so on a busy machine a flood delays the loop
   * by more than 500 ms there, which says nothing of the daemon (bench/hostile/run.sh floods the
   * daemon itself with the default timeout).
   */
  private FakeVip start(
      String id,
      Map<String, InetSocketAddress> addresses,
      byte[] key,
      SimpleMeterRegistry registry,
      Duration failureTimeout)
      throws InterruptedException {
    FakeVip vip = new FakeVip();
    vip.service =
        ClusterService.start(
            config(id, addresses, key, failureTimeout),
            addresses,
            Transports.best(),
            group,
            registry,
            vip,
            Clock.system());
    services.add(vip.service);
    vip.service.setEligible(true);
    return vip;
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void oneNodeHoldsTheVipAndAnotherTakesItWhenItsTransportCloses() throws Exception {
    Map<String, InetSocketAddress> addresses = loopbackAddresses(3);
    List<FakeVip> vips = new ArrayList<>();
    List<SimpleMeterRegistry> registries = new ArrayList<>();
    for (String id : addresses.keySet()) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      registries.add(registry);
      vips.add(start(id, addresses, KEY, registry));
    }
    await("exactly one node holds the VIP", () -> vips.stream().filter(vip -> vip.up).count() == 1);
    Thread.sleep(500);
    assertThat(vips.stream().filter(vip -> vip.up).count()).as("still one holder").isEqualTo(1);
    int holder = vips.indexOf(vips.stream().filter(vip -> vip.up).findFirst().orElseThrow());
    String holderId = "node" + (holder + 1);
    await(
        "every node sees the holder",
        () ->
            vips.stream()
                .allMatch(vip -> vip.service.status().holder().equals(Optional.of(holderId))));
    ClusterStatus status = vips.get(holder).service.status();
    assertThat(status.quorumPresent()).isTrue();
    assertThat(status.peersAlive()).isEqualTo(2);
    assertThat(status.members())
        .allSatisfy(member -> assertThat(member.badMacDatagrams()).isZero());
    assertThat(registries.get(holder).get("apivip.cluster.quorum.present").gauge().value())
        .isEqualTo(1.0);
    assertThat(
            registries.get(holder).find("apivip.vip.transitions").counters().stream()
                .mapToDouble(c -> c.count())
                .sum())
        .isPositive();
    assertThat(registries.get(holder).get("apivip.cluster.datagrams.received").counter().count())
        .isPositive();
    String peer = holder == 0 ? "node2" : "node1";
    assertThat(
            registries
                .get(holder)
                .get("apivip.cluster.peer.last.heard.age")
                .tag("peer", peer)
                .gauge()
                .value())
        .isLessThan(0.5);

    vips.get(holder).service.close();
    services.remove(vips.get(holder).service);
    long closed = System.nanoTime();
    await(
        "another node takes the VIP",
        () -> vips.stream().filter(vip -> vip != vips.get(holder) && vip.up).count() == 1);
    long failoverMillis = (System.nanoTime() - closed) / 1_000_000;
    System.out.println(
        "loopback UDP failover after closing the holder's transport: " + failoverMillis + " ms");
    FakeVip successor =
        vips.stream().filter(vip -> vip != vips.get(holder) && vip.up).findFirst().orElseThrow();
    assertThat(successor.last.reason()).isEqualTo(Election.Reason.ELECTED);
    assertThat(successor.service.status().members())
        .filteredOn(member -> member.id().equals(holderId))
        .singleElement()
        .satisfies(
            member -> assertThat(member.liveness()).isEqualTo(ClusterStatus.Liveness.SUSPECTED));
  }

  @Test
  void aNodeWithTheWrongKeyIsCountedAgainstItsAddress() throws Exception {
    Map<String, InetSocketAddress> addresses = loopbackAddresses(3);
    FakeVip one = start("node1", addresses, KEY, new SimpleMeterRegistry());
    start("node2", addresses, KEY, new SimpleMeterRegistry());
    start(
        "node3",
        addresses,
        "another-key-of-at-least-32-bytes-for-the-loopback-cluster".getBytes(),
        new SimpleMeterRegistry());
    await("node1 counts node3's datagrams as bad MACs", () -> badMacs(one, "node3") >= 3);
    assertThat(badMacs(one, "node2")).isZero();
    assertThat(one.service.status().members())
        .filteredOn(member -> member.id().equals("node3"))
        .singleElement()
        .satisfies(
            member -> assertThat(member.liveness()).isEqualTo(ClusterStatus.Liveness.NEVER_HEARD));
  }

  /**
   * A flood at the holder's heartbeat port from an address that is no member's: every datagram is
   * dropped on arrival (counted as not_member, never authenticated), no peer is suspected and the
   * VIP stays where it is.
   */
  @Test
  void aFloodFromANonMemberIsDroppedUnreadAndChangesNothing() throws Exception {
    Map<String, InetSocketAddress> addresses = loopbackAddresses(3);
    List<SimpleMeterRegistry> registries = new ArrayList<>();
    List<FakeVip> vips = startForFlood(addresses, registries);
    int holder = settledHolder(vips);
    InetSocketAddress target = addresses.get("node" + (holder + 1));
    SimpleMeterRegistry registry = registries.get(holder);

    int sent = flood(InetAddress.getByAddress(new byte[] {127, 0, 0, 99}), target, 10_000);

    await("the flood counted as not_member", () -> dropped(registry, "not_member") >= sent / 2);
    assertThat(dropped(registry, "bad_mac")).as("never authenticated").isZero();
    assertThat(vips.get(holder).up)
        .as(
            "the holder keeps the VIP: "
                + vips.get(holder).last
                + " "
                + vips.get(holder).service.status())
        .isTrue();
    assertThat(vips.stream().filter(vip -> vip.up).count()).isEqualTo(1);
    assertThat(vips.get(holder).service.status().members())
        .filteredOn(member -> member.liveness() != ClusterStatus.Liveness.SELF)
        .allSatisfy(
            member -> assertThat(member.liveness()).isEqualTo(ClusterStatus.Liveness.ALIVE));
  }

  /**
   * A flood of forgeries that claim a member's address: each costs an HMAC and is counted against
   * that member, but the member's own heartbeats keep it alive, nobody is suspected and the VIP
   * stays.
   */
  @Test
  void forgedDatagramsFromAMembersAddressCauseNoSuspicion() throws Exception {
    Map<String, InetSocketAddress> addresses = loopbackAddresses(3);
    List<SimpleMeterRegistry> registries = new ArrayList<>();
    List<FakeVip> vips = startForFlood(addresses, registries);
    int holder = settledHolder(vips);
    int spoofed = (holder + 1) % 3;
    String spoofedId = "node" + (spoofed + 1);

    int sent =
        flood(addresses.get(spoofedId).getAddress(), addresses.get("node" + (holder + 1)), 10_000);

    await(
        "the forgeries counted against " + spoofedId,
        () -> badMacs(vips.get(holder), spoofedId) >= sent / 2);
    Thread.sleep(300);
    assertThat(vips.get(holder).up).as("the holder keeps the VIP").isTrue();
    assertThat(vips.stream().filter(vip -> vip.up).count()).isEqualTo(1);
    assertThat(vips.get(holder).service.status().members())
        .filteredOn(member -> member.id().equals(spoofedId))
        .singleElement()
        .satisfies(member -> assertThat(member.liveness()).isEqualTo(ClusterStatus.Liveness.ALIVE));
  }

  /**
   * Every node of {@code addresses}, with the flood tests' failure timeout and a registry of its
   * own, added to {@code registries} in the same order.
   */
  private List<FakeVip> startForFlood(
      Map<String, InetSocketAddress> addresses, List<SimpleMeterRegistry> registries)
      throws Exception {
    List<FakeVip> vips = new ArrayList<>();
    for (String id : addresses.keySet()) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      registries.add(registry);
      vips.add(start(id, addresses, KEY, registry, FLOOD_FAILURE_TIMEOUT));
    }
    return vips;
  }

  /**
   * The holder once every node sees it and every peer is alive everywhere: the start-up is over.
   */
  private static int settledHolder(List<FakeVip> vips) throws InterruptedException {
    await("exactly one node holds the VIP", () -> vips.stream().filter(vip -> vip.up).count() == 1);
    int holder = vips.indexOf(vips.stream().filter(vip -> vip.up).findFirst().orElseThrow());
    await(
        "every node sees the holder and every peer",
        () ->
            vips.stream()
                .allMatch(
                    vip ->
                        vip.service.status().holder().equals(Optional.of("node" + (holder + 1)))
                            && vip.service.status().peersAlive() == vips.size() - 1));
    Thread.sleep(300);
    return holder;
  }

  /**
   * Sends {@code count} datagrams that start like heartbeats but are signed with nothing, from
   * {@code source}; answers the count.
   */
  private static int flood(InetAddress source, InetSocketAddress target, int count)
      throws Exception {
    byte[] datagram = new byte[HeartbeatCodec.MIN_DATAGRAM + 40];
    System.arraycopy("AVIP".getBytes(), 0, datagram, 0, 4);
    datagram[4] = HeartbeatCodec.VERSION;
    try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(source, 0))) {
      java.net.DatagramPacket packet =
          new java.net.DatagramPacket(datagram, datagram.length, target);
      for (int i = 0; i < count; i++) {
        datagram[10] = (byte) i;
        socket.send(packet);
        if (i % 500 == 499) {
          // Bursts of 500 at 25,000 a second: the tests run with Netty's paranoid leak detection,
          // which costs every datagram read a stack trace; the bench floods at full speed.
          Thread.sleep(20);
        }
      }
    }
    return count;
  }

  private static double dropped(SimpleMeterRegistry registry, String reason) {
    return registry.get("apivip.cluster.datagrams.dropped").tag("reason", reason).counter().count();
  }

  private static long badMacs(FakeVip vip, String peer) {
    return vip.service.status().members().stream()
        .filter(member -> member.id().equals(peer))
        .mapToLong(ClusterStatus.Member::badMacDatagrams)
        .sum();
  }
}
