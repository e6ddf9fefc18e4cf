package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Listener;
import io.apivip.daemon.config.Settings.Policy;
import io.apivip.daemon.transport.Transports;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.ChannelException;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.EnumMap;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The proxy end to end on loopback: real sockets, stand-in apiservers on blocking sockets, the event
 * loops of the transport the daemon would pick. Every test also checks that no buffer leaked (Netty's
 * detector at PARANOID) and that no file descriptor stayed open.
 */
class TcpProxyTest {

  static final Duration SOON = Duration.ofSeconds(5);
  static final int PAYLOAD = 32 * 1024 * 1024;

  /** How the relay moves bytes: copied through the JVM (epoll), spliced by the kernel, over io_uring or NIO. */
  enum Relaying {
    COPY(Transports.Kind.EPOLL),
    SPLICE(Transports.Kind.EPOLL),
    IO_URING(Transports.Kind.IO_URING),
    NIO(Transports.Kind.NIO);

    final Transports.Kind transport;

    Relaying(Transports.Kind transport) {
      this.transport = transport;
    }
  }

  /** One event loop group per transport, for the whole class. */
  static final Map<Transports.Kind, EventLoopGroup> LOOPS = new EnumMap<>(Transports.Kind.class);
  static EventLoopGroup bestLoops;

  final FakeHealth health = new FakeHealth();
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final Deque<AutoCloseable> resources = new ArrayDeque<>();
  LeakWatch leaks;
  long descriptorsBefore;
  TcpProxy proxy;

  @BeforeAll
  static void eventLoops() {
    for (Transports.Kind kind : Transports.Kind.values()) {
      assertThat(kind.available()).as(kind.configName() + " transport available on this Linux machine").isTrue();
      LOOPS.put(kind, Transports.of(kind).newGroup(2, "proxy-test-" + kind.configName()));
    }
    bestLoops = LOOPS.get(Transports.best().kind());
  }

  @AfterAll
  static void stopEventLoops() {
    LOOPS.values().forEach(loops -> loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());
  }

  @BeforeEach
  void watch() throws IOException {
    leaks = new LeakWatch();
    descriptorsBefore = openDescriptors();
  }

  @AfterEach
  void noLeaks() throws Exception {
    try {
      if (proxy != null) {
        proxy.drain().get(SOON.toSeconds(), TimeUnit.SECONDS);
      }
      while (!resources.isEmpty()) {
        resources.pop().close();
      }
      assertThat(leaks.reports()).as("Netty leak reports").isEmpty();
      awaitTrue(() -> openDescriptors() <= descriptorsBefore, "file descriptors back to " + descriptorsBefore);
    } finally {
      leaks.close();
    }
  }

  // ---- listeners --------------------------------------------------------------------------

  @Test
  void bothDefaultListenersRelayAndTheNodeLocalOnePrefersTheLocalApiserver() throws Exception {
    TestBackend local = backend("n1", TestBackend.ECHO);
    TestBackend remote = backend("n2", TestBackend.ECHO);
    // The defaults: the VIP (least connections) and 127.0.0.1 (local first); 127.0.0.2 stands in for the VIP.
    Listener vip = vipListener();
    Listener nodeLocal = new Listener(new InetSocketAddress("127.0.0.1", 0), false, Policy.LOCAL_FIRST);
    start(settings(List.of(vip, nodeLocal)), "n1", local.backend(), remote.backend());

    assertThat(proxy.boundAddresses()).extracting(address -> address.getAddress().getHostAddress())
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
      assertThat(status.listeners()).extracting(ProxyStatus.ListenerStatus::onVip).containsExactly(true, false);
      assertThat(status.listeners()).extracting(ProxyStatus.ListenerStatus::policy)
          .containsExactly("least-connections", "local-first");
      assertThat(status.listeners().get(0).boundTo()).startsWith("127.0.0.2:");
      assertThat(activeByNode(status.listeners().get(0))).containsExactly(0, 1);
      assertThat(activeByNode(status.listeners().get(1))).containsExactly(1, 0);
    }
  }

  @Test
  void nodeLocalListenerFallsBackWhenTheLocalApiserverIsDownAndReturnsWhenItIsUp() throws Exception {
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
  void nodeLocalListenerFallsBackWhenTheLocalApiserverRefusesBeforeHealthNoticed() throws Exception {
    Backend deadLocal = TestBackend.refusing("n1");
    TestBackend remote = backend("n2", TestBackend.ECHO);
    start(settings(List.of(listener(Policy.LOCAL_FIRST))), "n1", deadLocal, remote.backend());

    exchangeOnce(1);
    assertThat(remote.accepted()).isEqualTo(1);
    assertThat(health.connectFailures).containsExactly(deadLocal);
  }

  @ParameterizedTest
  @EnumSource(value = Transports.Kind.class, names = {"EPOLL", "IO_URING"})
  void vipListenerBindsAnAddressNotYetOnAnyInterface(Transports.Kind kind) throws Exception {
    Transports transports = Transports.of(kind);
    InetAddress notLocal = addressOnNoInterface();
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    Listener plain = new Listener(new InetSocketAddress(notLocal, 0), false, Policy.LEAST_CONNECTIONS);
    TcpProxy withoutFreeBind = new TcpProxy(
        settings(List.of(plain)), List.of(apiserver.backend()), "n1", health, transports, LOOPS.get(kind), new SimpleMeterRegistry());
    assertThatThrownBy(withoutFreeBind::start).isInstanceOf(IOException.class).hasMessageContaining(notLocal.getHostAddress());
    withoutFreeBind.drain().get(SOON.toSeconds(), TimeUnit.SECONDS);

    // Only bound, never sent to: no traffic leaves loopback.
    Listener vip = new Listener(new InetSocketAddress(notLocal, 0), true, Policy.LEAST_CONNECTIONS);
    proxy = newProxy(settings(List.of(vip)), "n1", transports, LOOPS.get(kind), apiserver.backend());
    proxy.start();
    assertThat(proxy.boundAddresses().get(0).getAddress()).isEqualTo(notLocal);
    assertThat(proxy.status().listeners().get(0).boundTo()).startsWith(notLocal.getHostAddress() + ":");
  }

  /** One socket per event loop shares the port (SO_REUSEPORT), yet a second proxy must not join them. */
  @ParameterizedTest
  @EnumSource(value = Transports.Kind.class, names = {"EPOLL", "IO_URING", "NIO"})
  void aSecondProxyCannotListenWhereTheFirstDoes(Transports.Kind kind) throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    Transports transports = Transports.of(kind);
    proxy = newProxy(settings(List.of(listener(Policy.LEAST_CONNECTIONS))), "n1", transports, LOOPS.get(kind), apiserver.backend());
    proxy.start();
    InetSocketAddress taken = proxy.boundAddresses().get(0);

    Listener same = new Listener(taken, false, Policy.LEAST_CONNECTIONS);
    TcpProxy second = newProxy(settings(List.of(same)), "n1", transports, LOOPS.get(kind), apiserver.backend());
    assertThatThrownBy(second::start).isInstanceOf(IOException.class).hasMessageContaining("cannot listen on 127.0.0.1:" + taken.getPort());
    second.drain().get(SOON.toSeconds(), TimeUnit.SECONDS);

    exchangeOnce(4);
    assertThat(apiserver.accepted()).isEqualTo(4);
  }

  @Test
  void vipListenerFallsBackToTheWildcardWithoutFreeBind() {
    Listener vip4 = new Listener(new InetSocketAddress("192.0.2.100", 6443), true, Policy.LEAST_CONNECTIONS);
    Listener vip6 = new Listener(new InetSocketAddress("2001:db8::100", 6443), true, Policy.LEAST_CONNECTIONS);
    Listener plain = new Listener(new InetSocketAddress("127.0.0.1", 6443), false, Policy.LOCAL_FIRST);

    assertThat(TcpProxy.bindPlan(vip4, true)).isEqualTo(new TcpProxy.BindPlan(vip4.address(), true));
    assertThat(TcpProxy.bindPlan(vip4, false)).isEqualTo(new TcpProxy.BindPlan(new InetSocketAddress("0.0.0.0", 6443), false));
    assertThat(TcpProxy.bindPlan(vip6, false)).isEqualTo(new TcpProxy.BindPlan(new InetSocketAddress("::", 6443), false));
    assertThat(TcpProxy.bindPlan(plain, true)).isEqualTo(new TcpProxy.BindPlan(plain.address(), false));
    assertThat(TcpProxy.bindPlan(plain, false)).isEqualTo(new TcpProxy.BindPlan(plain.address(), false));
  }

  @Test
  void losingTheVipResetsItsConnectionsButNotTheNodeLocalOnes() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(settings(List.of(vipListener(), listener(Policy.LOCAL_FIRST))), "n1", apiserver.backend());

    try (Socket viaVip = connect(0); Socket viaLocal = connect(1)) {
      assertEcho(viaVip, "watch");
      assertEcho(viaLocal, "kubelet");
      proxy.vipLost();
      assertThatThrownBy(() -> viaVip.getInputStream().read()).as("the VIP client is reset").isInstanceOf(SocketException.class);
      assertEcho(viaLocal, "still served");
    }
  }

  @Test
  void losingTheVipDuringAPlannedHandoffLeavesItsConnectionsToEndGracefully() throws Exception {
    startEchoBehindTheVip();

    try (Socket inFlight = connect(0)) {
      assertEcho(inFlight, "request");
      proxy.quiesceVip(Duration.ofSeconds(5));
      proxy.vipLost();
      assertEcho(inFlight, "rest of the request");
    }
  }

  @Test
  void aPlannedHandoffLetsARequestInFlightFinishThenEndsItGracefully() throws Exception {
    startEchoBehindTheVip();

    try (Socket inFlight = connect(0)) {
      assertEcho(inFlight, "request");
      CompletableFuture<Void> movable = proxy.quiesceVip(Duration.ofMillis(300));
      assertThat(movable).as("the VIP may not move while a request is in flight").isNotDone();
      assertEcho(inFlight, "rest of the request");
      movable.get(SOON.toSeconds(), TimeUnit.SECONDS);
      // Told to end after the wait: the apiserver saw the end of the client's stream and ended its
      // own, which reaches the client as a clean end of stream, not a reset.
      assertThat(inFlight.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void aPlannedHandoffMayMoveTheVipAsSoonAsTheLastVipConnectionCloses() throws Exception {
    startEchoBehindTheVip();

    CompletableFuture<Void> movable;
    try (Socket inFlight = connect(0)) {
      assertEcho(inFlight, "request");
      movable = proxy.quiesceVip(Duration.ofMinutes(10));
    }
    movable.get(SOON.toSeconds(), TimeUnit.SECONDS);
  }

  // ---- relaying ---------------------------------------------------------------------------

  // Not SPLICE: Netty's splice reports the end of stream before it has moved the last bytes, and the
  // tail of a stream that ends while bytes are in flight is lost (why proxy.splice is off by default).
  @ParameterizedTest
  @EnumSource(value = Relaying.class, names = {"COPY", "IO_URING", "NIO"})
  void relaysLargeRandomPayloadsIntactBothWays(Relaying relaying) throws Exception {
    CompletableFuture<byte[]> receivedByApiserver = new CompletableFuture<>();
    TestBackend apiserver = backend("n1", socket -> {
      Thread sender = sendInBackground(socket, 2);
      receivedByApiserver.complete(digestUntilEnd(socket.getInputStream()));
      join(sender);
    });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      Thread sender = sendInBackground(client, 1);
      byte[] receivedByClient = digestUntilEnd(client.getInputStream());
      join(sender);
      assertThat(receivedByClient).as("what the client received").isEqualTo(digestOfPayload(2));
      assertThat(receivedByApiserver.get(SOON.toSeconds(), TimeUnit.SECONDS))
          .as("what the apiserver received").isEqualTo(digestOfPayload(1));
    }
    if (relaying != Relaying.SPLICE) {
      String tag = ProxyMetrics.tag(apiserver.backend());
      assertThat(registry.get(ProxyMetrics.BYTES).tags("backend", tag, "direction", "to-backend").counter().count())
          .isEqualTo(PAYLOAD);
      assertThat(registry.get(ProxyMetrics.BYTES).tags("backend", tag, "direction", "to-client").counter().count())
          .isEqualTo(PAYLOAD);
    }
    assertThat(registry.get(ProxyMetrics.CONNECT_TIME).timer().count()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void clientHalfCloseReachesTheApiserverWhichCanStillAnswer(Relaying relaying) throws Exception {
    TestBackend apiserver = backend("n1", socket -> {
      String request = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      socket.getOutputStream().write(("got " + request).getBytes(StandardCharsets.UTF_8));
    });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      client.getOutputStream().write("request".getBytes(StandardCharsets.UTF_8));
      client.shutdownOutput();
      assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("got request");
    }
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void relaysLargeRandomPayloadsIntactWhileTheStreamIsOpen(Relaying relaying) throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      Thread sender = sendInBackground(client, 4, false);
      byte[] echoed = digestOf(client.getInputStream(), PAYLOAD);
      join(sender);
      assertThat(echoed).isEqualTo(digestOfPayload(4));
    }
  }

  // Not SPLICE, for the reason given above.
  @ParameterizedTest
  @EnumSource(value = Relaying.class, names = {"COPY", "IO_URING", "NIO"})
  void aLargeAnswerReachesAClientThatHasEndedItsSide(Relaying relaying) throws Exception {
    TestBackend apiserver = backend("n1", socket -> {
      socket.getInputStream().readAllBytes();
      join(sendInBackground(socket, 3));
    });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      client.getOutputStream().write("LIST /api/v1/pods".getBytes(StandardCharsets.UTF_8));
      client.shutdownOutput();
      Thread.sleep(200); // let the proxy's buffers toward the client fill while nobody reads
      assertThat(digestUntilEnd(client.getInputStream())).isEqualTo(digestOfPayload(3));
    }
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void apiserverHalfCloseReachesTheClientWhichCanStillSend(Relaying relaying) throws Exception {
    CompletableFuture<String> heardAfterItsEnd = new CompletableFuture<>();
    TestBackend apiserver = backend("n1", socket -> {
      socket.getOutputStream().write("banner".getBytes(StandardCharsets.UTF_8));
      socket.shutdownOutput();
      heardAfterItsEnd.complete(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("banner");
      client.getOutputStream().write("still talking".getBytes(StandardCharsets.UTF_8));
      client.shutdownOutput();
      assertThat(heardAfterItsEnd.get(SOON.toSeconds(), TimeUnit.SECONDS)).isEqualTo("still talking");
    }
    awaitTrue(() -> proxy.status().clients() == 0, "the connection closed once both directions ended");
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void apiserverResetClosesTheClient(Relaying relaying) throws Exception {
    TestBackend apiserver = backend("n1", socket -> {
      socket.getInputStream().read();
      closeWithReset(socket);
    });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      client.getOutputStream().write('x');
      assertClosedAtOnce(client);
    }
    awaitBothSidesClosed();
  }

  /**
   * TCP keepalive on the proxy's sockets to client and apiserver, so that a peer gone without a word
   * (power loss, a dropped route) does not hold a watch open forever. The client's side inherits it
   * from the listening socket on the native transports; the kernel's TCP table tells.
   */
  @ParameterizedTest
  @EnumSource(value = Relaying.class, names = {"COPY", "IO_URING", "NIO"})
  void bothSidesOfARelayedConnectionKeepAlive(Relaying relaying) throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      assertEcho(client, "watch");
      int listenerPort = proxy.boundAddresses().get(0).getPort();
      int apiserverPort = apiserver.backend().address().getPort();
      awaitTrue(() -> tcpTimers(listenerPort, client.getLocalPort()).equals(List.of(KEEPALIVE_TIMER)), "keepalive towards the client");
      awaitTrue(() -> tcpTimers(0, apiserverPort).equals(List.of(KEEPALIVE_TIMER)), "keepalive towards the apiserver");
    }
  }

  /** The "tr" column of /proc/net/tcp for a socket whose keepalive timer is armed. */
  static final int KEEPALIVE_TIMER = 2;

  /**
   * The timer column of every established TCP socket of this network namespace from {@code localPort}
   * (any when 0) to {@code remotePort}, IPv4 and IPv6.
   */
  static List<Integer> tcpTimers(int localPort, int remotePort) {
    List<Integer> timers = new ArrayList<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      for (TcpRow row : tcpTable(table)) {
        if (row.state().equals(TcpRow.ESTABLISHED) && row.remotePort() == remotePort && (localPort == 0 || row.localPort() == localPort)) {
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
      rows.add(new TcpRow(
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
  @EnumSource(value = Relaying.class, names = {"COPY", "NIO"})
  void anIpv4ListenerListensOnIpv4Sockets(Relaying relaying) throws Exception {
    startRelaying(relaying, backend("n1", TestBackend.ECHO));

    int port = proxy.boundAddresses().get(0).getPort();
    Predicate<TcpRow> listening = row -> row.state().equals(TcpRow.LISTEN) && row.localPort() == port;
    assertThat(tcpTable("/proc/net/tcp").stream().filter(listening)).isNotEmpty();
    assertThat(tcpTable("/proc/net/tcp6").stream().filter(listening)).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void clientResetClosesTheApiserverConnection(Relaying relaying) throws Exception {
    CompletableFuture<Void> readStarted = new CompletableFuture<>();
    CompletableFuture<Void> apiserverSawTheEnd = new CompletableFuture<>();
    TestBackend apiserver = backend("n1", socket -> {
      InputStream in = socket.getInputStream();
      in.read();
      readStarted.complete(null);
      try {
        while (in.read() >= 0) {
          // keep reading until the proxy ends or resets the connection
        }
      } finally {
        apiserverSawTheEnd.complete(null);
      }
    });
    startRelaying(relaying, apiserver);

    Socket client = connect(0);
    client.getOutputStream().write('x');
    readStarted.get(SOON.toSeconds(), TimeUnit.SECONDS);
    closeWithReset(client);

    apiserverSawTheEnd.get(SOON.toSeconds(), TimeUnit.SECONDS);
    awaitTrue(() -> proxy.status().clients() == 0, "the proxy let go of the client");
  }

  /**
   * Both ends go away at once, each sending its end of stream and then a reset, as a TLS client and
   * server do when their close_notify alerts cross. The proxy reads both ends of stream in one go,
   * and shutting down the other side's output fails (the socket is no longer connected): it must
   * still close both sides. Found by the benchmark's TLS rows, where such connections stayed open
   * and kept their event loop busy on the sockets' errors.
   */
  @ParameterizedTest
  @EnumSource(Relaying.class)
  void bothEndsEndingAndResettingAtOnceCloseTheConnection(Relaying relaying) throws Exception {
    CompletableFuture<Void> endNow = new CompletableFuture<>();
    CompletableFuture<Void> apiserverEnded = new CompletableFuture<>();
    TestBackend apiserver = backend("n1", socket -> {
      try {
        socket.getInputStream().read();
        socket.getOutputStream().write('y');
        endNow.get(SOON.toSeconds(), TimeUnit.SECONDS);
        endThenReset(socket);
      } catch (InterruptedException | ExecutionException | TimeoutException e) {
        throw new IOException(e);
      } finally {
        apiserverEnded.complete(null);
      }
    });
    startRelaying(relaying, apiserver);

    Socket client = connect(0);
    client.getOutputStream().write('x');
    assertThat(client.getInputStream().read()).isEqualTo('y');
    try (Paused loops = pause(LOOPS.get(relaying.transport))) {
      endThenReset(client);
      endNow.complete(null);
      apiserverEnded.get(SOON.toSeconds(), TimeUnit.SECONDS);
    }
    awaitBothSidesClosed();
  }

  /**
   * A client that has ended its side and then resets, while the apiserver has nothing to send (a
   * quiet watch): Netty's epoll channels do not report a reset on a socket whose input has ended, and
   * the kernel's EPOLLERR|EPOLLHUP then woke the event loop without end until the apiserver wrote
   * again. The proxy must let go of both sides without waiting for that. Not over NIO, which cannot
   * ask a socket for its error: there the proxy learns of the reset at the next write, as before.
   */
  @ParameterizedTest
  @EnumSource(value = Relaying.class, names = {"COPY", "SPLICE", "IO_URING"})
  void aClientThatEndsItsSideAndThenResetsIsLetGoWhileTheApiserverIsQuiet(Relaying relaying) throws Exception {
    CompletableFuture<Void> endSeen = new CompletableFuture<>();
    TestBackend apiserver = backend("n1", socket -> {
      InputStream in = socket.getInputStream();
      while (in.read() >= 0) {
        // the request, up to the client's end of stream
      }
      endSeen.complete(null);
      try {
        Thread.sleep(SOON.toMillis() * 2); // quiet, with its side still open
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    startRelaying(relaying, apiserver);

    Socket client = connect(0);
    client.getOutputStream().write('x');
    client.shutdownOutput();
    endSeen.get(SOON.toSeconds(), TimeUnit.SECONDS);
    closeWithReset(client);

    awaitBothSidesClosed();
  }

  /** Waits until the proxy holds neither the client nor its connection to the one apiserver. */
  private void awaitBothSidesClosed() throws InterruptedException {
    awaitTrue(() -> proxy.status().clients() == 0, "the proxy let go of the client");
    awaitTrue(() -> activeByNode(proxy.status().listeners().get(0)).equals(List.of(0)), "no connection to the apiserver");
  }

  /** Sends the end of stream, then closes with a reset. */
  static void endThenReset(Socket socket) throws IOException {
    socket.shutdownOutput();
    closeWithReset(socket);
  }

  /** Closes with SO_LINGER 0: the peer sees a reset, not an end of stream. */
  static void closeWithReset(Socket socket) throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  interface Paused extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Holds every event loop of the group on a task until closed, so that what the sockets meanwhile
   * receive waits and is then handled in one go. A loop is held for at most twice {@link #SOON}.
   */
  static Paused pause(EventLoopGroup loops) throws InterruptedException {
    List<EventExecutor> executors = new ArrayList<>();
    loops.forEach(executors::add);
    CountDownLatch held = new CountDownLatch(executors.size());
    CountDownLatch released = new CountDownLatch(1);
    for (EventExecutor loop : executors) {
      loop.execute(() -> {
        held.countDown();
        try {
          released.await(SOON.toSeconds() * 2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }
    assertThat(held.await(SOON.toSeconds(), TimeUnit.SECONDS)).as("every event loop held").isTrue();
    return released::countDown;
  }

  // ---- backpressure ------------------------------------------------------------------------

  // A reader that stops reading must stop the writer on the other side, not fill the proxy's memory:
  // the writer gets out only what the sockets' kernel buffers hold plus a few of the proxy's buffers,
  // and once the reader reads again every byte arrives. Not SPLICE, for the reason given above.

  @ParameterizedTest
  @EnumSource(value = Relaying.class, names = {"COPY", "IO_URING", "NIO"})
  void aClientThatStopsReadingStopsTheApiserverInsteadOfFillingTheProxy(Relaying relaying) throws Exception {
    AtomicLong written = new AtomicLong();
    TestBackend apiserver = backend("n1", socket -> {
      socket.getInputStream().read();
      writeCounting(socket, 5, written);
    });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      client.getOutputStream().write('w');
      assertThat(awaitStalled(written)).as("bytes the apiserver wrote while the client read nothing")
          .isLessThanOrEqualTo(heldBySockets() + PROXY_MAY_HOLD);
      assertThat(digestUntilEnd(client.getInputStream())).isEqualTo(digestOfPayload(5, STREAM));
    }
  }

  @ParameterizedTest
  @EnumSource(value = Relaying.class, names = {"COPY", "IO_URING", "NIO"})
  void anApiserverThatStopsReadingStopsTheClientInsteadOfFillingTheProxy(Relaying relaying) throws Exception {
    CompletableFuture<Void> readAgain = new CompletableFuture<>();
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    TestBackend apiserver = backend("n1", socket -> {
      try {
        readAgain.get(SOON.toSeconds() * 4, TimeUnit.SECONDS);
        received.complete(digestUntilEnd(socket.getInputStream()));
      } catch (Exception e) {
        received.completeExceptionally(e);
      }
    });
    startRelaying(relaying, apiserver);

    AtomicLong written = new AtomicLong();
    try (Socket client = connect(0)) {
      Thread writer = new Thread(() -> {
        try {
          writeCounting(client, 6, written);
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }, "client-writer");
      writer.start();
      assertThat(awaitStalled(written)).as("bytes the client wrote while the apiserver read nothing")
          .isLessThanOrEqualTo(heldBySockets() + PROXY_MAY_HOLD);
      readAgain.complete(null);
      join(writer);
      assertThat(received.get(SOON.toSeconds() * 4, TimeUnit.SECONDS)).isEqualTo(digestOfPayload(6, STREAM));
    }
  }

  // ---- choosing and retrying ---------------------------------------------------------------

  @Test
  void retriesTheNextApiserverWhenTheFirstRefusesAndTheClientSeesSuccess() throws Exception {
    Backend dead = TestBackend.refusing("n1");
    TestBackend alive = backend("n2", TestBackend.ECHO);
    // Round robin starts at the first backend for the first connection: the dead one.
    start(settings(List.of(listener(Policy.ROUND_ROBIN))), "n1", dead, alive.backend());

    try (Socket client = connect(0)) {
      assertEcho(client, "get pods");
    }
    assertThat(health.connectFailures).containsExactly(dead);
    assertThat(connections(dead, "refused")).isEqualTo(1);
    assertThat(connections(alive.backend(), "ok")).isEqualTo(1);
  }

  @Test
  void closesTheClientAtOnceWhenNoApiserverIsUp() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    health.markDown(apiserver.backend());
    start(settings(List.of(listener(Policy.LEAST_CONNECTIONS))), "n1", apiserver.backend());

    try (Socket client = connect(0)) {
      assertClosedAtOnce(client);
    }
    assertThat(apiserver.accepted()).isZero();
    assertThat(registry.get(ProxyMetrics.CONNECTIONS).tags("backend", "none", "outcome", "no-backend").counter().count())
        .isEqualTo(1);
  }

  @Test
  void closesTheClientWhenEveryApiserverRefuses() throws Exception {
    Backend first = TestBackend.refusing("n1");
    Backend second = TestBackend.refusing("n2");
    start(settings(List.of(listener(Policy.LEAST_CONNECTIONS))), "n1", first, second);

    try (Socket client = connect(0)) {
      assertClosedAtOnce(client);
    }
    assertThat(health.connectFailures).containsExactlyInAnyOrder(first, second);
    assertThat(registry.get(ProxyMetrics.CONNECTIONS).tags("backend", "none", "outcome", "no-backend").counter().count())
        .isEqualTo(1);
  }

  /**
   * Out of descriptors, the node cannot make a socket to any apiserver: that is not the apiserver's
   * failure, and taking every apiserver down through health's passive signal would move the VIP too.
   */
  @Test
  void aSocketTheNodeCannotMakeClosesTheClientWithoutBlamingTheApiserver() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    TestBackend other = backend("n2", TestBackend.ECHO);
    proxy = newProxy(settings(List.of(listener(Policy.LEAST_CONNECTIONS))), "n1", Transports.best(), bestLoops, apiserver.backend(), other.backend());
    AtomicBoolean outOfDescriptors = new AtomicBoolean(true);
    proxy.useBackendSockets(address -> {
      if (outOfDescriptors.get()) {
        throw new ChannelException("Too many open files");
      }
      return Transports.best().newSocketChannel(address);
    });
    proxy.start();

    try (Socket client = connect(0)) {
      assertClosedAtOnce(client);
    }
    assertThat(health.connectFailures).isEmpty();
    assertThat(apiserver.accepted() + other.accepted()).isZero();
    assertThat(registry.get(ProxyMetrics.CONNECTIONS).tags("backend", "none", "outcome", "no-backend").counter().count())
        .isEqualTo(1);

    outOfDescriptors.set(false);
    exchangeOnce(2);
    assertThat(apiserver.accepted() + other.accepted()).isEqualTo(2);
  }

  @Test
  void closesConnectionsBeyondTheLimitAtOnceAndAcceptsAgainBelowIt() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(settings(List.of(listener(Policy.LEAST_CONNECTIONS)), 2, Duration.ZERO, false), "n1", apiserver.backend());

    try (Socket first = connect(0); Socket second = connect(0)) {
      assertEcho(first, "one");
      assertEcho(second, "two");
      try (Socket third = connect(0)) {
        assertClosedAtOnce(third);
      }
      assertThat(registry.get(ProxyMetrics.CONNECTIONS).tags("backend", "none", "outcome", "limit").counter().count())
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

      proxy.setMaintenance(Set.of("n1"));
      for (int i = 0; i < 3; i++) {
        Socket client = connect(0);
        resources.push(client);
        assertEcho(client, "list " + i);
      }
      assertThat(n1.accepted()).isEqualTo(1);
      assertThat(n2.accepted()).isEqualTo(3);
      assertEcho(open, "watch still streams");
      assertThat(proxy.status().listeners().get(0).backends())
          .extracting(ProxyStatus.BackendStatus::maintenance).containsExactly(true, false);
      assertThat(activeByNode(proxy.status().listeners().get(0))).containsExactly(1, 3);

      proxy.setMaintenance(Set.of());
      try (Socket client = connect(0)) {
        assertEcho(client, "back to the least loaded");
      }
      assertThat(n1.accepted()).isEqualTo(2);
    }
  }

  @Test
  void closesAConnectionIdleForTheConfiguredTimeoutButNotABusyOne() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    Settings.Proxy settings = new Settings.Proxy(
        List.of(listener(Policy.LEAST_CONNECTIONS)), Duration.ofSeconds(1), 3, 100, Duration.ofSeconds(1), Duration.ZERO, false);
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

  // ---- draining ----------------------------------------------------------------------------

  @Test
  void drainStopsAcceptingAndWaitsForOpenConnections() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(settings(List.of(listener(Policy.LEAST_CONNECTIONS)), 100, Duration.ofSeconds(30), false), "n1", apiserver.backend());
    InetSocketAddress address = proxy.boundAddresses().get(0);

    try (Socket open = connect(0)) {
      assertEcho(open, "before");
      CompletableFuture<Void> drained = proxy.drain();
      awaitTrue(() -> refuses(address), "the listener refuses new connections");
      assertEcho(open, "during the drain");
      assertThat(drained).isNotDone();
      assertThat(proxy.status().draining()).isTrue();
    }
    proxy.drain().get(SOON.toSeconds(), TimeUnit.SECONDS);
  }

  @Test
  void drainClosesWhatIsStillOpenAfterTheGrace() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(settings(List.of(listener(Policy.LEAST_CONNECTIONS)), 100, Duration.ofMillis(200), false), "n1", apiserver.backend());

    try (Socket open = connect(0)) {
      assertEcho(open, "long watch");
      proxy.drain().get(SOON.toSeconds(), TimeUnit.SECONDS);
      assertClosedAtOnce(open);
    }
  }

  @Test
  void leakWatchReportsALeakedBuffer() throws Exception {
    io.netty.buffer.ByteBuf leaked = io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer(64);
    leaked.writeLong(42);
    leaked = null;
    try (LeakWatch watch = new LeakWatch()) {
      assertThat(watch.reports()).isNotEmpty();
    }
    // This test's own leak is expected (its LEAK report shows in the build log); the check after it must not count it.
    leaks.close();
    leaks = new LeakWatch();
  }

  // ---- helpers -----------------------------------------------------------------------------

  static Listener listener(Policy policy) {
    return new Listener(new InetSocketAddress("127.0.0.1", 0), false, policy);
  }

  /** The VIP listener as configured by default (least connections), with 127.0.0.2 standing in for the VIP. */
  static Listener vipListener() {
    return new Listener(new InetSocketAddress("127.0.0.2", 0), true, Policy.LEAST_CONNECTIONS);
  }

  /** An echoing apiserver of node n1 behind the VIP listener alone. */
  void startEchoBehindTheVip() throws IOException {
    start(settings(List.of(vipListener())), "n1", backend("n1", TestBackend.ECHO).backend());
  }

  static Settings.Proxy settings(List<Listener> listeners) {
    return settings(listeners, 100, Duration.ZERO, false);
  }

  static Settings.Proxy settings(List<Listener> listeners, int maxConnections, Duration drainGrace, boolean splice) {
    return new Settings.Proxy(listeners, Duration.ofSeconds(1), 3, maxConnections, Duration.ZERO, drainGrace, splice);
  }

  TcpProxy newProxy(Settings.Proxy settings, String nodeId, Transports transports, EventLoopGroup loops, Backend... backends) {
    return new TcpProxy(settings, List.of(backends), nodeId, health, transports, loops, registry);
  }

  void start(Settings.Proxy settings, String nodeId, Backend... backends) throws IOException {
    proxy = newProxy(settings, nodeId, Transports.best(), bestLoops, backends);
    proxy.start();
  }

  void startRelaying(Relaying relaying, TestBackend apiserver) throws IOException {
    Settings.Proxy settings = settings(List.of(listener(Policy.LEAST_CONNECTIONS)), 100, Duration.ZERO, relaying == Relaying.SPLICE);
    proxy = newProxy(settings, "n1", Transports.of(relaying.transport), LOOPS.get(relaying.transport), apiserver.backend());
    proxy.start();
  }

  TestBackend backend(String nodeId, TestBackend.Session session) throws IOException {
    TestBackend backend = TestBackend.start(nodeId, session);
    resources.push(backend);
    return backend;
  }

  Socket connect(int listener) throws IOException {
    Socket socket = new Socket();
    socket.connect(proxy.boundAddresses().get(listener), 2000);
    socket.setSoTimeout((int) SOON.toMillis());
    return socket;
  }

  void exchangeOnce(int connections) throws IOException {
    for (int i = 0; i < connections; i++) {
      try (Socket client = connect(0)) {
        assertEcho(client, "request " + i);
      }
    }
  }

  double connections(Backend backend, String outcome) {
    return registry.get(ProxyMetrics.CONNECTIONS).tags("backend", ProxyMetrics.tag(backend), "outcome", outcome).counter().count();
  }

  static List<Integer> activeByNode(ProxyStatus.ListenerStatus listener) {
    return listener.backends().stream().map(ProxyStatus.BackendStatus::active).toList();
  }

  static void assertEcho(Socket socket, String text) throws IOException {
    byte[] sent = text.getBytes(StandardCharsets.UTF_8);
    socket.getOutputStream().write(sent);
    byte[] echoed = socket.getInputStream().readNBytes(sent.length);
    assertThat(new String(echoed, StandardCharsets.UTF_8)).isEqualTo(text);
  }

  /** The proxy ended the connection (end of stream or reset) without waiting for any timeout. */
  static void assertClosedAtOnce(Socket socket) throws IOException {
    socket.setSoTimeout(2000);
    try {
      assertThat(socket.getInputStream().read()).isEqualTo(-1);
    } catch (SocketTimeoutException e) {
      fail("the proxy kept the connection open");
    } catch (SocketException reset) {
      // a reset ends it too
    }
  }

  static boolean refuses(InetSocketAddress address) {
    try (Socket socket = new Socket()) {
      socket.connect(address, 1000);
      return false;
    } catch (ConnectException refused) {
      return true;
    } catch (IOException other) {
      return false;
    }
  }

  /** Bytes of the stream the backpressure tests send: well above what every socket buffer holds. */
  static final int STREAM = 160 * 1024 * 1024;
  /** What the proxy may hold of one direction on top of its sockets' buffers: a few read buffers. */
  static final long PROXY_MAY_HOLD = 4 * 1024 * 1024;

  /**
   * At most what the kernel holds between a writer and a reader through the proxy: two sending and
   * two receiving sockets on the way, each grown at most to the largest buffer the kernel allows.
   */
  static long heldBySockets() throws IOException {
    return 2 * (largestBuffer("tcp_rmem") + largestBuffer("tcp_wmem"));
  }

  /** The third of the kernel's "min default max" (readString would stop early: procfs reports size 0). */
  static long largestBuffer(String sysctl) throws IOException {
    return Long.parseLong(Files.readAllLines(Path.of("/proc/sys/net/ipv4", sysctl)).get(0).trim().split("\\s+")[2]);
  }

  /** Writes the STREAM bytes of a seed, counting what the socket took, then ends its side. */
  static void writeCounting(Socket socket, long seed, AtomicLong written) throws IOException {
    OutputStream out = socket.getOutputStream();
    forEachPayloadChunk(seed, STREAM, (chunk, offset, length) -> {
      out.write(chunk, offset, length);
      written.addAndGet(length);
    });
    socket.shutdownOutput();
  }

  /** Waits until the count has not moved for half a second and returns it; fails when it never stops. */
  static long awaitStalled(AtomicLong count) throws InterruptedException {
    long deadline = System.nanoTime() + SOON.toNanos() * 4;
    long last = -1;
    while (System.nanoTime() < deadline) {
      long now = count.get();
      if (now == last && now > 0) {
        return now;
      }
      last = now;
      Thread.sleep(500);
    }
    return fail("the writer never stopped: it wrote " + count.get() + " bytes nobody read");
  }

  /** Sends PAYLOAD seeded random bytes, then ends its side of the stream. */
  static Thread sendInBackground(Socket socket, long seed) {
    return sendInBackground(socket, seed, true);
  }

  static Thread sendInBackground(Socket socket, long seed, boolean thenEnd) {
    Thread sender = new Thread(() -> {
      try {
        OutputStream out = socket.getOutputStream();
        forEachPayloadChunk(seed, out::write);
        if (thenEnd) {
          socket.shutdownOutput();
        }
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }, "sender-" + seed);
    sender.start();
    return sender;
  }

  static byte[] digestOfPayload(long seed) throws NoSuchAlgorithmException, IOException {
    return digestOfPayload(seed, PAYLOAD);
  }

  static byte[] digestOfPayload(long seed, int length) throws NoSuchAlgorithmException, IOException {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    forEachPayloadChunk(seed, length, sha::update);
    return sha.digest();
  }

  interface ChunkSink {
    void accept(byte[] chunk, int offset, int length) throws IOException;
  }

  static void forEachPayloadChunk(long seed, ChunkSink sink) throws IOException {
    forEachPayloadChunk(seed, PAYLOAD, sink);
  }

  /** The first bytes of a seed's stream, in chunks of an odd size so they straddle the proxy's buffers. */
  static void forEachPayloadChunk(long seed, int length, ChunkSink sink) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] chunk = new byte[48 * 1024 + 7];
    for (int done = 0; done < length; ) {
      int n = Math.min(chunk.length, length - done);
      for (int i = 0; i < n; i++) {
        chunk[i] = (byte) random.nextInt();
      }
      sink.accept(chunk, 0, n);
      done += n;
    }
  }

  static byte[] digestOf(InputStream in, int length) throws IOException {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[64 * 1024];
      for (int read = 0, n; read < length; read += n) {
        n = in.read(buffer, 0, Math.min(buffer.length, length - read));
        if (n < 0) {
          fail("the stream ended after " + read + " of " + length + " bytes");
        }
        sha.update(buffer, 0, n);
      }
      return sha.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] digestUntilEnd(InputStream in) throws IOException {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[64 * 1024];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        sha.update(buffer, 0, n);
      }
      return sha.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static void join(Thread thread) {
    try {
      thread.join(SOON.toMillis() * 4);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    assertThat(thread.isAlive()).as(thread.getName() + " finished").isFalse();
  }

  static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + SOON.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out waiting for: " + what);
      }
      Thread.sleep(10);
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

  static long openDescriptors() {
    try (Stream<Path> descriptors = Files.list(Path.of("/proc/self/fd"))) {
      return descriptors.count();
    } catch (IOException e) {
      return 0;
    }
  }
}
