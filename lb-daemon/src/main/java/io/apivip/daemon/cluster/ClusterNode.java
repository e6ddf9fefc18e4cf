package io.apivip.daemon.cluster;

import static io.apivip.daemon.cluster.Election.NEVER;

import io.apivip.daemon.cluster.HeartbeatCodec.Accepted;
import io.apivip.daemon.cluster.HeartbeatCodec.Decoded;
import io.apivip.daemon.cluster.HeartbeatCodec.Dropped;
import io.apivip.daemon.cluster.Membership.Peer;
import io.apivip.daemon.config.KeyFile;
import io.apivip.daemon.config.Settings;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node's cluster state machine, without threads or sockets: datagrams, timer ticks and local
 * changes go in; heartbeats (through the {@link Transport}) and VIP decisions (through the {@link
 * ClusterListener}) come out. {@link ClusterService} runs it on a Netty event loop over UDP; the
 * simulation runs many of them over a fake network and a fake clock.
 *
 * <p>Single-threaded: every method must be called on the owner thread. After every call the owner
 * must make sure {@link #tick()} runs again no later than {@link #nextWakeNanos()}.
 */
public final class ClusterNode {

  private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);

  /** Replaced by {@link #reconfigure}, with the codec, the rules and the priority. */
  private ClusterConfig config;

  private final Clock clock;
  private final Transport transport;
  private final ClusterListener listener;
  private final ClusterMetrics metrics;
  private HeartbeatCodec codec;
  private final ReplayGuard replayGuard;
  private final Membership membership;
  private Election.Rules rules;
  private final long intervalNanos;
  private final long stallGraceNanos;
  private int priority;
  private final long incarnation;

  private long sequence;

  /**
   * The first sequence sent since this node last started backing itself; older acknowledgements do
   * not count.
   */
  private long epoch = Long.MAX_VALUE;

  private boolean eligible;
  private boolean maintenance;
  private boolean holding;
  private boolean addressUp;

  /**
   * The node let the VIP go, and the VIP part has not yet confirmed the address is off the
   * interface: heartbeats say "releasing", so that the holder's announcement that answers the end
   * of this node's claim comes after the kernel let the address go, not before.
   */
  private boolean addressLingering;

  /** The id of the latest VIP decision (see {@link VipDecision#id}); 0 before the first. */
  private long decision;

  private Optional<String> backing = Optional.empty();
  private long abstainingSince = NEVER;
  private long handingOverSince = NEVER;

  /**
   * Since when this node has backed itself for the VIP, until its address is up; for the takeover
   * metric.
   */
  private long candidateSince = NEVER;

  /** Why this node last took the VIP; for the takeover metric. */
  private Election.Reason holdReason;

  private long nextSendNanos;

  /**
   * After a stall of our own, decisions wait until then, so the datagrams queued meanwhile are read
   * first.
   */
  private long readingUntil = NEVER;

  private boolean sendNow;
  private boolean seesQuorum;
  private boolean backedHolder;
  private Set<String> maintenanceReported = Set.of();

  /** The first of our heartbeats that said maintenance; 0 when not in maintenance. */
  private long maintenanceSequence;

  /**
   * Why this node, holding the VIP, should announce it again (a peer's claim ended); null when it
   * need not.
   */
  private String announceAgain;

  public ClusterNode(
      ClusterConfig config,
      Clock clock,
      Transport transport,
      ClusterListener listener,
      ClusterMetrics metrics) {
    this.config = config;
    this.clock = clock;
    this.transport = transport;
    this.listener = listener;
    this.metrics = metrics;
    this.codec = codec(config);
    this.replayGuard = new ReplayGuard(config.replayWindow());
    this.intervalNanos = config.interval().toNanos();
    this.stallGraceNanos = intervalNanos / 5;
    this.membership =
        new Membership(
            config.selfId(), config.peers(), intervalNanos, config.failureTimeout().toNanos());
    this.rules = config.rules();
    this.priority = config.self().priority();
    // The wall clock at start orders this life after the previous one (see ReplayGuard).
    this.incarnation = Math.max(1, clock.wallMillis());
  }

  private static HeartbeatCodec codec(ClusterConfig config) {
    return new HeartbeatCodec(
        config.clusterId(),
        config.selfId(),
        config.nodes().stream().map(Settings.Node::id).collect(Collectors.toSet()),
        config.keys());
  }

  /**
   * Begins: announces this node, and abstains for one failure timeout to learn who holds the VIP.
   */
  public void start() {
    long now = clock.nanoTime();
    abstainingSince = now;
    stepped(now);
    sendNow = true;
    evaluate(now);
    log.info(
        "cluster {}: node {} started (incarnation {}, {} nodes, quorum {}); {}",
        config.clusterId(),
        config.selfId(),
        incarnation,
        config.nodes().size(),
        config.quorum(),
        config.keys());
  }

  /**
   * A reload: takes the keys, the other nodes, this node's priority and the election's rules
   * (quorum, preemption, handoff timeout) of {@code next}, keeping everything it knows of the peers
   * that stay, and what it holds: the next evaluation decides as it would have with {@code next}
   * from the start, so an unchanged cluster keeps its holder. What it cannot take while running
   * (this node's id or address, the cluster id, the heartbeat timing, on which the leases it holds
   * rest) throws IllegalArgumentException, and nothing changes; the daemon says so before.
   *
   * <p>Adding or removing one node at a time keeps the at-most-one-holder argument of {@link
   * Election} while the nodes reload one by one: any quorum of the old node list and any quorum of
   * the new one share a node, which backs one holder only.
   */
  public void reconfigure(ClusterConfig next) {
    List<String> fixed = restartNeeded(config, next);
    if (!fixed.isEmpty()) {
      throw new IllegalArgumentException(
          "the cluster cannot change " + String.join(", ", fixed) + " without a restart");
    }
    List<String> changes = new ArrayList<>();
    if (!next.keys().sameKeys(config.keys())) {
      changes.add("keys: " + next.keys());
    }
    changes.addAll(membership.reconcile(next.peers()));
    if (next.self().priority() != priority) {
      changes.add("priority " + priority + " -> " + next.self().priority());
    }
    if (!next.rules().equals(rules)) {
      changes.add(
          "quorum "
              + next.quorum()
              + ", preempt "
              + next.preempt()
              + " after "
              + next.preemptDelay().toMillis()
              + " ms, handoff timeout "
              + next.handoffTimeout().toMillis()
              + " ms");
    }
    config = next;
    codec = codec(next);
    rules = next.rules();
    priority = next.self().priority();
    for (Peer peer : membership.peers()) {
      peer.reportedUnknownKeys.clear();
    }
    if (!changes.isEmpty()) {
      log.info(
          "cluster {}: node {} reloaded: {} ({} nodes, quorum {})",
          config.clusterId(),
          config.selfId(),
          String.join("; ", changes),
          config.nodes().size(),
          config.quorum());
    }
    sendNow = true;
    tick();
  }

  /** What differs between two configurations that a running node cannot take. */
  static List<String> restartNeeded(ClusterConfig running, ClusterConfig next) {
    List<String> fixed = new ArrayList<>();
    if (!next.selfId().equals(running.selfId())) {
      fixed.add("node-id");
    } else if (!next.self().address().equals(running.self().address())) {
      fixed.add("this node's address");
    }
    if (!next.clusterId().equals(running.clusterId())) {
      fixed.add("cluster.id");
    }
    if (!next.interval().equals(running.interval())
        || !next.failureTimeout().equals(running.failureTimeout())
        || !next.replayWindow().equals(running.replayWindow())) {
      fixed.add("heartbeat timing");
    }
    return fixed;
  }

  /** A datagram from the network. Returns why it was dropped, or empty when it was accepted. */
  public Optional<DropReason> receive(byte[] datagram, int length, InetAddress from) {
    metrics.received();
    Decoded decoded = codec.decode(datagram, length);
    if (decoded instanceof Dropped dropped) {
      if (dropped.reason() == DropReason.BAD_MAC || dropped.reason() == DropReason.UNKNOWN_KEY) {
        membership.peerAt(from).ifPresent(peer -> rejected(peer, dropped));
      }
      metrics.dropped(dropped.reason());
      return Optional.of(dropped.reason());
    }
    Accepted accepted = (Accepted) decoded;
    Heartbeat heartbeat = accepted.heartbeat();
    long now = clock.nanoTime();
    Optional<DropReason> replay = replayGuard.admit(heartbeat, now, clock.wallMillis());
    if (replay.isPresent()) {
      metrics.dropped(replay.get());
      return replay;
    }
    stepped(now);
    Peer peer = membership.peer(heartbeat.senderId()).orElseThrow();
    Heartbeat previous = peer.last;
    boolean silent = peer.lastHeardNanos == NEVER || now - peer.lastHeardNanos > 2 * intervalNanos;
    membership.heard(
        peer, heartbeat, accepted.keyId(), accepted.version(), now, clock.wallMillis());
    boolean newCandidate = heartbeat.candidate() && (previous == null || !previous.candidate());
    boolean endsClaim = claims(previous) && !claims(heartbeat);
    if (silent || (newCandidate && backing.equals(Optional.of(peer.id)))) {
      // Answer at once: a peer back from a stall (or new) renews its leases from our
      // acknowledgement,
      // and a new candidate needs our acknowledgement of its new epoch to take the VIP.
      sendNow = true;
    }
    if (endsClaim) {
      claimEnded(
          peer,
          previous.incarnation() != heartbeat.incarnation()
              ? "restarted"
              : "stopped claiming the VIP");
    }
    evaluate(now);
    return Optional.empty();
  }

  /**
   * A datagram from a peer's address failed authentication: counted (a peer whose count grows while
   * it is not alive signs with another key, see {@code apivip doctor}); a key id this node holds no
   * key for is logged once, with what to do.
   */
  private void rejected(Peer peer, Dropped dropped) {
    peer.badMacDatagrams++;
    if (dropped.reason() == DropReason.UNKNOWN_KEY
        && peer.reportedUnknownKeys.size() < Membership.REPORTED_KEYS
        && peer.reportedUnknownKeys.add(dropped.keyId())) {
      log.warn(
          "peer {} ({}) sends heartbeats signed with key {}, which this node does not hold ({}):"
              + " if the cluster is changing its key, add that key to cluster.accept-key-files"
              + " here and reload (docs/microk8s.md, \"Changing the cluster key\")",
          peer.id,
          peer.address.getHostAddress(),
          KeyFile.fingerprint(dropped.keyId()),
          codec.keys());
    }
  }

  /**
   * Whether a heartbeat claims the VIP or is about to: its sender holds it, backs itself for it, or
   * still has the address on its interface after letting it go.
   */
  private static boolean claims(Heartbeat heartbeat) {
    return heartbeat != null
        && (heartbeat.holdsVip() || heartbeat.candidate() || heartbeat.releasing());
  }

  /**
   * A peer's claim on the VIP ended; if this node holds it, it announces again ({@link
   * #announceIfBacked}).
   */
  private void claimEnded(Peer peer, String what) {
    if (holding) {
      announceAgain = "peer " + peer.id + " " + what;
    }
  }

  /**
   * Asks for the announcement a peer's ended claim calls for ({@link
   * ClusterListener#announceAgain}), once a decision (not one put off after a stall) finds this
   * node a backed holder: there is at most one of those at a time, so a node whose hold is stale
   * never announces. Forgotten when this node stops holding.
   */
  private void announceIfBacked() {
    if (announceAgain == null) {
      return;
    }
    if (!holding) {
      announceAgain = null;
    } else if (addressUp && backedHolder) {
      listener.announceAgain(announceAgain);
      announceAgain = null;
    }
  }

  /** The timer: sends the periodic heartbeat and acts on timeouts. */
  public void tick() {
    long now = clock.nanoTime();
    stepped(now);
    evaluate(now);
  }

  /**
   * A step begins. If this node itself stalled (GC, CPU starvation), the heartbeats that queued up
   * in its socket meanwhile carry fresh acknowledgements of its leases; a timer that runs before
   * the socket is read would see only the stale ones and drop the VIP for nothing. So after a stall
   * decisions wait a short grace while datagrams are read. The node held the address all through
   * the stall anyway; the grace adds a fraction of it.
   */
  private void stepped(long now) {
    if (membership.step(now)) {
      sendNow = true;
      if (holding && membership.everyLeaseOver(now)) {
        // Fencing: the stall outlasted every lease we could hold, so no datagram in the socket can
        // keep the VIP here, and another node may hold it by now. Decide at once, before reading
        // or sending anything: the release comes first, and no heartbeat or announcement goes out
        // on the stale hold.
        readingUntil = NEVER;
        log.warn(
            "node {} stalled while holding the VIP: no heartbeat sent for {} ms, longer than any"
                + " lease it holds (failure timeout {} ms); releasing it first (a GC pause or CPU"
                + " starvation?)",
            config.selfId(),
            membership.sinceLastSentNanos(now) / 1_000_000,
            rules.failureTimeoutNanos() / 1_000_000);
        return;
      }
      readingUntil = now + stallGraceNanos;
    }
  }

  /** When {@link #tick()} must run next, on the {@link Clock#nanoTime()} scale. */
  public long nextWakeNanos() {
    long now = clock.nanoTime();
    long next = nextSendNanos;
    next =
        Membership.after(
            now, membership.nextChange(now, incarnation, rules.preemptDelayNanos()), next);
    if (abstainingSince != NEVER) {
      next = Membership.after(now, abstainingSince + rules.failureTimeoutNanos(), next);
    }
    if (handingOverSince != NEVER) {
      next = Membership.after(now, handingOverSince + rules.handoffTimeoutNanos(), next);
    }
    if (readingUntil != NEVER) {
      next = Math.min(next, Math.max(now, readingUntil));
    }
    return next;
  }

  /** Whether this node's proxy has a healthy backend and its VIP part works. */
  public void setEligible(boolean value) {
    if (value != eligible) {
      eligible = value;
      log.info("node {} is now {}", config.selfId(), value ? "eligible" : "not eligible");
      sendNow = true;
      tick();
    }
  }

  /** Drain (true) or resume (false). Draining hands the VIP over first; see {@link Election}. */
  public void setMaintenance(boolean value) {
    if (value != maintenance) {
      maintenance = value;
      // The heartbeat that says so goes out in this tick.
      maintenanceSequence = value ? sequence + 1 : 0;
      metrics.maintenance(value, clock.wallMillis());
      log.info("node {} {} maintenance", config.selfId(), value ? "enters" : "leaves");
      sendNow = true;
      tick();
    }
  }

  /**
   * The VIP part has added the address for the hold decision {@code decisionId}; from now on our
   * heartbeats claim the VIP. A confirmation of an older decision says nothing of the current one
   * (a release and a new hold came since, and the address may be off the interface): ignored.
   */
  public void addressUp(long decisionId) {
    if (decisionId != decision) {
      log.debug(
          "node {} ignores the address confirmation of VIP decision {}; the latest is {}",
          config.selfId(),
          decisionId,
          decision);
      return;
    }
    if (holding && !addressUp) {
      addressUp = true;
      if (candidateSince != NEVER) {
        metrics.tookOver(holdReason, clock.nanoTime() - candidateSince);
        candidateSince = NEVER;
      }
      sendNow = true;
      tick();
    }
  }

  /**
   * The VIP part has removed the address after the release decision {@code decisionId} (or found it
   * gone). A confirmation of an older decision says nothing of the current one: ignored.
   */
  public void addressDown(long decisionId) {
    if (decisionId != decision || holding || !addressLingering) {
      return;
    }
    addressLingering = false;
    sendNow = true;
    tick();
  }

  private void evaluate(long now) {
    if (readingUntil != NEVER && now < readingUntil) {
      if (sendNow || now >= nextSendNanos) {
        send(now);
      }
      return;
    }
    readingUntil = NEVER;
    membership.updateQualified(now);
    reportPeers(now);
    Election.Decision decision = Election.decide(electionInput(now));
    if (!decision.backing().equals(backing)) {
      if (decision.backing().equals(Optional.of(config.selfId()))) {
        epoch = sequence + 1;
        if (!holding) {
          candidateSince = now;
        }
      } else if (!holding) {
        candidateSince = NEVER;
      }
      backing = decision.backing();
      sendNow = true;
    }
    abstainingSince = decision.abstainingSince();
    long handoffStarted = handingOverSince == NEVER ? now : handingOverSince;
    if (handingOverSince != NEVER
        && decision.handingOverSince() == NEVER
        && decision.hold()
        && holding) {
      // A handover cancelled half way (drain then resume): the node that took over meanwhile may
      // have announced the VIP, and we may not hear it let go (a one-way link), so announce again.
      announceAgain = "handover cancelled";
    }
    handingOverSince = decision.handingOverSince();
    if (decision.seesQuorum() != seesQuorum) {
      seesQuorum = decision.seesQuorum();
      log.info(
          "node {} {} quorum ({} needed)",
          config.selfId(),
          seesQuorum ? "sees" : "lost",
          config.quorum());
    }
    backedHolder = decision.backedHolder();
    decision
        .transition()
        .ifPresent(
            reason -> {
              changeHolding(decision.hold(), reason);
              if (reason == Election.Reason.HANDED_OVER
                  || reason == Election.Reason.HANDOFF_TIMEOUT) {
                metrics.handedOver(reason, now - handoffStarted);
              }
            });
    announceIfBacked();
    reportMaintenance();
    if (sendNow || now >= nextSendNanos) {
      send(now);
    }
  }

  private void changeHolding(boolean hold, Election.Reason reason) {
    holding = hold;
    addressLingering = !hold && (addressUp || addressLingering);
    addressUp = false;
    if (hold) {
      holdReason = reason;
      if (candidateSince == NEVER) {
        candidateSince = clock.nanoTime();
      }
    }
    sendNow = true;
    metrics.transition(reason);
    log.info(
        "node {} {} the VIP ({}); backing {}",
        config.selfId(),
        hold ? "takes" : "releases",
        reason.tag(),
        backing.orElse("nobody"));
    listener.vipDecision(new VipDecision(hold, reason, ++decision));
  }

  Election.Input electionInput(long now) {
    List<Election.Member> peers = new ArrayList<>(membership.peers().size());
    for (Peer peer : membership.peers()) {
      peers.add(membership.member(peer, now, incarnation, epoch));
    }
    // qualifiedSince of the deciding node is never read: only a keeper preempts, and only for a
    // peer.
    Election.Member self =
        new Election.Member(
            config.selfId(),
            priority,
            true,
            eligible,
            maintenance,
            holding,
            backing,
            NEVER,
            true,
            false,
            false,
            false);
    long backingLeaseEnd =
        backing.flatMap(membership::peer).map(peer -> peer.backingLeaseEnd).orElse(NEVER);
    return new Election.Input(
        now, self, peers, rules, abstainingSince, handingOverSince, backingLeaseEnd);
  }

  private void send(long now) {
    sendNow = false;
    sequence++;
    List<Heartbeat.PeerEntry> entries = new ArrayList<>(membership.peers().size());
    for (Peer peer : membership.peers()) {
      Heartbeat last = peer.last;
      boolean backs = backing.equals(Optional.of(peer.id));
      // The acknowledgement in a backing heartbeat is a lease (Election, rule 4). Given to a node
      // that does not hear us, it only delays our moving on from it: so it advances only while
      // that node acknowledges one of our recent heartbeats, and is repeated otherwise.
      if (last != null && (!backs || !membership.acknowledgementStale(peer, incarnation, now))) {
        peer.ackedIncarnation = last.incarnation();
        peer.ackedSequence = last.sequence();
        peer.ackedReceivedNanos = peer.receivedNanos;
      }
      if (backs && peer.ackedSequence > 0) {
        peer.backingLeaseEnd =
            Math.max(peer.backingLeaseEnd, peer.ackedReceivedNanos + rules.failureTimeoutNanos());
      }
      entries.add(
          new Heartbeat.PeerEntry(
              peer.id,
              peer.ackedIncarnation,
              peer.ackedSequence,
              membership.alive(peer, now),
              backs));
    }
    Heartbeat heartbeat =
        new Heartbeat(
            config.clusterId(),
            config.selfId(),
            incarnation,
            sequence,
            clock.wallMillis(),
            priority,
            eligible,
            maintenance,
            holding && addressUp,
            backing.equals(Optional.of(config.selfId())),
            entries,
            !holding && addressLingering);
    // A peer of a release before key ids gets the version it speaks (the wire version of its
    // latest heartbeat), so that a rolling upgrade of the package keeps it hearing us; every other
    // peer, the current one, which it may not speak yet: if it answers in the old version, the next
    // heartbeat speaks that.
    byte[] datagram = null;
    byte[] legacy = null;
    membership.sent(sequence, now);
    nextSendNanos = now + intervalNanos;
    for (Peer peer : membership.peers()) {
      if (peer.version == HeartbeatCodec.LEGACY_VERSION) {
        legacy = legacy == null ? codec.encode(heartbeat, HeartbeatCodec.LEGACY_VERSION) : legacy;
        transport.send(peer.id, legacy);
      } else {
        datagram = datagram == null ? codec.encode(heartbeat) : datagram;
        transport.send(peer.id, datagram);
      }
    }
  }

  private void reportPeers(long now) {
    for (Peer peer : membership.peers()) {
      boolean alive = membership.alive(peer, now);
      if (alive != peer.reportedAlive) {
        peer.reportedAlive = alive;
        if (alive) {
          log.info("peer {} ({}) is alive", peer.id, peer.address.getHostAddress());
        } else {
          log.warn(
              "peer {} ({}) is suspected: no heartbeat for {} ms",
              peer.id,
              peer.address.getHostAddress(),
              (now - peer.lastHeardNanos) / 1_000_000);
          if (claims(peer.last)) {
            claimEnded(peer, "is suspected");
          }
          // Tell the others at once: if the silence is ours (our inbound heartbeats are lost),
          // this is how they learn we are deaf and move their backing on (Election, rule 1).
          sendNow = true;
        }
      }
    }
  }

  private void reportMaintenance() {
    int draining = maintenance ? 1 : 0;
    boolean same = !maintenance || maintenanceReported.contains(config.selfId());
    for (Peer peer : membership.peers()) {
      if (peer.last != null && peer.last.maintenance()) {
        draining++;
        same &= maintenanceReported.contains(peer.id);
      }
    }
    if (same && draining == maintenanceReported.size()) {
      return;
    }
    Set<String> nodes = new TreeSet<>();
    if (maintenance) {
      nodes.add(config.selfId());
    }
    for (Peer peer : membership.peers()) {
      if (peer.last != null && peer.last.maintenance()) {
        nodes.add(peer.id);
      }
    }
    maintenanceReported = Set.copyOf(nodes);
    listener.maintenanceChanged(maintenanceReported);
  }

  /** The snapshot for /status and the gauges. */
  public ClusterStatus status() {
    long now = clock.nanoTime();
    List<ClusterStatus.Member> members = new ArrayList<>();
    members.add(
        new ClusterStatus.Member(
            config.selfId(),
            config.self().address(),
            priority,
            ClusterStatus.Liveness.SELF,
            eligible,
            maintenance,
            holding && addressUp,
            Optional.empty(),
            Optional.empty(),
            0,
            Optional.of(codec.keys().signing().fingerprint())));
    Optional<String> holder = holding ? Optional.of(config.selfId()) : Optional.empty();
    Election.Member best = null;
    Set<String> unaware = new TreeSet<>();
    for (Peer peer : membership.peers()) {
      Heartbeat last = peer.last;
      boolean alive = membership.alive(peer, now);
      if (maintenance && alive && !acknowledges(last, maintenanceSequence)) {
        unaware.add(peer.id);
      }
      ClusterStatus.Liveness liveness =
          last == null
              ? ClusterStatus.Liveness.NEVER_HEARD
              : alive ? ClusterStatus.Liveness.ALIVE : ClusterStatus.Liveness.SUSPECTED;
      members.add(
          new ClusterStatus.Member(
              peer.id,
              peer.address,
              peer.priority(),
              liveness,
              last != null && last.eligible(),
              last != null && last.maintenance(),
              last != null && last.holdsVip(),
              last == null
                  ? Optional.empty()
                  : Optional.of(Duration.ofNanos(now - peer.lastHeardNanos)),
              last == null
                  ? Optional.empty()
                  : Optional.of(Duration.ofMillis(peer.clockOffsetMillis)),
              peer.badMacDatagrams,
              last == null ? Optional.empty() : Optional.of(KeyFile.fingerprint(peer.keyId))));
      Election.Member member = membership.member(peer, now, incarnation, epoch);
      if (member.alive()
          && member.holds()
          && (best == null || Election.RANK.compare(member, best) > 0)) {
        best = member;
      }
    }
    if (holder.isEmpty() && best != null) {
      holder = Optional.of(best.id());
    }
    return new ClusterStatus(
        config.selfId(),
        config.quorum(),
        seesQuorum,
        holding,
        holder,
        members,
        unaware,
        codec.keys().otherFingerprints());
  }

  /**
   * Whether a peer's heartbeat acknowledges one of ours of this life at or after {@code sequence}.
   */
  private boolean acknowledges(Heartbeat heartbeat, long sequence) {
    return heartbeat != null
        && heartbeat
            .entry(config.selfId())
            .filter(e -> e.incarnation() == incarnation && e.lastSequence() >= sequence)
            .isPresent();
  }

  /** This node's state as the invariant checks see it, evaluated now without changing anything. */
  public Inspection inspect() {
    long now = clock.nanoTime();
    Election.Decision decision = Election.decide(electionInput(now));
    boolean handingOver = holding && !decision.backedHolder() && decision.seesQuorum();
    return new Inspection(
        config.selfId(),
        holding,
        addressUp,
        decision.seesQuorum(),
        holding && decision.backedHolder(),
        handingOver,
        handingOverSince,
        backing);
  }

  /**
   * @param backedHolder holds the VIP, qualifies, and a quorum backs it (at most one node at a
   *     time)
   * @param handingOver holds the VIP and sees a quorum but is not backed: handing over
   */
  public record Inspection(
      String id,
      boolean holding,
      boolean addressUp,
      boolean seesQuorum,
      boolean backedHolder,
      boolean handingOver,
      long handingOverSince,
      Optional<String> backing) {}

  /**
   * Everything a received datagram could change, for the simulation's "dropped means no effect"
   * check.
   */
  Object digest() {
    List<Object> state = membership.digest();
    state.add(sequence);
    state.add(epoch);
    state.add(holding);
    state.add(addressUp);
    state.add(backing);
    state.add(abstainingSince);
    state.add(handingOverSince);
    return state;
  }

  public String id() {
    return config.selfId();
  }

  public boolean holding() {
    return holding;
  }
}
