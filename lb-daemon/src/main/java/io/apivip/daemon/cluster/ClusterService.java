package io.apivip.daemon.cluster;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.transport.Transports;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The cluster part as the daemon uses it: a {@link ClusterNode} running on one Netty event loop
 * (its owner thread), heartbeats over {@link UdpTransport}, Micrometer meters.
 *
 * <p>Contract for the daemon:
 *
 * <ul>
 *   <li>Inputs, from any thread (posted to the owner): {@link #setEligible} (this node's proxy has
 *       a healthy backend and its VIP part works; false until first called), {@link
 *       #enterMaintenance} / {@link #leaveMaintenance} (drain / resume), {@link #addressUp} (the
 *       VIP part has added the address after the hold decision it names).
 *   <li>Outputs: the {@link ClusterListener} (hold / release with a reason, maintenance flags of
 *       every node), called on the owner thread; {@link #status()}, a snapshot safe to read from
 *       any thread; the meters in {@link ClusterMetrics}.
 *   <li>Shut down with a drain first (enterMaintenance, wait for the release, at most
 *       handoff-timeout), then {@link #close()}; close itself decides nothing and calls no
 *       listener.
 * </ul>
 */
public final class ClusterService implements AutoCloseable {

  private final Clock clock;
  private final UdpTransport transport;
  private final EventLoop owner;
  private volatile ClusterStatus status;
  private ClusterNode node;
  private ScheduledFuture<?> wake;
  private long wakeAt;
  private boolean closed;

  /** The configuration the node runs with: the one it started with, or the latest reload's. */
  private volatile ClusterConfig config;

  /** The address the heartbeat socket was asked to bind (its port may be 0 in tests). */
  private InetSocketAddress bindAddress;

  /** Set once the node is made; read by the transport's drop path on the same thread. */
  private volatile ClusterMetrics metrics;

  private ClusterService(Clock clock, UdpTransport transport) {
    this.clock = clock;
    this.transport = transport;
    this.owner = transport.eventLoop();
  }

  /** Binds the heartbeat port on this node's address and starts; reads the key files. */
  public static ClusterService start(
      Settings settings,
      Transports transports,
      EventLoopGroup group,
      MeterRegistry registry,
      ClusterListener listener)
      throws IOException, InterruptedException {
    ClusterConfig config = ClusterConfig.from(settings);
    return start(
        config,
        addresses(config, settings.heartbeat().port()),
        transports,
        group,
        registry,
        listener,
        Clock.system());
  }

  /** Where each node's heartbeats go: its address, on the heartbeat port. */
  public static Map<String, InetSocketAddress> addresses(ClusterConfig config, int port) {
    Map<String, InetSocketAddress> addresses = new LinkedHashMap<>();
    for (Settings.Node node : config.nodes()) {
      addresses.put(node.id(), new InetSocketAddress(node.address(), port));
    }
    return addresses;
  }

  /**
   * As above with every address given; tests put nodes on different loopback addresses and ports.
   */
  public static ClusterService start(
      ClusterConfig config,
      Map<String, InetSocketAddress> addresses,
      Transports transports,
      EventLoopGroup group,
      MeterRegistry registry,
      ClusterListener listener,
      Clock clock)
      throws InterruptedException {
    Map<String, InetSocketAddress> peers = new LinkedHashMap<>(addresses);
    InetSocketAddress local = peers.remove(config.selfId());
    ClusterService[] service = new ClusterService[1];
    UdpTransport transport =
        UdpTransport.bind(
            group,
            transports,
            local,
            peers,
            (datagram, from) -> service[0].received(datagram, from),
            () -> service[0].notMember());
    service[0] = new ClusterService(clock, transport);
    service[0].bindAddress = local;
    service[0].config = config;
    service[0].begin(config, registry, listener);
    return service[0];
  }

  private void begin(ClusterConfig config, MeterRegistry registry, ClusterListener listener)
      throws InterruptedException {
    ClusterMetrics metrics =
        ClusterMetrics.micrometer(
            registry, config.peers().stream().map(Settings.Node::id).toList(), this::status);
    this.metrics = metrics;
    try {
      owner
          .submit(
              () -> {
                node = new ClusterNode(config, clock, transport, listener, metrics);
                status = node.status();
                node.start();
                stepped();
              })
          .get();
    } catch (ExecutionException e) {
      transport.close();
      throw new IllegalStateException("the cluster failed to start", e.getCause());
    }
  }

  /**
   * A datagram from a member's address. A dropped one changed nothing but counters, so it costs no
   * new status snapshot or timer: a flood of forgeries stays cheap. The next tick publishes the
   * counts.
   */
  private void received(byte[] datagram, java.net.InetAddress from) {
    if (node != null && !closed && node.receive(datagram, datagram.length, from).isEmpty()) {
      stepped();
    }
  }

  /** A datagram from an address that is no member's, dropped by the transport: only counted. */
  private void notMember() {
    ClusterMetrics counted = metrics;
    if (counted != null) {
      counted.dropped(DropReason.NOT_MEMBER);
    }
  }

  private void tick() {
    wake = null;
    if (!closed) {
      node.tick();
      stepped();
    }
  }

  /**
   * After every step on the owner: publish the snapshot and keep the timer at the node's next
   * deadline.
   */
  private void stepped() {
    status = node.status();
    long next = node.nextWakeNanos();
    if (wake != null && wakeAt == next) {
      return;
    }
    if (wake != null) {
      wake.cancel(false);
    }
    wakeAt = next;
    wake = owner.schedule(this::tick, Math.max(0, next - clock.nanoTime()), TimeUnit.NANOSECONDS);
  }

  private void post(Runnable input) {
    owner.execute(
        () -> {
          if (!closed) {
            input.run();
            stepped();
          }
        });
  }

  public void setEligible(boolean eligible) {
    post(() -> node.setEligible(eligible));
  }

  public void enterMaintenance() {
    post(() -> node.setMaintenance(true));
  }

  public void leaveMaintenance() {
    post(() -> node.setMaintenance(false));
  }

  /**
   * The VIP part confirms the address is on the interface after the hold decision with this {@link
   * VipDecision#id}; a confirmation of an older decision is ignored.
   */
  public void addressUp(long decisionId) {
    post(() -> node.addressUp(decisionId));
  }

  /**
   * The VIP part confirms the address is off the interface after the release decision with this
   * {@link VipDecision#id}; until then heartbeats say the node is releasing.
   */
  public void addressDown(long decisionId) {
    post(() -> node.addressDown(decisionId));
  }

  /**
   * A reload: the node takes {@code config} (keys, peers, priority, election rules; see {@link
   * ClusterNode#reconfigure}) and the transport the peers' {@code addresses}, together on the owner
   * thread, so no datagram is read or sent between the two. Completes once done, or exceptionally
   * with IllegalArgumentException, changing nothing, when the change needs a restart.
   */
  public CompletableFuture<Void> reconfigure(
      ClusterConfig config, Map<String, InetSocketAddress> addresses) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Map<String, InetSocketAddress> peers = new LinkedHashMap<>(addresses);
    InetSocketAddress local = peers.remove(config.selfId());
    if (!bindAddress.equals(local)) {
      done.completeExceptionally(
          new IllegalArgumentException(
              "the heartbeat socket is bound to "
                  + bindAddress
                  + ", not "
                  + local
                  + ": a new address or port needs a restart"));
      return done;
    }
    owner.execute(
        () -> {
          if (closed) {
            done.completeExceptionally(new IllegalStateException("the cluster is closed"));
            return;
          }
          // The transport first, so that the heartbeat the node sends at once reaches new peers.
          Map<String, InetSocketAddress> before = transport.peers();
          transport.setPeers(peers);
          try {
            node.reconfigure(config);
            this.config = config;
            metrics.peersChanged(config.peers().stream().map(Settings.Node::id).toList());
            stepped();
            done.complete(null);
          } catch (RuntimeException e) {
            transport.setPeers(before);
            done.completeExceptionally(e);
          }
        });
    return done;
  }

  /** The configuration the node runs with now; any thread. */
  public ClusterConfig config() {
    return config;
  }

  /** The latest snapshot, at most one heartbeat interval old. */
  public ClusterStatus status() {
    return status;
  }

  public InetSocketAddress localAddress() {
    return transport.localAddress();
  }

  /** Stops sending and receiving; the VIP part is not told anything (drain first). */
  @Override
  public void close() {
    owner
        .submit(
            () -> {
              closed = true;
              if (wake != null) {
                wake.cancel(false);
              }
            })
        .syncUninterruptibly();
    transport.close();
  }
}
