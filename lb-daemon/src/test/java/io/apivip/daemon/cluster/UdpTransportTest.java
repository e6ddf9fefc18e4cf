package io.apivip.daemon.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.daemon.transport.Transports;
import io.netty.channel.EventLoopGroup;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link UdpTransport} on loopback: each peer's datagrams queue in a receive buffer of their own,
 * so a flood from one peer's address does not push another peer's out while the owner thread is
 * busy.
 */
class UdpTransportTest {

  /** Far more than any receive buffer here holds (a small datagram costs about a KiB of it). */
  private static final int FLOOD = 20_000;

  private static final int HEARTBEATS = 10;

  private final InetAddress self = address("127.0.0.1");
  private final Map<InetAddress, AtomicInteger> received = new ConcurrentHashMap<>();
  private EventLoopGroup group;
  private UdpTransport transport;

  @AfterEach
  void close() throws InterruptedException {
    if (transport != null) {
      transport.close();
    }
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  @Test
  void aFloodFromOnePeersAddressLeavesTheOtherPeersHeartbeatsIn() throws Exception {
    Transports transports = Transports.best();
    assertThat(transports.reusePort()).as("the native transport on Linux").isPresent();
    assertThat(heartbeatsThatArriveAfterAFlood(transports)).isEqualTo(HEARTBEATS);
  }

  /** The same with one receive buffer for all (NIO, without SO_REUSEPORT): the flood wins. */
  @Test
  void withOneReceiveBufferTheFloodPushesThemOut() throws Exception {
    assertThat(heartbeatsThatArriveAfterAFlood(Transports.nio())).isLessThan(HEARTBEATS);
  }

  @Test
  void aReloadOpensNewPeersSocketsAndClosesFormerOnes() throws Exception {
    try (DatagramSocket n2 = socket("127.0.0.2");
        DatagramSocket n3 = socket("127.0.0.3");
        DatagramSocket n4 = socket("127.0.0.4")) {
      start(Transports.best(), Map.of("n2", at(n2), "n3", at(n3)));
      assertThat(onLoop(transport::peerSocketsOpen)).isEqualTo(2);

      transport.eventLoop().submit(() -> transport.setPeers(Map.of("n4", at(n4)))).sync();
      await(() -> onLoop(transport::peerSocketsOpen) == 1);
      send(n4, 1);
      await(() -> count(n4) == 1);
      send(n2, 1);
      Thread.sleep(200);
      assertThat(count(n2)).as("n2 is no longer a peer: dropped as from a non-member").isZero();
    }
  }

  @Test
  void peersGetSocketsOfTheirOwnOnlyOnKernelsThatSortAGroupsDatagramsByConnection() {
    assertThat(UdpTransport.sortsByConnection("6.1.0-27-amd64")).isTrue();
    assertThat(UdpTransport.sortsByConnection("5.15.0-91-generic")).isTrue();
    assertThat(UdpTransport.sortsByConnection("5.4.0-150-generic")).isTrue();
    assertThat(UdpTransport.sortsByConnection("5.3.18")).isFalse();
    assertThat(UdpTransport.sortsByConnection("4.15.0-213-generic")).isFalse();
    assertThat(UdpTransport.sortsByConnection("")).isFalse();
    assertThat(UdpTransport.sortsByConnection(null)).isFalse();
  }

  /** SO_REUSEPORT lets the peers' sockets share the port, not a second daemon. */
  @Test
  void aSecondTransportOnTheSamePortIsRefused() throws Exception {
    try (DatagramSocket n2 = socket("127.0.0.2")) {
      start(Transports.best(), Map.of("n2", at(n2)));
      assertThatThrownBy(
              () ->
                  UdpTransport.bind(
                      group,
                      Transports.best(),
                      transport.localAddress(),
                      Map.of("n2", at(n2)),
                      (datagram, from) -> {},
                      () -> {}))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("cannot bind the heartbeat socket to")
          .hasMessageContaining("Address already in use");
    }
  }

  /**
   * Blocks the owner thread, floods from n2's address and port (as a forger on the LAN would), then
   * sends n3's heartbeats and lets the owner thread go: how many of n3's it receives.
   */
  private int heartbeatsThatArriveAfterAFlood(Transports transports) throws Exception {
    try (DatagramSocket n2 = socket("127.0.0.2");
        DatagramSocket n3 = socket("127.0.0.3")) {
      start(transports, Map.of("n2", at(n2), "n3", at(n3)));
      CountDownLatch busy = new CountDownLatch(1);
      transport.eventLoop().execute(() -> awaitQuietly(busy));
      send(n2, FLOOD);
      send(n3, HEARTBEATS);
      busy.countDown();
      await(() -> count(n2) > 0);
      Thread.sleep(300); // what is queued is read by now
      return count(n3);
    }
  }

  private void start(Transports transports, Map<String, InetSocketAddress> peers)
      throws InterruptedException {
    group = transports.newGroup(1, "udp-transport-test");
    transport =
        UdpTransport.bind(
            group,
            transports,
            new InetSocketAddress(self, 0),
            peers,
            (datagram, from) ->
                received.computeIfAbsent(from, any -> new AtomicInteger()).incrementAndGet(),
            () -> {});
  }

  private void send(DatagramSocket from, int count) throws Exception {
    byte[] datagram = new byte[100];
    DatagramPacket packet = new DatagramPacket(datagram, datagram.length, transport.localAddress());
    for (int i = 0; i < count; i++) {
      from.send(packet);
    }
  }

  private int count(DatagramSocket from) {
    AtomicInteger count = received.get(from.getLocalAddress());
    return count == null ? 0 : count.get();
  }

  private <T> T onLoop(java.util.concurrent.Callable<T> task) throws Exception {
    return transport.eventLoop().submit(task).get(5, TimeUnit.SECONDS);
  }

  private static DatagramSocket socket(String address) throws Exception {
    return new DatagramSocket(new InetSocketAddress(address(address), 0));
  }

  private static InetSocketAddress at(DatagramSocket socket) {
    return (InetSocketAddress) socket.getLocalSocketAddress();
  }

  private static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private interface Condition {
    boolean holds() throws Exception;
  }

  private static void await(Condition condition) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.holds()) {
      assertThat(System.nanoTime()).as("waited 5 s").isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
