package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Listener;
import io.apivip.daemon.config.Settings.Policy;
import io.apivip.daemon.transport.Transports;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the proxy's tests share: the proxy end to end on loopback, with real sockets, stand-in
 * apiservers on blocking sockets, the event loops of the transport the daemon would pick. Every
 * test also checks that no buffer leaked (Netty's detector at PARANOID) and that no file descriptor
 * stayed open.
 */
abstract class ProxyFixture {

  static final Duration SOON = Duration.ofSeconds(5);

  /** The transport the relay runs on: epoll, io_uring or NIO. */
  enum Relaying {
    COPY(Transports.Kind.EPOLL),
    IO_URING(Transports.Kind.IO_URING),
    NIO(Transports.Kind.NIO);

    final Transports.Kind transport;

    Relaying(Transports.Kind transport) {
      this.transport = transport;
    }
  }

  /** One event loop group per transport, for each test class. */
  static final Map<Transports.Kind, EventLoopGroup> LOOPS = new EnumMap<>(Transports.Kind.class);

  static EventLoopGroup bestLoops;

  final FakeHealth health = new FakeHealth();
  final Routing routing = new Routing(health);
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final Deque<AutoCloseable> resources = new ArrayDeque<>();
  LeakWatch leaks;
  long descriptorsBefore;
  TcpProxy proxy;

  @BeforeAll
  static void eventLoops() {
    for (Transports.Kind kind : Transports.Kind.values()) {
      assertThat(kind.available())
          .as(kind.configName() + " transport available on this Linux machine")
          .isTrue();
      LOOPS.put(kind, Transports.of(kind).newGroup(2, "proxy-test-" + kind.configName()));
    }
    bestLoops = LOOPS.get(Transports.best().kind());
  }

  @AfterAll
  static void stopEventLoops() {
    LOOPS
        .values()
        .forEach(loops -> loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());
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
        proxy.closeGracefully().get(SOON.toSeconds(), TimeUnit.SECONDS);
      }
      while (!resources.isEmpty()) {
        resources.pop().close();
      }
      assertThat(leaks.reports()).as("Netty leak reports").isEmpty();
      awaitTrue(
          () -> openDescriptors() <= descriptorsBefore,
          "file descriptors back to " + descriptorsBefore);
    } finally {
      leaks.close();
    }
  }

  static Listener listener(Policy policy) {
    return new Listener(new InetSocketAddress("127.0.0.1", 0), false, policy);
  }

  /**
   * The VIP listener as configured by default (least connections), with 127.0.0.2 standing in for
   * the VIP.
   */
  static Listener vipListener() {
    return new Listener(new InetSocketAddress("127.0.0.2", 0), true, Policy.LEAST_CONNECTIONS);
  }

  static Settings.Proxy settings(List<Listener> listeners) {
    return settings(listeners, 100, Duration.ZERO);
  }

  static Settings.Proxy settings(
      List<Listener> listeners, int maxConnections, Duration drainGrace) {
    return new Settings.Proxy(
        listeners,
        Duration.ofSeconds(1),
        3,
        maxConnections,
        Duration.ZERO,
        drainGrace,
        Settings.Limits.none());
  }

  TcpProxy newProxy(
      Settings.Proxy settings,
      String nodeId,
      Transports transports,
      EventLoopGroup loops,
      Backend... backends) {
    return new TcpProxy(settings, List.of(backends), nodeId, routing, transports, loops, registry);
  }

  void start(Settings.Proxy settings, String nodeId, Backend... backends) throws IOException {
    proxy = newProxy(settings, nodeId, Transports.best(), bestLoops, backends);
    proxy.start();
  }

  void startRelaying(Relaying relaying, TestBackend apiserver) throws IOException {
    Settings.Proxy settings =
        settings(List.of(listener(Policy.LEAST_CONNECTIONS)), 100, Duration.ZERO);
    proxy =
        newProxy(
            settings,
            "n1",
            Transports.of(relaying.transport),
            LOOPS.get(relaying.transport),
            apiserver.backend());
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
    return registry
        .get(ProxyMetrics.CONNECTIONS)
        .tags("backend", ProxyMetrics.tag(backend), "outcome", outcome)
        .counter()
        .count();
  }

  static List<Integer> activeByNode(ProxyStatus.ListenerStatus listener) {
    return listener.backends().stream().map(ProxyStatus.Connections::active).toList();
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

  static long openDescriptors() {
    try (Stream<Path> descriptors = Files.list(Path.of("/proc/self/fd"))) {
      return descriptors.count();
    } catch (IOException e) {
      return 0;
    }
  }
}
