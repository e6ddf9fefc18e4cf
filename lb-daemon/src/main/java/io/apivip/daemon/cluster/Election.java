package io.apivip.daemon.cluster;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Who holds the VIP: every rule, as one pure function of one node's view ({@link #decide}). Every
 * node runs it on its own view after every input; nodes with the same view reach the same answer.
 * If you want to change how the VIP moves, this file is the place.
 *
 * <h2>The rules</h2>
 *
 * <ol>
 *   <li><b>Qualified</b> = alive, eligible (its proxy reaches a healthy apiserver and its VIP part
 *       works) and not in maintenance. Rank = (priority, node id), higher wins. <b>Backable</b> =
 *       qualified and not <i>deaf</i> to the deciding node ({@link Member#deaf()}): a node that
 *       keeps sending while its heartbeats acknowledge none of the deciding node's recent enough to
 *       be a lease. Hearing a node is not enough: a node whose inbound heartbeats are lost still
 *       sends, and backing it would keep the VIP on nobody, since it can never collect the backing
 *       it is offered. A node that has merely gone quiet is not deaf (it may be paused); the
 *       failure detector deals with it.
 *   <li><b>Target</b>, the node that should hold the VIP: the <i>keeper</i>, i.e. the highest
 *       ranked backable node that announces it holds the VIP (a holder keeps it while it qualifies)
 *       and hears the deciding node or has gone quiet ({@link Member#keeps()}). If the keeper
 *       announces that it backs another node, it is handing the VIP over and that node is the
 *       target. With no keeper, the highest ranked backable node.
 *   <li><b>Preemption</b> (cluster.preempt): only the keeper decides it. When a qualified node that
 *       outranks it has been qualified, as the keeper sees it, for preempt-delay, the keeper backs
 *       that node, which takes the VIP; the keeper lets go when it sees the new holder.
 *   <li><b>Backing.</b> Every node backs at most one node (its target) and says so in every
 *       heartbeat, acknowledging the last sequence it heard from it. A node takes the VIP only when
 *       a quorum, itself included, backs it ({@link Member#backsMe()}), and it keeps it while that
 *       stays true. A node changes whom it backs at once only when the old choice is suspected, not
 *       qualified, or is the holder handing over to the new one; otherwise it backs nobody
 *       ("abstains") until the leases that its backing heartbeats gave the old choice have run out
 *       ({@link Input#backingLeaseEnd()}): about one failure timeout when the old choice hears it.
 *       A node that has just started abstains for one failure timeout, so it learns who holds
 *       before it backs anyone. The leases are kept short for a node that does not hear us: in a
 *       heartbeat that backs a node, a node acknowledges that node's newest sequence only while
 *       that node's heartbeats acknowledge one of ours sent at most 2 intervals before they arrive,
 *       and otherwise repeats its previous acknowledgement ({@link ClusterNode}). So a deaf
 *       holder's backers move on about one interval after they stop being heard, not one failure
 *       timeout.
 *   <li><b>Quorum.</b> A node holds the VIP only while it sees a quorum: itself plus the peers that
 *       it hears and whose latest heartbeat acknowledges one of its own heartbeats recent enough
 *       that the peer cannot have suspected it yet ({@link Member#connected()}). A holder that
 *       loses quorum releases at once; since its lease is counted from its own send times, it does
 *       so no later than one failure timeout after the partition.
 *   <li><b>Handing over</b> (make before break). A holder that stops qualifying (drain, or it turns
 *       ineligible) or that hands over to a preempting node keeps the VIP until it sees another
 *       node announce that it holds the VIP and backs itself (that node announces only once its
 *       address is up; a holder that is itself handing over does not count; a node that this node
 *       does not hear counts once enough peers back it to make a quorum with it), or for
 *       cluster.handoff-timeout at most (and for as long as no other node qualifies: a holder that
 *       cannot serve well answers clients faster than no holder), and only while it sees a quorum.
 *       Once it has started handing over it goes on doing so even if it qualifies again meanwhile,
 *       so a drain that is cancelled half way costs no gap either.
 *   <li><b>Two holders.</b> A qualified holder that is no longer backed by a quorum, and is not
 *       handing over, releases at once: its backers have moved on (to a higher holder seen after a
 *       partition heals, or because they suspected it). So when two holders see each other, the
 *       lower one releases at once.
 * </ol>
 *
 * <h2>Why there are never two holders that both see a quorum (outside a planned overlap)</h2>
 *
 * The invariant, stated precisely: <i>at every instant at most one node is a backed holder</i>
 * (holding, qualified, backing itself, and counting a quorum of backers with valid leases); any
 * other holder that still sees a quorum is handing over (rule 6), which lasts until it sees the new
 * holder's heartbeat or at most handoff-timeout. So two holders that both see a quorum exist only
 * during a planned overlap: a drain, an ineligible holder, or a preemption, and the old holder is
 * the one handing over. Both holding the address for a moment is deliberate there: connections keep
 * reaching a working proxy while the address moves.
 *
 * <p>Why at most one backed holder. Suppose X and Y are both backed holders at time t. Quorums are
 * majorities (a smaller cluster.quorum gives this up, and the loader warns about it), so some node
 * J is counted by both: X holds a heartbeat of J backing X, acknowledging X's sequence k, and Y
 * holds one of J backing Y (or J is Y itself). Say J backed X first. Then J stopped backing X at
 * some time w &lt;= t, in one of these ways:
 *
 * <ul>
 *   <li>J suspected X: J had heard nothing from X for a failure timeout, so w &gt;= sent(k) +
 *       failure-timeout (J received k after X sent it). X counts J only until sent(k) +
 *       failure-timeout, measured on X's own clock, so X no longer counts J at t.
 *   <li>X was not qualified, or X backed another node (it was handing over), as announced in one of
 *       X's heartbeats after k. X is a backed holder again at t, so it started backing itself again
 *       after that, and X counts only acknowledgements of sequences sent since then (its "epoch"),
 *       which k is not.
 *   <li>J abstained: it backed nobody until its backing lease end, the latest over its heartbeats
 *       that backed X of received(k') + failure-timeout, where k' is the sequence of X that
 *       heartbeat acknowledged. X sent k' before J received it, so X counts J, from any of those
 *       heartbeats, only until sent(k') + failure-timeout &lt;= received(k') + failure-timeout
 *       &lt;= that end &lt; t. Why J moved on (X deaf to J, X let go, a better node appeared) does
 *       not enter the argument, nor does freezing the acknowledgement, which only makes that end
 *       come sooner.
 *   <li>J restarted: a new incarnation abstains for a failure timeout after start; every lease the
 *       old one gave ended a failure timeout after it received what it acknowledged, before that.
 * </ul>
 *
 * The case where J backed Y first is the same with X and Y swapped.
 *
 * <h2>Why a deaf holder is replaced within failure-timeout plus two intervals</h2>
 *
 * X, the holder, stops hearing anyone at t0 but still sends. Its backers' leases to it stop being
 * renewed: each freezes its acknowledgement of X once X's heartbeats show them unheard for 2
 * intervals, so the leases X holds end by about t0 + failure-timeout + 2 intervals, and X releases
 * (quorum lost) by then. A failure timeout after t0 X suspects everyone and says so at once. Its
 * peers move on from X when they see it deaf or, if X is not the node they prefer, as soon as it
 * lets go; either way they abstain only until the lease their backing gave it has run out (rule 4),
 * then back the best node that hears them, which takes the VIP one exchange later. Measured in
 * AsymmetricFaultSimulationTest (defaults, 3 and 5 nodes, 30 runs each): another node takes the VIP
 * 586 ms after the fault (median), 643 ms worst, when X is the top-ranked node, and 558 ms, 695 ms
 * worst, when it is not (846 ms, 992 ms worst, while a node that left a holder which had let go
 * abstained for a whole failure timeout). The two intervals (not one) are for late timers on busy
 * hosts: at 1.1 intervals the lab's healthy nodes froze each other's acknowledgements and the VIP
 * flapped.
 *
 * <h2>Why a fixed failure timeout, not an accrual (phi) detector</h2>
 *
 * The safety argument above needs a known lower bound on how soon a peer can suspect us: with a
 * fixed timeout it is exactly failure-timeout after the peer last heard us, so a holder can compute
 * its lease from its own send times. An accrual detector suspects sooner when heartbeats have been
 * regular, so the holder could not know its lease. A fixed timeout also makes the failover time
 * predictable (measured: the VIP is on no node for 466 ms median, 522 ms worst after its holder
 * dies, with the defaults). Pauses are handled instead by a node not counting its own stall against
 * its peers, reading its socket before it judges its leases after a stall, and peers answering at
 * once a node back from silence ({@link Membership}, {@link ClusterNode}). Measured in
 * PauseAndQuorumSimulationTest with the defaults (100 ms interval, 500 ms timeout): pauses of 200
 * and 300 ms, of the holder or of another node, never moved the VIP in 100 runs each; a 400 ms
 * pause of the holder did once in 100 (when its last heartbeat before it was nearly an interval
 * old, every lease had ended on resume, and it let go at once: see ClusterNode's fence). Tolerated
 * pause = failure-timeout minus one interval, with a margin: raise failure-timeout on hosts with
 * longer pauses.
 */
public final class Election {

  /** A time that never was; what "since" fields hold when the state is not on. */
  public static final long NEVER = Long.MIN_VALUE;

  private Election() {}

  /** Why the VIP was taken or let go: a metric tag and a log field. */
  public enum Reason {
    /** No one held it (start, or the holder died) and a quorum backed this node. */
    ELECTED(true),
    /**
     * The previous holder was handing over (drain, ineligible, preemption) and this node took it.
     */
    TOOK_OVER(true),
    /** This node saw no quorum. */
    QUORUM_LOST(false),
    /** A handover finished: the new holder announced it holds the VIP. */
    HANDED_OVER(false),
    /** A handover found no new holder within handoff-timeout. */
    HANDOFF_TIMEOUT(false),
    /** A higher-ranked holder was seen, e.g. after a partition healed. */
    YIELDED(false),
    /** The quorum that backed this node moved on (it suspected this node, e.g. after a pause). */
    LOST_BACKING(false);

    private final boolean hold;

    Reason(boolean hold) {
      this.hold = hold;
    }

    public boolean hold() {
      return hold;
    }

    public String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * One node as the deciding node sees it (itself included). For the deciding node: alive is true,
   * holds is its own decision, backing is whom it backs now, connected and backsMe follow from
   * that.
   *
   * @param holds the node announced that the VIP is up on it
   * @param backing whom the node backs, as it last announced
   * @param qualifiedSince since when the deciding node has seen it qualified without a break, or
   *     {@link #NEVER}
   * @param connected it counts toward the deciding node's quorum (heard, and acknowledges a recent
   *     heartbeat of the deciding node)
   * @param deaf it is alive and still sending, but not connected: it demonstrably does not hear the
   *     deciding node (rule 1)
   * @param backsMe it is connected and backs the deciding node, acknowledging a heartbeat of the
   *     deciding node's current epoch
   * @param quiet nothing has been heard from it for more than 1.5 intervals: it is not sending now
   */
  public record Member(
      String id,
      int priority,
      boolean alive,
      boolean eligible,
      boolean maintenance,
      boolean holds,
      Optional<String> backing,
      long qualifiedSince,
      boolean connected,
      boolean deaf,
      boolean backsMe,
      boolean quiet) {

    public boolean qualified() {
      return alive && eligible && !maintenance;
    }

    /** Qualified and it hears the deciding node (rule 1): the only nodes a node backs. */
    public boolean backable() {
      return qualified() && !deaf;
    }

    /**
     * Its claim to hold the VIP, as far as the deciding node can trust it (rule 2): from a node
     * that sends without hearing the deciding node, claims may have waited in a queue (a link back
     * up flushes the datagrams that waited for the neighbour's address, and it may have let go
     * since), and if fresh it could not count our backing anyway; they count once it hears us. A
     * node gone quiet keeps its last claim until it is suspected, so its backers leave it at once
     * then.
     */
    public boolean keeps() {
      return holds && !sendsWithoutHearingUs();
    }

    /** It still sends, but acknowledges nothing of ours recent enough to be a lease. */
    boolean sendsWithoutHearingUs() {
      return !connected && !quiet;
    }
  }

  /** The settings the rules use, in nanoseconds. */
  public record Rules(
      int quorum,
      boolean preempt,
      long preemptDelayNanos,
      long handoffTimeoutNanos,
      long failureTimeoutNanos) {}

  /**
   * @param abstainingSince since when the node has been backing nobody on purpose, or {@link
   *     #NEVER}
   * @param handingOverSince since when the node, holding, has been handing over, or {@link #NEVER}
   * @param backingLeaseEnd until when the peer that the node backs may still count that backing:
   *     the latest, over the node's heartbeats that backed it, of the receipt time of the peer's
   *     sequence acknowledged there plus failure-timeout; {@link #NEVER} when no such lease was
   *     given
   */
  public record Input(
      long now,
      Member self,
      List<Member> peers,
      Rules rules,
      long abstainingSince,
      long handingOverSince,
      long backingLeaseEnd) {

    public Input {
      peers = List.copyOf(peers);
    }

    public Input(
        long now,
        Member self,
        List<Member> peers,
        Rules rules,
        long abstainingSince,
        long handingOverSince) {
      this(now, self, peers, rules, abstainingSince, handingOverSince, NEVER);
    }

    Optional<Member> member(String id) {
      if (self.id().equals(id)) {
        return Optional.of(self);
      }
      for (Member peer : peers) {
        if (peer.id().equals(id)) {
          return Optional.of(peer);
        }
      }
      return Optional.empty();
    }

    List<Member> everyone() {
      List<Member> all = new ArrayList<>(peers.size() + 1);
      all.add(self);
      all.addAll(peers);
      return all;
    }
  }

  /**
   * What the node does now. {@code transition} is set when {@code hold} differs from the input.
   * {@code backedHolder} and {@code seesQuorum} describe the node after the decision, for the
   * invariant checks and /status.
   */
  public record Decision(
      Optional<String> backing,
      long abstainingSince,
      boolean hold,
      long handingOverSince,
      Optional<Reason> transition,
      boolean seesQuorum,
      boolean backedHolder) {}

  /** Why the target is who it is; only a keeper's own preemption lets its backing move at once. */
  enum TargetKind {
    NONE,
    KEEPER,
    HANDOVER,
    PREEMPTION,
    BEST_QUALIFIED
  }

  record Target(Optional<String> node, TargetKind kind) {}

  static final Comparator<Member> RANK =
      Comparator.comparingInt(Member::priority).thenComparing(Member::id);

  /** Rules 2 and 3: whom the deciding node wants to hold the VIP. */
  static Target target(Input in) {
    Member keeper = null;
    Member best = null;
    for (Member member : in.everyone()) {
      if (member.backable()) {
        best = higher(best, member);
        if (member.keeps()) {
          keeper = higher(keeper, member);
        }
      }
    }
    if (keeper == null) {
      return best == null
          ? new Target(Optional.empty(), TargetKind.NONE)
          : new Target(Optional.of(best.id()), TargetKind.BEST_QUALIFIED);
    }
    if (keeper == in.self()) {
      boolean preempts =
          in.rules().preempt()
              && best != keeper
              && best.qualifiedSince() != NEVER
              && in.now() - best.qualifiedSince() >= in.rules().preemptDelayNanos();
      return preempts
          ? new Target(Optional.of(best.id()), TargetKind.PREEMPTION)
          : new Target(Optional.of(keeper.id()), TargetKind.KEEPER);
    }
    String keeperId = keeper.id();
    Optional<Member> successor =
        keeper
            .backing()
            .filter(id -> !id.equals(keeperId))
            .flatMap(in::member)
            .filter(Member::backable);
    return successor.isPresent()
        ? new Target(Optional.of(successor.get().id()), TargetKind.HANDOVER)
        : new Target(Optional.of(keeperId), TargetKind.KEEPER);
  }

  private static Member higher(Member current, Member candidate) {
    return current == null || RANK.compare(candidate, current) > 0 ? candidate : current;
  }

  /**
   * Rule 4: may the node stop backing {@code previous} and back {@code target} without abstaining?
   */
  static boolean mayLeaveAtOnce(Input in, String previous, Target target) {
    Optional<Member> old = in.member(previous);
    if (old.isEmpty() || !old.get().qualified()) {
      return true; // suspected (not alive) or unqualified: it cannot take, and a holder hands over
    }
    if (old.get() == in.self()) {
      return target.kind() == TargetKind.PREEMPTION;
    }
    if (old.get().holds()
        && target.node().isPresent()
        && old.get().backing().equals(target.node())) {
      return true;
    }
    return in.now() >= in.backingLeaseEnd();
  }

  /** All the rules: whom to back and whether to hold the VIP. */
  public static Decision decide(Input in) {
    Rules rules = in.rules();
    Member self = in.self();
    Target target = target(in);

    Optional<String> previous = self.backing();
    Optional<String> backing;
    long abstainingSince = in.abstainingSince();
    if (previous.equals(target.node())) {
      backing = previous;
    } else if (previous.isEmpty()) {
      boolean waiting =
          abstainingSince != NEVER && in.now() - abstainingSince < rules.failureTimeoutNanos();
      backing = waiting ? Optional.empty() : target.node();
    } else if (mayLeaveAtOnce(in, previous.get(), target)) {
      backing = target.node();
    } else {
      backing = Optional.empty();
      // The old choice cannot count our backing past backingLeaseEnd (see the proof): abstain until
      // then. That is about a failure timeout for a peer that hears us, and sooner for one that
      // does not. Dated back so that the usual "abstaining for failure-timeout" test ends then.
      abstainingSince =
          in.backingLeaseEnd() == NEVER
              ? in.now()
              : Math.min(in.now(), in.backingLeaseEnd() - rules.failureTimeoutNanos());
    }
    if (backing.isPresent()) {
      abstainingSince = NEVER;
    }

    boolean backsItself = backing.equals(Optional.of(self.id()));
    int connected = 1;
    int backers = backsItself ? 1 : 0;
    for (Member peer : in.peers()) {
      connected += peer.connected() ? 1 : 0;
      // Backing earned under our previous backing choice does not count: see the class comment.
      backers += backsItself && previous.equals(backing) && peer.backsMe() ? 1 : 0;
    }
    boolean seesQuorum = connected >= rules.quorum();
    boolean backed = self.qualified() && backsItself && backers >= rules.quorum() && seesQuorum;

    if (!self.holds()) {
      if (backed) {
        Reason reason = anotherHolds(in) ? Reason.TOOK_OVER : Reason.ELECTED;
        return new Decision(
            backing, abstainingSince, true, NEVER, Optional.of(reason), seesQuorum, true);
      }
      return new Decision(
          backing, abstainingSince, false, NEVER, Optional.empty(), seesQuorum, false);
    }
    if (!seesQuorum) {
      return release(backing, abstainingSince, Reason.QUORUM_LOST, false);
    }
    if (backed && in.handingOverSince() == NEVER) {
      return new Decision(backing, abstainingSince, true, NEVER, Optional.empty(), true, true);
    }
    boolean handingOver =
        !self.qualified()
            || (backing.isPresent() && !backsItself)
            || in.handingOverSince() != NEVER;
    if (!handingOver) {
      boolean outranked = false;
      for (Member peer : in.peers()) {
        outranked |= peer.qualified() && peer.holds() && RANK.compare(peer, self) > 0;
      }
      return release(
          backing, abstainingSince, outranked ? Reason.YIELDED : Reason.LOST_BACKING, true);
    }
    if (anotherTookIt(in)) {
      return release(backing, abstainingSince, Reason.HANDED_OVER, true);
    }
    if (backed) {
      // A handover cancelled half way (drain then resume) ends once the quorum backs us again.
      return new Decision(backing, abstainingSince, true, NEVER, Optional.empty(), true, true);
    }
    long since = in.handingOverSince() == NEVER ? in.now() : in.handingOverSince();
    // With no qualified node to take over, keep it: when every node's health checks fail at once
    // (an overloaded network, a CA rotated everywhere) a holder that answers quickly beats none.
    if (in.now() - since >= rules.handoffTimeoutNanos() && anotherQualifies(in)) {
      return release(backing, abstainingSince, Reason.HANDOFF_TIMEOUT, true);
    }
    return new Decision(backing, abstainingSince, true, since, Optional.empty(), true, false);
  }

  private static boolean anotherQualifies(Input in) {
    for (Member peer : in.peers()) {
      if (peer.qualified()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Rule 5's end of a handover: another node holds the VIP and backs itself. A holder that is
   * handing over backs its successor, so it does not count: with two such (the old holder handing
   * to this node, this node to a node it prefers) neither would otherwise wait for the real new
   * holder, and the VIP went round in circles (ClusterSimulationTest, a link lost one way).
   */
  private static boolean anotherTookIt(Input in) {
    for (Member peer : in.peers()) {
      if (peer.alive() && peer.holds() && peer.backing().equals(Optional.of(peer.id()))) {
        return true;
      }
    }
    // A node that this one does not hear (a link lost one way) can never be seen taking; enough
    // peers backing it to make a quorum with it are as good a sign.
    for (Member candidate : in.peers()) {
      if (!candidate.alive() && backers(in, candidate.id()) >= in.rules().quorum() - 1) {
        return true;
      }
    }
    return false;
  }

  /** How many peers this node hears back {@code id}. */
  private static int backers(Input in, String id) {
    int backers = 0;
    for (Member peer : in.peers()) {
      backers += peer.alive() && peer.backing().equals(Optional.of(id)) ? 1 : 0;
    }
    return backers;
  }

  private static boolean anotherHolds(Input in) {
    for (Member peer : in.peers()) {
      if (peer.alive() && peer.holds()) {
        return true;
      }
    }
    return false;
  }

  private static Decision release(
      Optional<String> backing, long abstainingSince, Reason reason, boolean seesQuorum) {
    return new Decision(
        backing, abstainingSince, false, NEVER, Optional.of(reason), seesQuorum, false);
  }
}
