package io.apivip.daemon.node;

import io.apivip.daemon.cluster.ClusterStatus;
import io.apivip.daemon.cluster.VipDecision;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.proxy.Routing;
import io.apivip.daemon.vip.VipManager;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's decisions, made in one place: whether it is eligible to hold the VIP, maintenance (a
 * planned handoff, and its undoing), the proxy's VIP gate, and which hold decision the VIP part's
 * address confirms. In the image of {@code ClusterNode}: no sockets and no threads of its own; the
 * parts post events to its {@link Loop}, and it answers with commands to the {@link Parts}.
 *
 * <p>Single-threaded: every method but {@link #state()} must run on the loop's thread, and checks
 * that it does. So each decision sees the inputs in the order they came, and its commands leave in
 * the order it made them: no verdict taken from an older view can overtake a newer one.
 *
 * <h2>Eligibility</h2>
 *
 * This node may hold the VIP while its VIP machinery works and its proxy can route a new connection
 * somewhere (an apiserver {@link Routing#routable routable}: up and its node out of maintenance).
 *
 * <p>With one exception, for the holder. Every node checks the same apiservers, each at its own
 * moments, so when all of them fail at once (the control plane is down or slow, say while dqlite
 * elects a leader) one node sees it first, and when they come back one node sees that first. If the
 * holder gave the VIP up as soon as it could route nowhere, it would go to whichever node noticed
 * last or recovered first, and on again: every move resets every connection, and gains nothing. So
 * a holder that can route nowhere stays eligible while no other node is (then no node could serve
 * better), and for a settle time (one health interval plus one check timeout) after another one is:
 * long enough for the views of the same apiservers to agree. Only when this node alone has lost its
 * apiservers does the VIP move, a settle time after another node could take it.
 *
 * <p>While the holder keeps the VIP this way, its inputs include other nodes' eligibility, which it
 * learns from heartbeats without an event; so a verdict may ask to be judged again after a delay,
 * and the controller keeps a timer at the earliest such moment, whatever the node holds.
 */
public final class NodeController {

  private static final Logger log = LoggerFactory.getLogger(NodeController.class);
  private static final long NEVER = Long.MIN_VALUE;

  /**
   * How long requests in flight on the VIP may finish before a planned handoff moves it. Requests
   * take milliseconds, so the wait is usually that short; meanwhile new connections wait, and a
   * client sends its SYN again after 1 s and 3 s, so this stays well under 3 s.
   */
  public static final Duration HANDOFF_QUIESCE = Duration.ofMillis(1500);

  /** How often a holder that keeps the VIP while it can route nowhere looks again. */
  static final Duration POLL = Duration.ofMillis(100);

  /**
   * What the controller has decided, for /status; any thread.
   *
   * @param maintenance an operator (or a stop) asked for maintenance and it was not resumed
   * @param stopping the daemon is stopping: maintenance can no longer be resumed
   * @param eligible what the cluster was last told
   * @param quiescing a planned handoff waits for the VIP connections before the cluster hears of it
   */
  public record State(boolean maintenance, boolean stopping, boolean eligible, boolean quiescing) {}

  /**
   * A verdict on eligibility, and when to judge again even if no input changes (empty: no need).
   */
  record Verdict(boolean eligible, Optional<Duration> judgeAgainIn) {}

  private final Loop loop;
  private final Parts parts;
  private final Routing routing;
  private List<Settings.Backend> backends;
  private Duration settle;
  private volatile State state = new State(false, false, false, false);

  private VipManager.Status vip;

  /** This node holds the VIP by the cluster's latest decision. */
  private boolean holding;

  /** The hold decision whose address the VIP part is still to confirm; 0 when none. */
  private long unconfirmedHold;

  /** The release decision whose removal the VIP part is still to confirm; 0 when none. */
  private long unconfirmedRelease;

  /** What the cluster was last told; null before the first verdict. */
  private Boolean eligible;

  private boolean maintenance;
  private boolean stopping;

  /** The cluster has been told this node is in maintenance. */
  private boolean maintenanceAnnounced;

  /** The planned handoff whose quiesce is in progress (see {@link #quiesced}); 0 when none. */
  private long quiescing;

  private long quiesces;
  private Loop.Timer recheck;
  private long recheckAt;
  // The holder that keeps the VIP while it can route nowhere: see the class comment.
  private boolean keeping;
  private boolean gaveUp;

  /** The gate was opened again because a drained holder had no one to hand over to. */
  private boolean gateReopenedForNoHandoff;

  private long anotherQualifiesSince = NEVER;

  /**
   * @param backends the apiservers whose routability makes this node eligible
   * @param settle how long a holder that can route nowhere keeps the VIP after another node could
   *     take it: one health interval plus one check timeout
   */
  public NodeController(
      Loop loop, Parts parts, Routing routing, List<Settings.Backend> backends, Duration settle) {
    this.loop = loop;
    this.parts = parts;
    this.routing = routing;
    this.backends = List.copyOf(backends);
    this.settle = settle;
  }

  // ---- events
  // ------------------------------------------------------------------------------------

  /** Begins, with the VIP part's status as it is now; the first verdict goes to the cluster. */
  public void start(VipManager.Status vipStatus) {
    onLoop("start");
    vip = vipStatus;
    judge();
  }

  /**
   * A reload: eligibility is judged on {@code nextBackends} from now on, and a holder that can
   * route nowhere keeps the VIP for {@code nextSettle} after another node can (the new health
   * interval plus timeout). Judged again at once: an apiserver added up, or the only one routable
   * removed, may change it.
   */
  public void reconfigure(List<Settings.Backend> nextBackends, Duration nextSettle) {
    onLoop("reconfigure");
    backends = List.copyOf(nextBackends);
    settle = nextSettle;
    judge();
  }

  /** An apiserver went up or down. */
  public void healthChanged() {
    onLoop("healthChanged");
    judge();
  }

  /** The VIP part's status changed (its listener, on its thread, posts this). */
  public void vipChanged(VipManager.Status status) {
    onLoop("vipChanged");
    vip = status;
    if (unconfirmedHold != 0 && status.holding() && status.decision() == unconfirmedHold) {
      parts.cluster().addressUp(unconfirmedHold);
      unconfirmedHold = 0;
    }
    if (unconfirmedRelease != 0 && !status.wanted() && !status.present()) {
      parts.cluster().addressDown(unconfirmedRelease);
      unconfirmedRelease = 0;
    }
    judge();
  }

  /** The cluster decided this node holds the VIP, or not. */
  public void vipDecision(VipDecision decision) {
    onLoop("vipDecision");
    String reason = decision.reason().name().toLowerCase(Locale.ROOT).replace('_', ' ');
    holding = decision.hold();
    if (decision.hold()) {
      unconfirmedRelease = 0;
      unconfirmedHold = decision.id();
      // During the quiesce of a planned handoff the gate stays closed: the handoff goes on.
      if (quiescing == 0) {
        parts.gate().reopenVip();
      }
      parts.vip().hold(reason, decision.id());
    } else {
      unconfirmedHold = 0;
      unconfirmedRelease = decision.id();
      // The gate first: the resets of the VIP's connections leave before the address does, which
      // the kernel removes on another thread (after that, they would be dropped).
      parts.gate().vipLost();
      parts.vip().release(reason);
    }
    judge();
  }

  /** The cluster asks the holder to announce the VIP again. */
  public void announceAgain(String reason) {
    onLoop("announceAgain");
    if (holding) {
      parts.vip().announceAgain(reason);
    }
  }

  /**
   * The nodes in maintenance, as the cluster's heartbeats say; the proxy routes around their
   * apiservers.
   */
  public void maintenanceChanged(Set<String> nodes) {
    onLoop("maintenanceChanged");
    routing.setMaintenance(nodes);
    judge();
  }

  /**
   * The operator's {@code apivip drain}: refused, with the reasons, while {@link DrainGuard} names
   * anything (another node down, in maintenance or with its apiserver not ready, or no other node
   * that could hold the VIP), unless forced. Returns the obstacles it saw; when not forced and
   * there are any, nothing changed.
   */
  public List<String> drain(boolean force) {
    onLoop("drain");
    if (maintenance) {
      return List.of();
    }
    List<String> obstacles =
        DrainGuard.obstacles(parts.cluster().status().members(), this::apiserverReady);
    if (!obstacles.isEmpty()) {
      if (!force) {
        log.warn("drain refused: {}", String.join("; ", obstacles));
        return obstacles;
      }
      log.warn(
          "drain forced although {}: {}", String.join("; ", obstacles), DrainGuard.cost(obstacles));
    }
    enterMaintenance();
    return obstacles;
  }

  /**
   * Whether an apiserver of {@code nodeId} is routable from here; true for a node with none
   * configured.
   */
  boolean apiserverReady(String nodeId) {
    List<Settings.Backend> own = backends.stream().filter(b -> b.nodeId().equals(nodeId)).toList();
    return own.isEmpty() || own.stream().anyMatch(routing::routable);
  }

  /**
   * Maintenance on (the operator's {@code apivip drain}, once allowed, or a stop): a planned
   * handoff. If this node holds the VIP, its proxy first finishes the connections in flight on the
   * VIP while new ones wait; only then does the cluster hear of the maintenance and move the VIP,
   * so no connection is cut by the move. Otherwise the cluster hears of it at once.
   */
  public void enterMaintenance() {
    onLoop("enterMaintenance");
    if (maintenance) {
      return;
    }
    maintenance = true;
    log.info(
        "maintenance on: handing the VIP over and taking this node's apiserver out of rotation");
    if (holding) {
      long handoff = ++quiesces;
      quiescing = handoff;
      parts
          .gate()
          .quiesceVip(HANDOFF_QUIESCE)
          .whenComplete((done, failure) -> loop.execute(() -> quiesced(handoff)));
    } else {
      announceMaintenance(true);
    }
    publish();
  }

  /**
   * The proxy's quiesce for the planned handoff {@code handoff} is over. One that a resume
   * cancelled (and perhaps a new drain replaced) is over for nothing: only the latest one lets the
   * VIP move.
   */
  void quiesced(long handoff) {
    onLoop("quiesced");
    if (handoff != quiescing) {
      return;
    }
    quiescing = 0;
    announceMaintenance(true);
    judge();
  }

  /** Maintenance off (the operator's {@code apivip resume}); refused while the daemon stops. */
  public void leaveMaintenance() {
    onLoop("leaveMaintenance");
    if (!maintenance) {
      return;
    }
    if (stopping) {
      log.info("resume refused: this node is stopping, and stays in maintenance");
      return;
    }
    maintenance = false;
    quiescing = 0;
    log.info("maintenance off: this node serves again");
    parts.gate().reopenVip();
    if (maintenanceAnnounced) {
      announceMaintenance(false);
    }
    publish();
  }

  /**
   * The daemon stops: maintenance on for good, so the VIP is handed over before the parts close.
   */
  public void stop() {
    onLoop("stop");
    stopping = true;
    enterMaintenance();
    publish();
  }

  private void announceMaintenance(boolean on) {
    maintenanceAnnounced = on;
    parts.cluster().announceMaintenance(on);
  }

  // ---- eligibility
  // -------------------------------------------------------------------------------

  private void judge() {
    boolean routable = backends.stream().anyMatch(routing::routable);
    boolean anotherQualifies =
        parts.cluster().status().members().stream()
            .anyMatch(
                m ->
                    m.liveness() == ClusterStatus.Liveness.ALIVE
                        && m.eligible()
                        && !m.maintenance());
    reopenIfNoHandoff(anotherQualifies);
    Verdict verdict = verdict(routable, vip.machineryWorks(), holding, anotherQualifies);
    verdict.judgeAgainIn().ifPresent(this::judgeAgainWithin);
    if (eligible == null || eligible != verdict.eligible()) {
      eligible = verdict.eligible();
      parts.cluster().setEligible(verdict.eligible());
    }
    publish();
  }

  /**
   * A holder in maintenance whose quiesce is over keeps its VIP gate closed only while a handoff
   * can happen: with no other node that could take the VIP, it would hold the address and answer no
   * one (with every node drained, the API through the VIP was down until a resume). So it opens the
   * gate again, once, and closes it by a new quiesce only on a new drain. Judged again every poll
   * while it waits.
   */
  private void reopenIfNoHandoff(boolean anotherQualifies) {
    // A stopping daemon keeps its gate closed: it closes the listener anyway once the handoff is
    // over or has timed out.
    if (!maintenanceAnnounced || !holding || quiescing != 0 || stopping) {
      gateReopenedForNoHandoff = false;
      return;
    }
    judgeAgainWithin(POLL);
    if (!anotherQualifies && !gateReopenedForNoHandoff) {
      gateReopenedForNoHandoff = true;
      log.warn(
          "maintenance: no other node can take the VIP, so this node keeps it and serves it again"
              + " until one can");
      parts.gate().reopenVip();
    }
  }

  /** Keeps one timer, at the earliest moment a verdict asked to be judged again. */
  private void judgeAgainWithin(Duration delay) {
    long at = loop.nanoTime() + delay.toNanos();
    if (recheck != null && recheckAt - at <= 0) {
      return;
    }
    if (recheck != null) {
      recheck.cancel();
    }
    recheckAt = at;
    recheck = loop.schedule(delay, this::recheckDue);
  }

  private void recheckDue() {
    onLoop("recheckDue");
    recheck = null;
    judge();
  }

  /**
   * @param routable an apiserver is up and out of maintenance, as this node's health checks see it
   * @param vipWorks the VIP machinery works
   * @param holding this node holds the VIP, by the cluster's latest decision
   * @param anotherQualifies another node is alive, eligible and not in maintenance, as heartbeats
   *     say
   */
  private Verdict verdict(
      boolean routable, boolean vipWorks, boolean holding, boolean anotherQualifies) {
    if (routable || !holding || !vipWorks) {
      if (keeping && routable) {
        log.info("an apiserver is routable from this node again");
      }
      keeping = false;
      gaveUp = false;
      anotherQualifiesSince = NEVER;
      return new Verdict(routable && vipWorks, Optional.empty());
    }
    if (!keeping) {
      keeping = true;
      log.warn(
          "no apiserver is routable from this node; it keeps the VIP while no other node can route,"
              + " and for {} ms after one can (if every node finds the same, moving the VIP would"
              + " only reset connections)",
          settle.toMillis());
    }
    if (!anotherQualifies) {
      anotherQualifiesSince = NEVER;
      gaveUp = false;
      return new Verdict(true, Optional.of(POLL));
    }
    long now = loop.nanoTime();
    if (anotherQualifiesSince == NEVER) {
      anotherQualifiesSince = now;
    }
    long left = anotherQualifiesSince + settle.toNanos() - now;
    if (left > 0) {
      return new Verdict(
          true,
          Optional.of(POLL.compareTo(Duration.ofNanos(left)) < 0 ? POLL : Duration.ofNanos(left)));
    }
    if (!gaveUp) {
      gaveUp = true;
      log.warn(
          "still no apiserver routable from this node, and another node has been able to serve for"
              + " {} ms: it gives the VIP up",
          settle.toMillis());
    }
    return new Verdict(false, Optional.of(POLL));
  }

  // ---- state
  // -------------------------------------------------------------------------------------

  /** The latest decisions; any thread. */
  public State state() {
    return state;
  }

  private void publish() {
    state = new State(maintenance, stopping, eligible != null && eligible, quiescing != 0);
  }

  /**
   * Every decision here assumes one thread; a call from another would be a wiring mistake that no
   * test of the decisions could see, so it fails loudly instead of racing quietly.
   */
  private void onLoop(String method) {
    if (!loop.inLoop()) {
      throw new IllegalStateException(
          "NodeController."
              + method
              + " called on thread "
              + Thread.currentThread().getName()
              + ", not on its loop");
    }
  }
}
