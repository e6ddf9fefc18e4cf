package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.transport.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.AttributeKey;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP proxy in front of the kube-apiservers: accepts on every configured listener, picks a
 * healthy apiserver per connection by the listener's policy, retries the connect on the next one when
 * it is refused or times out, and relays bytes both ways (TLS stays end to end).
 *
 * <p>How the daemon wires it:
 * <ul>
 *   <li>Event loops are handed in and never shut down here; they must be of the {@link Transports}
 *       handed in. Each loop accepts connections (see {@link #bind}) and carries both sides of those
 *       it accepted.
 *   <li>Health comes in through {@link BackendHealth}; failed connects go back out through it. The
 *       cluster's maintenance flags come in through {@link #setMaintenance}, from any thread.
 *   <li>{@link #start} once; {@link #drain} once at shutdown, then shut the event loops down when its
 *       future completes. {@link #status} for the admin page, from any thread.
 * </ul>
 */
public final class TcpProxy {

  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);
  /** How long an apiserver gets to end a connection gracefully during a handoff before it is closed. */
  private static final Duration GRACEFUL_END = Duration.ofSeconds(1);
  /** A connection open this long is a stream (a watch), not a request in flight. */
  private static final Duration LONG_LIVED = Duration.ofSeconds(5);
  private static final AttributeKey<Long> OPENED_AT = AttributeKey.valueOf("apivip.openedAt");
  /**
   * Reads of a relayed connection start at 2 KiB and grow to 1 MiB while they fill the buffer (a
   * large LIST); Netty's default stops at 64 KiB, which cost 20-40% more CPU per byte relayed in
   * bench/proxy. A buffer lives only until the peer's socket has taken it (see {@link Relay}).
   */
  static final AdaptiveRecvByteBufAllocator RELAY_READS = new AdaptiveRecvByteBufAllocator(64, 2048, 1 << 20);

  private final Settings.Proxy settings;
  private final Transports transports;
  private final EventLoopGroup loops;
  private final List<ProxyListener> listeners = new ArrayList<>();
  private final BackendPool pool;
  private final ProxyMetrics metrics;
  private final ProxyLog events = new ProxyLog();
  private final boolean splice;
  private final ChannelGroup clients = new DefaultChannelGroup("apivip-proxy-clients", GlobalEventExecutor.INSTANCE);
  private final ChannelGroup vipClients = new DefaultChannelGroup("apivip-proxy-vip-clients", GlobalEventExecutor.INSTANCE);
  private final AtomicBoolean vipGateClosed = new AtomicBoolean();
  private final AtomicInteger openClients = new AtomicInteger();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final CompletableFuture<Void> drained = new CompletableFuture<>();
  /** Per listener, in configuration order, its listening sockets. */
  private volatile List<List<Channel>> servers = List.of();
  private volatile boolean serversClosed;
  /** Makes the backend channels; a test replaces it before {@link #start}. */
  private Function<InetAddress, SocketChannel> backendSockets;

  /**
   * @param backends the apiservers; their node ids are matched against {@link #setMaintenance} and,
   *     for local-first listeners, against {@code nodeId}
   * @param nodeId this node's id: the apiserver whose node id equals it is the local one
   */
  public TcpProxy(
      Settings.Proxy settings,
      List<Backend> backends,
      String nodeId,
      BackendHealth health,
      Transports transports,
      EventLoopGroup loops,
      MeterRegistry registry) {
    this.settings = settings;
    this.transports = transports;
    this.loops = loops;
    this.backendSockets = transports::newSocketChannel;
    for (Settings.Listener listener : settings.listeners()) {
      listeners.add(new ProxyListener(listeners.size(), listener));
    }
    this.metrics = new ProxyMetrics(registry, openClients::get);
    this.pool = new BackendPool(backends, listeners.size(), nodeId, health, metrics);
    // Spliced bytes bypass the pipeline, where the idle timer watches; so splice only without one.
    this.splice = settings.splice() && transports.epoll() && settings.idleTimeout().isZero();
  }

  /** Replaces how backend channels are made, for tests of what happens when none can be; before {@link #start}. */
  void useBackendSockets(Function<InetAddress, SocketChannel> sockets) {
    this.backendSockets = sockets;
  }

  /** Where a listener binds. */
  record BindPlan(InetSocketAddress address, boolean freeBind) {}

  /**
   * The VIP listener binds the VIP before it is on an interface, with IP_FREEBIND, so that taking the
   * VIP over needs no re-bind. Without the option (NIO) it binds the wildcard address instead,
   * which also accepts for the VIP once it arrives, but for every other local address too.
   */
  static BindPlan bindPlan(Settings.Listener listener, boolean freeBindAvailable) {
    if (!listener.onVip()) {
      return new BindPlan(listener.address(), false);
    }
    if (freeBindAvailable) {
      return new BindPlan(listener.address(), true);
    }
    String wildcard = listener.address().getAddress() instanceof Inet6Address ? "::" : "0.0.0.0";
    return new BindPlan(new InetSocketAddress(wildcard, listener.address().getPort()), false);
  }

  /**
   * Binds every listener; blocks until done, so call it off the event loops. On failure nothing stays
   * bound and the exception names the listener.
   */
  public void start() throws IOException {
    List<List<Channel>> bound = new ArrayList<>();
    for (ProxyListener listener : listeners) {
      try {
        bound.add(bind(listener));
      } catch (IOException e) {
        bound.forEach(sockets -> sockets.forEach(Channel::close));
        throw e;
      }
    }
    servers = List.copyOf(bound);
    if (splice) {
      log.warn("proxy.splice is on: Netty's splice can lose the last bytes of a stream that ends while bytes are in flight");
    }
    log.info(
        "proxy started: {} apiservers, at most {} client connections, connect timeout {}, {} attempts, relay by {}",
        pool.size(),
        settings.maxConnections(),
        settings.connectTimeout(),
        settings.connectAttempts(),
        splice ? "splice" : "copy");
  }

  /**
   * Binds one listener. On the native transports that is one socket per event loop, all on the same
   * address with SO_REUSEPORT: the kernel spreads new connections over them and each loop accepts
   * its own, so no connection is handed from the accepting thread to another (a queued task and a
   * wake-up per connection). Before those, a socket without the option checks that nobody listens
   * there yet, which the option would otherwise let a second daemon do unnoticed.
   */
  private List<Channel> bind(ProxyListener listener) throws IOException {
    BindPlan plan = bindPlan(listener.settings(), transports.freeBind().isPresent());
    List<Channel> sockets = new ArrayList<>();
    try {
      if (transports.reusePort().isEmpty()) {
        sockets.add(listen(listener, plan, loops, false));
      } else {
        Channel probe = listen(listener, plan, loops, false);
        int port = ((InetSocketAddress) probe.localAddress()).getPort(); // the one port 0 chose
        probe.close().awaitUninterruptibly();
        BindPlan shared = new BindPlan(new InetSocketAddress(plan.address().getAddress(), port), plan.freeBind());
        for (EventExecutor loop : loops) {
          sockets.add(listen(listener, shared, (EventLoop) loop, true));
        }
      }
    } catch (IOException e) {
      sockets.forEach(Channel::close);
      throw e;
    }
    String wanted = ProxyStatus.render(listener.settings().address());
    String boundTo = ProxyStatus.render((InetSocketAddress) sockets.get(0).localAddress());
    if (listener.settings().onVip() && !plan.freeBind()) {
      log.warn("listening for the VIP {} on {}: IP_FREEBIND needs the io_uring or epoll transport, and this one is {}", wanted, boundTo, transports.name());
    } else {
      log.info("listening on {} ({}{}, {} sockets)", boundTo, listener.settings().policy().configName(),
          plan.freeBind() ? ", VIP, bound with IP_FREEBIND" : "", sockets.size());
    }
    return List.copyOf(sockets);
  }

  /**
   * One listening socket whose connections {@code acceptor} accepts and carries.
   *
   * @param reusePort with SO_REUSEPORT, which the transport must offer
   */
  private Channel listen(ProxyListener listener, BindPlan plan, EventLoopGroup acceptor, boolean reusePort) throws IOException {
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(acceptor, acceptor)
        .channelFactory(() -> transports.newServerChannel(plan.address().getAddress()))
        .option(ChannelOption.SO_REUSEADDR, true)
        .handler(new ListenerSetup())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childOption(ChannelOption.RCVBUF_ALLOCATOR, RELAY_READS)
        .childHandler(clientInitializer(listener));
    if (plan.freeBind()) {
      bootstrap.option(transports.freeBind().orElseThrow(), true);
    }
    if (reusePort) {
      bootstrap.option(transports.reusePort().orElseThrow(), true);
    }
    ChannelFuture binding = bootstrap.bind(plan.address()).awaitUninterruptibly();
    if (!binding.isSuccess()) {
      throw new IOException("cannot listen on " + ProxyStatus.render(plan.address()) + ": " + binding.cause().getMessage(), binding.cause());
    }
    return binding.channel();
  }

  /**
   * On a listening socket's pipeline, ahead of Netty's acceptor. Turns TCP keepalive on for every
   * accepted socket: on a native socket once, before it listens, as Linux passes the option and its
   * timer on to each socket accepted from it (a system call per connection saved); otherwise on each
   * accepted channel. Adds the half-close workaround's EPOLLERR to each accepted channel before the
   * channel is registered.
   */
  private static final class ListenerSetup extends ChannelInboundHandlerAdapter {
    private boolean acceptedSocketsKeepAlive;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (ctx.channel() instanceof UnixChannel unix && unix.fd() instanceof Socket socket) {
        try {
          socket.setKeepAlive(true);
          acceptedSocketsKeepAlive = true;
        } catch (IOException e) {
          log.error("cannot turn TCP keepalive on for the proxy's listening socket: {}", e.toString());
          ctx.channel().close(); // the bind then fails
        }
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object accepted) {
      Channel client = (Channel) accepted;
      if (!acceptedSocketsKeepAlive) {
        client.config().setOption(ChannelOption.SO_KEEPALIVE, true);
      }
      EpollInterest.keepAcrossHalfClose(client);
      ctx.fireChannelRead(client);
    }
  }

  private ChannelInitializer<Channel> clientInitializer(ProxyListener listener) {
    Duration idleTimeout = settings.idleTimeout();
    int connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis());
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel client) {
        int open = openClients.incrementAndGet();
        client.closeFuture().addListener(closed -> clientClosed());
        if (draining.get()) {
          client.close();
          return;
        }
        if (open > settings.maxConnections()) {
          metrics.overLimit();
          events.overLimit(settings.maxConnections());
          client.close();
          return;
        }
        events.underLimit();
        clients.add(client);
        if (listener.settings().onVip()) {
          client.attr(OPENED_AT).set(System.nanoTime());
          vipClients.add(client);
        }
        if (!idleTimeout.isZero()) {
          client.pipeline().addLast(new IdleStateHandler(0, 0, idleTimeout.toNanos(), TimeUnit.NANOSECONDS));
        }
        client.pipeline().addLast("connector", new Connector(
            listener, pool, backendSockets, metrics, events, settings.connectAttempts(), connectTimeoutMillis, splice));
      }
    };
  }

  /**
   * Nodes whose apiservers get no new connections; their open connections stay. Replaces the previous
   * set; any thread.
   */
  public void setMaintenance(Set<String> nodeIds) {
    Set<String> previous = pool.maintenance();
    pool.setMaintenance(nodeIds);
    if (!previous.equals(Set.copyOf(nodeIds))) {
      log.info("nodes in maintenance (no new connections to their apiservers): {}", nodeIds.isEmpty() ? "none" : nodeIds);
    }
  }

  /**
   * Prepares a planned handoff of the VIP: new connections to the VIP listeners are dropped
   * silently (clients send their SYN again a second later, by when the new holder answers; see
   * {@link SynGate}); connections open for longer than {@link #LONG_LIVED} (watches, streams) are
   * ended gracefully at once, so their clients reconnect to the new holder; younger ones (requests
   * in flight) get up to {@code wait} to finish before they are ended too. The future completes
   * when every VIP connection is closed or has been told to end, so the VIP may move; those still
   * open {@link #GRACEFUL_END} after that are closed. Any thread; {@link #reopenVip} undoes it.
   */
  public CompletableFuture<Void> quiesceVip(Duration wait) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!vipGateClosed.compareAndSet(false, true)) {
      done.complete(null);
      return done;
    }
    for (Channel socket : vipSockets()) {
      SynGate.close(socket).ifPresent(problem ->
          log.warn("cannot hold new VIP connections back during the handoff ({}); some may be reset", problem));
    }
    long now = System.nanoTime();
    long youngSince = now - LONG_LIVED.toNanos();
    Handoff handoff = new Handoff(now, wait, done);
    int inFlight = 0;
    for (Channel client : vipClients) {
      if (openedAt(client) < youngSince) {
        handoff.end(client);
      } else {
        inFlight++;
      }
    }
    log.info("handing the VIP over: new VIP connections wait for the new holder; ended {} long-lived connections so their clients "
        + "reconnect there; {} in flight may finish within {} ms", handoff.ended.size(), inFlight, wait.toMillis());
    handoff.poll();
    return done;
  }

  /**
   * The rest of one {@link #quiesceVip}: every 10 ms on one event loop, until the VIP connections
   * are gone. First it waits for the requests in flight (every VIP connection not yet told to end,
   * including any the kernel had accepted when the SYNs began to be dropped) until none is left or
   * the deadline passes, then tells the rest to end and completes {@code done}; {@link
   * #GRACEFUL_END} later it closes what is still open.
   */
  private final class Handoff implements Runnable {
    private static final Duration POLL = Duration.ofMillis(10);

    private final Duration wait;
    private final long deadline;
    private final CompletableFuture<Void> done;
    private final EventLoop loop = loops.next();
    /** Connections told to end; filled by quiesceVip's thread first, then only by the loop. */
    private final Set<Channel> ended = Collections.newSetFromMap(new ConcurrentHashMap<>());
    /** When leftovers are closed; 0 while requests in flight may still finish. */
    private long closeBy;

    Handoff(long start, Duration wait, CompletableFuture<Void> done) {
      this.wait = wait;
      this.deadline = start + wait.toNanos();
      this.done = done;
    }

    void end(Channel client) {
      ended.add(client);
      client.pipeline().fireUserEventTriggered(Relay.END_GRACEFULLY);
    }

    void poll() {
      loop.schedule(this, POLL.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void run() {
      if (vipClients.isEmpty()) {
        done.complete(null);
        return;
      }
      long now = System.nanoTime();
      if (closeBy == 0) {
        List<Channel> inFlight = vipClients.stream().filter(client -> !ended.contains(client)).toList();
        if (inFlight.isEmpty() || now >= deadline) {
          if (!inFlight.isEmpty()) {
            log.info("handing the VIP over: ending {} VIP connections still in flight after {} ms", inFlight.size(), wait.toMillis());
            inFlight.forEach(this::end);
          }
          closeBy = now + GRACEFUL_END.toNanos();
          // The cluster may move the VIP now: what is left is ending.
          done.complete(null);
        }
      } else if (now >= closeBy) {
        log.info("handing the VIP over: closing {} VIP connections that did not end within {} ms", vipClients.size(), GRACEFUL_END.toMillis());
        vipClients.close();
        return;
      }
      poll();
    }
  }

  private static long openedAt(Channel client) {
    Long opened = client.attr(OPENED_AT).get();
    return opened == null ? System.nanoTime() : opened;
  }

  /**
   * The VIP left this node without a planned handoff (another node took over, or this one lost its
   * quorum or its apiservers): the clients' packets now go elsewhere, so no connection on the VIP can
   * go on. Resets them, so that their clients reconnect to the new holder at once instead of hanging
   * until a timeout (a watch whose client only reads may not learn of it for minutes). After {@link
   * #quiesceVip} the connections are ending gracefully already, and this leaves them be. Any thread.
   */
  public void vipLost() {
    if (vipGateClosed.get()) {
      return;
    }
    int open = vipClients.size();
    if (open > 0) {
      log.info("the VIP left this node: resetting {} VIP connections so that their clients reconnect to the new holder", open);
      vipClients.forEach(Relay::reset);
    }
  }

  /** Accepts new connections on the VIP listeners again (after {@link #quiesceVip}); any thread. */
  public void reopenVip() {
    if (vipGateClosed.compareAndSet(true, false)) {
      vipSockets().forEach(SynGate::open);
      log.info("accepting new VIP connections again");
    }
  }

  private List<Channel> vipSockets() {
    List<List<Channel>> bound = servers;
    List<Channel> sockets = new ArrayList<>();
    for (int i = 0; i < listeners.size() && i < bound.size(); i++) {
      if (listeners.get(i).settings().onVip()) {
        sockets.addAll(bound.get(i));
      }
    }
    return sockets;
  }

  /** Per listener and apiserver, the connections open now; any thread. */
  public ProxyStatus status() {
    List<List<Channel>> bound = servers;
    List<ProxyStatus.ListenerStatus> status = new ArrayList<>();
    for (ProxyListener listener : listeners) {
      Settings.Listener config = listener.settings();
      String boundTo = listener.index() < bound.size() && bound.get(listener.index()).get(0).isOpen()
          ? ProxyStatus.render((InetSocketAddress) bound.get(listener.index()).get(0).localAddress())
          : "";
      status.add(new ProxyStatus.ListenerStatus(
          ProxyStatus.render(config.address()), boundTo, config.onVip(), config.policy().configName(), pool.status(listener.index())));
    }
    return new ProxyStatus(status, openClients.get(), settings.maxConnections(), draining.get());
  }

  /** The addresses the listeners are bound to, in configuration order; empty before {@link #start}. */
  public List<InetSocketAddress> boundAddresses() {
    return servers.stream().map(sockets -> (InetSocketAddress) sockets.get(0).localAddress()).toList();
  }

  /**
   * Stops accepting, lets open connections finish for up to {@code proxy.drain-grace}, then closes those
   * left. The future completes when no client connection is open; it completes on an event loop, so do
   * not block in its callbacks. Calling it again returns the same future.
   */
  public CompletableFuture<Void> drain() {
    if (!draining.compareAndSet(false, true)) {
      return drained;
    }
    log.info("draining: no longer accepting; {} client connections may finish within {}", openClients.get(), settings.drainGrace());
    ScheduledFuture<?> grace = loops.next().schedule(this::closeRemaining, settings.drainGrace().toNanos(), TimeUnit.NANOSECONDS);
    drained.whenComplete((done, failure) -> grace.cancel(false));
    List<Channel> bound = servers.stream().flatMap(List::stream).toList();
    AtomicInteger closing = new AtomicInteger(bound.size());
    if (bound.isEmpty()) {
      serversClosed();
    }
    for (Channel server : bound) {
      server.close().addListener(closed -> {
        if (closing.decrementAndGet() == 0) {
          serversClosed();
        }
      });
    }
    return drained;
  }

  private void serversClosed() {
    serversClosed = true;
    completeDrainIfIdle();
  }

  private void closeRemaining() {
    int open = openClients.get();
    if (open > 0) {
      log.info("drain grace of {} is over: closing {} client connections still open", settings.drainGrace(), open);
      clients.close();
    }
  }

  private void clientClosed() {
    openClients.decrementAndGet();
    if (draining.get()) {
      completeDrainIfIdle();
    }
  }

  private void completeDrainIfIdle() {
    if (serversClosed && openClients.get() == 0 && drained.complete(null)) {
      log.info("drained: every client connection is closed");
    }
  }
}
