package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether an accepted connection is served: counts the client connections open over all
 * listeners, closes new ones beyond {@code proxy.max-connections} (beyond it plus {@code
 * proxy.local-reserve} on the node-local listeners), those of a source address at {@code
 * proxy.max-connections-per-source} and, once the proxy is closing, every new one. None of this
 * touches health or eligibility: a full proxy never moves the VIP. Hands those it serves to the VIP
 * gate (when accepted on the VIP) and to a {@link Connector}. Every event loop runs it; its counts
 * are atomic.
 */
final class Admission {

  /** Under TcpProxy's name, as the proxy's other lines for operators. */
  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  private final Settings.Proxy settings;
  private final BackendPool pool;
  private final ProxyMetrics metrics;
  private final ProxyLog events;
  private final VipGate gate;
  private final SourceLimit sources;
  private final Relay.Tuning tuning;
  private final ChannelGroup clients =
      new DefaultChannelGroup("apivip-proxy-clients", GlobalEventExecutor.INSTANCE);
  private final AtomicInteger open;
  private final CompletableFuture<Void> allClosed = new CompletableFuture<>();
  private volatile boolean refusing;
  private volatile boolean listenersClosed;

  /** Makes the backend channels; a test replaces it before the listeners are bound. */
  private volatile Function<InetAddress, SocketChannel> backendSockets;

  /**
   * @param backendSockets makes the backend channels
   * @param open the count of client connections open, kept here
   */
  Admission(
      Settings.Proxy settings,
      BackendPool pool,
      ProxyMetrics metrics,
      ProxyLog events,
      VipGate gate,
      Function<InetAddress, SocketChannel> backendSockets,
      AtomicInteger open,
      SourceLimit sources,
      Relay.Tuning tuning) {
    this.sources = sources;
    this.tuning = tuning;
    this.settings = settings;
    this.pool = pool;
    this.metrics = metrics;
    this.events = events;
    this.gate = gate;
    this.backendSockets = backendSockets;
    this.open = open;
  }

  void useBackendSockets(Function<InetAddress, SocketChannel> sockets) {
    this.backendSockets = sockets;
  }

  /** The first handler of every connection accepted on {@code listener}. */
  ChannelInitializer<Channel> initializer(IndexedListener listener) {
    int connectTimeoutMillis =
        (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis());
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel client) {
        admit(listener, client, connectTimeoutMillis);
      }
    };
  }

  private void admit(IndexedListener listener, Channel client, int connectTimeoutMillis) {
    int openNow = open.incrementAndGet();
    client.closeFuture().addListener(closed -> clientClosed());
    if (refusing) {
      client.close();
      return;
    }
    // The node-local listeners may use the reserve: the node's own components still connect when
    // the VIP's clients have taken max-connections.
    int limit =
        listener.settings().onVip()
            ? settings.maxConnections()
            : settings.maxConnections() + settings.limits().localReserve();
    if (openNow > limit) {
      metrics.overLimit();
      events.overLimit(limit);
      client.close();
      return;
    }
    InetAddress source = ((InetSocketAddress) client.remoteAddress()).getAddress();
    if (!SourceLimit.exempt(source, listener.settings().onVip())) {
      if (!sources.acquire(source)) {
        metrics.sourceLimit();
        events.sourceLimited(source, sources.max());
        client.close();
        return;
      }
      client
          .closeFuture()
          .addListener(
              closed -> {
                if (sources.release(source)) {
                  events.noSourceLimited();
                }
              });
    }
    events.underLimit();
    clients.add(client);
    if (listener.settings().onVip() && !gate.admit(client)) {
      Relay.reset(client);
      return;
    }
    if (!settings.idleTimeout().isZero()) {
      client
          .pipeline()
          .addLast(
              new IdleStateHandler(0, 0, settings.idleTimeout().toNanos(), TimeUnit.NANOSECONDS));
    }
    if (!settings.limits().firstByteTimeout().isZero()) {
      client
          .pipeline()
          .addLast(
              "first-bytes", new FirstBytes(settings.limits().firstByteTimeout(), metrics, events));
    }
    client
        .pipeline()
        .addLast(
            "connector",
            new Connector(
                listener,
                pool,
                backendSockets,
                metrics,
                events,
                settings.connectAttempts(),
                connectTimeoutMillis,
                tuning));
  }

  /**
   * Client connections open now, over all listeners, including those still connecting; any thread.
   */
  int open() {
    return open.get();
  }

  /** Whether new connections are closed at once, the proxy closing; any thread. */
  boolean refusing() {
    return refusing;
  }

  /** Closes every new connection from now on; any thread. */
  void refuseNew() {
    refusing = true;
  }

  /**
   * Completes once new connections are refused, {@link #listenersClosed} has been called and no
   * client connection is open, on the thread that closed the last.
   */
  CompletableFuture<Void> allClosed() {
    return allClosed;
  }

  /** The listeners accept no more; after {@link #refuseNew}. */
  void listenersClosed() {
    listenersClosed = true;
    completeIfNoneOpen();
  }

  /** Closes every client connection still open; any thread. */
  void closeAll() {
    clients.close();
  }

  private void clientClosed() {
    open.decrementAndGet();
    if (refusing) {
      completeIfNoneOpen();
    }
  }

  private void completeIfNoneOpen() {
    if (listenersClosed && open.get() == 0 && allClosed.complete(null)) {
      log.info("closed gracefully: every client connection is closed");
    }
  }
}
