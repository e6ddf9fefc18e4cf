package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.daemon.config.Settings.Policy;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link VipGate}: new VIP connections held back, open ones ended or reset when the VIP moves. */
class VipGateTest extends ProxyFixture {

  @Test
  void losingTheVipResetsItsConnectionsButNotTheNodeLocalOnes() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    start(
        settings(List.of(vipListener(), listener(Policy.LOCAL_FIRST))), "n1", apiserver.backend());

    try (Socket viaVip = connect(0);
        Socket viaLocal = connect(1)) {
      assertEcho(viaVip, "watch");
      assertEcho(viaLocal, "kubelet");
      proxy.vipLost();
      assertThatThrownBy(() -> viaVip.getInputStream().read())
          .as("the VIP client is reset")
          .isInstanceOf(SocketException.class);
      assertEcho(viaLocal, "still served");
    }
    assertThat(vipLeftResets()).isEqualTo(1);
  }

  /**
   * A VIP connection accepted after the VIP left is one the kernel queued before (the fault bench's
   * paused holder: two calls hung 10 s when it served them, as their answers left after the
   * address). It is reset, until the VIP comes back.
   */
  @Test
  void aVipConnectionAcceptedAfterTheVipLeftIsResetUntilItComesBack() throws Exception {
    startEchoBehindTheVip();
    proxy.vipLost();

    // The reset may reach the client before its connect returns, or at its first read.
    assertThatThrownBy(
            () -> {
              try (Socket queued = connect(0)) {
                queued.getOutputStream().write("GET /api".getBytes(StandardCharsets.UTF_8));
                queued.getInputStream().read();
              }
            })
        .as("reset, not served")
        .isInstanceOf(SocketException.class);
    assertThat(vipLeftResets()).isEqualTo(1);
    proxy.reopenVip();
    try (Socket client = connect(0)) {
      assertEcho(client, "the VIP is back");
    }
    assertThat(vipLeftResets()).isEqualTo(1);
  }

  private double vipLeftResets() {
    return registry.get(ProxyMetrics.VIP_LEFT_RESETS).counter().count();
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

  /**
   * During a planned handoff a new VIP connection is neither refused nor served here: the kernel
   * drops its SYN ({@link NettySeam#holdSynsBack}), so the client sends it again a second later and
   * by then reaches the new holder. Once the gate reopens, new connections are served here again.
   */
  @Test
  void aPlannedHandoffHoldsNewVipConnectionsBackInsteadOfRefusingThem() throws Exception {
    startEchoBehindTheVip();
    proxy.quiesceVip(Duration.ofSeconds(5)).get(SOON.toSeconds(), TimeUnit.SECONDS);

    try (Socket held = new Socket()) {
      assertThatThrownBy(() -> held.connect(proxy.boundAddresses().get(0), 300))
          .as("the connect waits for an answer, neither refused nor accepted")
          .isInstanceOf(SocketTimeoutException.class);
    }
    proxy.reopenVip();
    try (Socket client = connect(0)) {
      assertEcho(client, "after the handoff");
    }
  }

  /** An echoing apiserver of node n1 behind the VIP listener alone. */
  void startEchoBehindTheVip() throws IOException {
    start(settings(List.of(vipListener())), "n1", backend("n1", TestBackend.ECHO).backend());
  }
}
