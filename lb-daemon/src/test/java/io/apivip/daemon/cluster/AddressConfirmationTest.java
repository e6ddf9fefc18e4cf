package io.apivip.daemon.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A node's heartbeats claim the VIP only once the VIP part confirms the address for the hold
 * decision at hand: a confirmation of an older decision, which a slow VIP part or a queue may
 * deliver after a release and a new hold, does not count.
 */
class AddressConfirmationTest {

  private static final Duration INTERVAL = Duration.ofMillis(100);
  private static final Duration FAILURE_TIMEOUT = Duration.ofMillis(500);

  private long now = 1_000_000_000L;
  private boolean linked = true;
  private final Deque<Runnable> inFlight = new ArrayDeque<>();
  private final List<VipDecision> decisions = new ArrayList<>();
  private final ClusterNode[] nodes = new ClusterNode[2];

  /** n1, which outranks n2 and so takes the VIP whenever the two see each other. */
  private ClusterNode node;

  /** Two nodes, quorum two, joined by a link the test can cut; n1 holds the VIP. */
  @BeforeEach
  void twoNodesOfWhichN1HoldsTheVip() throws Exception {
    List<Settings.Node> members =
        List.of(
            new Settings.Node("n1", InetAddress.getByName("127.0.0.1"), 200),
            new Settings.Node("n2", InetAddress.getByName("127.0.0.2"), 100));
    Clock clock =
        new Clock() {
          @Override
          public long nanoTime() {
            return now;
          }

          @Override
          public long wallMillis() {
            return 1_700_000_000_000L + now / 1_000_000;
          }
        };
    for (int i = 0; i < 2; i++) {
      ClusterConfig config =
          new ClusterConfig(
              "test",
              members.get(i).id(),
              members,
              2,
              false,
              Duration.ofSeconds(30),
              Duration.ofSeconds(1),
              INTERVAL,
              FAILURE_TIMEOUT,
              Duration.ofSeconds(10),
              KeyRing.of("a-test-key-of-at-least-32-bytes-for-two-nodes".getBytes()));
      int self = i;
      Transport link =
          new Transport() {
            @Override
            public void send(String peerId, byte[] datagram) {
              if (linked) {
                ClusterNode to = nodes[1 - self];
                InetAddress from = members.get(self).address();
                inFlight.add(() -> to.receive(datagram, datagram.length, from));
              }
            }

            @Override
            public void close() {}
          };
      ClusterListener listener =
          new ClusterListener() {
            @Override
            public void vipDecision(VipDecision decision) {
              if (self == 0) {
                decisions.add(decision);
              } else if (decision.hold()) {
                nodes[1].addressUp(decision.id());
              }
            }
          };
      nodes[i] = new ClusterNode(config, clock, link, listener, ClusterMetrics.NONE);
    }
    node = nodes[0];
    for (ClusterNode each : nodes) {
      each.start();
      each.setEligible(true);
    }
    runFor(FAILURE_TIMEOUT.multipliedBy(3));
    assertThat(decisions).as("n1 takes the VIP once both have abstained").hasSize(1);
    assertThat(decisions.get(0).hold()).isTrue();
  }

  /**
   * Delivers datagrams at once and runs each node's timer at its deadline, until {@code duration}
   * has passed.
   */
  private void runFor(Duration duration) {
    long until = now + duration.toNanos();
    while (true) {
      while (!inFlight.isEmpty()) {
        inFlight.poll().run();
      }
      ClusterNode next = nodes[0].nextWakeNanos() <= nodes[1].nextWakeNanos() ? nodes[0] : nodes[1];
      if (next.nextWakeNanos() > until) {
        break;
      }
      now = Math.max(now, next.nextWakeNanos());
      next.tick();
    }
    now = until;
  }

  /** The link drops: n1 loses its quorum and releases; back up, n1 is elected again. */
  private void releaseAndHoldAgain() {
    releaseIt();
    linked = true;
    runFor(FAILURE_TIMEOUT.multipliedBy(3));
  }

  private void releaseIt() {
    linked = false;
    runFor(FAILURE_TIMEOUT.multipliedBy(2));
  }

  private boolean claimsTheVip() {
    return node.status().members().get(0).holdsVip();
  }

  private VipDecision latest() {
    return decisions.get(decisions.size() - 1);
  }

  @Test
  void decisionsAreNumberedInOrder() {
    releaseAndHoldAgain();
    assertThat(decisions).extracting(VipDecision::hold).containsExactly(true, false, true);
    assertThat(decisions).extracting(VipDecision::id).containsExactly(1L, 2L, 3L);
  }

  @Test
  void theConfirmationOfTheCurrentHoldMakesHeartbeatsClaimTheVip() {
    assertThat(claimsTheVip()).isFalse();
    node.addressUp(decisions.get(0).id());
    assertThat(claimsTheVip()).isTrue();
    assertThat(node.inspect().addressUp()).isTrue();
  }

  @Test
  void aConfirmationOfAnOlderHoldThatArrivesAfterAReleaseAndANewHoldIsIgnored() {
    long firstHold = decisions.get(0).id();
    releaseAndHoldAgain();
    assertThat(latest().hold()).isTrue();
    assertThat(node.holding()).isTrue();

    node.addressUp(firstHold);
    assertThat(claimsTheVip())
        .as("the address of the first hold may have been removed by the release since")
        .isFalse();
    assertThat(node.inspect().addressUp()).isFalse();

    node.addressUp(latest().id());
    assertThat(claimsTheVip()).isTrue();
  }

  @Test
  void aConfirmationThatArrivesAfterTheReleaseIsIgnored() {
    long hold = decisions.get(0).id();
    releaseIt();
    assertThat(node.holding()).isFalse();
    node.addressUp(hold);
    assertThat(claimsTheVip()).isFalse();
    assertThat(node.inspect().addressUp()).isFalse();
  }
}
