package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Listener;
import io.apivip.daemon.config.Settings.Policy;
import io.apivip.daemon.transport.Transports;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Listeners} and {@link Admission}: where the proxy listens and with which sockets, which
 * apiserver a listener prefers, and which connections it serves (the limit, maintenance, the idle
 * timeout).
 */
class ListenersTest extends ProxyFixture {

  @Test
  void bothDefaultListenersRelayAndTheNodeLocalOnePrefersTheLocalApiserver() throws Exception {
    TestBackend local = backend("n1", TestBackend.ECHO);
    TestBackend remote = backend("n2", TestBackend.ECHO);
    // The defaults: the VIP (least connections) and 127.0.0.1 (local first); 127.0.0.2 stands in
    // for the VIP.
    Listener vip = vipListener();
    Listener nodeLocal =
        new Listener(new InetSocketAddress("127.0.0.1", 0), false, Policy.LOCAL_FIRST);
    start(settings(List.of(vip, nodeLocal)), "n1", local.backend(), remote.backend());

    assertThat(proxy.boundAddresses())
        .extracting(address -> address.getAddress().getHostAddress())
        .containsExactly("127.0.0.2", "127.0.0.1");
    try (Socket viaLocal = connect(1)) {
      assertEcho(viaLocal, "kubelet");
      Socket viaVip = connect(0);
      resources.push(viaVip);
      assertEcho(viaVip, "kubectl");
      assertThat(local.accepted()).isEqualTo(1);
      // n1 already carries one connection, so least connections sends the VIP client to n2.
      assertThat(remote.accepted()).isEqualTo(1);

      ProxyStatus status = proxy.status();
      assertThat(status.clients()).isEqualTo(2);
      assertThat(status.listeners())
          .extracting(ProxyStatus.ListenerStatus::onVip)
          .containsExactly(true, false);
      assertThat(status.listeners())
          .extracting(ProxyStatus.ListenerStatus::policy)
          .containsExactly("least-connections", "local-first");
      assertThat(status.listeners().get(0).boundTo()).startsWith("127.0.0.2:");
      assertThat(activeByNode(status.listeners().get(0))).containsExactly(0, 1);
      assertThat(activeByNode(status.listeners().get(1))).containsExactly(1, 0);
    }
  }

  @Test
  void nodeLocalListenerFallsBackWhenTheLocalApiserverIsDownAndReturnsWhenItIsUp()
      throws Exception {
    TestBackend local = backend("n1", TestBackend.ECHO);
    TestBackend remote = backend("n2", TestBackend.ECHO);
    start(settings(List.of(listener(Policy.LOCAL_FIRST))), "n1", remote.backend(), local.backend());

    exchangeOnce(3);
    assertThat(local.accepted()).isEqualTo(3);
    assertThat(remote.accepted()).isZero();

    health.markDown(local.backend());
    exchangeOnce(2);
    assertThat(remote.accepted()).isEqualTo(2);

    health.markUp(local.backend());
    exchangeOnce(1);
    assertThat(local.accepted()).isEqualTo(4);
  }

  @Test
  void nodeLocalListenerFallsBackWhenTheLocalApiserverRefusesBeforeHealthNoticed()
      throws Exception {
    Backend deadLocal = TestBackend.refusing("n1");
    TestBackend remote = backend("n2", TestBackend.ECHO);
    start(settings(List.of(listener(Policy.LOCAL_FIRST))), "n1", deadLocal, remote.backend());

    exchangeOnce(1);
    assertThat(remote.accepted()).isEqualTo(1);
    assertThat(health.connectFailures).containsExactly(deadLocal);
  }

  @ParameterizedTest
  @EnumSource(
      value = Transports.Kind.class,
      names = {"EPOLL", "IO_URING"})
  void vipListenerBindsAnAddressNotYetOnAnyInterface(Transports.Kind kind) throws Exception {
    Transports transports = Transports.of(kind);
    InetAddress notLocal = addressOnNoInterface();
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    Listener plain =
        new Listener(new InetSocketAddress(notLocal, 0), false, Policy.LEAST_CONNECTIONS);
    TcpProxy withoutFreeBind =
        new TcpProxy(
            settings(List.of(plain)),
            List.of(apiserver.backend()),
            "n1",
            routing,
            transports,
            LOOPS.get(kind),
            new SimpleMeterRegistry());
    assertThatThrownBy(withoutFreeBind::start)
        .isInstanceOf(IOException.class)
        .hasMessageContaining(notLocal.getHostAddress());
    withoutFreeBind.closeGracefully().get(SOON.toSeconds(), TimeUnit.SECONDS);

    // Only bound, never sent to: no traffic leaves loopback.
    Listener vip = new Listener(new InetSocketAddress(notLocal, 0), true, Policy.LEAST_CONNECTIONS);
    proxy =
        newProxy(settings(List.of(vip)), "n1", transports, LOOPS.get(kind), apiserver.backend());
    proxy.start();
    assertThat(proxy.boundAddresses().get(0).getAddress()).isEqualTo(notLocal);
    assertThat(proxy.status().listeners().get(0).boundTo())
        .startsWith(notLocal.getHostAddress() + ":");
  }

  /**
   * One socket per event loop shares the port (SO_REUSEPORT), yet a second proxy must not join
   * them.
   */
  @ParameterizedTest
  @EnumSource(
      value = Transports.Kind.class,
      names = {"EPOLL", "IO_URING", "NIO"})
  void aSecondProxyCannotListenWhereTheFirstDoes(Transports.Kind kind) throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    Transports transports = Transports.of(kind);
    proxy =
        newProxy(
            settings(List.of(listener(Policy.LEAST_CONNECTIONS))),
            "n1",
            transports,
            LOOPS.get(kind),
            apiserver.backend());
    proxy.start();
    InetSocketAddress taken = proxy.boundAddresses().get(0);

    Listener same = new Listener(taken, false, Policy.LEAST_CONNECTIONS);
    TcpProxy second =
        newProxy(settings(List.of(same)), "n1", transports, LOOPS.get(kind), apiserver.backend());
    assertThatThrownBy(second::start)
        .isInstanceOf(IOException.class)
        .hasMessageContaining("cannot listen on 127.0.0.1:" + taken.getPort());
    second.closeGracefully().get(SOON.toSeconds(), TimeUnit.SECONDS);

    exchangeOnce(4);
    assertThat(apiserver.accepted()).isEqualTo(4);
  }

  @Test
  void vipListenerFallsBackToTheWildcardWithoutFreeBind() {
    Listener vip4 =
        new Listener(new InetSocketAddress("192.0.2.100", 6443), true, Policy.LEAST_CONNECTIONS);
    Listener vip6 =
        new Listener(new InetSocketAddress("2001:db8::100", 6443), true, Policy.LEAST_CONNECTIONS);
    Listener plain =
        new Listener(new InetSocketAddress("127.0.0.1", 6443), false, Policy.LOCAL_FIRST);

    assertThat(Listeners.bindPlan(vip4, true))
        .isEqualTo(new Listeners.BindPlan(vip4.address(), true));
    assertThat(Listeners.bindPlan(vip4, false))
        .isEqualTo(new Listeners.BindPlan(new InetSocketAddress("0.0.0.0", 6443), false));
    assertThat(Listeners.bindPlan(vip6, false))
        .isEqualTo(new Listeners.BindPlan(new InetSocketAddress("::", 6443), false));
    assertThat(Listeners.bindPlan(plain, true))
        .isEqualTo(new Listeners.BindPlan(plain.address(), false));
    assertThat(Listeners.bindPlan(plain, false))
        .isEqualTo(new Listeners.BindPlan(plain.address(), false));
  }

  /**
   * TCP keepalive on the proxy's sockets to client and apiserver, so that a peer gone without a
   * word (power loss, a dropped route) does not hold a watch open forever. The client's side
   * inherits it from the listening socket on the native transports; the kernel's TCP table tells.
   */
  @ParameterizedTest
  @EnumSource(Relaying.class)
  void bothSidesOfARelayedConnectionKeepAlive(Relaying relaying) throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      assertEcho(client, "watch");
      int listenerPort = proxy.boundAddresses().get(0).getPort();
      int apiserverPort = apiserver.backend().address().getPort();
      awaitTrue(
          () -> tcpTimers(listenerPort, client.getLocalPort()).equals(List.of(KEEPALIVE_TIMER)),
          "keepalive towards the client");
      awaitTrue(
          () -> tcpTimers(0, apiserverPort).equals(List.of(KEEPALIVE_TIMER)),
          "keepalive towards the apiserver");
    }
  }

  /** The "tr" column of /proc/net/tcp for a socket whose keepalive timer is armed. */
  static final int KEEPALIVE_TIMER = 2;

  /**
   * The timer column of every established TCP socket of this network namespace from {@code
   * localPort} (any when 0) to {@code remotePort}, IPv4 and IPv6.
   */
  static List<Integer> tcpTimers(int localPort, int remotePort) {
    List<Integer> timers = new ArrayList<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      for (TcpRow row : tcpTable(table)) {
        if (row.state().equals(TcpRow.ESTABLISHED)
            && row.remotePort() == remotePort
            && (localPort == 0 || row.localPort() == localPort)) {
          timers.add(row.timer());
        }
      }
    }
    return timers;
  }

  /** A socket in one of the kernel's TCP tables. */
  record TcpRow(int localPort, int remotePort, String state, int timer) {
    static final String ESTABLISHED = "01";
    static final String LISTEN = "0A";
  }

  /** The sockets of /proc/net/tcp (IPv4) or /proc/net/tcp6 (IPv6) of this network namespace. */
  static List<TcpRow> tcpTable(String table) {
    List<String> lines;
    try {
      lines = Files.readAllLines(Path.of(table));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<TcpRow> rows = new ArrayList<>();
    for (String line : lines.subList(1, lines.size())) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when ...
      String[] fields = line.trim().split("\\s+");
      rows.add(
          new TcpRow(
              Integer.parseInt(fields[1].substring(fields[1].indexOf(':') + 1), 16),
              Integer.parseInt(fields[2].substring(fields[2].indexOf(':') + 1), 16),
              fields[3],
              Integer.parseInt(fields[5].substring(0, fields[5].indexOf(':')), 16)));
    }
    return rows;
  }

  /**
   * A listener on an IPv4 address listens with IPv4 sockets: Netty's default, a dual-stack IPv6
   * socket, takes every connection through the kernel's IPv6 code (about 5% more CPU per proxied
   * connection). io_uring's channel offers no choice of family.
   */
  @ParameterizedTest
  @EnumSource(
      value = Relaying.class,
      names = {"COPY", "NIO"})
  void anIpv4ListenerListensOnIpv4Sockets(Relaying relaying) throws Exception {
    startRelaying(relaying, backend("n1", TestBackend.ECHO));

    int port = proxy.boundAddresses().get(0).getPort();
    Predicate<TcpRow> listening =
        row -> row.state().equals(TcpRow.LISTEN) && row.localPort() == port;
    assertThat(tcpTable("/proc/net/tcp").stream().filter(listening)).isNotEmpty();
    assertThat(tcpTable("/proc/net/tcp6").stream().filter(listening)).isEmpty();
  }

  @Test
  void closesConnectionsBeyondTheLimitAtOnceAndAcceptsAgainBelowIt() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(
        settings(List.of(listener(Policy.LEAST_CONNECTIONS)), 2, Duration.ZERO),
        "n1",
        apiserver.backend());

    try (Socket first = connect(0);
        Socket second = connect(0)) {
      assertEcho(first, "one");
      assertEcho(second, "two");
      try (Socket third = connect(0)) {
        assertClosedAtOnce(third);
      }
      assertThat(
              registry
                  .get(ProxyMetrics.CONNECTIONS)
                  .tags("backend", "none", "outcome", "limit")
                  .counter()
                  .count())
          .isEqualTo(1);
      assertEcho(first, "one still works");
    }
    awaitTrue(() -> proxy.status().clients() == 0, "both clients closed");
    try (Socket again = connect(0)) {
      assertEcho(again, "room again");
    }
  }

  @Test
  void maintenanceStopsNewConnectionsButKeepsOpenOnes() throws Exception {
    TestBackend n1 = backend("n1", TestBackend.ECHO);
    TestBackend n2 = backend("n2", TestBackend.ECHO);
    start(settings(List.of(listener(Policy.LEAST_CONNECTIONS))), "n1", n1.backend(), n2.backend());

    try (Socket open = connect(0)) {
      assertEcho(open, "watch");
      assertThat(n1.accepted()).isEqualTo(1);

      routing.setMaintenance(Set.of("n1"));
      for (int i = 0; i < 3; i++) {
        Socket client = connect(0);
        resources.push(client);
        assertEcho(client, "list " + i);
      }
      assertThat(n1.accepted()).isEqualTo(1);
      assertThat(n2.accepted()).isEqualTo(3);
      assertEcho(open, "watch still streams");
      assertThat(proxy.status().listeners().get(0).backends())
          .extracting(ProxyStatus.Connections::maintenance)
          .containsExactly(true, false);
      assertThat(activeByNode(proxy.status().listeners().get(0))).containsExactly(1, 3);

      routing.setMaintenance(Set.of());
      try (Socket client = connect(0)) {
        assertEcho(client, "back to the least loaded");
      }
      assertThat(n1.accepted()).isEqualTo(2);
    }
  }

  @Test
  void closesAConnectionIdleForTheConfiguredTimeoutButNotABusyOne() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    Settings.Proxy settings =
        new Settings.Proxy(
            List.of(listener(Policy.LEAST_CONNECTIONS)),
            Duration.ofSeconds(1),
            3,
            100,
            Duration.ofSeconds(1),
            Duration.ZERO,
            Settings.Limits.none());
    start(settings, "n1", apiserver.backend());

    try (Socket client = connect(0)) {
      // Busy for longer than the timeout, with gaps far below it.
      for (int i = 0; i < 15; i++) {
        assertEcho(client, "busy " + i);
        Thread.sleep(100);
      }
      client.setSoTimeout((int) SOON.toMillis());
      assertThat(client.getInputStream().read()).as("closed once idle").isEqualTo(-1);
    }
  }

  /** An address of the documentation range that no interface of this namespace carries. */
  static InetAddress addressOnNoInterface() throws IOException {
    for (int host = 1; host < 255; host++) {
      InetAddress candidate = InetAddress.getByName("192.0.2." + host);
      if (NetworkInterface.getByInetAddress(candidate) == null) {
        return candidate;
      }
    }
    throw new IllegalStateException("every address of 192.0.2.0/24 is on an interface here");
  }
}
