package io.apivip.daemon.vip;

import io.apivip.daemon.config.Settings;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts the VIP on this node's interface when the cluster decides this node holds it, announces it
 * to the LAN (gratuitous ARP / unsolicited neighbour advertisement), and takes it off when the
 * cluster decides otherwise. Watches the interface while running and says whether this node can
 * hold the VIP.
 *
 * <p>How the daemon uses it:
 *
 * <pre>
 *   VipManager vip = new VipManager(settings.vip(), registry);
 *   // machineryWorks() for eligibility; holding() and decision() to confirm a hold
 *   vip.addListener(status -> ...);
 *   // removes a VIP left by a crash (unless hold() came first), starts watching
 *   vip.start();
 *   // for the cluster's decision 7: add, announce announce-count times, then once per
 *   // refresh-interval
 *   vip.hold("elected", 7);
 *   vip.announceAgain("peer n2 stopped claiming the VIP"); // a fresh burst while holding
 *   vip.release("lost quorum"); // remove
 *   vip.close();               // on shutdown, after the handoff: removes the VIP if still there
 * </pre>
 *
 * <p>Threads: every method returns at once; the kernel work runs on a thread of its own
 * ("apivip-vip"), which owns all mutable state here. Listeners run on that thread after each change
 * of {@link Status} and must not block. {@link #status()} may be read from any thread.
 *
 * <p>Failures: an add, remove or announcement that fails is logged (once per distinct problem),
 * counted and retried with backoff, and {@link Status#machineryWorks()} is false until it succeeds.
 * The same holds while the interface is missing, down or without carrier; the cluster should then
 * move the VIP away (call {@link #release}). If the held address disappears (someone ran {@code ip
 * addr del}, or the interface lost it), it is added and announced again. The interface is checked
 * every {@code vip.check-interval}.
 *
 * <p>Foreign claimants: while it holds the VIP, the node watches its interface for another host
 * answering ARP or neighbour discovery for the VIP ({@link ClaimWatch}), and once it has held the
 * VIP for a grace it probes for one (ARP probe, duplicate address detection), then again with every
 * refresh. {@link ForeignClaims} tells them from apivip's own handoffs; {@link #foreignClaim()} is
 * the last one seen. An observation only: it changes no decision of the node.
 */
public final class VipManager implements AutoCloseable {

  /**
   * What the VIP is doing on this node.
   *
   * @param wanted the cluster asked this node to hold the VIP
   * @param present the address is on the interface, as far as the last operation or check knows
   * @param machineryWorks the VIP machinery works, so this node could hold the VIP: interface
   *     usable and the last kernel operation succeeded
   * @param problem why the machinery does not work, for status pages; "" when it works
   * @param decision the cluster's hold decision ({@code hold}'s argument) this status answers; 0
   *     before the first, so that a confirmation of the address names the hold it confirms
   */
  public record Status(
      boolean wanted, boolean present, boolean machineryWorks, String problem, long decision) {

    /** Holds the VIP: wants it and has it; what heartbeats should say. */
    public boolean holding() {
      return wanted && present;
    }
  }

  /**
   * Another host claimed the VIP while this node held it.
   *
   * @param mac the MAC it claimed the VIP for, "02:00:00:00:00:0c"
   * @param kind the kind of its last claiming frame ({@code arp-reply}, {@code arp-request}, {@code
   *     arp-probe}, {@code na}, {@code ns}, {@code dad-probe})
   * @param lastSeen when its last claiming frame came
   * @param frames its claiming frames counted since this node started
   */
  public record ForeignClaim(String mac, String kind, Instant lastSeen, long frames) {}

  /**
   * Claims by other hosts this close to a handoff are not counted, and the first probe for them
   * goes out this long after taking the VIP.
   */
  public static final Duration FOREIGN_CLAIM_GRACE = ForeignClaims.GRACE;

  private static final Logger log = LoggerFactory.getLogger(VipManager.class);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

  /**
   * A timer of ours this late means the process stalled (SIGSTOP, a VM freeze, a long GC): the hold
   * it would announce may be stale, since the cluster may have moved the VIP meanwhile and this
   * node's cluster part has not yet decided again. Such an announcement is skipped: a stale
   * gratuitous ARP would pull the LAN's traffic back to a node that is about to let go. Well under
   * the failure timeout (500 ms by default), well over a busy thread's delay.
   */
  static final Duration STALL = Duration.ofMillis(250);

  private final VipAddress vip;
  private final Settings.Vip settings;
  private final AddressControl addresses;
  private final Announcer announcer;
  private final ClaimWatch claimWatch;
  private final Scheduler scheduler;
  private final Backoff backoff;
  private final VipMetrics metrics;
  private final ForeignClaims foreignClaims;
  private final Clock wallClock = Clock.systemUTC();
  private final List<Consumer<Status>> listeners = new CopyOnWriteArrayList<>();
  private volatile Status status = new Status(false, false, true, "", 0);

  /**
   * The latest of {@link #hold} and {@link #release}, as the caller sees it. The VIP thread reads
   * it just before it announces: an address the cluster has already decided to release must not be
   * announced, or the LAN would send the VIP's traffic here after this node let it go.
   */
  private volatile boolean holdRequested;

  // Owned by the scheduler thread.
  private boolean started;
  private boolean closed;
  private boolean wanted;
  private boolean present;

  /** The hold decision acted on last. */
  private long decision;

  /** Why the address is being added or removed, and since when: for the log lines' timings. */
  private String cause = "";

  private long causeNanos;

  /** A hold decision whose first "present" and first "announced" are still to be timed. */
  private boolean timePresent;

  private boolean timeAnnounced;
  private int pendingAnnouncements;
  private boolean burstLogPending;

  /** Kernel operations failed in a row, for the backoff. */
  private int failures;

  /**
   * Why this node cannot hold the VIP, one per source; null when fine. Any non-null means the
   * machinery does not work.
   */
  private String linkProblem;

  private String inspectProblem;
  private String addressProblem;
  private String announceProblem;
  private boolean permissionReported;
  private Scheduler.Cancellable announceTimer;
  private Scheduler.Cancellable retryTimer;
  private Scheduler.Cancellable refreshTimer;
  private Scheduler.Cancellable checkTimer;

  /** The watch for foreign claimants, open while this node holds the VIP. */
  private ClaimWatch.Watching watching;

  private String watchProblem;
  private Scheduler.Cancellable probeTimer;
  private Scheduler.Cancellable judgeTimer;
  private long judgeDueNanos;

  /** When the announcement and refresh timers are due, to tell a stall of the process. */
  private long announceDueNanos;

  private long refreshDueNanos;

  /**
   * The production manager: {@code ip} for addresses, packet sockets for announcements, its own
   * thread.
   */
  public VipManager(Settings.Vip settings, MeterRegistry registry) {
    this(settings, registry, ForeignClaims.GRACE);
  }

  /** The production manager with another grace for foreign claims, for tests on real kernels. */
  VipManager(Settings.Vip settings, MeterRegistry registry, Duration claimGrace) {
    this(
        settings,
        registry,
        new IpRoute2(),
        new RawAnnouncer(),
        new RawClaimWatch(),
        new ExecutorScheduler("apivip-vip"),
        Backoff.VIP,
        claimGrace);
  }

  VipManager(
      Settings.Vip settings,
      MeterRegistry registry,
      AddressControl addresses,
      Announcer announcer,
      ClaimWatch claimWatch,
      Scheduler scheduler,
      Backoff backoff,
      Duration claimGrace) {
    this.settings = settings;
    this.vip = VipAddress.of(settings);
    this.addresses = addresses;
    this.announcer = announcer;
    this.claimWatch = claimWatch;
    this.scheduler = scheduler;
    this.backoff = backoff;
    this.metrics = new VipMetrics(registry, this::status);
    this.foreignClaims = new ForeignClaims(vip, claimGrace, metrics);
  }

  /**
   * Checks the interface, removes a stale VIP unless {@link #hold} was called first, and starts
   * watching.
   */
  public void start() {
    scheduler.execute(this::onStart);
  }

  /**
   * Take the VIP for the cluster's hold decision {@code decision}: add it and announce it. The
   * status names the decision once it acts on it. Repeated calls while holding only take the new
   * decision's number.
   */
  public void hold(String reason, long decision) {
    long decided = scheduler.nanoTime();
    holdRequested = true;
    scheduler.execute(() -> onHold(reason, decided, decision));
  }

  /** Let the VIP go: remove it. Repeated calls do nothing. */
  public void release(String reason) {
    long decided = scheduler.nanoTime();
    holdRequested = false;
    scheduler.execute(() -> onRelease(reason, decided));
  }

  /**
   * Announce the held VIP again, a full burst from now: another node may have announced it after
   * this node did (it claimed the VIP for a moment, and the LAN's neighbour tables may still name
   * it). Does nothing unless this node holds the VIP.
   */
  public void announceAgain(String reason) {
    long decided = scheduler.nanoTime();
    scheduler.execute(() -> onAnnounceAgain(reason, decided));
  }

  public Status status() {
    return status;
  }

  /** The last host other than this one that claimed the VIP while this node held it. */
  public Optional<ForeignClaim> foreignClaim() {
    return foreignClaims.last();
  }

  /** Called on the VIP thread after every change of {@link #status()}; must not block. */
  public void addListener(Consumer<Status> listener) {
    listeners.add(listener);
  }

  /**
   * Removes the VIP if this node still has it, stops watching and ends the thread (waits up to 10
   * s).
   */
  @Override
  public void close() {
    scheduler.execute(this::onClose);
    scheduler.shutdown(CLOSE_TIMEOUT);
  }

  private void onStart() {
    if (started || closed) {
      return;
    }
    started = true;
    LinkState link = inspect();
    if (link != null && link.present() && !wanted) {
      log.warn(
          "VIP {} found on {} at start-up although this node was not elected (left by a crash?);"
              + " removing it",
          vip.cidr(),
          vip.interfaceName());
      present = true;
      setCause("stale at start-up", scheduler.nanoTime());
    }
    if (link != null && link.usable()) {
      probeAnnouncer();
    }
    checkTimer = scheduler.schedule(settings.checkInterval(), this::check);
    reconcile();
  }

  private void onHold(String reason, long decided, long decision) {
    // A hold already overtaken by a release is skipped: the release follows it in the queue.
    if (closed || !holdRequested) {
      return;
    }
    this.decision = decision;
    if (wanted) {
      publish();
      return;
    }
    wanted = true;
    // Added even if we think it is there: the add is idempotent, and confirms it.
    present = false;
    setCause(reason, decided);
    timePresent = true;
    timeAnnounced = settings.announceCount() > 0;
    cancelAnnouncements();
    if (!settings.refreshInterval().isZero()) {
      scheduleRefresh();
    }
    reconcile();
  }

  private void onAnnounceAgain(String reason, long decided) {
    if (closed || !wanted || !present || settings.announceCount() == 0) {
      return;
    }
    setCause(reason, decided);
    startBurst();
    // Another member's claim just ended: its last frames are no foreign claim.
    foreignClaims.holdStarted(scheduler.nanoTime());
    scheduleProbe();
    reconcile();
  }

  private void onRelease(String reason, long decided) {
    if (closed || (!wanted && !present)) {
      return;
    }
    wanted = false;
    stopWatching();
    // Removed even if we think it is gone: the removal is idempotent.
    present = true;
    setCause(reason, decided);
    timePresent = false;
    timeAnnounced = false;
    cancelAnnouncements();
    cancel(refreshTimer);
    refreshTimer = null;
    reconcile();
  }

  private void onClose() {
    if (closed) {
      return;
    }
    cancelAnnouncements();
    cancel(refreshTimer);
    cancel(retryTimer);
    cancel(checkTimer);
    stopWatching();
    if (wanted || present) {
      wanted = false;
      setCause("shutdown", scheduler.nanoTime());
      try {
        remove();
      } catch (KernelException e) {
        log.error(
            "VIP {} could not be removed from {} at shutdown: {}",
            vip.cidr(),
            vip.interfaceName(),
            e.getMessage());
      }
    }
    closed = true;
    publish();
  }

  /** Brings the interface one step closer to what is wanted; on a failure, retries with backoff. */
  private void reconcile() {
    cancel(retryTimer);
    retryTimer = null;
    if (!started || closed) {
      publish();
      return;
    }
    try {
      if (wanted && linkProblem == null) {
        if (!present) {
          add();
        }
        if (pendingAnnouncements > 0 && announceTimer == null && holdRequested) {
          announce();
        }
      } else if (!wanted && present) {
        remove();
      }
      failures = 0;
    } catch (KernelException e) {
      failures++;
      retryTimer = scheduler.schedule(backoff.delay(failures), this::reconcile);
    }
    publish();
  }

  private void add() throws KernelException {
    AddressChange added = changeAddress(VipMetrics.ADD, addresses::add);
    present = true;
    // A new burst, at once: a burst cut short (by the link going down) must not delay it.
    startBurst();
    startWatching();
    if (timePresent) {
      metrics.decisionToPresent(added.sinceCause());
      timePresent = false;
    }
    log.info(
        "VIP {} added on {}{} in {} ms, {} ms after the decision ({})",
        vip.cidr(),
        vip.interfaceName(),
        added.change() == AddressControl.Change.UNCHANGED ? " (it was there already)" : "",
        millis(added.took()),
        millis(added.sinceCause()),
        cause);
  }

  private void announce() throws KernelException {
    Announcer.Announcement announcement;
    try {
      announcement = announcer.announce(vip);
    } catch (KernelException e) {
      metrics.announcementFailed(
          e.kind() == KernelException.Kind.NO_PERMISSION
              ? VipMetrics.NO_PERMISSION
              : VipMetrics.ERROR);
      announceProblem = announceFailed(e);
      throw e;
    }
    long sent = scheduler.nanoTime();
    announcement.sent().forEach(metrics::announcementSent);
    announceProblem = succeeded(announceProblem);
    pendingAnnouncements--;
    if (timeAnnounced) {
      metrics.decisionToAnnounced(sent - causeNanos);
      timeAnnounced = false;
    }
    if (burstLogPending) {
      burstLogPending = false;
      log.info(
          "VIP {} announced on {} as at {} ({}), {} ms after the decision ({}); {} more every {}"
              + " ms",
          vip.literal(),
          vip.interfaceName(),
          announcement.mac(),
          describe(announcement.sent()),
          millis(sent - causeNanos),
          cause,
          pendingAnnouncements,
          settings.announceInterval().toMillis());
    } else {
      log.debug(
          "VIP {} announced again on {} ({} left in this burst)",
          vip.literal(),
          vip.interfaceName(),
          pendingAnnouncements);
    }
    if (pendingAnnouncements > 0) {
      announceDueNanos = scheduler.nanoTime() + settings.announceInterval().toNanos();
      announceTimer =
          scheduler.schedule(
              settings.announceInterval(),
              () -> {
                announceTimer = null;
                if (stalledPast(announceDueNanos, "the rest of an announcement burst")) {
                  pendingAnnouncements = 0;
                }
                reconcile();
              });
    }
  }

  private void remove() throws KernelException {
    AddressChange removed = changeAddress(VipMetrics.REMOVE, addresses::remove);
    present = false;
    if (removed.change() == AddressControl.Change.CHANGED) {
      log.info(
          "VIP {} removed from {} in {} ms, {} ms after the decision ({})",
          vip.cidr(),
          vip.interfaceName(),
          millis(removed.took()),
          millis(removed.sinceCause()),
          cause);
    } else {
      log.debug(
          "VIP {} was not on {}; nothing to remove ({})", vip.cidr(), vip.interfaceName(), cause);
    }
  }

  /** How an address operation went: what changed, how long it took, how long since its cause. */
  private record AddressChange(AddressControl.Change change, long took, long sinceCause) {}

  private interface AddressOperation {
    AddressControl.Change apply(VipAddress vip) throws KernelException;
  }

  /**
   * Runs an add or a remove, timing it, counting its outcome and keeping {@link #addressProblem} up
   * to date.
   */
  private AddressChange changeAddress(String name, AddressOperation operation)
      throws KernelException {
    long begin = scheduler.nanoTime();
    AddressControl.Change change;
    try {
      change = operation.apply(vip);
    } catch (KernelException e) {
      metrics.addressOperation(name, VipMetrics.FAILED);
      addressProblem = failed(addressProblem, name + " VIP " + vip, e);
      throw e;
    }
    long end = scheduler.nanoTime();
    metrics.addressOperation(
        name, change == AddressControl.Change.CHANGED ? VipMetrics.CHANGED : VipMetrics.UNCHANGED);
    addressProblem = succeeded(addressProblem);
    return new AddressChange(change, end - begin, end - causeNanos);
  }

  /** Every check-interval: is the interface usable, and is the held address still there? */
  private void check() {
    if (closed) {
      return;
    }
    checkTimer = scheduler.schedule(settings.checkInterval(), this::check);
    boolean wasDown = linkProblem != null;
    LinkState link = inspect();
    if (link == null) {
      publish();
      return;
    }
    long now = scheduler.nanoTime();
    if (wasDown && linkProblem == null && wanted) {
      present = false;
      setCause("interface " + vip.interfaceName() + " usable again", now);
    } else if (wanted && present && link.usable() && !link.present()) {
      metrics.disruption(VipMetrics.ADDRESS_REMOVED);
      log.warn(
          "VIP {} disappeared from {} while held (removed by someone else?); adding it back",
          vip.cidr(),
          vip.interfaceName());
      present = false;
      stopWatching();
      setCause("it disappeared", now);
    }
    if (!wanted && announceProblem != null && link.usable()) {
      probeAnnouncer();
    }
    if (retryTimer == null) {
      reconcile();
    } else {
      publish();
    }
  }

  /** Looks at the interface, recording whether it can carry the VIP; null when even that failed. */
  private LinkState inspect() {
    LinkState link;
    try {
      link = addresses.inspect(vip);
    } catch (KernelException e) {
      inspectProblem = failed(inspectProblem, "look at interface " + vip.interfaceName(), e);
      return null;
    }
    inspectProblem = succeeded(inspectProblem);
    if (link.usable()) {
      if (linkProblem != null) {
        log.info(
            "interface {} is usable again{}",
            vip.interfaceName(),
            wanted ? "; adding and announcing the VIP again" : "");
        linkProblem = null;
      }
      return link;
    }
    String problem = link.problem(vip.interfaceName());
    if (!problem.equals(linkProblem)) {
      if (linkProblem == null) {
        metrics.disruption(VipMetrics.LINK_DOWN);
        stopWatching();
      }
      log.warn(
          "{}: this node is not eligible to hold the VIP until it is back{}",
          problem,
          wanted ? " (it holds the VIP now: the cluster should move it)" : "");
      linkProblem = problem;
    }
    return link;
  }

  /**
   * Whether announcements could be sent, without sending one: at start-up, and while an
   * announcement problem stands.
   */
  private void probeAnnouncer() {
    try {
      announcer.probe(vip);
      announceProblem = succeeded(announceProblem);
    } catch (KernelException e) {
      if (announceProblem == null) {
        metrics.announcementFailed(
            e.kind() == KernelException.Kind.NO_PERMISSION
                ? VipMetrics.NO_PERMISSION
                : VipMetrics.ERROR);
      }
      announceProblem = announceFailed(e);
    }
  }

  /** Re-announces once every refresh-interval while holding, for switches that age their tables. */
  private void refresh() {
    if (closed || !wanted) {
      return;
    }
    boolean stalled = stalledPast(refreshDueNanos, "a periodic announcement");
    scheduleRefresh();
    if (!stalled && present && pendingAnnouncements == 0 && retryTimer == null) {
      pendingAnnouncements = 1;
      reconcile();
    }
    if (!stalled) {
      probeForClaimants();
    }
  }

  private void scheduleRefresh() {
    refreshDueNanos = scheduler.nanoTime() + settings.refreshInterval().toNanos();
    refreshTimer = scheduler.schedule(settings.refreshInterval(), this::refresh);
  }

  /** This node holds the VIP from now on: watch for other hosts claiming it, and probe for them. */
  private void startWatching() {
    foreignClaims.holdStarted(scheduler.nanoTime());
    if (watching == null) {
      try {
        watching = claimWatch.watch(vip, this::claimSeen);
        if (watchProblem != null) {
          log.info("watching {} for other hosts claiming the VIP again", vip.interfaceName());
          watchProblem = null;
        }
      } catch (KernelException e) {
        if (!e.getMessage().equals(watchProblem)) {
          log.warn(
              "cannot watch {} for other hosts claiming VIP {}: {}; this node holds the VIP"
                  + " without noticing them",
              vip.interfaceName(),
              vip.literal(),
              e.getMessage());
          watchProblem = e.getMessage();
        }
      }
    }
    scheduleProbe();
  }

  private void stopWatching() {
    foreignClaims.holdEnded(scheduler.nanoTime());
    cancel(probeTimer);
    probeTimer = null;
    cancel(judgeTimer);
    judgeTimer = null;
    if (watching != null) {
      watching.close();
      watching = null;
    }
  }

  /** On the watch's thread: has the VIP thread judge, once for any number of claims. */
  private void claimSeen(Claims.Claim claim) {
    if (foreignClaims.offer(claim, scheduler.nanoTime(), wallClock.instant())) {
      scheduler.execute(this::judgeClaims);
    }
  }

  private void judgeClaims() {
    if (closed) {
      return;
    }
    long now = scheduler.nanoTime();
    long next = foreignClaims.judge(now);
    if (next == Long.MAX_VALUE || (judgeTimer != null && judgeDueNanos - next <= 0)) {
      return;
    }
    cancel(judgeTimer);
    judgeDueNanos = next;
    judgeTimer =
        scheduler.schedule(
            Duration.ofNanos(Math.max(0, next - now)),
            () -> {
              judgeTimer = null;
              judgeClaims();
            });
  }

  /** One probe once the grace is over; the refresh probes again. */
  private void scheduleProbe() {
    cancel(probeTimer);
    probeTimer =
        scheduler.schedule(
            foreignClaims.grace(),
            () -> {
              probeTimer = null;
              probeForClaimants();
            });
  }

  private void probeForClaimants() {
    if (watching == null || !foreignClaims.settled(scheduler.nanoTime())) {
      return;
    }
    try {
      watching.probe();
      metrics.claimProbeSent();
    } catch (KernelException e) {
      log.debug("cannot probe for other hosts claiming VIP {}: {}", vip.literal(), e.getMessage());
    }
  }

  /**
   * Whether a timer due at {@code dueNanos} fired after a stall of this process; if so, says what
   * it skips.
   */
  private boolean stalledPast(long dueNanos, String skipped) {
    long late = scheduler.nanoTime() - dueNanos;
    if (late <= STALL.toNanos()) {
      return false;
    }
    metrics.disruption(VipMetrics.STALE_ANNOUNCEMENT);
    log.warn(
        "this process stalled ({} ms late on a timer): skipping {} of VIP {}, which may be stale;"
            + " the cluster decides afresh first",
        late / 1_000_000,
        skipped,
        vip.literal());
    return true;
  }

  private String announceFailed(KernelException e) {
    if (e.kind() == KernelException.Kind.NO_PERMISSION && !permissionReported) {
      permissionReported = true;
      log.error(
          "cannot announce VIP {} on {}: {}. Give apivip CAP_NET_RAW (systemd:"
              + " AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW); this node is not eligible to hold"
              + " the VIP until it can announce it",
          vip.literal(),
          vip.interfaceName(),
          e.getMessage());
    }
    return failed(announceProblem, "announce VIP " + vip, e);
  }

  /** The new problem after a failure, logged when it differs from the standing one. */
  private String failed(String standing, String operation, KernelException e) {
    String problem = "cannot " + operation + ": " + e.getMessage();
    if (!problem.equals(standing)) {
      log.warn("{}; retrying, and not eligible to hold the VIP until it works", problem);
    } else {
      log.debug("still failing: {}", problem);
    }
    return problem;
  }

  /** After a success: a standing problem is over (logged), and null is its new value. */
  private String succeeded(String standing) {
    if (standing != null) {
      log.info("works again: {}", standing.replaceFirst("^cannot ", ""));
    }
    return null;
  }

  private void publish() {
    String problem =
        Stream.of(linkProblem, inspectProblem, addressProblem, announceProblem)
            .filter(Objects::nonNull)
            .collect(Collectors.joining("; "));
    Status next = new Status(wanted, present, problem.isEmpty(), problem, decision);
    if (next.equals(status)) {
      return;
    }
    status = next;
    for (Consumer<Status> listener : listeners) {
      try {
        listener.accept(next);
      } catch (RuntimeException e) {
        log.error("VIP status listener failed", e);
      }
    }
  }

  private void setCause(String reason, long nanos) {
    cause = reason;
    causeNanos = nanos;
  }

  /** Announce-count announcements from the next reconcile on, replacing any burst under way. */
  private void startBurst() {
    cancelAnnouncements();
    pendingAnnouncements = settings.announceCount();
    burstLogPending = true;
  }

  private void cancelAnnouncements() {
    cancel(announceTimer);
    announceTimer = null;
    pendingAnnouncements = 0;
  }

  private static void cancel(Scheduler.Cancellable timer) {
    if (timer != null) {
      timer.cancel();
    }
  }

  private static String describe(List<Frames.Kind> sent) {
    return String.join(" + ", sent.stream().map(Frames.Kind::tag).toList());
  }

  private static String millis(long nanos) {
    return String.format(Locale.ROOT, "%.1f", nanos / 1e6);
  }
}
