package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Policy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Admission that keeps the API up against one hostile client: a limit per source address, a reserve
 * for the node-local listener, a time limit for a client's first bytes, a bound on half-closed
 * connections, keepalive timing; and none of it touches the apiservers' health.
 */
class ListenersAdmissionTest extends ProxyFixture {

  static Settings.Limits limits(
      int perSource, int reserve, Duration firstByte, Duration halfClose) {
    return new Settings.Limits(
        perSource,
        reserve,
        firstByte,
        halfClose,
        Duration.ofSeconds(5),
        Duration.ofSeconds(2),
        3,
        1 << 20,
        1L << 30);
  }

  static Settings.Proxy settings(int maxConnections, Settings.Limits limits) {
    return new Settings.Proxy(
        List.of(vipListener(), listener(Policy.LOCAL_FIRST)),
        Duration.ofSeconds(1),
        3,
        maxConnections,
        Duration.ZERO,
        Duration.ZERO,
        limits);
  }

  double outcome(String outcome) {
    return registry
        .get(ProxyMetrics.CONNECTIONS)
        .tags("backend", ProxyMetrics.NO_BACKEND_TAG, "outcome", outcome)
        .counter()
        .count();
  }

  List<Socket> open(int listener, int count) throws IOException {
    List<Socket> sockets = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Socket socket = connect(listener);
      resources.push(socket);
      assertEcho(socket, "hello " + i);
      sockets.add(socket);
    }
    return sockets;
  }

  @Test
  void oneSourceAtItsLimitIsRefusedWhileTheNodeLocalListenerAndOthersAreServed() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(settings(100, limits(3, 0, Duration.ZERO, Duration.ZERO)), "n1", apiserver.backend());

    List<Socket> three = open(0, 3);
    try (Socket fourth = connect(0)) {
      assertClosedAtOnce(fourth);
    }
    assertThat(outcome(ProxyMetrics.OUTCOME_SOURCE_LIMIT)).isEqualTo(1);
    assertThat(registry.get(ProxyMetrics.SOURCES_LIMITED).gauge().value()).isEqualTo(1);
    // The node's own components on 127.0.0.1 are not counted against the loopback source.
    open(1, 5);
    assertEcho(three.get(0), "the first three still work");

    three.get(2).close();
    awaitTrue(
        () -> registry.get(ProxyMetrics.SOURCES_LIMITED).gauge().value() == 0,
        "the source below its limit again");
    open(0, 1);
    assertThat(health.connectFailures).as("a full proxy blames no apiserver").isEmpty();
  }

  @Test
  void theNodeLocalListenerUsesItsReserveWhenTheVipIsFull() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(settings(2, limits(0, 1, Duration.ZERO, Duration.ZERO)), "n1", apiserver.backend());

    open(0, 2);
    try (Socket vipFull = connect(0)) {
      assertClosedAtOnce(vipFull);
    }
    assertThat(outcome(ProxyMetrics.OUTCOME_LIMIT)).isEqualTo(1);
    awaitTrue(() -> proxy.status().clients() == 2, "the refused connection no longer counted");
    open(1, 1);
    try (Socket reserveUsedUp = connect(1)) {
      assertClosedAtOnce(reserveUsedUp);
    }
    assertThat(outcome(ProxyMetrics.OUTCOME_LIMIT)).isEqualTo(2);
    assertThat(health.connectFailures).as("a full proxy blames no apiserver").isEmpty();
  }

  @Test
  void aClientThatSendsNothingIsClosedAfterTheFirstByteTimeoutAndOneThatSendsIsNot()
      throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(
        settings(100, limits(0, 0, Duration.ofMillis(300), Duration.ZERO)),
        "n1",
        apiserver.backend());

    try (Socket silent = connect(0);
        Socket talking = connect(0)) {
      assertEcho(talking, "ClientHello");
      long start = System.nanoTime();
      assertThat(silent.getInputStream().read()).isEqualTo(-1);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
      Thread.sleep(500);
      assertEcho(talking, "still relayed after the timeout");
    }
    assertThat(outcome(ProxyMetrics.OUTCOME_FIRST_BYTE_TIMEOUT)).isEqualTo(1);
  }

  /**
   * An apiserver that reads the request to its end and then keeps its side open, sending nothing.
   */
  static final TestBackend.Session NEVER_ENDS =
      socket -> {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        byte[] buffer = new byte[4096];
        for (int n; (n = in.read(buffer)) >= 0; ) {
          out.write(buffer, 0, n);
        }
        try {
          Thread.sleep(20_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      };

  @Test
  void aConnectionHalfClosedForTheTimeoutIsClosed() throws Exception {
    TestBackend apiserver = backend("n1", NEVER_ENDS);
    start(
        settings(100, limits(0, 0, Duration.ZERO, Duration.ofMillis(500))),
        "n1",
        apiserver.backend());

    try (Socket client = connect(0)) {
      assertEcho(client, "request");
      client.shutdownOutput();
      long start = System.nanoTime();
      assertThat(client.getInputStream().read()).isEqualTo(-1);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isBetween(Duration.ofMillis(300), Duration.ofSeconds(4));
    }
    awaitTrue(
        () -> registry.get(ProxyMetrics.HALF_CLOSE_TIMEOUTS).counter().count() == 1,
        "the timeout counted");
  }

  /**
   * Keepalive on both sides with the configured timing (5 s here) instead of the kernel's two
   * hours: the kernel's TCP table shows the keepalive timer due within seconds.
   */
  @Test
  void bothSidesKeepAliveWithTheConfiguredTiming() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(settings(100, limits(0, 0, Duration.ZERO, Duration.ZERO)), "n1", apiserver.backend());

    try (Socket client = connect(0)) {
      assertEcho(client, "watch");
      int listenerPort = proxy.boundAddresses().get(0).getPort();
      int apiserverPort = apiserver.backend().address().getPort();
      awaitTrue(
          () ->
              keepAliveDueInSeconds(listenerPort, client.getLocalPort())
                  .filter(due -> due <= 5)
                  .isPresent(),
          "client side due in 5 s");
      awaitTrue(
          () -> keepAliveDueInSeconds(0, apiserverPort).filter(due -> due <= 5).isPresent(),
          "apiserver side due in 5 s");
    }
  }

  /**
   * When the keepalive timer of the established socket from localPort (any: 0) to remotePort fires,
   * in seconds (USER_HZ 100).
   */
  static java.util.Optional<Double> keepAliveDueInSeconds(int localPort, int remotePort) {
    try {
      for (String line :
          Files.readAllLines(Path.of("/proc/net/tcp"))
              .subList(1, Files.readAllLines(Path.of("/proc/net/tcp")).size())) {
        String[] fields = line.trim().split("\\s+");
        int local = Integer.parseInt(fields[1].substring(fields[1].indexOf(':') + 1), 16);
        int remote = Integer.parseInt(fields[2].substring(fields[2].indexOf(':') + 1), 16);
        String[] timer = fields[5].split(":");
        if (fields[3].equals("01")
            && remote == remotePort
            && (localPort == 0 || local == localPort)
            && Integer.parseInt(timer[0], 16) == 2) {
          return java.util.Optional.of(Long.parseLong(timer[1], 16) / 100.0);
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return java.util.Optional.empty();
  }
}
