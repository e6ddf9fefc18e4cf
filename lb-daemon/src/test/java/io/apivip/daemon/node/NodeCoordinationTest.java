package io.apivip.daemon.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cluster.Clock;
import io.apivip.daemon.cluster.ClusterConfig;
import io.apivip.daemon.cluster.ClusterListener;
import io.apivip.daemon.cluster.ClusterService;
import io.apivip.daemon.cluster.ClusterStatus;
import io.apivip.daemon.cluster.Election;
import io.apivip.daemon.cluster.KeyRing;
import io.apivip.daemon.cluster.VipDecision;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.proxy.BackendHealth;
import io.apivip.daemon.proxy.Routing;
import io.apivip.daemon.transport.Transports;
import io.apivip.daemon.vip.VipManager;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The daemon's coordination in one JVM: three nodes, each a {@link NodeController} on a Netty event
 * loop of its own and a real {@link ClusterService} over UDP on loopback, with the VIP part and the
 * proxy's gate as stand-ins on threads of their own. Events come from many threads at once, as in
 * the daemon; every controller call is recorded with its thread.
 */
class NodeCoordinationTest {

  private static final byte[] KEY =
      "a-test-key-of-at-least-32-bytes-for-the-coordination".getBytes();
  private static final Duration SETTLE = Duration.ofSeconds(2);

  private final List<Node> nodes = new ArrayList<>();

  /** "n2 adds", "n1 removes": what the VIP stand-ins did, in order. */
  private final List<String> addresses = new CopyOnWriteArrayList<>();

  private EventLoopGroup udp;

  /** A loop that records the thread of every check the controller makes. */
  private static final class RecordingLoop implements Loop {
    final Loop loop;
    final Set<String> threads = ConcurrentHashMap.newKeySet();

    RecordingLoop(Loop loop) {
      this.loop = loop;
    }

    @Override
    public long nanoTime() {
      return loop.nanoTime();
    }

    @Override
    public boolean inLoop() {
      threads.add(Thread.currentThread().getName());
      return loop.inLoop();
    }

    @Override
    public void execute(Runnable task) {
      loop.execute(task);
    }

    @Override
    public Timer schedule(Duration delay, Runnable task) {
      return loop.schedule(delay, task);
    }
  }

  /** One node: its controller, its cluster, and stand-ins for the VIP part and the proxy's gate. */
  private final class Node implements Parts.Vip, Parts.Gate {
    final String id;
    final EventLoopGroup group;
    final RecordingLoop loop;
    final Set<String> apiserversDown = ConcurrentHashMap.newKeySet();
    final Routing routing;
    final List<Settings.Backend> backends;
    final NodeService service;
    final ScheduledExecutorService vipThread;
    final List<VipDecision> decisions = new CopyOnWriteArrayList<>();
    volatile ClusterService cluster;
    volatile boolean gateClosed;
    volatile boolean present;

    Node(String id, List<Settings.Backend> backends) {
      this.id = id;
      this.group = Transports.best().newGroup(1, "node-" + id);
      this.loop = new RecordingLoop(Loop.on(group.next()));
      this.vipThread =
          Executors.newSingleThreadScheduledExecutor(runnable -> new Thread(runnable, "vip-" + id));
      this.routing =
          new Routing(
              new BackendHealth() {
                @Override
                public boolean isUp(Settings.Backend backend) {
                  return !apiserversDown.contains(backend.nodeId());
                }

                @Override
                public void connectFailed(Settings.Backend backend, Throwable cause) {}
              });
      this.backends = backends;
      this.service = new NodeService(loop);
    }

    /**
     * Starts the cluster (its listener posting to the service, as in the daemon), then the
     * controller.
     */
    void start(ClusterConfig config, Map<String, InetSocketAddress> endpoints, EventLoopGroup udp)
        throws Exception {
      ClusterListener recording =
          new ClusterListener() {
            final ClusterListener posting = service.clusterListener();

            @Override
            public void vipDecision(VipDecision decision) {
              decisions.add(decision);
              posting.vipDecision(decision);
            }

            @Override
            public void announceAgain(String reason) {
              posting.announceAgain(reason);
            }

            @Override
            public void maintenanceChanged(Set<String> nodes) {
              posting.maintenanceChanged(nodes);
            }
          };
      cluster =
          ClusterService.start(
              config,
              endpoints,
              Transports.best(),
              udp,
              new SimpleMeterRegistry(),
              recording,
              Clock.system());
      Parts parts = new Parts(Parts.Cluster.of(cluster), this, this);
      service.start(
          new NodeController(service.loop(), parts, routing, backends, SETTLE),
          () -> new VipManager.Status(false, false, true, "", 0));
    }

    /** Waits until the controller has run every event posted so far. */
    void settled() throws Exception {
      service.post(controller -> {}).get(5, TimeUnit.SECONDS);
    }

    boolean claimsTheVip() {
      return self().holdsVip();
    }

    ClusterStatus.Member self() {
      return cluster.status().members().get(0);
    }

    // ---- the VIP part and the proxy's gate ----

    /** Adds the address a few milliseconds later on the VIP thread, which then posts its status. */
    @Override
    public void hold(String reason, long decision) {
      vipThread.schedule(
          () -> {
            present = true;
            addresses.add(id + " adds");
            VipManager.Status status = new VipManager.Status(true, true, true, "", decision);
            service.vipChanged(status);
          },
          5,
          TimeUnit.MILLISECONDS);
    }

    @Override
    public void release(String reason) {
      vipThread.execute(
          () -> {
            present = false;
            addresses.add(id + " removes");
            VipManager.Status status = new VipManager.Status(false, false, true, "", 0);
            service.vipChanged(status);
          });
    }

    @Override
    public void announceAgain(String reason) {}

    @Override
    public CompletableFuture<Void> quiesceVip(Duration wait) {
      gateClosed = true;
      CompletableFuture<Void> done = new CompletableFuture<>();
      vipThread.schedule(() -> done.complete(null), 50, TimeUnit.MILLISECONDS);
      return done;
    }

    @Override
    public void reopenVip() {
      gateClosed = false;
    }

    @Override
    public void vipLost() {}

    void close() {
      if (cluster != null) {
        cluster.close();
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      vipThread.shutdownNow();
    }
  }

  @AfterEach
  void close() {
    nodes.forEach(Node::close);
    if (udp != null) {
      udp.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  private void startCluster() throws Exception {
    Map<String, InetSocketAddress> endpoints = new LinkedHashMap<>();
    List<Settings.Node> members = new ArrayList<>();
    List<Settings.Backend> backends = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      InetAddress address = InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) i});
      try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress(address, 0))) {
        endpoints.put("n" + i, new InetSocketAddress(address, probe.getLocalPort()));
      }
      members.add(new Settings.Node("n" + i, address, 100));
      backends.add(new Settings.Backend("n" + i, new InetSocketAddress(address, 16443)));
    }
    udp = Transports.best().newGroup(2, "coordination-udp");
    for (Settings.Node member : members) {
      Node node = new Node(member.id(), backends);
      nodes.add(node);
      ClusterConfig config =
          new ClusterConfig(
              "coordination",
              member.id(),
              members,
              2,
              false,
              Duration.ofSeconds(30),
              Duration.ofSeconds(3),
              Duration.ofMillis(100),
              Duration.ofMillis(500),
              Duration.ofSeconds(10),
              KeyRing.of(KEY));
      node.start(config, endpoints, udp);
    }
  }

  private Node holder() {
    return nodes.stream().filter(Node::claimsTheVip).findFirst().orElseThrow();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(10);
    }
  }

  @Test
  void eventsFromManyThreadsAreDecidedOnOneAndAPlannedHandoffMakesBeforeItBreaks()
      throws Exception {
    startCluster();
    await(
        "one node claims the VIP with its address confirmed",
        () -> nodes.stream().filter(Node::claimsTheVip).count() == 1);
    Node old = holder();

    // Health flaps on every node from four threads at once, then every apiserver is up again.
    CountDownLatch storm = new CountDownLatch(4);
    for (int t = 0; t < 4; t++) {
      new Thread(
              () -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                for (int i = 0; i < 200; i++) {
                  Node node = nodes.get(random.nextInt(nodes.size()));
                  String apiserver = "n" + (1 + random.nextInt(3));
                  if (random.nextBoolean()) {
                    node.apiserversDown.add(apiserver);
                  } else {
                    node.apiserversDown.remove(apiserver);
                  }
                  node.service.healthChanged();
                }
                storm.countDown();
              },
              "health-" + t)
          .start();
    }
    assertThat(storm.await(10, TimeUnit.SECONDS)).isTrue();
    for (Node node : nodes) {
      node.apiserversDown.clear();
      node.service.healthChanged();
      node.settled();
    }
    await(
        "every node is eligible again, as the cluster sees it",
        () -> nodes.stream().allMatch(node -> node.self().eligible()));
    assertThat(nodes).allSatisfy(node -> assertThat(node.service.state().eligible()).isTrue());
    assertThat(holder()).as("a flap shorter than the settle time moves nothing").isSameAs(old);

    // A planned handoff: the holder quiesces, then the cluster moves the VIP make before break.
    addresses.clear();
    old.service.enterMaintenance();
    await(
        "another node claims the VIP",
        () -> nodes.stream().anyMatch(node -> node != old && node.claimsTheVip()));
    await("the old holder released it", () -> !old.present);
    Node successor = holder();
    assertThat(old.gateClosed).as("the old holder's VIP gate stays closed").isTrue();
    assertThat(old.decisions.get(old.decisions.size() - 1).reason())
        .isEqualTo(Election.Reason.HANDED_OVER);
    assertThat(addresses).containsExactly(successor.id + " adds", old.id + " removes");
    await(
        "every peer routes around the old holder",
        () -> nodes.stream().allMatch(node -> node.routing.maintenance().equals(Set.of(old.id))));

    // Resume: the node serves again, and its gate is open.
    old.service.leaveMaintenance();
    await("the old holder is out of maintenance", () -> !old.self().maintenance());
    assertThat(old.gateClosed).isFalse();
    assertThat(holder()).as("no preemption: the VIP stays").isSameAs(successor);

    // A stop on a node that does not hold: maintenance for good, and a resume meanwhile is refused.
    old.service.stop();
    old.service.leaveMaintenance();
    old.settled();
    await("the stopping node's maintenance reaches the cluster", () -> old.self().maintenance());
    assertThat(old.service.state()).isEqualTo(new NodeController.State(true, true, true, false));

    for (Node node : nodes) {
      node.settled();
      assertThat(node.loop.threads)
          .as("the threads that ran " + node.id + "'s controller")
          .singleElement()
          .satisfies(thread -> assertThat(thread).startsWith("node-" + node.id + "-"));
    }
  }
}
