package io.apivip.daemon;

import io.apivip.daemon.admin.AdminApi;
import io.apivip.daemon.admin.AdminServer;
import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.cluster.ClusterListener;
import io.apivip.daemon.cluster.ClusterService;
import io.apivip.daemon.cluster.ClusterStatus;
import io.apivip.daemon.cluster.VipDecision;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.proxy.BackendHealth;
import io.apivip.daemon.proxy.ProxyStatus;
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
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One apivip node: starts the parts in order (metrics, health, proxy bound, VIP, cluster, admin),
 * wires them together, and stops them in reverse after a planned handoff.
 *
 * <p>How the parts talk: health says which apiservers are up; the proxy routes to those, minus the
 * ones whose node is in maintenance (the cluster says which); this node is eligible to hold the VIP
 * while its proxy has such an apiserver and the VIP part works; the cluster's hold/release
 * decisions drive the VIP part, which confirms the address back. Every input crosses threads
 * through the parts' own methods, which are thread-safe; this class keeps only volatile flags.
 */
public final class Daemon implements AdminApi, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Daemon.class);
  /**
   * How long requests in flight on the VIP may finish before a planned handoff moves it. Requests
   * take milliseconds, so the wait is usually that short; meanwhile new connections wait, and a
   * client sends its SYN again after 1 s and 3 s, so this stays well under 3 s.
   */
  private static final Duration HANDOFF_QUIESCE = Duration.ofMillis(1500);

  private final Settings settings;
  private final Transports transports;
  private final Metrics metrics;
  private final EventLoopGroup io;
  private final EventLoopGroup heartbeat;
  private final Eligibility eligibility;
  /** A judgement of eligibility is scheduled (at most one at a time). */
  private final AtomicBoolean eligibilityRecheck = new AtomicBoolean();
  private final Map<InetSocketAddress, Backend> healthBackends = new LinkedHashMap<>();
  private HealthMonitor health;
  private TcpProxy proxy;
  private VipManager vip;
  private ClusterService cluster;
  private AdminServer admin;
  private volatile Set<String> nodesInMaintenance = Set.of();
  private volatile boolean maintenance;
  private volatile boolean addressConfirmed;
  private volatile boolean stopping;

  private Daemon(Settings settings) {
    this.settings = settings;
    this.transports = Transports.configured(settings.transport());
    this.metrics = new Metrics(settings.nodeId());
    // Proxy, health checks and admin share one group; heartbeats get a thread of their own, so a
    // busy proxy never delays them into a false failover.
    this.io = transports.newGroup(Math.max(2, Runtime.getRuntime().availableProcessors()), "apivip-io");
    this.heartbeat = transports.newGroup(1, "apivip-cluster");
    this.eligibility = new Eligibility(settings.health().interval().plus(settings.health().timeout()), System::nanoTime);
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
        settings.nodeId(), settings.cluster().id(), settings.cluster().nodes().size(), settings.cluster().quorum(),
        settings.vip().address().getHostAddress(), settings.vip().interfaceName(), transports.name());
    startHealth();
    proxy = new TcpProxy(settings.proxy(), settings.backends(), settings.nodeId(), proxyHealth(), transports, io, metrics.registry());
    proxy.start();
    vip = new VipManager(settings.vip(), metrics.registry());
    vip.addListener(this::vipChanged);
    vip.start();
    cluster = ClusterService.start(settings, transports, heartbeat, metrics.registry(), clusterListener());
    admin = new AdminServer(this, metrics.registry());
    admin.start(settings.admin().listen(), settings.admin().metricsListen(), io, transports);
    health.addListener(event -> updateEligibility());
    updateEligibility();
    log.info("node {} started", settings.nodeId());
  }

  private void startHealth() {
    List<Backend> backends = new ArrayList<>();
    for (Settings.Backend backend : settings.backends()) {
      String name = backend.nodeId().isEmpty() ? backend.address().getAddress().getHostAddress() : backend.nodeId();
      Backend healthBackend = new Backend(name, backend.address());
      healthBackends.put(backend.address(), healthBackend);
      backends.add(healthBackend);
    }
    Settings.Health spec = settings.health();
    NettyProber prober = new NettyProber(io, transports.socketChannel(), checkSpec(spec));
    health = new HealthMonitor(backends, prober, new Schedule(spec.interval(), spec.rise(), spec.fall()), metrics.registry());
    health.start();
  }

  static CheckSpec checkSpec(Settings.Health health) {
    TlsOptions tls = new TlsOptions(health.caFile(), health.verify(), health.clientCertFile(), health.clientKeyFile(), health.serverName());
    return switch (health.kind()) {
      case TCP -> new CheckSpec.Tcp(health.timeout());
      case TLS -> new CheckSpec.Tls(health.timeout(), tls);
      case HTTPS -> new CheckSpec.Https(health.timeout(), tls, health.path(), health.statuses(), health.bearerTokenFile());
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
        health.reportConnectFailure(healthBackends.get(backend.address()), cause.getClass().getSimpleName() + ": " + cause.getMessage());
      }
    };
  }

  private ClusterListener clusterListener() {
    return new ClusterListener() {
      @Override
      public void vipDecision(VipDecision decision) {
        String reason = decision.reason().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
        if (decision.hold()) {
          addressConfirmed = false;
          proxy.reopenVip();
          vip.hold(reason);
        } else {
          vip.release(reason);
          proxy.vipLost();
        }
      }

      @Override
      public void announceAgain(String reason) {
        vip.announceAgain(reason);
      }

      @Override
      public void maintenanceChanged(Set<String> nodes) {
        nodesInMaintenance = Set.copyOf(nodes);
        proxy.setMaintenance(nodes);
        updateEligibility();
      }
    };
  }

  /** Called on the VIP thread after each change of its status. */
  private void vipChanged(VipManager.Status status) {
    if (status.wanted() && status.present() && !addressConfirmed) {
      addressConfirmed = true;
      cluster.addressUp();
    }
    updateEligibility();
  }

  /** This node may hold the VIP while its proxy can route somewhere and the VIP part works; see {@link Eligibility}. */
  private void updateEligibility() {
    ClusterService clusterService = cluster;
    if (clusterService == null || vip == null) {
      return;
    }
    boolean routable = settings.backends().stream().anyMatch(this::routable);
    VipManager.Status vipStatus = vip.status();
    boolean anotherQualifies = clusterService.status().members().stream()
        .anyMatch(m -> m.liveness() == ClusterStatus.Liveness.ALIVE && m.eligible() && !m.maintenance());
    Eligibility.Verdict verdict = eligibility.judge(routable, vipStatus.eligible(), vipStatus.holding(), anotherQualifies);
    if (verdict.judgeAgainIn().isPresent() && !io.isShuttingDown() && eligibilityRecheck.compareAndSet(false, true)) {
      io.next().schedule(() -> {
        eligibilityRecheck.set(false);
        updateEligibility();
      }, verdict.judgeAgainIn().get().toNanos(), TimeUnit.NANOSECONDS);
    }
    clusterService.setEligible(verdict.eligible());
  }

  private boolean isUp(Settings.Backend backend) {
    return health.state(healthBackends.get(backend.address())) == HealthState.UP;
  }

  /** Whether new connections may go to this apiserver: up, and its node not in maintenance. */
  private boolean routable(Settings.Backend backend) {
    return isUp(backend) && !nodesInMaintenance.contains(backend.nodeId());
  }

  // ---- planned maintenance -------------------------------------------------------------------

  /**
   * Starts a planned handoff and answers at once. If this node holds the VIP, its proxy first
   * finishes the connections in flight on the VIP while new ones wait (see {@link
   * TcpProxy#quiesceVip}); only then does the cluster hear of the maintenance and move the VIP, so
   * no connection is cut by the move.
   */
  @Override
  public synchronized StatusReport drain() {
    if (!maintenance) {
      maintenance = true;
      log.info("maintenance on: handing the VIP over and taking this node's apiserver out of rotation");
      if (cluster.status().holding()) {
        proxy.quiesceVip(HANDOFF_QUIESCE).whenComplete((done, failure) -> enterMaintenanceIfStillDraining());
      } else {
        cluster.enterMaintenance();
      }
    }
    return status();
  }

  private synchronized void enterMaintenanceIfStillDraining() {
    if (maintenance) {
      cluster.enterMaintenance();
    } else {
      proxy.reopenVip();
    }
  }

  @Override
  public synchronized StatusReport resume() {
    if (maintenance && !stopping) {
      maintenance = false;
      log.info("maintenance off: this node serves again");
      proxy.reopenVip();
      cluster.leaveMaintenance();
    }
    return status();
  }

  /**
   * Whether a drain is done: this node no longer holds the VIP, and every live peer has
   * acknowledged a heartbeat that said maintenance (so its proxy routes no new connection here).
   * Answers the detail an operator reads while waiting.
   */
  private StatusReport.Drain drainProgress(ClusterStatus status) {
    if (!maintenance) {
      return new StatusReport.Drain(false, false, "");
    }
    if (status.holding()) {
      String candidates = status.members().stream()
          .filter(m -> m.liveness() != ClusterStatus.Liveness.SELF)
          .map(m -> m.id() + " " + describe(m))
          .collect(Collectors.joining(", "));
      return new StatusReport.Drain(true, false, "this node still holds the VIP, waiting for a successor (" + candidates + ")");
    }
    boolean announced = status.members().stream().anyMatch(m -> m.liveness() == ClusterStatus.Liveness.SELF && m.maintenance());
    if (!announced || !status.maintenanceUnheard().isEmpty()) {
      String unheard = status.maintenanceUnheard().isEmpty() ? "" : "; not heard yet by " + String.join(", ", status.maintenanceUnheard());
      return new StatusReport.Drain(true, false, "telling peers to route around this node" + unheard);
    }
    String holder = status.holder().map(id -> id + " holds the VIP").orElse("no node holds the VIP");
    return new StatusReport.Drain(true, true, holder + "; peers route no new connections to this node");
  }

  private static String describe(ClusterStatus.Member member) {
    if (member.liveness() != ClusterStatus.Liveness.ALIVE) {
      return member.liveness().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    }
    if (member.maintenance()) {
      return "in maintenance";
    }
    return member.eligible() ? "eligible" : "not eligible";
  }

  // ---- status --------------------------------------------------------------------------------

  @Override
  public StatusReport status() {
    ClusterStatus clusterStatus = cluster.status();
    VipManager.Status vipStatus = vip.status();
    List<StatusReport.Member> members = new ArrayList<>();
    for (ClusterStatus.Member m : clusterStatus.members()) {
      members.add(new StatusReport.Member(
          m.id(), m.address().getHostAddress(), m.priority(), m.liveness().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
          m.eligible(), m.maintenance(), m.holdsVip(),
          m.lastHeardAge().map(Daemon::seconds).orElse(null),
          m.clockOffset().map(Daemon::seconds).orElse(null),
          m.badMacDatagrams()));
    }
    Map<String, Integer> active = activeConnections(proxy.status());
    Map<Backend, BackendStatus> healthSnapshot = health.snapshot();
    List<StatusReport.Backend> backends = new ArrayList<>();
    for (Settings.Backend backend : settings.backends()) {
      BackendStatus backendStatus = healthSnapshot.get(healthBackends.get(backend.address()));
      String address = ProxyStatus.render(backend.address());
      backends.add(new StatusReport.Backend(
          backend.nodeId(), address,
          backendStatus == null ? "unknown" : backendStatus.state().name().toLowerCase(java.util.Locale.ROOT),
          backendStatus == null ? null : backendStatus.reason(),
          routable(backend),
          active.getOrDefault(address, 0)));
    }
    int seen = (int) clusterStatus.members().stream()
        .filter(m -> m.liveness() == ClusterStatus.Liveness.SELF || m.liveness() == ClusterStatus.Liveness.ALIVE)
        .count();
    return new StatusReport(
        settings.nodeId(), settings.cluster().id(), Version.current(), transports.name(), maintenance,
        new StatusReport.Vip(settings.vip().address().getHostAddress(), settings.vip().interfaceName(),
            clusterStatus.holder().orElse(null), clusterStatus.holding(), vipStatus.present()),
        new StatusReport.Quorum(clusterStatus.quorum(), seen, clusterStatus.quorumPresent()),
        members, backends, drainProgress(clusterStatus));
  }

  private static Map<String, Integer> activeConnections(ProxyStatus status) {
    Map<String, Integer> active = new HashMap<>();
    for (ProxyStatus.ListenerStatus listener : status.listeners()) {
      for (ProxyStatus.BackendStatus backend : listener.backends()) {
        active.merge(backend.address(), backend.active(), Integer::sum);
      }
    }
    return active;
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
    stopping = true;
    if (cluster != null && vip != null) {
      drain();
      Duration handoff = settings.cluster().handoffTimeout().plus(settings.heartbeat().failureTimeout()).plus(HANDOFF_QUIESCE);
      long deadline = System.nanoTime() + handoff.toNanos();
      while (System.nanoTime() < deadline && (cluster.status().holding() || vip.status().present())) {
        sleep(Duration.ofMillis(20));
      }
      if (cluster.status().holding()) {
        log.warn("no successor took the VIP within {} ms; releasing it anyway", handoff.toMillis());
      }
    }
    if (proxy != null) {
      try {
        proxy.drain().get(settings.proxy().drainGrace().plusSeconds(5).toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        log.warn("the proxy did not drain cleanly: {}", e.toString());
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
