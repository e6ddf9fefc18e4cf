package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings.Policy;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Shutdown}: the proxy closing gracefully at shutdown. */
class ShutdownTest extends ProxyFixture {

  @Test
  void closingGracefullyStopsAcceptingAndWaitsForOpenConnections() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(
        settings(List.of(listener(Policy.LEAST_CONNECTIONS)), 100, Duration.ofSeconds(30)),
        "n1",
        apiserver.backend());
    InetSocketAddress address = proxy.boundAddresses().get(0);

    try (Socket open = connect(0)) {
      assertEcho(open, "before");
      CompletableFuture<Void> closed = proxy.closeGracefully();
      awaitTrue(() -> refuses(address), "the listener refuses new connections");
      assertEcho(open, "while the proxy closes");
      assertThat(closed).isNotDone();
      assertThat(proxy.status().closing()).isTrue();
    }
    proxy.closeGracefully().get(SOON.toSeconds(), TimeUnit.SECONDS);
  }

  @Test
  void closingGracefullyClosesWhatIsStillOpenAfterTheGrace() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(
        settings(List.of(listener(Policy.LEAST_CONNECTIONS)), 100, Duration.ofMillis(200)),
        "n1",
        apiserver.backend());

    try (Socket open = connect(0)) {
      assertEcho(open, "long watch");
      proxy.closeGracefully().get(SOON.toSeconds(), TimeUnit.SECONDS);
      assertClosedAtOnce(open);
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
}
