package io.apivip.daemon.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.daemon.cluster.ClusterStatus;
import io.apivip.daemon.cluster.Election;
import io.apivip.daemon.cluster.VipDecision;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.proxy.BackendHealth;
import io.apivip.daemon.proxy.Routing;
import io.apivip.daemon.vip.VipManager;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The node controller on a fake loop: each test posts events in the order a race would deliver them
 * and reads the commands the parts received, in order.
 */
class NodeControllerTest {

  private static final Duration SETTLE = Duration.ofSeconds(2);
  private static final VipManager.Status VIP_IDLE =
      new VipManager.Status(false, false, true, "", 0);

  private final FakeLoop loop = new FakeLoop();
  private final Set<String> apiserversDown = ConcurrentHashMap.newKeySet();
  private final Routing routing =
      new Routing(
          new BackendHealth() {
            @Override
            public boolean isUp(Settings.Backend backend) {
              return !apiserversDown.contains(backend.nodeId());
            }

            @Override
            public void connectFailed(Settings.Backend backend, Throwable cause) {}
          });
  private final FakeParts parts = new FakeParts();
  private final NodeController controller =
      new NodeController(
          loop,
          new Parts(parts, parts, parts),
          routing,
          List.of(backend("n1"), backend("n2"), backend("n3")),
          SETTLE);

  /** The parts as the controller sees them: every command, in order, as a line. */
  static final class FakeParts implements Parts.Cluster, Parts.Vip, Parts.Gate {
    final List<String> journal = new ArrayList<>();
    final List<CompletableFuture<Void>> quiesces = new ArrayList<>();

    /** Whether n2 is alive, eligible and out of maintenance, as heartbeats say. */
    boolean anotherQualifies;

    ClusterStatus.Liveness n3 = ClusterStatus.Liveness.SUSPECTED;

    @Override
    public ClusterStatus status() {
      List<ClusterStatus.Member> members =
          List.of(
              member("n1", ClusterStatus.Liveness.SELF, true),
              member("n2", ClusterStatus.Liveness.ALIVE, anotherQualifies),
              member("n3", n3, true));
      return new ClusterStatus(
          "n1", 2, true, false, Optional.empty(), members, Set.of(), List.of());
    }

    private static ClusterStatus.Member member(
        String id, ClusterStatus.Liveness liveness, boolean eligible) {
      return new ClusterStatus.Member(
          id,
          InetAddress.getLoopbackAddress(),
          100,
          liveness,
          eligible,
          false,
          false,
          Optional.empty(),
          Optional.empty(),
          0,
          Optional.empty());
    }

    @Override
    public void setEligible(boolean eligible) {
      journal.add("eligible " + eligible);
    }

    @Override
    public void announceMaintenance(boolean on) {
      journal.add("maintenance " + (on ? "on" : "off"));
    }

    @Override
    public void addressUp(long decision) {
      journal.add("address up " + decision);
    }

    @Override
    public void addressDown(long decision) {
      journal.add("address down " + decision);
    }

    @Override
    public void hold(String reason, long decision) {
      journal.add("hold " + decision);
    }

    @Override
    public void release(String reason) {
      journal.add("release");
    }

    @Override
    public void announceAgain(String reason) {
      journal.add("announce again");
    }

    @Override
    public CompletableFuture<Void> quiesceVip(Duration wait) {
      journal.add("quiesce");
      CompletableFuture<Void> done = new CompletableFuture<>();
      quiesces.add(done);
      return done;
    }

    @Override
    public void reopenVip() {
      journal.add("reopen");
    }

    @Override
    public void vipLost() {
      journal.add("vip lost");
    }
  }

  private static Settings.Backend backend(String nodeId) {
    return new Settings.Backend(
        nodeId, new InetSocketAddress(InetAddress.getLoopbackAddress(), 16443));
  }

  private static VipManager.Status vipHolding(long decision) {
    return new VipManager.Status(true, true, true, "", decision);
  }

  /** Posts an event as a part would, without running the loop yet. */
  private void post(Consumer<NodeController> event) {
    loop.execute(() -> event.accept(controller));
  }

  /** Posts an event and runs the loop. */
  private void send(Consumer<NodeController> event) {
    post(event);
    loop.runDue();
  }

  private static VipDecision hold(long id) {
    return new VipDecision(true, Election.Reason.ELECTED, id);
  }

  private static VipDecision release(long id) {
    return new VipDecision(false, Election.Reason.QUORUM_LOST, id);
  }

  /** The commands since the last call. */
  private List<String> commands() {
    List<String> commands = List.copyOf(parts.journal);
    parts.journal.clear();
    return commands;
  }

  @BeforeEach
  void started() {
    send(c -> c.start(VIP_IDLE));
    assertThat(commands()).containsExactly("eligible true");
  }

  /** Holds the VIP with its address confirmed, as after decision {@code id}. */
  private void holdingAfter(long id) {
    send(c -> c.vipDecision(hold(id)));
    send(c -> c.vipChanged(vipHolding(id)));
    assertThat(commands()).containsExactly("reopen", "hold " + id, "address up " + id);
  }

  // ---- eligibility
  // -------------------------------------------------------------------------------

  @ParameterizedTest(
      name =
          "routable={0} vipWorks={1} holding={2} anotherQualifies={3}: eligible={4}, judged"
              + " again={5}")
  @CsvSource({
    "true,  true,  false, false, true,  false",
    "true,  true,  true,  true,  true,  false",
    "true,  false, false, false, false, false",
    "true,  false, true,  false, false, false",
    "false, true,  false, false, false, false",
    "false, true,  false, true,  false, false",
    "false, false, true,  false, false, false",
    // The holder that can route nowhere keeps the VIP and looks again: see the class comment.
    "false, true,  true,  false, true,  true",
    "false, true,  true,  true,  true,  true",
  })
  void theFirstVerdict(
      boolean routable,
      boolean vipWorks,
      boolean holding,
      boolean anotherQualifies,
      boolean eligible,
      boolean judgedAgain) {
    if (holding) {
      holdingAfter(1);
    }
    parts.anotherQualifies = anotherQualifies;
    if (!routable) {
      apiserversDown.addAll(Set.of("n1", "n2", "n3"));
    }
    send(
        c ->
            c.vipChanged(
                new VipManager.Status(
                    holding, holding, vipWorks, vipWorks ? "" : "no carrier", 1)));

    assertThat(controller.state().eligible()).isEqualTo(eligible);
    assertThat(loop.pendingTimers()).as("a recheck is scheduled").isEqualTo(judgedAgain ? 1 : 0);
  }

  @Test
  void anApiserverRoutableOnlyThroughANodeInMaintenanceDoesNotCount() {
    apiserversDown.addAll(Set.of("n1", "n3"));
    send(c -> c.healthChanged());
    assertThat(commands()).isEmpty();

    send(c -> c.maintenanceChanged(Set.of("n2")));
    assertThat(commands()).containsExactly("eligible false");
    assertThat(routing.maintenance()).as("the proxy routes around n2 too").containsExactly("n2");

    send(c -> c.maintenanceChanged(Set.of()));
    assertThat(commands()).containsExactly("eligible true");
  }

  @Test
  void theHolderKeepsTheVipWhileNoOtherNodeQualifiesThenASettleTimeAfterOneDoesAndNoLonger() {
    holdingAfter(1);
    apiserversDown.addAll(Set.of("n1", "n2", "n3"));
    send(c -> c.healthChanged());
    loop.advance(Duration.ofSeconds(30));
    assertThat(commands()).as("no other node could serve better").isEmpty();

    // Another node qualifies; the controller learns it only by looking again (heartbeats post no
    // event).
    parts.anotherQualifies = true;
    loop.advance(SETTLE.minus(NodeController.POLL.multipliedBy(2)));
    assertThat(commands()).as("within the settle time").isEmpty();
    loop.advance(NodeController.POLL.multipliedBy(3));
    assertThat(commands()).containsExactly("eligible false");

    apiserversDown.clear();
    send(c -> c.healthChanged());
    assertThat(commands()).containsExactly("eligible true");
  }

  @Test
  void aHolderThatGaveUpIsEligibleAgainOnceNoOtherNodeQualifies() {
    holdingAfter(1);
    parts.anotherQualifies = true;
    apiserversDown.addAll(Set.of("n1", "n2", "n3"));
    send(c -> c.healthChanged());
    loop.advance(SETTLE.plus(NodeController.POLL));
    assertThat(commands()).containsExactly("eligible false");

    // The other node lost its apiservers too before it took the VIP: no node could serve better.
    parts.anotherQualifies = false;
    loop.advance(NodeController.POLL);
    assertThat(commands()).containsExactly("eligible true");
  }

  @Test
  void aHolderWhoseVipMachineryFailsIsIneligibleAtOnce() {
    holdingAfter(1);
    apiserversDown.addAll(Set.of("n1", "n2", "n3"));
    send(c -> c.healthChanged());
    send(
        c ->
            c.vipChanged(
                new VipManager.Status(true, true, false, "interface eth0 has no carrier", 1)));
    assertThat(commands()).containsExactly("eligible false");
  }

  @Test
  void aBlipShorterThanTheSettleTimeMovesNothing() {
    holdingAfter(1);
    parts.anotherQualifies = true;
    apiserversDown.addAll(Set.of("n1", "n2", "n3"));
    send(c -> c.healthChanged());
    loop.advance(SETTLE.dividedBy(2));
    apiserversDown.clear();
    send(c -> c.healthChanged());
    loop.advance(SETTLE.multipliedBy(3));
    assertThat(commands()).isEmpty();
  }

  // ---- the races of old: orders of events -------------------------------------------------------

  @Test
  void anOlderViewPostedAfterANewerOneDoesNotWin() {
    // The apiservers fail and recover; both events queue before the loop runs (busy, or a GC).
    apiserversDown.addAll(Set.of("n1", "n2", "n3"));
    post(c -> c.healthChanged());
    post(c -> c.vipChanged(new VipManager.Status(false, false, false, "no carrier", 0)));
    apiserversDown.clear();
    post(c -> c.healthChanged());
    post(c -> c.vipChanged(VIP_IDLE));
    loop.runDue();

    // Each verdict read the health as it was when it ran and the VIP statuses in the order the VIP
    // part sent them, so the cluster's last word is the present: eligible.
    assertThat(commands()).containsExactly("eligible false", "eligible true");
    assertThat(controller.state().eligible()).isTrue();
  }

  @Test
  void aNodeWhoseHoldIsNotYetConfirmedGetsTheRecheckItsVerdictAsksFor() {
    // Decided to hold; the VIP part has not added the address yet, so its status says not holding.
    send(c -> c.vipDecision(hold(1)));
    assertThat(commands()).containsExactly("reopen", "hold 1");
    parts.anotherQualifies = true;
    apiserversDown.addAll(Set.of("n1", "n2", "n3"));
    send(c -> c.healthChanged());
    assertThat(commands()).as("a holder keeps the VIP for the settle time").isEmpty();
    assertThat(loop.pendingTimers()).isEqualTo(1);

    // No input changes any more: only the recheck can end the keeping.
    loop.advance(SETTLE.plus(NodeController.POLL));
    assertThat(commands()).containsExactly("eligible false");
  }

  @Test
  void aRecheckAskedForWhileHoldingStillRunsAfterTheRelease() {
    holdingAfter(1);
    apiserversDown.addAll(Set.of("n1", "n2", "n3"));
    send(c -> c.healthChanged());
    assertThat(loop.pendingTimers()).isEqualTo(1);
    send(c -> c.vipDecision(release(2)));
    assertThat(commands()).containsExactly("vip lost", "release", "eligible false");
    loop.advance(NodeController.POLL);
    assertThat(commands()).as("the recheck of a non-holder changes nothing").isEmpty();
    assertThat(loop.pendingTimers()).isZero();
  }

  @Test
  void aConfirmationOfAnOlderHoldThatArrivesAfterANewerReleaseAndHoldIsNotPassedOn() {
    send(c -> c.vipDecision(hold(1)));
    // The VIP part added the address for hold 1; its status is queued behind the cluster's next two
    // decisions.
    post(c -> c.vipDecision(release(2)));
    post(c -> c.vipDecision(hold(3)));
    post(c -> c.vipChanged(vipHolding(1)));
    loop.runDue();
    assertThat(commands())
        .containsExactly("reopen", "hold 1", "vip lost", "release", "reopen", "hold 3");

    send(c -> c.vipChanged(new VipManager.Status(false, false, true, "", 1)));
    send(c -> c.vipChanged(vipHolding(3)));
    assertThat(commands()).containsExactly("address up 3");
  }

  @Test
  void aConfirmationThatArrivesAfterTheReleaseIsNotPassedOn() {
    send(c -> c.vipDecision(hold(1)));
    post(c -> c.vipDecision(release(2)));
    post(c -> c.vipChanged(vipHolding(1)));
    loop.runDue();
    assertThat(commands()).containsExactly("reopen", "hold 1", "vip lost", "release");
  }

  @Test
  void eachHoldIsConfirmedOnce() {
    holdingAfter(1);
    send(c -> c.vipChanged(new VipManager.Status(true, true, false, "no carrier", 1)));
    send(c -> c.vipChanged(vipHolding(1)));
    assertThat(commands()).containsExactly("eligible false", "eligible true");
  }

  // ---- maintenance
  // -------------------------------------------------------------------------------

  @Test
  void aNodeThatDoesNotHoldTheVipTellsTheClusterAtOnce() {
    send(NodeController::enterMaintenance);
    assertThat(commands()).containsExactly("maintenance on");
    assertThat(controller.state().maintenance()).isTrue();
    send(NodeController::leaveMaintenance);
    assertThat(commands()).containsExactly("reopen", "maintenance off");
    assertThat(controller.state().maintenance()).isFalse();
  }

  @Test
  void theHolderFinishesTheRequestsInFlightBeforeTheClusterHears() {
    parts.anotherQualifies = true; // a successor: the handoff can happen
    holdingAfter(1);
    send(NodeController::enterMaintenance);
    assertThat(commands()).containsExactly("quiesce");
    assertThat(controller.state().quiescing()).isTrue();

    parts.quiesces.get(0).complete(null);
    loop.runDue();
    assertThat(commands()).containsExactly("maintenance on");
    assertThat(controller.state().quiescing()).isFalse();
  }

  @Test
  void drainThenResumeBeforeTheQuiesceCompletes() {
    holdingAfter(1);
    send(NodeController::enterMaintenance);
    send(NodeController::leaveMaintenance);
    assertThat(commands()).containsExactly("quiesce", "reopen");

    parts.quiesces.get(0).complete(null);
    loop.runDue();
    assertThat(commands()).as("the cluster never hears of a maintenance already over").isEmpty();
    assertThat(controller.state().maintenance()).isFalse();
  }

  @Test
  void drainResumeAndDrainAgainWaitForTheSecondQuiesce() {
    parts.anotherQualifies = true; // a successor: the handoff can happen
    holdingAfter(1);
    send(NodeController::enterMaintenance);
    send(NodeController::leaveMaintenance);
    send(NodeController::enterMaintenance);
    assertThat(commands()).containsExactly("quiesce", "reopen", "quiesce");

    parts.quiesces.get(0).complete(null);
    loop.runDue();
    assertThat(commands())
        .as("the first quiesce is over, but requests of the second may be in flight")
        .isEmpty();

    parts.quiesces.get(1).complete(null);
    loop.runDue();
    assertThat(commands()).containsExactly("maintenance on");
  }

  @Test
  void aFailedQuiesceStillLetsTheVipMove() {
    parts.anotherQualifies = true; // a successor: the handoff can happen
    holdingAfter(1);
    send(NodeController::enterMaintenance);
    parts.quiesces.get(0).completeExceptionally(new IllegalStateException("the proxy is closing"));
    loop.runDue();
    assertThat(commands()).containsExactly("quiesce", "maintenance on");
  }

  @Test
  void aDrainedHolderWithNoOneToHandOverToOpensItsGateAgain() {
    holdingAfter(1);
    send(NodeController::enterMaintenance);
    parts.quiesces.get(0).complete(null);
    loop.runDue();
    assertThat(commands())
        .as("no other node qualifies: the VIP stays here, and serves")
        .containsExactly("quiesce", "maintenance on", "reopen");
    loop.advance(Duration.ofSeconds(1));
    assertThat(commands()).as("once").isEmpty();
  }

  @Test
  void aDrainIsRefusedWhileAnotherNodeIsDownAndForceGoesAhead() {
    parts.anotherQualifies = true;
    AtomicReference<List<String>> answer = new AtomicReference<>();
    send(c -> answer.set(c.drain(false)));
    assertThat(answer.get()).containsExactly("node n3 is down (suspected)");
    assertThat(commands()).isEmpty();
    assertThat(controller.state().maintenance()).isFalse();
    send(c -> answer.set(c.drain(true)));
    assertThat(answer.get()).containsExactly("node n3 is down (suspected)");
    assertThat(commands()).containsExactly("maintenance on");
    assertThat(controller.state().maintenance()).isTrue();
  }

  @Test
  void aDrainIsRefusedForTheLastNodeThatCouldHoldTheVipOrAPeerNotReady() {
    AtomicReference<List<String>> answer = new AtomicReference<>();
    send(c -> answer.set(c.drain(false)));
    assertThat(answer.get())
        .containsExactly(
            "no other node could hold the VIP: this node is the last one that can",
            "node n3 is down (suspected)");
    parts.n3 = ClusterStatus.Liveness.ALIVE;
    parts.anotherQualifies = true;
    apiserversDown.add("n2");
    send(c -> answer.set(c.drain(false)));
    assertThat(answer.get()).containsExactly("the apiserver on node n2 is not ready");
    apiserversDown.clear();
    send(c -> answer.set(c.drain(false)));
    assertThat(answer.get()).isEmpty();
    assertThat(commands()).containsExactly("maintenance on");
  }

  @Test
  void aHoldDuringTheQuiesceLeavesTheGateClosed() {
    holdingAfter(1);
    send(NodeController::enterMaintenance);
    send(c -> c.vipDecision(release(2)));
    send(c -> c.vipDecision(hold(3)));
    assertThat(commands()).containsExactly("quiesce", "vip lost", "release", "hold 3");
  }

  @Test
  void resumeDuringStopIsRefused() {
    holdingAfter(1);
    send(NodeController::stop);
    send(NodeController::leaveMaintenance);
    assertThat(commands()).containsExactly("quiesce");
    assertThat(controller.state()).isEqualTo(new NodeController.State(true, true, true, true));

    parts.quiesces.get(0).complete(null);
    loop.runDue();
    send(NodeController::leaveMaintenance);
    assertThat(commands())
        .as("the handoff goes on, and nothing reopens")
        .containsExactly("maintenance on");
    assertThat(controller.state().maintenance()).isTrue();
  }

  @Test
  void stopDuringADrainKeepsTheDrainGoing() {
    holdingAfter(1);
    send(NodeController::enterMaintenance);
    send(NodeController::stop);
    parts.quiesces.get(0).complete(null);
    loop.runDue();
    assertThat(commands()).containsExactly("quiesce", "maintenance on");
  }

  @Test
  void theReleaseAfterTheHandoffResetsNothingThatWasQuiesced() {
    parts.anotherQualifies = true;
    holdingAfter(1);
    send(NodeController::enterMaintenance);
    parts.quiesces.get(0).complete(null);
    loop.runDue();
    send(c -> c.vipDecision(new VipDecision(false, Election.Reason.HANDED_OVER, 2)));
    // vipLost reaches the proxy, which leaves connections be while its gate is closed
    // (TcpProxy#vipLost).
    assertThat(commands()).containsExactly("quiesce", "maintenance on", "vip lost", "release");
  }

  @Test
  void announceAgainOnlyWhileHolding() {
    send(c -> c.announceAgain("peer n2 stopped claiming the VIP"));
    assertThat(commands()).isEmpty();
    holdingAfter(1);
    send(c -> c.announceAgain("peer n2 stopped claiming the VIP"));
    assertThat(commands()).containsExactly("announce again");
  }

  // ---- one thread
  // ----------------------------------------------------------------------------------

  @Test
  void everyEventMustRunOnTheLoop() {
    List<Consumer<NodeController>> events =
        List.of(
            NodeController::healthChanged,
            c -> c.vipChanged(VIP_IDLE),
            c -> c.vipDecision(hold(1)),
            c -> c.announceAgain("test"),
            c -> c.maintenanceChanged(Set.of()),
            NodeController::enterMaintenance,
            NodeController::leaveMaintenance,
            NodeController::stop,
            c -> c.quiesced(1),
            c -> c.start(VIP_IDLE));
    for (Consumer<NodeController> event : events) {
      assertThatThrownBy(() -> event.accept(controller))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("not on its loop");
    }
    assertThat(commands()).as("nothing was decided off the loop").isEmpty();
  }
}
