package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Election.NEVER;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cluster.Election.Decision;
import io.apivip.daemon.cluster.Election.Input;
import io.apivip.daemon.cluster.Election.Member;
import io.apivip.daemon.cluster.Election.Reason;
import io.apivip.daemon.cluster.Election.Rules;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every rule of {@link Election}, one view at a time. The deciding node is always "a". */
class ElectionTest {

  private static final long MS = 1_000_000L;
  private static final long NOW = 100_000 * MS;
  private static final Rules THREE = new Rules(2, false, 30_000 * MS, 3_000 * MS, 500 * MS);

  /** A node as the deciding node sees it; by default alive, eligible, connected, idle. */
  private static final class N {
    String id;
    int priority = 100;
    boolean alive = true;
    boolean eligible = true;
    boolean maintenance;
    boolean holds;
    Optional<String> backing = Optional.empty();
    long qualifiedSince = 0;
    boolean connected = true;
    boolean deaf;
    boolean backsMe;
    boolean quiet;

    N(String id) {
      this.id = id;
    }

    N priority(int value) {
      priority = value;
      return this;
    }

    N dead() {
      alive = false;
      connected = false;
      return this;
    }

    /**
     * Alive and sending, but it does not hear the deciding node (its inbound heartbeats are lost).
     */
    N deaf() {
      connected = false;
      deaf = true;
      return this;
    }

    N ineligible() {
      eligible = false;
      return this;
    }

    N maintenance() {
      maintenance = true;
      return this;
    }

    N holds() {
      holds = true;
      return this;
    }

    N backs(String node) {
      backing = Optional.of(node);
      return this;
    }

    /** Backs the deciding node with a valid lease. */
    N backsA() {
      backing = Optional.of("a");
      backsMe = true;
      return this;
    }

    N unconnected() {
      connected = false;
      return this;
    }

    /** Not heard for more than 1.5 intervals, so not connected either (its lease ran out). */
    N quiet() {
      connected = false;
      quiet = true;
      return this;
    }

    N qualifiedSince(long value) {
      qualifiedSince = value;
      return this;
    }

    Member member() {
      return new Member(
          id,
          priority,
          alive,
          eligible,
          maintenance,
          holds,
          backing,
          qualifiedSince,
          connected,
          deaf,
          backsMe && connected,
          quiet);
    }
  }

  private static N node(String id) {
    return new N(id);
  }

  private static Input view(Rules rules, N self, N... peers) {
    return view(rules, NEVER, NEVER, self, peers);
  }

  private static Input view(
      Rules rules, long abstainingSince, long handingOverSince, N self, N... peers) {
    List<Member> others = new ArrayList<>();
    for (N peer : peers) {
      others.add(peer.member());
    }
    return new Input(NOW, self.member(), others, rules, abstainingSince, handingOverSince);
  }

  private static Optional<String> target(Input input) {
    return Election.target(input).node();
  }

  static Stream<Arguments> targets() {
    return Stream.of(
        Arguments.of(
            "no one qualifies: no target",
            view(THREE, node("a").ineligible(), node("b").maintenance(), node("c").dead()),
            null),
        Arguments.of(
            "highest priority wins",
            view(THREE, node("a"), node("b").priority(150), node("c")),
            "b"),
        Arguments.of(
            "equal priority: highest id wins", view(THREE, node("a"), node("b"), node("c")), "c"),
        Arguments.of(
            "dead nodes do not qualify",
            view(THREE, node("a"), node("b"), node("c").priority(200).dead()),
            "b"),
        Arguments.of(
            "ineligible nodes do not qualify",
            view(THREE, node("a"), node("b"), node("c").priority(200).ineligible()),
            "b"),
        Arguments.of(
            "nodes in maintenance do not qualify",
            view(THREE, node("a"), node("b"), node("c").priority(200).maintenance()),
            "b"),
        Arguments.of(
            "the holder keeps the VIP while it qualifies",
            view(THREE, node("a"), node("b").holds(), node("c").priority(200)),
            "b"),
        Arguments.of(
            "a holder in maintenance is not kept",
            view(THREE, node("a"), node("b").holds().maintenance(), node("c")),
            "c"),
        Arguments.of(
            "a holder handing over names its successor",
            view(THREE, node("a"), node("b").holds().backs("a"), node("c").priority(200)),
            "a"),
        Arguments.of(
            "two holders: the higher is kept",
            view(THREE, node("a").holds(), node("b").holds().priority(150), node("c")),
            "b"),
        Arguments.of(
            "a holder's unqualified choice is ignored",
            view(THREE, node("a"), node("b").holds().backs("c"), node("c").ineligible()),
            "b"),
        Arguments.of(
            "a deaf node is not backed, however high",
            view(THREE, node("a"), node("b"), node("c").priority(200).deaf()),
            "b"),
        Arguments.of(
            "a deaf holder is not kept",
            view(THREE, node("a"), node("b").priority(200).holds().deaf(), node("c")),
            "c"),
        Arguments.of(
            "a holder handing over to a deaf node is kept",
            view(THREE, node("a"), node("b").holds().backs("c"), node("c").deaf()),
            "b"),
        Arguments.of(
            "a quiet, unconnected node (paused?) still is",
            view(THREE, node("a"), node("b"), node("c").priority(200).unconnected()),
            "c"),
        Arguments.of(
            "only itself hears it: itself",
            view(THREE, node("a"), node("b").deaf(), node("c").priority(200).deaf()),
            "a"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("targets")
  void target(String rule, Input input, String expected) {
    assertThat(target(input)).isEqualTo(Optional.ofNullable(expected));
  }

  @Test
  void preemptionIsTheKeepersChoiceAfterTheDelay() {
    Rules preempting = new Rules(2, true, 30_000 * MS, 3_000 * MS, 500 * MS);
    N self = node("a").holds().backs("a");
    Input early =
        view(
            preempting,
            self,
            node("b").priority(200).qualifiedSince(NOW - 29_999 * MS).backsA(),
            node("c").backsA());
    assertThat(target(early)).contains("a");
    Input due =
        view(
            preempting,
            self,
            node("b").priority(200).qualifiedSince(NOW - 30_000 * MS).backsA(),
            node("c").backsA());
    assertThat(Election.target(due).kind()).isEqualTo(Election.TargetKind.PREEMPTION);
    Decision decision = Election.decide(due);
    assertThat(decision.backing()).as("backs the preempting node at once").contains("b");
    assertThat(decision.hold()).as("keeps the VIP until the new holder announces it").isTrue();
    assertThat(decision.backedHolder()).isFalse();

    Input taken =
        view(
            preempting,
            NEVER,
            NOW - 50 * MS,
            node("a").holds().backs("b"),
            node("b").priority(200).holds().backs("b"),
            node("c").backs("b"));
    assertThat(Election.decide(taken).transition()).contains(Reason.HANDED_OVER);
  }

  @Test
  void withoutPreemptionTheHolderKeepsTheVip() {
    Input input =
        view(
            THREE,
            node("a").holds().backs("a"),
            node("b").priority(200).qualifiedSince(0).backsA(),
            node("c").backsA());
    Decision decision = Election.decide(input);
    assertThat(decision.hold()).isTrue();
    assertThat(decision.transition()).isEmpty();
    assertThat(decision.backedHolder()).isTrue();
  }

  @Test
  void takesTheVipOnlyWhenAQuorumBacksIt() {
    N self = node("a").priority(200).backs("a");
    assertThat(Election.decide(view(THREE, self, node("b"), node("c"))).hold())
        .as("only itself backs it")
        .isFalse();
    Decision backed = Election.decide(view(THREE, self, node("b").backsA(), node("c")));
    assertThat(backed.hold()).isTrue();
    assertThat(backed.transition()).contains(Reason.ELECTED);
    Decision handover =
        Election.decide(view(THREE, self, node("b").backsA(), node("c").holds().maintenance()));
    assertThat(handover.transition()).contains(Reason.TOOK_OVER);
  }

  @Test
  void backingEarnedUnderAnEarlierChoiceDoesNotCountInTheStepThatChangesIt() {
    // a backed c until now; c went into maintenance, so a backs itself from this step on. b's
    // acknowledgement belongs to a's previous epoch and must not count yet.
    Decision decision =
        Election.decide(
            view(
                THREE,
                node("a").priority(200).backs("c"),
                node("b").backsA(),
                node("c").maintenance()));
    assertThat(decision.backing()).contains("a");
    assertThat(decision.hold()).isFalse();
  }

  @Test
  void anIneligibleNodeNeverTakesTheVip() {
    Decision decision =
        Election.decide(
            view(THREE, node("a").ineligible().backs("a"), node("b").backsA(), node("c").backsA()));
    assertThat(decision.hold()).isFalse();
  }

  static Stream<Arguments> backingChanges() {
    return Stream.of(
        Arguments.of("suspected: at once", node("b").dead(), "c"),
        Arguments.of("not eligible: at once", node("b").ineligible(), "c"),
        Arguments.of("in maintenance: at once", node("b").maintenance(), "c"),
        Arguments.of(
            "a holder handing over to the target: at once", node("b").holds().backs("c"), "c"),
        Arguments.of(
            "a live, qualified candidate: abstain until its lease from a ends", node("b"), null));
  }

  @ParameterizedTest(name = "leaving {0}")
  @MethodSource("backingChanges")
  void leavingTheNodeItBacked(String rule, N previous, String expected) {
    // The target is c, a holder (or the best qualified); a backed b until now, and b may count
    // that backing for 400 ms more.
    Input input =
        lease(
            NOW + 400 * MS,
            node("a").backs("b"),
            previous,
            node("c").priority(150).holds().backs("c"));
    Decision decision = Election.decide(input);
    assertThat(decision.backing()).isEqualTo(Optional.ofNullable(expected));
    assertThat(decision.abstainingSince())
        .as("dated back so that a failure timeout of abstention ends with the lease")
        .isEqualTo(expected == null ? NOW - 100 * MS : NEVER);
  }

  /**
   * Issue 23: a backs b, the top-ranked node, which stopped hearing a (its inbound heartbeats are
   * lost) but still sends. a moves on to c once the lease its backing gave b has run out, not a
   * failure timeout later, and not before.
   */
  @Test
  void leavesADeafNodeWhenItsLeaseFromUsEndsAndNotBefore() {
    N self = node("a").backs("b");
    N deaf = node("b").priority(200).deaf();
    N other = node("c");
    Decision before = Election.decide(lease(NOW + 80 * MS, self, deaf, other));
    assertThat(before.backing()).as("b may still count a's backing for 80 ms").isEmpty();
    assertThat(before.abstainingSince())
        .as("abstains until the lease ends")
        .isEqualTo(NOW + 80 * MS - 500 * MS);
    Decision during =
        Election.decide(lease(NOW + 80 * MS, NOW + 80 * MS - 500 * MS, node("a"), deaf, other));
    assertThat(during.backing()).isEmpty();
    Decision after = Election.decide(lease(NOW, self, deaf, other));
    assertThat(after.backing()).as("the lease ended: at once").contains("c");
    Decision never = Election.decide(lease(NEVER, self, deaf, other));
    assertThat(never.backing()).as("a never gave b a lease").contains("c");
    Decision quiet =
        Election.decide(lease(NOW + 80 * MS, self, node("b").priority(200).quiet(), other));
    assertThat(quiet.backing())
        .as("a quiet node (maybe paused) keeps a's backing until suspected")
        .contains("b");
  }

  static Stream<Arguments> holdersLeftAtTheLeasesEnd() {
    return Stream.of(
        // Before its own heartbeats say it stopped hearing us (deaf), its claim no longer counts.
        Arguments.of(
            "a holder that still sends but no longer acknowledges us recently enough",
            node("b").holds().backs("b").unconnected()),
        // It lost its quorum and let go while it still hears a; a whole failure timeout more left
        // the VIP on nobody for 0.5 s in the lab.
        Arguments.of("a holder that let go", node("b").backs("b")));
  }

  /** a backed b, a lower-ranked holder; a prefers c once b no longer keeps the VIP. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("holdersLeftAtTheLeasesEnd")
  void leavesALowerRankedHolderWhenItsLeaseFromUsEnds(String what, N holder) {
    N self = node("a").backs("b");
    N top = node("c").priority(200);
    Decision before = Election.decide(lease(NOW + 80 * MS, self, holder, top));
    assertThat(before.backing()).isEmpty();
    assertThat(before.abstainingSince()).isEqualTo(NOW + 80 * MS - 500 * MS);
    Decision after = Election.decide(lease(NOW, self, holder, top));
    assertThat(after.backing()).contains("c");
  }

  @Test
  void aDeafHolderIsReplacedAndTheReplacementTakesOnceBacked() {
    // c is deaf and held the VIP; it lost quorum. a, now the highest that hears b, backs itself.
    Decision candidate =
        Election.decide(
            lease(
                NOW - MS,
                node("a").priority(150).backs("c"),
                node("b").backs("c"),
                node("c").priority(200).deaf()));
    assertThat(candidate.backing()).contains("a");
    assertThat(candidate.hold()).as("b's backing of a has not arrived yet").isFalse();
    Decision taken =
        Election.decide(
            view(
                THREE,
                node("a").priority(150).backs("a"),
                node("b").backsA(),
                node("c").priority(200).deaf().backs("c")));
    assertThat(taken.transition()).contains(Reason.ELECTED);
  }

  @Test
  void aDeafNodeThatStillHoldsIsAnotherHolderButNotATarget() {
    // Before its lease ends the deaf holder may still hold: the node it outranks does not take
    // (its backers have not moved), and it is never backed again while deaf.
    Decision decision =
        Election.decide(
            view(
                THREE,
                node("a").priority(150).backs("a"),
                node("b").backsA(),
                node("c").priority(200).holds().deaf()));
    assertThat(decision.backing()).contains("a");
    assertThat(decision.transition()).contains(Reason.TOOK_OVER);
  }

  private static Input lease(long backingLeaseEnd, N self, N... peers) {
    return lease(backingLeaseEnd, NEVER, self, peers);
  }

  private static Input lease(long backingLeaseEnd, long abstainingSince, N self, N... peers) {
    List<Member> others = new ArrayList<>();
    for (N peer : peers) {
      others.add(peer.member());
    }
    return new Input(NOW, self.member(), others, THREE, abstainingSince, NEVER, backingLeaseEnd);
  }

  @Test
  void abstainsForOneFailureTimeoutThenBacksTheTarget() {
    N self = node("a");
    N[] peers = {node("b"), node("c").priority(150)};
    assertThat(Election.decide(view(THREE, NOW - 499 * MS, NEVER, self, peers)).backing())
        .isEmpty();
    assertThat(Election.decide(view(THREE, NOW - 500 * MS, NEVER, self, peers)).backing())
        .contains("c");
    assertThat(Election.decide(view(THREE, NEVER, NEVER, self, peers)).backing())
        .as("not abstaining")
        .contains("c");
  }

  @Test
  void aHolderThatLosesQuorumReleasesAtOnce() {
    Input input =
        view(
            THREE,
            node("a").holds().backs("a"),
            node("b").unconnected().backs("a"),
            node("c").dead());
    Decision decision = Election.decide(input);
    assertThat(decision.hold()).isFalse();
    assertThat(decision.transition()).contains(Reason.QUORUM_LOST);
    assertThat(decision.seesQuorum()).isFalse();
  }

  @Test
  void theLowerOfTwoHoldersYields() {
    Decision lower =
        Election.decide(
            view(
                THREE,
                node("a").holds().backs("a"),
                node("b").priority(150).holds().backs("b"),
                node("c").backsA()));
    assertThat(lower.transition()).contains(Reason.YIELDED);
    Decision higher =
        Election.decide(
            view(
                THREE,
                node("a").priority(150).holds().backs("a"),
                node("b").holds().backs("b"),
                node("c").backsA()));
    assertThat(higher.hold()).isTrue();
    assertThat(higher.transition()).isEmpty();
  }

  /**
   * A handover ends when the new holder holds and backs itself; an old holder that is itself
   * handing over (to this node, say) does not count. A node this one does not hear (a link lost one
   * way) counts once enough peers back it to make a quorum with it, since it is never seen taking.
   */
  @Test
  void aHandoverEndsOnANewHolderNotOnAnotherHolderHandingOver() {
    N handing = node("a").maintenance().holds().backs("c");
    Decision otherOldHolder =
        Election.decide(
            view(
                THREE,
                NEVER,
                NOW - 100 * MS,
                handing,
                node("b").holds().backs("a"),
                node("c").priority(150).backs("c")));
    assertThat(otherOldHolder.hold()).isTrue();
    assertThat(otherOldHolder.transition()).isEmpty();

    Decision unheardSuccessor =
        Election.decide(
            view(
                THREE,
                NEVER,
                NOW - 100 * MS,
                handing,
                node("b").backs("c"),
                node("c").priority(150).dead()));
    assertThat(unheardSuccessor.transition()).contains(Reason.HANDED_OVER);

    Decision unheardAndUnbacked =
        Election.decide(
            view(
                THREE,
                NEVER,
                NOW - 100 * MS,
                handing,
                node("b").backs("b"),
                node("c").priority(150).dead()));
    assertThat(unheardAndUnbacked.hold()).isTrue();
  }

  /**
   * A claim to hold from a node that sends without hearing us may be stale (a burst that waited in
   * a queue until its link came back): the holder keeps the VIP, its backers keep backing it. A
   * holder gone quiet (dying, or paused) stays the keeper until it is suspected.
   */
  @Test
  void aClaimFromANodeThatDoesNotHearUsMakesNoKeeperUntilItDoes() {
    Input burst =
        view(
            THREE,
            node("a").holds().backs("a"),
            node("b").backsA(),
            node("c").priority(150).holds().backs("c").unconnected());
    assertThat(target(burst)).contains("a");
    Decision decision = Election.decide(burst);
    assertThat(decision.hold()).isTrue();
    assertThat(decision.transition()).isEmpty();

    Input heard =
        view(
            THREE,
            node("a").holds().backs("a"),
            node("b").backsA(),
            node("c").priority(150).holds().backs("c"));
    assertThat(Election.decide(heard).transition()).contains(Reason.YIELDED);

    Input quiet =
        view(THREE, node("b").backs("c"), node("a"), node("c").priority(150).holds().quiet());
    assertThat(target(quiet)).contains("c");
  }

  @Test
  void aHolderWhoseBackersMovedOnReleasesAtOnce() {
    Decision decision =
        Election.decide(
            view(THREE, node("a").holds().backs("a"), node("b").backs("c"), node("c").backs("c")));
    assertThat(decision.transition()).contains(Reason.LOST_BACKING);
  }

  @Test
  void aDrainingHolderKeepsTheVipUntilItsSuccessorAnnouncesIt() {
    N draining = node("a").maintenance().holds().backs("a");
    Decision start =
        Election.decide(
            view(THREE, draining, node("b").backsA(), node("c").priority(150).backsA()));
    assertThat(start.backing()).as("backs its successor at once").contains("c");
    assertThat(start.hold()).isTrue();
    assertThat(start.handingOverSince()).isEqualTo(NOW);

    N handing = node("a").maintenance().holds().backs("c");
    Decision waiting =
        Election.decide(
            view(
                THREE,
                NEVER,
                NOW - 100 * MS,
                handing,
                node("b").backs("c"),
                node("c").priority(150).backs("c")));
    assertThat(waiting.hold()).isTrue();
    assertThat(waiting.handingOverSince()).isEqualTo(NOW - 100 * MS);

    Decision done =
        Election.decide(
            view(
                THREE,
                NEVER,
                NOW - 100 * MS,
                handing,
                node("b").backs("c"),
                node("c").priority(150).holds().backs("c")));
    assertThat(done.transition()).contains(Reason.HANDED_OVER);

    Decision timeout =
        Election.decide(
            view(
                THREE,
                NEVER,
                NOW - 3_000 * MS,
                handing,
                node("b").backs("c"),
                node("c").priority(150).backs("c")));
    assertThat(timeout.transition()).contains(Reason.HANDOFF_TIMEOUT);

    Decision cutOff =
        Election.decide(
            view(THREE, NEVER, NOW - 100 * MS, handing, node("b").dead(), node("c").dead()));
    assertThat(cutOff.transition()).contains(Reason.QUORUM_LOST);
  }

  @Test
  void anIneligibleHolderHandsOverLikeADrainingOne() {
    Decision decision =
        Election.decide(
            view(
                THREE,
                node("a").ineligible().holds().backs("a"),
                node("b").backsA(),
                node("c").backsA()));
    assertThat(decision.hold()).isTrue();
    assertThat(decision.backing()).contains("c");
    assertThat(decision.handingOverSince()).isEqualTo(NOW);
  }

  @Test
  void aDrainCancelledHalfWayKeepsTheVipUntilTheQuorumBacksItAgain() {
    // a resumed: qualified again, abstaining before it may back itself; still handing over.
    N resumed = node("a").priority(200).holds();
    Decision waiting =
        Election.decide(view(THREE, NOW - 100 * MS, NOW - 100 * MS, resumed, node("b"), node("c")));
    assertThat(waiting.hold()).as("no gap while nobody else took it").isTrue();
    N backedAgain = node("a").priority(200).holds().backs("a");
    Decision done =
        Election.decide(
            view(
                THREE, NEVER, NOW - 600 * MS, backedAgain, node("b").backsA(), node("c").backsA()));
    assertThat(done.hold()).isTrue();
    assertThat(done.handingOverSince()).isEqualTo(NEVER);
    assertThat(done.backedHolder()).isTrue();
  }

  @Test
  void twoNodesWithQuorumOneHoldAloneAndYieldWhenTheyMeet() {
    Rules two = new Rules(1, false, 30_000 * MS, 3_000 * MS, 500 * MS);
    Decision alone = Election.decide(view(two, node("a").backs("a"), node("b").dead()));
    assertThat(alone.transition()).contains(Reason.ELECTED);
    Decision met =
        Election.decide(view(two, node("a").holds().backs("a"), node("b").holds().backs("b")));
    assertThat(met.transition())
        .as("a is lower than b (same priority, lower id)")
        .contains(Reason.YIELDED);
  }

  @Test
  void evenSizedClustersNeedAStrictMajority() {
    Rules four = new Rules(3, false, 30_000 * MS, 3_000 * MS, 500 * MS);
    Decision half =
        Election.decide(
            view(
                four,
                node("a").priority(200).backs("a"),
                node("b").backsA(),
                node("c").dead(),
                node("d").dead()));
    assertThat(half.hold()).as("two of four").isFalse();
    assertThat(half.seesQuorum()).isFalse();
    Decision majority =
        Election.decide(
            view(
                four,
                node("a").priority(200).backs("a"),
                node("b").backsA(),
                node("c").backsA(),
                node("d").dead()));
    assertThat(majority.hold()).as("three of four").isTrue();
  }
}
