package io.apivip.daemon.cluster;

import io.apivip.daemon.config.Settings;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.function.Consumer;

/**
 * A deterministic cluster: real {@link ClusterNode}s over a fake network (drop, delay, reorder,
 * duplicate, partition, one-way loss) and one fake clock, with nodes that pause, die, restart, and
 * flip eligibility and maintenance. Everything random comes from one seed, so a seed replays a run
 * exactly. {@link #check} runs after every event and throws {@link InvariantViolation} with the
 * seed and the last events.
 */
final class Simulation {

  static final long MS = 1_000_000L;
  static final long SECOND = 1000 * MS;
  private static final int TRACE_LINES = 60;

  /** A broken invariant, with what is needed to replay it. */
  static final class InvariantViolation extends AssertionError {
    InvariantViolation(String message) {
      super(message);
    }
  }

  private record Event(long time, long order, Runnable action) {}

  final long seed;
  final Random random;
  final int size;
  final ClusterConfig[] configs;
  final Node[] nodes;
  final Network network = new Network();
  private final PriorityQueue<Event> queue =
      new PriorityQueue<>(
          (a, b) ->
              a.time != b.time ? Long.compare(a.time, b.time) : Long.compare(a.order, b.order));
  private final Deque<String> trace = new ArrayDeque<>();
  private long order;
  long now;

  /** Which invariants apply right now; the scenario sets them. */
  boolean expectOneHolder;

  /** A planned handoff is under way: some node must have the address at every instant. */
  boolean expectNoGap;

  /**
   * Which node a client on the LAN sends the VIP's traffic to: the one whose announcement it heard
   * last (its neighbour entry); null before any. A dead node's entry stays until someone announces.
   */
  Node announced;

  /**
   * Another node carried the address while a released one still waited for the kernel to remove it.
   */
  boolean overlapWhileRemoving;

  /** Address removal is slow (up to a second) or fails and is retried, as `ip addr del` can. */
  boolean slowRemoval;

  /** When positive, every removal takes exactly this long (a focused test's slow kernel). */
  long fixedRemovalNanos;

  Simulation(long seed, int size, Duration handoffTimeout, boolean preempt) {
    this(seed, size, size / 2 + 1, handoffTimeout, preempt);
  }

  Simulation(long seed, int size, int quorum, Duration handoffTimeout, boolean preempt) {
    this.seed = seed;
    this.random = new Random(seed);
    this.size = size;
    byte[] key = new byte[32];
    random.nextBytes(key);
    List<Settings.Node> members = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      int priority = random.nextInt(3) == 0 ? 150 : 100;
      members.add(new Settings.Node("n" + (i + 1), address(i), priority));
    }
    configs = new ClusterConfig[size];
    nodes = new Node[size];
    for (int i = 0; i < size; i++) {
      configs[i] =
          new ClusterConfig(
              "sim",
              "n" + (i + 1),
              members,
              quorum,
              preempt,
              Duration.ofSeconds(1),
              handoffTimeout,
              Duration.ofMillis(100),
              Duration.ofMillis(500),
              Duration.ofSeconds(10),
              KeyRing.of(key));
      nodes[i] = new Node(i);
    }
  }

  static InetAddress address(int index) {
    try {
      return InetAddress.getByAddress(new byte[] {(byte) 192, 0, 2, (byte) (11 + index)});
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  int quorum() {
    return configs[0].quorum();
  }

  ClusterConfig config() {
    return configs[0];
  }

  /**
   * Whether every node's quorum is a majority of its own node list: what the at-most-one-holder
   * checks rest on (while nodes reload a changed list one by one, their lists differ).
   */
  boolean majorityQuorums() {
    return Arrays.stream(configs).allMatch(c -> c.quorum() > c.nodes().size() / 2);
  }

  /**
   * A reload of {@code node} with {@code next}, on its owner thread (queued while it is paused); a
   * node that is down takes it at its next start.
   */
  void reconfigure(Node node, ClusterConfig next) {
    configs[node.index] = next;
    note(node.id + " reloads: " + next.keys() + ", " + next.nodes().size() + " nodes");
    node.run(() -> node.cluster.reconfigure(next));
  }

  void at(long time, Runnable action) {
    queue.add(new Event(Math.max(time, now), order++, action));
  }

  /**
   * Wall-clock limit of this run (System.nanoTime), so that a livelocked seed fails with its seed
   * instead of hanging the build.
   */
  long wallDeadline = Long.MAX_VALUE;

  void runUntil(long end) {
    while (!queue.isEmpty() && queue.peek().time <= end) {
      Event event = queue.poll();
      now = event.time;
      event.action.run();
      check();
      if ((order & 1023) == 0 && System.nanoTime() > wallDeadline) {
        fail("the run went past its wall-clock limit (a livelock?)");
      }
    }
    now = end;
  }

  void note(String line) {
    if (trace.size() == TRACE_LINES) {
      trace.removeFirst();
    }
    trace.addLast(String.format("%8.3fs %s", now / 1e9, line));
  }

  void fail(String what) {
    StringBuilder message = new StringBuilder();
    message
        .append(what)
        .append("\n  seed ")
        .append(seed)
        .append(", ")
        .append(size)
        .append(" nodes, at ")
        .append(now / 1e6)
        .append(" ms; reproduce with -Dapivip.sim.seed=")
        .append(seed)
        .append("\n  state:");
    for (Node node : nodes) {
      message.append("\n    ").append(node.describe());
    }
    message.append("\n  last events:");
    trace.forEach(line -> message.append("\n    ").append(line));
    throw new InvariantViolation(message.toString());
  }

  /** The invariants, after every event. */
  void check() {
    Node backed = null;
    List<ClusterNode.Inspection> quorate = new ArrayList<>(2);
    int present = 0;
    for (Node node : nodes) {
      if (!node.up) {
        continue;
      }
      present += node.addressPresent ? 1 : 0;
      if (!node.cluster.holding()) {
        continue;
      }
      ClusterNode.Inspection inspection = node.cluster.inspect();
      // 1. At most one backed holder; any other holder that sees a quorum is handing over, briefly.
      // Only a majority quorum promises it (a smaller one is allowed, with a warning).
      if (inspection.backedHolder() && majorityQuorums()) {
        if (backed != null) {
          fail("two backed holders: " + backed.id + " and " + node.id);
        }
        backed = node;
      }
      if (inspection.seesQuorum()) {
        quorate.add(inspection);
      }
      // A holder hands over for handoff-timeout at most, unless no other node qualifies in its view
      // (then it keeps the VIP: see Election, rule 6).
      if (inspection.handingOver()
          && !node.paused()
          && !node.readingAfterPause()
          && inspection.handingOverSince() != Election.NEVER
          && node.toSim(inspection.handingOverSince()) + config().handoffTimeout().toNanos() < now
          && anotherQualifiesInViewOf(node)) {
        fail(node.id + " has been handing over for longer than handoff-timeout");
      }
    }
    if (majorityQuorums()
        && quorate.size() > 1
        && quorate.stream().filter(i -> !i.handingOver()).count() > 1) {
      fail("two holders see a quorum and neither is handing over: " + quorate);
    }
    // 1b. On the interfaces, not in a recomputed decision: two nodes carry the address at once only
    // while one of them hands over in a planned handoff, cannot act (paused, or just resumed and
    // reading its backlog), or has decided to release and waits for the kernel (counted).
    if (majorityQuorums()) {
      Node active = null;
      int removing = 0;
      for (Node node : nodes) {
        if (!node.up || !node.addressPresent) {
          continue;
        }
        if (node.removalPending) {
          removing++;
          continue;
        }
        if (node.paused()
            || node.readingAfterPause()
            || (node.cluster.holding() && node.cluster.inspect().handingOver())) {
          continue;
        }
        if (active != null) {
          fail(
              "two nodes carry the address and neither is handing over, paused or releasing: "
                  + active.id
                  + ", "
                  + node.id);
        }
        active = node;
      }
      if (removing > 0 && active != null) {
        overlapWhileRemoving = true;
      }
    }
    // 2. A quorum of qualified nodes that can talk: exactly one holder, it is one of them, and the
    // LAN's clients send to it (no node that claimed the VIP for a moment announced it last).
    if (expectOneHolder) {
      Node holder = null;
      for (Node node : nodes) {
        // A node that decided to release and waits for the kernel is counted by check 1b.
        if (node.up && node.addressPresent && !node.removalPending) {
          if (holder != null) {
            fail(
                "two nodes have the VIP after the cluster had time to settle: "
                    + holder.id
                    + ", "
                    + node.id);
          }
          holder = node;
        }
      }
      if (holder == null) {
        fail("no node has the VIP although a quorum of qualified nodes can talk");
      }
      if (!holder.qualified()) {
        fail("the VIP is on " + holder.id + ", which does not qualify");
      }
      if (announced != holder) {
        fail(
            "clients send the VIP's traffic to "
                + (announced == null ? "nobody" : announced.id)
                + ", not to its holder "
                + holder.id);
      }
    }
    // 3. A planned handoff leaves no instant without a holder.
    if (expectNoGap && present == 0) {
      fail("no node has the VIP during a planned handoff");
    }
  }

  /** Nodes that can serve: running, not paused, eligible and not in maintenance. */
  int qualifiedCount() {
    return (int) Arrays.stream(nodes).filter(Node::qualified).count();
  }

  int upCount() {
    return (int) Arrays.stream(nodes).filter(node -> node.up).count();
  }

  /** The running nodes that carry the VIP's address now, in node order. */
  List<Node> addressHolders() {
    return Arrays.stream(nodes).filter(node -> node.up && node.addressPresent).toList();
  }

  Optional<Node> soleAddressHolder() {
    List<Node> holders = addressHolders();
    return holders.size() == 1 ? Optional.of(holders.get(0)) : Optional.empty();
  }

  /**
   * The fake network: per directed link a block flag; loss, duplication and delay for all links.
   */
  final class Network {
    final boolean[][] blocked = new boolean[64][64];

    /** Links cut for the rest of the run, calm phases included (a firewall rule left in place). */
    final boolean[][] cut = new boolean[64][64];

    /** Loss of the datagrams sent to a node, on top of {@code loss}: a one-way lossy link. */
    final double[] inboundLoss = new double[64];

    /**
     * Links that are down, whose datagrams wait as the kernel's neighbour queue holds them while it
     * cannot resolve the next hop: {@link #linkUp} delivers, in one burst, those sent within {@link
     * #NEIGHBOUR_QUEUE_LIFE} (3 unanswered ARP requests a second apart), the newest {@link
     * #NEIGHBOUR_QUEUE_LENGTH} of them. Null while the link is not down.
     */
    @SuppressWarnings("unchecked")
    final List<Waiting>[][] down = new List[64][64];

    static final long NEIGHBOUR_QUEUE_LIFE = 3 * SECOND;
    static final int NEIGHBOUR_QUEUE_LENGTH = 101;

    record Waiting(long sent, byte[] datagram) {}

    /** Datagrams delivered by {@link #linkUp}. */
    int burstDelivered;

    /** Takes the node's link down: every link to and from it (see {@link #down}). */
    void linkDown(Node node) {
      for (int other = 0; other < size; other++) {
        if (other != node.index) {
          linkDown(node.index, other);
          linkDown(other, node.index);
        }
      }
    }

    /** Brings the node's link back up (see {@link #linkUp(int, int)}). */
    void linkUp(Node node) {
      for (int other = 0; other < size; other++) {
        linkUp(node.index, other);
        linkUp(other, node.index);
      }
    }

    /**
     * Takes the link from {@code from} to {@code to} down: its datagrams wait (see {@link #down}).
     */
    void linkDown(int from, int to) {
      if (down[from][to] == null) {
        down[from][to] = new ArrayList<>();
      }
    }

    /** Brings the link back up and delivers what waited and is still recent, in order, at once. */
    void linkUp(int from, int to) {
      List<Waiting> waiting = down[from][to];
      down[from][to] = null;
      if (waiting == null) {
        return;
      }
      Node target = nodes[to];
      InetAddress source = address(from);
      for (Waiting datagram : waiting) {
        if (now - datagram.sent() <= NEIGHBOUR_QUEUE_LIFE) {
          burstDelivered++;
          at(now + minDelay, () -> target.deliver(datagram.datagram(), source));
        }
      }
    }

    double loss;
    double duplicate;
    double reorder;
    long minDelay = MS / 10;
    long maxDelay = 2 * MS;

    /** Whether a and b can talk both ways in a calm phase. */
    boolean bothWays(int a, int b) {
      return !cut[a][b] && !cut[b][a];
    }

    void calm() {
      for (boolean[] row : blocked) {
        Arrays.fill(row, false);
      }
      for (int from = 0; from < size; from++) {
        for (int to = 0; to < size; to++) {
          linkUp(from, to);
        }
      }
      Arrays.fill(inboundLoss, 0);
      loss = 0;
      duplicate = 0;
      reorder = 0;
      minDelay = MS / 10;
      maxDelay = 2 * MS;
    }

    void send(int from, int to, byte[] datagram) {
      List<Waiting> waiting = down[from][to];
      if (waiting != null) {
        // A full queue drops its oldest datagram, as the kernel's does.
        waiting.removeIf(old -> now - old.sent() > NEIGHBOUR_QUEUE_LIFE);
        if (waiting.size() == NEIGHBOUR_QUEUE_LENGTH) {
          waiting.remove(0);
        }
        waiting.add(new Waiting(now, datagram));
        return;
      }
      if (blocked[from][to]
          || cut[from][to]
          || random.nextDouble() < loss
          || random.nextDouble() < inboundLoss[to]) {
        return;
      }
      int copies = random.nextDouble() < duplicate ? 2 : 1;
      for (int copy = 0; copy < copies; copy++) {
        long delay = minDelay + (long) (random.nextDouble() * (maxDelay - minDelay));
        if (random.nextDouble() < reorder) {
          delay += (long) (random.nextDouble() * 80 * MS);
        }
        Node target = nodes[to];
        InetAddress source = address(from);
        at(now + delay, () -> target.deliver(datagram, source));
      }
    }
  }

  /** One simulated host: its apivip process (a ClusterNode), its clock and its VIP address. */
  private static boolean anotherQualifiesInViewOf(Node node) {
    return node.cluster.status().members().stream()
        .anyMatch(
            m -> m.liveness() == ClusterStatus.Liveness.ALIVE && m.eligible() && !m.maintenance());
  }

  final class Node implements Clock, Transport, ClusterListener {
    final int index;
    final String id;
    final long monotonicOffset;
    final long wallOffsetMillis;
    ClusterNode cluster;

    /** The node's meters from its next start on; none by default (thousands of nodes run). */
    ClusterMetrics metrics = ClusterMetrics.NONE;

    boolean up;
    long pausedUntil = Long.MIN_VALUE;
    final List<Runnable> backlog = new ArrayList<>();
    boolean addressPresent;

    /** The node decided to release; the kernel has not removed the address yet. */
    boolean removalPending;

    long removedAt = Long.MIN_VALUE;
    long lastAnnouncedAt = Long.MIN_VALUE;
    long holdGeneration;
    boolean eligible = true;
    boolean maintenance;
    long wakeAt = Long.MAX_VALUE;
    long wakeToken;
    final Deque<byte[]> captured = new ArrayDeque<>();

    /** What {@code captured} held when the node died, for replays into its next life. */
    final List<byte[]> capturedBeforeDeath = new ArrayList<>();

    Consumer<VipDecision> decisions = decision -> {};

    Node(int index) {
      this.index = index;
      this.id = "n" + (index + 1);
      this.monotonicOffset = random.nextLong() >> 8;
      this.wallOffsetMillis = random.nextInt(1000) - 500;
    }

    @Override
    public long nanoTime() {
      return now + monotonicOffset;
    }

    @Override
    public long wallMillis() {
      return 1_700_000_000_000L + now / MS + wallOffsetMillis;
    }

    long toSim(long nodeNanos) {
      return nodeNanos - monotonicOffset;
    }

    boolean paused() {
      return pausedUntil > now;
    }

    /**
     * Just resumed: for a fifth of an interval the node reads its backlog before it decides (see
     * ClusterNode#stepped).
     */
    boolean readingAfterPause() {
      return pausedUntil != Long.MIN_VALUE
          && now <= pausedUntil + config().interval().toNanos() / 5;
    }

    boolean qualified() {
      return up && !paused() && eligible && !maintenance;
    }

    void start() {
      if (up) {
        return;
      }
      up = true;
      pausedUntil = Long.MIN_VALUE;
      cluster = new ClusterNode(configs[index], this, this, this, metrics);
      note(id + " starts");
      cluster.start();
      cluster.setEligible(eligible);
      cluster.setMaintenance(maintenance);
      stepped();
    }

    void kill() {
      note(id + " dies" + (addressPresent ? " holding the VIP" : ""));
      up = false;
      addressPresent = false;
      removalPending = false;
      holdGeneration++;
      backlog.clear();
      capturedBeforeDeath.clear();
      capturedBeforeDeath.addAll(captured);
      captured.clear();
      wakeToken++;
      wakeAt = Long.MAX_VALUE;
    }

    void pause(long duration) {
      if (!up || paused()) {
        return;
      }
      note(id + " pauses for " + duration / MS + " ms");
      pausedUntil = now + duration;
      at(pausedUntil, this::resume);
    }

    private void resume() {
      if (!up || paused()) {
        return;
      }
      note(id + " resumes with " + backlog.size() + " queued events");
      List<Runnable> queued = new ArrayList<>(backlog);
      backlog.clear();
      // Netty reads the socket before running timers, but a timer may win the race; try both.
      if (random.nextBoolean()) {
        cluster.tick();
      }
      queued.forEach(Runnable::run);
      cluster.tick();
      stepped();
    }

    /** Runs an input on this node's owner thread, or queues it while the node is paused. */
    void run(Runnable input) {
      if (!up) {
        return;
      }
      if (paused()) {
        backlog.add(input);
        return;
      }
      input.run();
      stepped();
    }

    void deliver(byte[] datagram, InetAddress source) {
      run(
          () -> {
            cluster.receive(datagram, datagram.length, source);
            if (captured.size() == 32) {
              captured.removeFirst();
            }
            captured.addLast(datagram);
          });
    }

    void setEligible(boolean value) {
      eligible = value;
      note(id + (value ? " eligible" : " ineligible"));
      run(() -> cluster.setEligible(value));
    }

    void setMaintenance(boolean value) {
      maintenance = value;
      note(id + (value ? " drains" : " resumes"));
      run(() -> cluster.setMaintenance(value));
    }

    /** Keeps one timer event at the node's next deadline. */
    void stepped() {
      long next = toSim(cluster.nextWakeNanos());
      if (next >= wakeAt && wakeAt > now) {
        return;
      }
      wakeAt = next;
      long token = ++wakeToken;
      at(
          next,
          () -> {
            if (token == wakeToken) {
              wakeAt = Long.MAX_VALUE;
              run(cluster::tick);
            }
          });
    }

    @Override
    public void send(String peerId, byte[] datagram) {
      network.send(index, Integer.parseInt(peerId.substring(1)) - 1, datagram);
    }

    @Override
    public void close() {}

    @Override
    public void vipDecision(VipDecision decision) {
      note(id + (decision.hold() ? " takes" : " releases") + " the VIP: " + decision.reason());
      decisions.accept(decision);
      long generation = ++holdGeneration;
      if (!decision.hold()) {
        if ((!slowRemoval && fixedRemovalNanos <= 0) || !addressPresent) {
          addressPresent = false;
          confirmRemoval(decision.id());
          return;
        }
        removalPending = true;
        remove(generation, 0, decision.id());
        return;
      }
      removalPending = false;
      // The VIP part adds and announces the address (unless a release overtook the hold), and the
      // cluster hears of it a little later: a release may come in between.
      at(
          now + random.nextInt(20 * (int) MS),
          () ->
              run(
                  () -> {
                    if (generation != holdGeneration) {
                      return;
                    }
                    addressPresent = true;
                    announce("takes");
                    at(
                        now + random.nextInt(3 * (int) MS),
                        () ->
                            run(
                                () -> {
                                  if (generation == holdGeneration && cluster.holding()) {
                                    cluster.addressUp(decision.id());
                                  }
                                }));
                  }));
    }

    /**
     * The kernel removes the address: mostly at once, sometimes slowly, sometimes failing and
     * retried.
     */
    private void remove(long generation, int attempt, long decisionId) {
      int kind = fixedRemovalNanos > 0 ? 0 : random.nextInt(10);
      long delay =
          fixedRemovalNanos > 0
              ? fixedRemovalNanos
              : kind < 7
                  ? random.nextInt(5 * (int) MS)
                  : kind < 9 ? (100 + random.nextInt(900)) * MS : 200 * MS;
      boolean fails = kind == 9 && attempt < 3;
      at(
          now + delay,
          () -> {
            if (!up || generation != holdGeneration) {
              return;
            }
            if (fails) {
              note(id + ": removing the address failed (attempt " + (attempt + 1) + "), retrying");
              remove(generation, attempt + 1, decisionId);
              return;
            }
            addressPresent = false;
            removalPending = false;
            removedAt = now;
            note(id + ": the address is removed");
            confirmRemoval(decisionId);
          });
    }

    /** The VIP part tells the cluster the address is off, a moment later, on the node's thread. */
    private void confirmRemoval(long decisionId) {
      at(now + random.nextInt(2 * (int) MS), () -> run(() -> cluster.addressDown(decisionId)));
    }

    @Override
    public void announceAgain(String reason) {
      if (addressPresent) {
        announce("again, " + reason);
      }
    }

    private void announce(String why) {
      note(id + " announces the VIP (" + why + ")");
      announced = this;
      lastAnnouncedAt = now;
    }

    String describe() {
      if (!up) {
        return id + ": down";
      }
      ClusterNode.Inspection inspection = cluster.inspect();
      return String.format(
          "%s: %s%s%s holding=%s address=%s%s quorum=%s backed=%s handingOver=%s backing=%s",
          id,
          paused() ? "paused " : "",
          eligible ? "eligible" : "ineligible",
          maintenance ? " maintenance" : "",
          inspection.holding(),
          addressPresent,
          removalPending ? " (removing)" : "",
          inspection.seesQuorum(),
          inspection.backedHolder(),
          inspection.handingOver(),
          inspection.backing().orElse("-"));
    }
  }
}
