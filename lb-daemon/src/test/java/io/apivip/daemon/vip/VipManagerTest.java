package io.apivip.daemon.vip;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.apivip.daemon.config.Settings;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The manager's decisions on virtual time, against an in-memory interface. */
class VipManagerTest {

  private static final Duration INTERVAL = Duration.ofMillis(300);
  private static final Duration REFRESH = Duration.ofSeconds(60);
  private static final Duration CHECK = Duration.ofSeconds(1);
  private static final Duration GRACE = ForeignClaims.GRACE;
  private static final String OTHER_MAC = "02:00:00:00:00:0c";
  private static final Backoff BACKOFF = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2));

  private final FakeScheduler scheduler = new FakeScheduler();
  private final FakeKernel kernel = new FakeKernel(scheduler);
  private final FakeClaimWatch claims = new FakeClaimWatch(scheduler);
  private final MeterRegistry registry = new SimpleMeterRegistry();
  private final List<VipManager.Status> published = new ArrayList<>();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger(VipManager.class);
  private final Logger claimLogger = (Logger) LoggerFactory.getLogger(ForeignClaims.class);
  private VipManager manager;

  @BeforeEach
  void setUp() throws Exception {
    logs.start();
    logger.addAppender(logs);
    claimLogger.addAppender(logs);
    manager = manager(3, REFRESH);
  }

  @AfterEach
  void tearDown() {
    logger.detachAppender(logs);
    claimLogger.detachAppender(logs);
  }

  @Test
  void holdAddsTheAddressAndAnnouncesItAnnounceCountTimesAtTheInterval() {
    start();
    manager.hold("elected", 1);
    scheduler.runDue();

    assertThat(kernel.present).isTrue();
    assertThat(manager.status()).isEqualTo(new VipManager.Status(true, true, true, "", 1));
    scheduler.advance(Duration.ofSeconds(5));
    assertThat(kernel.journal)
        .containsExactly("add@0", "announce@0", "announce@300", "announce@600");
    assertThat(counter(VipMetrics.ANNOUNCEMENTS_SENT, "kind", "garp-request")).isEqualTo(3);
    assertThat(counter(VipMetrics.ANNOUNCEMENTS_SENT, "kind", "garp-reply")).isEqualTo(3);
    assertThat(counter(VipMetrics.ADDRESS_OPERATIONS, "operation", "add", "outcome", "changed"))
        .isEqualTo(1);
    assertThat(registry.get(VipMetrics.DECISION_TO_PRESENT).timer().count()).isEqualTo(1);
    assertThat(registry.get(VipMetrics.DECISION_TO_ANNOUNCED).timer().count()).isEqualTo(1);
    assertThat(registry.get(VipMetrics.HELD).gauge().value()).isEqualTo(1);
    assertThat(messages())
        .anyMatch(line -> line.startsWith("VIP 192.0.2.100/32 added on eth0 in "));
    assertThat(messages())
        .anyMatch(
            line ->
                line.startsWith(
                    "VIP 192.0.2.100 announced on eth0 as at 02:00:00:00:00:0b (garp-request +"
                        + " garp-reply)"));
  }

  @Test
  void repeatedHoldsDoNothingMore() {
    start();
    manager.hold("elected", 1);
    manager.hold("elected again", 1);
    scheduler.advance(Duration.ofSeconds(5));

    assertThat(kernel.calls("add")).hasSize(1);
    assertThat(kernel.calls("announce")).hasSize(3);
  }

  @Test
  void theStatusNamesTheHoldDecisionItAnswers() {
    start();
    List<VipManager.Status> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    manager.addListener(seen::add);
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofMillis(100));
    manager.release("quorum lost");
    manager.hold("elected", 3);
    scheduler.advance(Duration.ofMillis(100));

    assertThat(seen.get(0)).isEqualTo(new VipManager.Status(true, true, true, "", 1));
    assertThat(seen)
        .filteredOn(VipManager.Status::holding)
        .extracting(VipManager.Status::decision)
        .containsExactly(1L, 3L);
    assertThat(manager.status()).isEqualTo(new VipManager.Status(true, true, true, "", 3));

    manager.hold("still elected", 4);
    scheduler.advance(Duration.ofMillis(100));
    assertThat(manager.status().decision()).as("a repeated hold takes the new number").isEqualTo(4);
    assertThat(kernel.calls("add")).hasSize(2);
  }

  @Test
  void refreshesEveryRefreshIntervalWhileHoldingAndNeverAfterRelease() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(130));
    assertThat(kernel.calls("announce"))
        .containsExactly(
            "announce@0", "announce@300", "announce@600", "announce@60000", "announce@120000");

    manager.release("lost quorum");
    scheduler.advance(Duration.ofSeconds(300));
    assertThat(kernel.calls("announce")).hasSize(5);
    assertThat(kernel.present).isFalse();
  }

  /**
   * Issue 23: after a stall of the process its hold may be stale; a late timer announces nothing.
   */
  @Test
  void aTimerThatFiresAfterAStallAnnouncesNothing() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofMillis(100));
    scheduler.stall(Duration.ofSeconds(2));
    scheduler.runDue();
    assertThat(kernel.calls("announce"))
        .as("the rest of the burst is skipped")
        .containsExactly("announce@0");

    scheduler.advance(Duration.ofSeconds(57));
    scheduler.stall(Duration.ofSeconds(5));
    scheduler.runDue();
    assertThat(kernel.calls("announce"))
        .as("the overdue refresh is skipped")
        .containsExactly("announce@0");
    scheduler.advance(Duration.ofSeconds(61));
    assertThat(kernel.calls("announce")).as("the next refresh, on time, announces").hasSize(2);
    assertThat(
            registry
                .get(VipMetrics.DISRUPTIONS)
                .tag("cause", VipMetrics.STALE_ANNOUNCEMENT)
                .counter()
                .count())
        .isEqualTo(2);
  }

  @Test
  void aZeroRefreshIntervalTurnsRefreshOff() throws Exception {
    manager = manager(3, Duration.ZERO);
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(300));

    assertThat(kernel.calls("announce")).hasSize(3);
  }

  @Test
  void anAnnounceCountOfZeroAddsWithoutAnnouncing() throws Exception {
    manager = manager(0, REFRESH);
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(10));

    assertThat(kernel.journal).containsExactly("add@0");
    assertThat(manager.status().holding()).isTrue();
  }

  @Test
  void releaseRemovesTheAddressAndStopsTheAnnouncementsUnderWay() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofMillis(100));
    manager.release("drain");
    scheduler.advance(Duration.ofSeconds(5));

    assertThat(kernel.journal).containsExactly("add@0", "announce@0", "remove@100");
    assertThat(manager.status()).isEqualTo(new VipManager.Status(false, false, true, "", 1));
    assertThat(registry.get(VipMetrics.HELD).gauge().value()).isZero();
    assertThat(messages())
        .anyMatch(
            line ->
                line.startsWith("VIP 192.0.2.100/32 removed from eth0 in ")
                    && line.endsWith("(drain)"));
  }

  @Test
  void anAddressReleasedWhileItWasBeingAddedIsNeverAnnounced() {
    start();
    kernel.duringNextAdd = () -> manager.release("yielded");
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(5));

    assertThat(kernel.journal).containsExactly("add@0", "remove@0");
    assertThat(kernel.present).isFalse();
  }

  @Test
  void aHoldOvertakenByItsReleaseDoesNotTouchTheKernel() {
    start();
    manager.hold("elected", 1);
    manager.release("yielded");
    scheduler.advance(Duration.ofSeconds(5));

    assertThat(kernel.journal).isEmpty();
  }

  @Test
  void announceAgainSendsAFreshBurstWhileHolding() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofMillis(2000));
    manager.announceAgain("peer n2 stopped claiming the VIP");
    scheduler.advance(Duration.ofMillis(1000));

    assertThat(kernel.calls("announce"))
        .containsExactly(
            "announce@0",
            "announce@300",
            "announce@600",
            "announce@2000",
            "announce@2300",
            "announce@2600");
    assertThat(messages())
        .anyMatch(
            line ->
                line.startsWith("VIP 192.0.2.100 announced on eth0")
                    && line.contains("(peer n2 stopped claiming the VIP)"));
  }

  @Test
  void announceAgainDoesNothingUnlessHolding() {
    start();
    manager.announceAgain("peer n2 stopped claiming the VIP");
    manager.hold("elected", 1);
    manager.release("drain");
    manager.announceAgain("peer n3 stopped claiming the VIP");
    scheduler.advance(Duration.ofSeconds(5));

    assertThat(kernel.calls("announce")).isEmpty();
  }

  @Test
  void releasingWhatWasNeverHeldDoesNotTouchTheKernel() {
    start();
    manager.release("not elected");
    manager.release("not elected");
    scheduler.advance(Duration.ofSeconds(5));

    assertThat(kernel.journal).isEmpty();
  }

  @Test
  void startRemovesAVipLeftByACrash() {
    kernel.present = true;
    start();

    assertThat(kernel.journal).containsExactly("remove@0");
    assertThat(kernel.present).isFalse();
    assertThat(messages()).anyMatch(line -> line.contains("found on eth0 at start-up"));
  }

  @Test
  void startKeepsTheVipWhenElectedBeforeStartAndAnnouncesIt() {
    kernel.present = true;
    manager.hold("elected", 1);
    start();
    scheduler.advance(Duration.ofSeconds(5));

    assertThat(kernel.calls("remove")).isEmpty();
    assertThat(kernel.calls("announce")).hasSize(3);
    assertThat(counter(VipMetrics.ADDRESS_OPERATIONS, "operation", "add", "outcome", "unchanged"))
        .isEqualTo(1);
  }

  @Test
  void aFailedAddMakesTheNodeIneligibleAndIsRetriedWithBackoffUntilItWorks() {
    start();
    for (int i = 0; i < 3; i++) {
      kernel.addFailures.add(
          FakeKernel.failure(
              KernelException.Kind.FAILED,
              "ip -4 addr add: RTNETLINK answers: No buffer space available"));
    }
    manager.hold("elected", 1);
    scheduler.runDue();
    assertThat(manager.status().machineryWorks()).isFalse();
    assertThat(manager.status().problem()).contains("No buffer space available");

    scheduler.advance(Duration.ofSeconds(2));
    // Retries after 100, 200 and 400 ms; the fourth attempt works.
    assertThat(kernel.calls("add")).containsExactly("add@0", "add@100", "add@300", "add@700");
    assertThat(manager.status()).isEqualTo(new VipManager.Status(true, true, true, "", 1));
    assertThat(published)
        .extracting(VipManager.Status::machineryWorks)
        .containsSubsequence(false, true);
    assertThat(counter(VipMetrics.ADDRESS_OPERATIONS, "operation", "add", "outcome", "failed"))
        .isEqualTo(3);
    assertThat(
            logs.list.stream()
                .filter(event -> event.getLevel().toString().equals("WARN"))
                .map(ILoggingEvent::getFormattedMessage))
        .singleElement()
        .asString()
        .contains("No buffer space available");
    assertThat(messages())
        .contains(
            "works again: add VIP 192.0.2.100/32 on eth0: ip -4 addr add: RTNETLINK answers: No"
                + " buffer space available");
    assertThat(kernel.calls("announce")).first().isEqualTo("announce@700");
  }

  @Test
  void theBackoffGrowsToItsMaximumAndStaysThere() {
    start();
    for (int i = 0; i < 10; i++) {
      kernel.removeFailures.add(FakeKernel.failure(KernelException.Kind.FAILED, "busy"));
    }
    manager.hold("elected", 1);
    scheduler.runDue();
    manager.release("drain");
    scheduler.advance(Duration.ofSeconds(30));

    assertThat(kernel.calls("remove"))
        .containsExactly(
            "remove@0",
            "remove@100",
            "remove@300",
            "remove@700",
            "remove@1500",
            "remove@3100",
            "remove@5100",
            "remove@7100",
            "remove@9100",
            "remove@11100",
            "remove@13100");
    assertThat(kernel.present).isFalse();
    assertThat(manager.status().machineryWorks()).isTrue();
  }

  @Test
  void withoutCapNetRawTheNodeIsIneligibleFromStartUpAndSaysSoOnce() {
    kernel.announcerBroken =
        FakeKernel.failure(
            KernelException.Kind.NO_PERMISSION,
            "socket(AF_PACKET, SOCK_RAW): Operation not permitted (EPERM): apivip needs"
                + " CAP_NET_RAW");
    start();
    assertThat(manager.status().machineryWorks()).isFalse();
    assertThat(manager.status().problem()).contains("CAP_NET_RAW");

    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(10));
    assertThat(kernel.present).isTrue();
    assertThat(manager.status().machineryWorks()).isFalse();
    assertThat(kernel.calls("announce")).hasSizeGreaterThan(3);
    assertThat(counter(VipMetrics.ANNOUNCEMENT_FAILURES, "reason", "no-permission"))
        .isEqualTo(1 + kernel.calls("announce").size());
    assertThat(
            logs.list.stream()
                .filter(event -> event.getLevel().toString().equals("ERROR"))
                .map(ILoggingEvent::getFormattedMessage))
        .singleElement()
        .asString()
        .contains("CAP_NET_RAW", "AmbientCapabilities");

    kernel.announcerBroken = null;
    scheduler.advance(Duration.ofSeconds(10));
    assertThat(manager.status().machineryWorks()).isTrue();
  }

  @Test
  void aNodeThatCouldNotAnnounceBecomesEligibleOnceItCouldWithoutSendingAnything() {
    kernel.announcerBroken =
        FakeKernel.failure(KernelException.Kind.FAILED, "sendto: Network is down");
    start();
    assertThat(manager.status().machineryWorks()).isFalse();

    kernel.announcerBroken = null;
    scheduler.advance(CHECK);
    assertThat(manager.status().machineryWorks()).isTrue();
    assertThat(kernel.calls("announce")).isEmpty();
  }

  @Test
  void anAddressRemovedBySomeoneElseIsAddedBackAndAnnouncedAgain() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(2));
    kernel.present = false;
    scheduler.advance(CHECK);

    assertThat(kernel.present).isTrue();
    assertThat(kernel.calls("add")).containsExactly("add@0", "add@3000");
    assertThat(kernel.calls("announce")).hasSize(4);
    scheduler.advance(Duration.ofSeconds(1));
    assertThat(kernel.calls("announce")).hasSize(6);
    assertThat(counter(VipMetrics.DISRUPTIONS, "cause", "address-removed")).isEqualTo(1);
    assertThat(registry.get(VipMetrics.DECISION_TO_PRESENT).timer().count()).isEqualTo(1);
    assertThat(messages()).anyMatch(line -> line.contains("disappeared from eth0 while held"));
  }

  @Test
  void anInterfaceDownMakesTheNodeIneligibleAndBackUpItAddsAndAnnouncesAgain() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(2));
    kernel.carrier = false;
    scheduler.advance(CHECK);

    assertThat(manager.status().machineryWorks()).isFalse();
    assertThat(manager.status().problem()).isEqualTo("interface eth0 has no carrier");
    assertThat(counter(VipMetrics.DISRUPTIONS, "cause", "link-down")).isEqualTo(1);
    scheduler.advance(Duration.ofSeconds(5));
    assertThat(counter(VipMetrics.DISRUPTIONS, "cause", "link-down")).isEqualTo(1);
    assertThat(kernel.calls("announce")).hasSize(3);

    kernel.carrier = true;
    scheduler.advance(CHECK);
    assertThat(manager.status()).isEqualTo(new VipManager.Status(true, true, true, "", 1));
    assertThat(kernel.calls("add")).hasSize(2);
    assertThat(kernel.calls("announce")).hasSize(4);
  }

  @Test
  void aHoldWhileTheInterfaceIsMissingWaitsForIt() {
    kernel.exists = false;
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(3));
    assertThat(kernel.journal).isEmpty();
    assertThat(manager.status().problem()).isEqualTo("interface eth0 does not exist");

    kernel.exists = true;
    scheduler.advance(CHECK);
    assertThat(kernel.journal).containsExactly("add@4000", "announce@4000");
  }

  @Test
  void closeRemovesAVipStillHeldAndStopsEverything() {
    start();
    manager.hold("elected", 1);
    scheduler.runDue();
    manager.close();

    assertThat(kernel.present).isFalse();
    assertThat(kernel.journal).containsExactly("add@0", "announce@0", "remove@0");
    scheduler.advance(Duration.ofSeconds(100));
    assertThat(kernel.journal).hasSize(3);
  }

  @Test
  void listenersHearEachChangeOnce() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(2));
    manager.release("drain");
    scheduler.advance(Duration.ofSeconds(2));

    assertThat(published)
        .containsExactly(
            new VipManager.Status(true, true, true, "", 1),
            new VipManager.Status(false, false, true, "", 1));
  }

  // ---- foreign claimants ---------------------------------------------------------------------

  @Test
  void aClaimByAnotherHostWhileHoldingIsCountedLoggedAndShown() {
    start();
    manager.hold("elected", 1);
    scheduler.runDue();
    assertThat(claims.journal).containsExactly("watch@0");
    scheduler.advance(GRACE);
    assertThat(claims.journal).containsExactly("watch@0", "probe@5000");

    claims.claim(Claims.Kind.ARP_REPLY, OTHER_MAC); // the answer to the probe
    scheduler.runDue();
    assertThat(foreignClaims()).isZero(); // judged a grace later: this node might let go meanwhile
    scheduler.advance(GRACE);

    assertThat(counter(VipMetrics.FOREIGN_CLAIMS, "kind", "arp-reply")).isEqualTo(1);
    assertThat(manager.foreignClaim())
        .get()
        .extracting(VipManager.ForeignClaim::mac)
        .isEqualTo(OTHER_MAC);
    assertThat(manager.foreignClaim().get().kind()).isEqualTo("arp-reply");
    assertThat(manager.foreignClaim().get().frames()).isEqualTo(1);
    assertThat(registry.get(VipMetrics.FOREIGN_CLAIM_LAST_SEEN).gauge().value()).isPositive();
    assertThat(warnings())
        .containsExactly(
            "another host claims VIP 192.0.2.100 on eth0: 02:00:00:00:00:0c sent arp-reply x1"
                + " while this node holds it. apivip does not contest it; clients may reach that"
                + " host instead. Find it (`ip neigh | grep -i 02:00:00:00:00:0c` on a machine of"
                + " this LAN, or the switch's MAC address table) and remove the address there");
    // Not contested: no announcement beyond the first burst.
    assertThat(kernel.calls("announce")).hasSize(3);
  }

  @Test
  void thePreviousHoldersLastFramesRightAfterTakingTheVipAreNoForeignClaim() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofMillis(1000));
    for (int i = 0; i < 3; i++) {
      claims.claim(Claims.Kind.ARP_REQUEST, OTHER_MAC);
      scheduler.advance(INTERVAL);
    }
    scheduler.advance(Duration.ofSeconds(20));
    assertThat(foreignClaims()).isZero();
    assertThat(manager.foreignClaim()).isEmpty();

    // The control: the same frames once the grace is over are foreign.
    claims.claim(Claims.Kind.ARP_REQUEST, OTHER_MAC);
    scheduler.advance(GRACE);
    assertThat(foreignClaims()).isEqualTo(1);
  }

  @Test
  void theSuccessorsAnnouncementsBeforeThisNodeLetsGoAreNoForeignClaim() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(20));
    for (int i = 0; i < 3; i++) {
      claims.claim(Claims.Kind.ARP_REQUEST, OTHER_MAC);
      scheduler.advance(INTERVAL);
    }
    manager.release("handed over");
    scheduler.runDue();
    assertThat(claims.journal).last().isEqualTo("close@20900");
    assertThat(claims.open()).isFalse();
    scheduler.advance(Duration.ofSeconds(20));

    assertThat(foreignClaims()).isZero();
    assertThat(manager.foreignClaim()).isEmpty();
    assertThat(warnings()).isEmpty();
  }

  @Test
  void theEndOfAnotherMembersClaimStartsTheGraceAgain() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(20));
    // A peer held the VIP too (its heartbeats said so) and has just let go; its last frames and its
    // kernel's answers may still come.
    manager.announceAgain("peer n2 stopped claiming the VIP");
    scheduler.advance(Duration.ofMillis(100));
    claims.claim(Claims.Kind.NEIGHBOUR_ADVERTISEMENT, OTHER_MAC);
    scheduler.advance(Duration.ofSeconds(20));

    assertThat(foreignClaims()).isZero();
    assertThat(claims.journal).contains("probe@25000");
  }

  @Test
  void aClaimantThatGoesOnIsCountedInFullAndLoggedOncePerMinute() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(GRACE);
    for (int second = 0; second < 180; second++) {
      claims.claim(Claims.Kind.ARP_REQUEST, OTHER_MAC);
      scheduler.advance(Duration.ofSeconds(1));
    }
    scheduler.advance(GRACE);

    assertThat(foreignClaims()).isEqualTo(180);
    assertThat(manager.foreignClaim().get().frames()).isEqualTo(180);
    assertThat(warnings()).hasSize(3);
    assertThat(warnings().get(1))
        .isEqualTo(
            "VIP 192.0.2.100 still claimed by 02:00:00:00:00:0c: 60 frames in the last 60 s (last:"
                + " arp-request)");
  }

  @Test
  void probesGoOutOnceTheGraceIsOverAndWithEveryRefresh() throws Exception {
    manager = manager(3, Duration.ofSeconds(10));
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(31));

    assertThat(claims.journal)
        .containsExactly("watch@0", "probe@5000", "probe@10000", "probe@20000", "probe@30000");
    assertThat(counter(VipMetrics.CLAIM_PROBES)).isEqualTo(4);
  }

  @Test
  void theWatchClosesWhenTheLinkGoesAndOpensAgainWithTheAddress() {
    start();
    manager.hold("elected", 1);
    scheduler.runDue();
    kernel.carrier = false;
    scheduler.advance(CHECK);
    assertThat(claims.journal).containsExactly("watch@0", "close@1000");

    kernel.carrier = true;
    scheduler.advance(CHECK);
    assertThat(claims.journal).containsExactly("watch@0", "close@1000", "watch@2000");
    scheduler.advance(Duration.ofSeconds(6));
    assertThat(claims.journal).contains("probe@7000").doesNotContain("probe@5000");
  }

  @Test
  void aWatchThatCannotOpenLeavesTheHoldAloneAndSaysSoOnce() {
    claims.broken = FakeKernel.failure(KernelException.Kind.NO_PERMISSION, "EPERM");
    start();
    manager.hold("elected", 1);
    scheduler.advance(Duration.ofSeconds(10));
    manager.release("drain");
    scheduler.runDue();
    manager.hold("elected", 2);
    scheduler.advance(Duration.ofSeconds(10));

    assertThat(manager.status()).isEqualTo(new VipManager.Status(true, true, true, "", 2));
    assertThat(warnings())
        .containsExactly(
            "cannot watch eth0 for other hosts claiming VIP 192.0.2.100: EPERM; this node holds"
                + " the VIP without noticing them");
  }

  @Test
  void claimsOfMoreMacsThanItTracksAreDroppedNotQueued() {
    start();
    manager.hold("elected", 1);
    scheduler.advance(GRACE);
    for (int i = 0; i < ForeignClaims.MAX_CLAIMANTS + 4; i++) {
      claims.claim(Claims.Kind.ARP_REQUEST, String.format("02:00:00:00:01:%02x", i));
    }
    scheduler.advance(GRACE.plus(GRACE));

    assertThat(foreignClaims()).isEqualTo(ForeignClaims.MAX_CLAIMANTS);
  }

  private double foreignClaims() {
    return registry.find(VipMetrics.FOREIGN_CLAIMS).counters().stream()
        .mapToDouble(counter -> counter.count())
        .sum();
  }

  private List<String> warnings() {
    return logs.list.stream()
        .filter(event -> event.getLevel().toString().equals("WARN"))
        .map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  private VipManager manager(int announceCount, Duration refresh) throws Exception {
    Settings.Vip settings =
        new Settings.Vip(
            InetAddress.getByName("192.0.2.100"),
            32,
            "eth0",
            announceCount,
            INTERVAL,
            refresh,
            CHECK);
    VipManager made =
        new VipManager(
            settings, registry, kernel, kernel, claims, scheduler, BACKOFF, ForeignClaims.GRACE);
    made.addListener(published::add);
    return made;
  }

  private void start() {
    manager.start();
    scheduler.runDue();
  }

  private List<String> messages() {
    return logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  private double counter(String name, String... tags) {
    return registry.get(name).tags(tags).counter().count();
  }
}
