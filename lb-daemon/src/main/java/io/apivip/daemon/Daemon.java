package io.apivip.daemon;

import io.apivip.daemon.admin.AdminApi;
import io.apivip.daemon.admin.AdminServer;
import io.apivip.daemon.admin.DrainRefused;
import io.apivip.daemon.admin.Operators;
import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.cluster.ClusterConfig;
import io.apivip.daemon.cluster.ClusterService;
import io.apivip.daemon.cluster.ClusterStatus;
import io.apivip.daemon.cluster.KeyRing;
import io.apivip.daemon.config.ReloadPlan;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.node.DrainGuard;
import io.apivip.daemon.node.DrainProgress;
import io.apivip.daemon.node.Loop;
import io.apivip.daemon.node.NodeController;
import io.apivip.daemon.node.NodeService;
import io.apivip.daemon.node.Parts;
import io.apivip.daemon.proxy.BackendHealth;
import io.apivip.daemon.proxy.ProxyStatus;
import io.apivip.daemon.proxy.Routing;
import io.apivip.daemon.proxy.TcpProxy;
import io.apivip.daemon.transport.Transports;
import io.apivip.daemon.version.Version;
import io.apivip.daemon.vip.VipManager;
import io.apivip.health.Backend;
import io.apivip.health.BackendStatus;
import io.apivip.health.CheckSpec;
import io.apivip.health.HealthMonitor;
import io.apivip.health.HealthState;
import io.apivip.health.NettyProber;
import io.apivip.health.Schedule;
import io.apivip.health.TlsOptions;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One apivip node: starts the parts in order (metrics, health, proxy bound, VIP, cluster, admin,
 * the node controller), wires them together, and stops them in reverse after a planned handoff.
 *
 * <p>How the parts talk: every input that bears on this node's decisions (an apiserver up or down,
 * the VIP part's status, the cluster's hold / release decisions and maintenance flags, an
 * operator's drain or resume, the stop) is posted as an event to the {@link NodeController} on its
 * one thread ("apivip-node"), which alone decides and commands the parts. This class decides
 * nothing; it keeps wiring and lifecycle.
 */
public final class Daemon implements AdminApi, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Daemon.class);

  /** What the daemon runs with: the settings it started with, then each reload's. */
  private volatile Settings settings;

  private final Transports transports;
  private final Metrics metrics;
  private final EventLoopGroup io;
  private final EventLoopGroup heartbeat;
  private final EventLoopGroup healthLoop;
  private final EventLoopGroup nodeLoop;
  private final NodeService node;

  /** The health monitor's backend of each apiserver; replaced whole by a reload. */
  private volatile Map<InetSocketAddress, Backend> healthBackends = Map.of();

  private HealthMonitor health;
  private Routing routing;
  private TcpProxy proxy;
  private VipManager vip;
  private ClusterService cluster;
  private AdminServer admin;

  private Daemon(Settings settings) {
    this.settings = settings;
    this.transports = Transports.configured(settings.transport());
    this.metrics = new Metrics(settings.nodeId());
    // The proxy and the admin API share one group. Heartbeats and health checks get a thread each,
    // so that no amount of proxied traffic delays them into a false failover or a backend marked
    // down; the relay's memory is bounded (proxy.relay), so it cannot take their buffers either.
    // The
    // node's decisions get a thread too.
    this.io =
        transports.newGroup(Math.max(2, Runtime.getRuntime().availableProcessors()), "apivip-io");
    this.heartbeat = transports.newGroup(1, "apivip-cluster");
    this.healthLoop = transports.newGroup(1, "apivip-health");
    this.nodeLoop = transports.newGroup(1, "apivip-node");
    this.node = new NodeService(Loop.on(nodeLoop.next()));
  }

  /** Every event loop of the daemon, for the watchdog: each must stay responsive. */
  public List<io.netty.util.concurrent.EventExecutor> eventLoops() {
    List<io.netty.util.concurrent.EventExecutor> loops = new ArrayList<>();
    for (EventLoopGroup group : List.of(io, heartbeat, healthLoop, nodeLoop)) {
      group.forEach(loops::add);
    }
    return loops;
  }

  /** Starts every part; on failure stops what was started and rethrows. */
  public static Daemon start(Settings settings) throws Exception {
    Daemon daemon = new Daemon(settings);
    try {
      daemon.startParts();
    } catch (Exception | Error e) {
      daemon.close();
      throw e;
    }
    return daemon;
  }

  private void startParts() throws Exception {
    log.info(
        "starting node {} of cluster {}: {} nodes, quorum {}, VIP {} on {}, {} transport",
        settings.nodeId(),
        settings.cluster().id(),
        settings.cluster().nodes().size(),
        settings.cluster().quorum(),
        settings.vip().address().getHostAddress(),
        settings.vip().interfaceName(),
        transports.name());
    startHealth();
    routing = new Routing(proxyHealth());
    proxy =
        new TcpProxy(
            settings.proxy(),
            settings.backends(),
            settings.nodeId(),
            routing,
            transports,
            io,
            metrics.registry());
    proxy.start();
    health.addListener(event -> node.healthChanged());
    vip = new VipManager(settings.vip(), metrics.registry());
    vip.addListener(node::vipChanged);
    vip.start();
    cluster =
        ClusterService.start(
            settings, transports, heartbeat, metrics.registry(), node.clusterListener());
    Operators operators =
        new Operators(settings.admin().operatorsGroup(), daemonUid(), Operators.Database.system());
    admin = new AdminServer(this, metrics.registry(), operators);
    admin.start(
        settings.admin().listen(),
        settings.admin().socket(),
        settings.admin().metricsListen(),
        io,
        transports);
    Duration settle = settle(settings.health());
    Parts parts = new Parts(Parts.Cluster.of(cluster), Parts.Vip.of(vip), Parts.Gate.of(proxy));
    node.start(
        new NodeController(node.loop(), parts, routing, settings.backends(), settle), vip::status);
    log.info("node {} started", settings.nodeId());
  }

  /**
   * This process's uid, which may use the admin socket as root may; -1 where the file system does
   * not say.
   */
  private static int daemonUid() {
    try {
      return (Integer)
          java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"), "unix:uid");
    } catch (java.io.IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return -1;
    }
  }

  /**
   * How long a holder that can route nowhere keeps the VIP after another node could take it: one
   * health interval plus one check timeout (see NodeController).
   */
  private static Duration settle(Settings.Health health) {
    return health.interval().plus(health.timeout());
  }

  private void startHealth() {
    healthBackends = healthBackends(settings.backends());
    Settings.Health spec = settings.health();
    health =
        new HealthMonitor(
            List.copyOf(healthBackends.values()), prober(spec), schedule(spec), metrics.registry());
    health.start();
  }

  /** The health monitor's backend of each apiserver, named by its node (or its address). */
  private static Map<InetSocketAddress, Backend> healthBackends(List<Settings.Backend> backends) {
    Map<InetSocketAddress, Backend> byAddress = new LinkedHashMap<>();
    for (Settings.Backend backend : backends) {
      String name =
          backend.nodeId().isEmpty()
              ? backend.address().getAddress().getHostAddress()
              : backend.nodeId();
      byAddress.put(backend.address(), new Backend(name, backend.address()));
    }
    return java.util.Collections.unmodifiableMap(byAddress);
  }

  private NettyProber prober(Settings.Health spec) {
    return new NettyProber(healthLoop, transports.socketChannel(), checkSpec(spec));
  }

  private static Schedule schedule(Settings.Health spec) {
    return new Schedule(spec.interval(), spec.rise(), spec.fall());
  }

  static CheckSpec checkSpec(Settings.Health health) {
    TlsOptions tls =
        new TlsOptions(
            health.caFile(),
            health.verify(),
            health.clientCertFile(),
            health.clientKeyFile(),
            health.serverName());
    return switch (health.kind()) {
      case TCP -> new CheckSpec.Tcp(health.timeout());
      case TLS -> new CheckSpec.Tls(health.timeout(), tls);
      case HTTPS ->
          new CheckSpec.Https(
              health.timeout(), tls, health.path(), health.statuses(), health.bearerTokenFile());
    };
  }

  /** The proxy's view of health: up by the checks, down at once on a failed connect. */
  private BackendHealth proxyHealth() {
    return new BackendHealth() {
      @Override
      public boolean isUp(Settings.Backend backend) {
        return Daemon.this.isUp(backend);
      }

      @Override
      public void connectFailed(Settings.Backend backend, Throwable cause) {
        Backend checked = healthBackends.get(backend.address());
        // A connect to an apiserver that a reload has just removed: no one checks it any more.
        if (checked != null) {
          health.reportConnectFailure(
              checked, cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
      }
    };
  }

  private boolean isUp(Settings.Backend backend) {
    Backend checked = healthBackends.get(backend.address());
    return checked != null && health.state(checked) == HealthState.UP;
  }

  // ---- reload --------------------------------------------------------------------------------

  /** How long a reload waits for each part to take its share. */
  private static final Duration RELOAD_WAIT = Duration.ofSeconds(10);

  /**
   * A reload (SIGHUP, {@code systemctl reload apivip}) with settings loaded and validated from the
   * configuration file: each part takes what {@link ReloadPlan} says it can, on its own thread (the
   * cluster its keys, nodes and rules on the cluster's thread, the health monitor its apiservers
   * and checks on its thread, the node controller its apiservers on its loop; the proxy swaps its
   * apiservers atomically), and this returns once every one has. The VIP stays where it is unless
   * the change itself moves it (a new priority with preemption, say). What needs a restart is in
   * the plan's {@code restartNeeded}, left as it runs.
   *
   * <p>The key files are read first, and the cluster, which alone may refuse a change, goes first:
   * a failure there (IOException, IllegalArgumentException) changes nothing. Log level is the
   * caller's (the command line may fix it).
   */
  public synchronized ReloadPlan reload(Settings loaded)
      throws IOException, InterruptedException, ExecutionException, TimeoutException {
    Settings running = settings;
    ReloadPlan plan = ReloadPlan.of(running, loaded);
    Settings next = plan.applied();
    ClusterConfig clusterConfig = ClusterConfig.from(next);
    List<String> changes = new ArrayList<>(plan.changes());
    KeyRing keys = clusterConfig.keys();
    if (!keys.sameKeys(cluster.config().keys())) {
      changes.add("keys: " + keys);
    }
    try {
      cluster
          .reconfigure(
              clusterConfig, ClusterService.addresses(clusterConfig, next.heartbeat().port()))
          .get(RELOAD_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IllegalArgumentException refused) {
        throw refused;
      }
      throw e;
    }
    if (plan.changesHealthOrBackends(running)) {
      Map<InetSocketAddress, Backend> nextBackends = healthBackends(next.backends());
      health
          .reconfigure(
              List.copyOf(nextBackends.values()), prober(next.health()), schedule(next.health()))
          .get(RELOAD_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      healthBackends = nextBackends;
      proxy.setBackends(next.backends());
      node.reconfigure(next.backends(), settle(next.health()))
          .get(RELOAD_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }
    settings = next;
    return new ReloadPlan(next, changes, plan.restartNeeded());
  }

  // ---- planned maintenance: the operator's drain and resume ---------------------------------

  @Override
  public CompletableFuture<StatusReport> drain(boolean force) {
    return node.drain(force)
        .thenApply(
            obstacles -> {
              if (obstacles.isEmpty()) {
                return status();
              }
              if (!force) {
                throw new DrainRefused(obstacles);
              }
              return status()
                  .withDrainNote(
                      "forced although "
                          + String.join("; ", obstacles)
                          + ". Cost: "
                          + DrainGuard.cost(obstacles)
                          + ". ");
            });
  }

  @Override
  public CompletableFuture<StatusReport> resume() {
    return node.leaveMaintenance().thenApply(taken -> status());
  }

  // ---- status --------------------------------------------------------------------------------

  @Override
  public StatusReport status() {
    ClusterStatus clusterStatus = cluster.status();
    VipManager.Status vipStatus = vip.status();
    List<StatusReport.Member> members = new ArrayList<>();
    for (ClusterStatus.Member m : clusterStatus.members()) {
      members.add(
          new StatusReport.Member(
              m.id(),
              m.address().getHostAddress(),
              m.priority(),
              m.liveness().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
              m.eligible(),
              m.maintenance(),
              m.holdsVip(),
              m.lastHeardAge().map(Daemon::seconds).orElse(null),
              m.clockOffset().map(Daemon::seconds).orElse(null),
              m.badMacDatagrams(),
              m.key().orElse(null)));
    }
    Map<String, Integer> active = activeConnections(proxy.status());
    Map<Backend, BackendStatus> healthSnapshot = health.snapshot();
    List<StatusReport.Apiserver> backends = new ArrayList<>();
    for (Settings.Backend backend : settings.backends()) {
      BackendStatus backendStatus = healthSnapshot.get(healthBackends.get(backend.address()));
      String address = ProxyStatus.render(backend.address());
      backends.add(
          new StatusReport.Apiserver(
              backend.nodeId(),
              address,
              backendStatus == null
                  ? "unknown"
                  : backendStatus.state().name().toLowerCase(java.util.Locale.ROOT),
              backendStatus == null ? null : backendStatus.reason(),
              routing.routable(backend),
              active.getOrDefault(address, 0)));
    }
    int seen =
        (int)
            clusterStatus.members().stream()
                .filter(
                    m ->
                        m.liveness() == ClusterStatus.Liveness.SELF
                            || m.liveness() == ClusterStatus.Liveness.ALIVE)
                .count();
    NodeController.State nodeState = node.state();
    return new StatusReport(
        settings.nodeId(),
        settings.cluster().id(),
        Version.current(),
        transports.name(),
        nodeState.maintenance(),
        new StatusReport.Vip(
            settings.vip().address().getHostAddress(),
            settings.vip().interfaceName(),
            clusterStatus.holder().orElse(null),
            clusterStatus.holding(),
            vipStatus.present(),
            vip.foreignClaim().map(Daemon::foreignClaim).orElse(null)),
        new StatusReport.Quorum(clusterStatus.quorum(), seen, clusterStatus.quorumPresent()),
        members,
        backends,
        DrainProgress.of(nodeState, clusterStatus),
        clusterStatus.acceptedKeys());
  }

  private static Map<String, Integer> activeConnections(ProxyStatus status) {
    Map<String, Integer> active = new HashMap<>();
    for (ProxyStatus.ListenerStatus listener : status.listeners()) {
      for (ProxyStatus.Connections backend : listener.backends()) {
        active.merge(backend.address(), backend.active(), Integer::sum);
      }
    }
    return active;
  }

  private static StatusReport.ForeignClaim foreignClaim(VipManager.ForeignClaim claim) {
    return new StatusReport.ForeignClaim(
        claim.mac(),
        claim.kind(),
        claim.lastSeen().toString(),
        seconds(Duration.between(claim.lastSeen(), java.time.Instant.now())),
        claim.frames());
  }

  private static double seconds(Duration duration) {
    return duration.toNanos() / 1e9;
  }

  // ---- shutdown ------------------------------------------------------------------------------

  /**
   * A planned stop, as on SIGTERM: hand the VIP over (at most handoff-timeout and a heartbeat or
   * two), let proxied connections finish (at most drain-grace), then close every part.
   */
  public void stop() {
    if (cluster != null && vip != null) {
      node.stop();
      Duration handoff =
          settings
              .cluster()
              .handoffTimeout()
              .plus(settings.heartbeat().failureTimeout())
              .plus(NodeController.HANDOFF_QUIESCE);
      long deadline = System.nanoTime() + handoff.toNanos();
      // Until the controller has taken the stop in, the cluster has not heard of it: wait for that
      // too.
      while (System.nanoTime() < deadline
          && (!node.state().stopping() || cluster.status().holding() || vip.status().present())) {
        sleep(Duration.ofMillis(20));
      }
      if (cluster.status().holding()) {
        log.warn("no successor took the VIP within {} ms; releasing it anyway", handoff.toMillis());
      }
    }
    if (proxy != null) {
      try {
        proxy
            .closeGracefully()
            .get(settings.proxy().drainGrace().plusSeconds(5).toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        log.warn("the proxy did not close gracefully: {}", e.toString());
      }
    }
    close();
  }

  /** Closes every part at once, without a handoff: what start-up failures and tests use. */
  @Override
  public void close() {
    if (admin != null) {
      admin.close();
    }
    if (cluster != null) {
      cluster.close();
    }
    if (vip != null) {
      vip.close();
    }
    if (health != null) {
      health.close();
    }
    heartbeat.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    healthLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    nodeLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    io.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    metrics.close();
    log.info("node {} stopped", settings.nodeId());
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
