package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.transport.Transports;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP proxy in front of the kube-apiservers: accepts on every configured listener, picks a
 * healthy apiserver per connection by the listener's policy, retries the connect on the next one
 * when it is refused or times out, and relays bytes both ways (TLS stays end to end). This class
 * wires the parts, each with one job:
 *
 * <ul>
 *   <li>{@link Listeners} binds the listening sockets; {@link Admission} decides which accepted
 *       connections are served;
 *   <li>{@link Connector} picks and connects to an apiserver, {@link Relay} moves the bytes;
 *   <li>{@link VipGate} holds the VIP's connections back, ends or resets them when the VIP moves;
 *   <li>{@link Shutdown} closes the proxy gracefully;
 *   <li>{@link NettySeam} holds every workaround for Netty's or the kernel's behaviour.
 * </ul>
 *
 * <p>How the daemon wires it:
 *
 * <ul>
 *   <li>Event loops are handed in and never shut down here; they must be of the {@link Transports}
 *       handed in. Each loop accepts connections and carries both sides of those it accepted.
 *   <li>Which apiservers take new connections is {@link Routing}'s answer (health and the cluster's
 *       maintenance flags); failed connects go back out through its {@link BackendHealth}.
 *   <li>{@link #start} once; {@link #closeGracefully} once at shutdown, then shut the event loops
 *       down when its future completes. {@link #status} for the admin page, from any thread.
 * </ul>
 */
public final class TcpProxy {

  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  private final Settings.Proxy settings;
  private final BackendPool pool;
  private final Listeners listeners;
  private final Admission admission;
  private final VipGate gate;
  private final Shutdown shutdown;

  /**
   * @param backends the apiservers; their node ids are matched against {@link Routing}'s
   *     maintenance set and, for local-first listeners, against {@code nodeId}
   * @param nodeId this node's id: the apiserver whose node id equals it is the local one
   */
  public TcpProxy(
      Settings.Proxy settings,
      List<Backend> backends,
      String nodeId,
      Routing routing,
      Transports transports,
      EventLoopGroup loops,
      MeterRegistry registry) {
    this.settings = settings;
    List<IndexedListener> configured = new ArrayList<>();
    for (Settings.Listener listener : settings.listeners()) {
      configured.add(new IndexedListener(configured.size(), listener));
    }
    Settings.Limits limits = settings.limits();
    RelayMemory memory = new RelayMemory(limits.relayReadMax(), limits.relayMemory());
    NettySeam.KeepAlive keepAlive =
        new NettySeam.KeepAlive(
            transports,
            limits.keepAliveIdle(),
            limits.keepAliveInterval(),
            limits.keepAliveCount());
    this.listeners = new Listeners(transports, loops, configured, memory.reads(), keepAlive);
    AtomicInteger openClients = new AtomicInteger(); // counted by the admission, read by a gauge
    SourceLimit sources = new SourceLimit(settings.limits().maxPerSource());
    ProxyMetrics metrics = new ProxyMetrics(registry, openClients::get, sources::limitedSources);
    this.gate = new VipGate(loops, listeners, metrics);
    this.pool = new BackendPool(backends, configured.size(), nodeId, routing, metrics);
    metrics.relayMemory(memory::held, memory::pressure);
    ProxyLog events = new ProxyLog();
    Relay.Tuning tuning =
        new Relay.Tuning(
            keepAlive::on,
            limits.halfCloseTimeout(),
            () -> {
              metrics.halfCloseTimeout();
              events.halfCloseTimeout(limits.halfCloseTimeout());
            },
            memory);
    this.admission =
        new Admission(
            settings,
            pool,
            metrics,
            events,
            gate,
            transports::newSocketChannel,
            openClients,
            sources,
            tuning);
    this.shutdown = new Shutdown(settings.drainGrace(), loops, listeners, admission);
  }

  /**
   * Replaces how backend channels are made, for tests of what happens when none can be; before
   * {@link #start}.
   */
  void useBackendSockets(Function<InetAddress, SocketChannel> sockets) {
    admission.useBackendSockets(sockets);
  }

  /**
   * Binds every listener; blocks until done, so call it off the event loops. On failure nothing
   * stays bound and the exception names the listener.
   */
  public void start() throws IOException {
    listeners.bind(admission::initializer);
    log.info(
        "proxy started: {} apiservers, at most {} client connections (+{} node-local), {} per"
            + " client address, connect timeout {}, {} attempts",
        pool.size(),
        settings.maxConnections(),
        settings.limits().localReserve(),
        settings.limits().maxPerSource(),
        settings.connectTimeout(),
        settings.connectAttempts());
  }

  /**
   * Prepares a planned handoff of the VIP: new VIP connections are held back until the new holder
   * answers them, long-lived ones (watches) are ended gracefully at once, requests in flight get up
   * to {@code wait} to finish. The future completes when the VIP may move. Any thread; {@link
   * #reopenVip} undoes it. The details: {@link VipGate#quiesce}.
   */
  public CompletableFuture<Void> quiesceVip(Duration wait) {
    return gate.quiesce(wait);
  }

  /**
   * The VIP left this node without a planned handoff (another node took over, or this one lost its
   * quorum or its apiservers): the clients' packets now go elsewhere, so no connection on the VIP
   * can go on. Resets them, so that their clients reconnect to the new holder at once instead of
   * hanging until a timeout (a watch whose client only reads may not learn of it for minutes).
   * After {@link #quiesceVip} the connections are ending gracefully already, and this leaves them
   * be. Until {@link #reopenVip}, a VIP connection accepted is reset at once: the kernel queued it
   * before the VIP left. Any thread.
   */
  public void vipLost() {
    gate.lost();
  }

  /**
   * Serves new connections on the VIP listeners again, after {@link #quiesceVip} or {@link
   * #vipLost}; any thread.
   */
  public void reopenVip() {
    gate.reopen();
  }

  /**
   * A reload of the apiservers: new connections go to {@code backends} from now on; connections
   * open to an apiserver no longer listed run on until they end. Any thread.
   */
  public void setBackends(List<Backend> backends) {
    pool.setBackends(backends);
    log.info("proxy: {} apiservers", pool.size());
  }

  /** Per listener and apiserver, the connections open now; any thread. */
  public ProxyStatus status() {
    List<ProxyStatus.ListenerStatus> status = new ArrayList<>();
    for (IndexedListener listener : listeners.configured()) {
      Settings.Listener config = listener.settings();
      status.add(
          new ProxyStatus.ListenerStatus(
              ProxyStatus.render(config.address()),
              listeners.boundTo(listener),
              config.onVip(),
              config.policy().configName(),
              pool.status(listener.index())));
    }
    return new ProxyStatus(
        status, admission.open(), settings.maxConnections(), admission.refusing());
  }

  /**
   * The addresses the listeners are bound to, in configuration order; empty before {@link #start}.
   */
  public List<InetSocketAddress> boundAddresses() {
    return listeners.boundAddresses();
  }

  /**
   * At shutdown: stops accepting, lets open connections finish for up to {@code proxy.drain-grace},
   * then closes those left. The future completes when no client connection is open; it completes on
   * an event loop, so do not block in its callbacks. Calling it again returns the same future.
   */
  public CompletableFuture<Void> closeGracefully() {
    return shutdown.closeGracefully();
  }
}
