package io.apivip.daemon.proxy;

import io.apivip.daemon.proxy.BackendPool.Slot;
import io.apivip.daemon.transport.Transports;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first handler of a new client connection: picks the apiservers to try and connects to them in
 * turn until one accepts, then hands both channels to {@link Relay}. The client channel is not read
 * until then (autoRead off), so a retry never has to replay a client byte and the client does not
 * notice a dead apiserver. With none left to try the client is closed at once.
 *
 * <p>One exception: when a client sends its bytes and its end of stream before the apiserver
 * answers the connect, epoll reads them anyway (EPOLLRDHUP drains the socket whatever autoRead
 * says). They are held here, at most one socket receive buffer, and passed on in order once the
 * relay starts.
 */
final class Connector extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(Connector.class);

  private final IndexedListener listener;
  private final BackendPool pool;
  private final Function<InetAddress, SocketChannel> sockets;
  private final ProxyMetrics metrics;
  private final ProxyLog events;
  private final int attempts;
  private final int connectTimeoutMillis;
  private final Relay.Tuning tuning;
  private final List<Object> readEarly = new ArrayList<>(0);
  private boolean endedEarly;

  /**
   * @param sockets makes the backend channels, of each apiserver's address family ({@link
   *     Transports#newSocketChannel})
   */
  Connector(
      IndexedListener listener,
      BackendPool pool,
      Function<InetAddress, SocketChannel> sockets,
      ProxyMetrics metrics,
      ProxyLog events,
      int attempts,
      int connectTimeoutMillis,
      Relay.Tuning tuning) {
    this.tuning = tuning;
    this.listener = listener;
    this.pool = pool;
    this.sockets = sockets;
    this.metrics = metrics;
    this.events = events;
    this.attempts = attempts;
    this.connectTimeoutMillis = connectTimeoutMillis;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    List<Slot> order = pool.choose(listener.index(), listener.settings().policy(), attempts);
    if (order.isEmpty()) {
      giveUp(ctx.channel(), "no apiserver is up and out of maintenance");
    } else {
      connect(ctx, order, 0);
    }
  }

  /**
   * Connects to the apiserver of {@code order[attempt]} from a new channel on the client's event
   * loop, which keeps the pair on one thread.
   */
  private void connect(ChannelHandlerContext ctx, List<Slot> order, int attempt) {
    Channel client = ctx.channel();
    Slot slot = order.get(attempt);
    InetSocketAddress address = slot.backend.address();
    long started = System.nanoTime();
    Channel backend;
    try {
      backend = backendChannel(address, new Relay(client, slot.meters.bytesToClient(), tuning));
    } catch (ChannelException e) { // no socket to be had (out of descriptors), or an option refused
      nodeFailed(client, e);
      return;
    }
    slot.opened(listener.index());
    backend.closeFuture().addListener(closed -> slot.closed(listener.index()));
    client
        .eventLoop()
        .register(backend)
        .addListener(
            (ChannelFutureListener)
                registered -> {
                  if (!registered.isSuccess()) {
                    nodeFailed(client, registered.cause());
                    return;
                  }
                  backend
                      .connect(address)
                      .addListener(
                          connected -> {
                            if (connected.isSuccess()) {
                              slot.meters
                                  .connectTime()
                                  .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                              slot.meters.ok().increment();
                              events.backendReached();
                              relay(ctx, client, backend, slot);
                            } else {
                              backend.close();
                              failed(ctx, order, attempt, connected.cause());
                            }
                          });
                });
  }

  /**
   * The receive buffer of a socket to an apiserver, fixed instead of autotuned (up to
   * net.ipv4.tcp_rmem's 6 MiB). Once an apiserver has written its whole answer and closed, Netty's
   * epoll channel reads the socket dry whatever backpressure says, into memory the relay then holds
   * until the client takes it: this bounds that to about 200 KiB a connection, where autotuning let
   * slow readers of /openapi/v2 hold 2.7 MiB each (bench/hostile). The window it leaves, about 200
   * KiB, still carries 200 MB/s at a round trip of 1 ms. Set before the connect, which negotiates
   * the window scale from it.
   */
  static final int APISERVER_RECEIVE_BUFFER = 128 << 10;

  /**
   * A new, unregistered backend channel, read from as soon as it connects (its relay starts then).
   * Made here rather than by a Bootstrap, which would copy its options for every connect.
   */
  private Channel backendChannel(InetSocketAddress address, Relay relay) {
    SocketChannel channel = sockets.apply(address.getAddress());
    try {
      channel
          .config()
          .setAllowHalfClosure(true) // Netty has turned TCP_NODELAY on already
          .setReceiveBufferSize(APISERVER_RECEIVE_BUFFER)
          .setRecvByteBufAllocator(tuning.memory().reads())
          .setConnectTimeoutMillis(connectTimeoutMillis)
          .setAutoRead(false);
      tuning.keepAlive().accept(channel);
      // Before registration, which then carries the interest set; after autoRead, which clears
      // EPOLLIN.
      NettySeam.keepAcrossHalfClose(channel);
      NettySeam.readFromTheStart(channel);
      channel.pipeline().addLast(relay);
      return channel;
    } catch (ChannelException e) {
      channel.unsafe().closeForcibly();
      throw e;
    }
  }

  /**
   * This node, not the apiserver, failed to make or register a socket: the client is closed and no
   * apiserver is blamed (health's passive signal would take every one down at once, and the VIP
   * with them), nor tried (they would fail alike).
   */
  private void nodeFailed(Channel client, Throwable cause) {
    giveUp(client, "cannot open a connection from this node (" + cause.getMessage() + ")");
  }

  /**
   * The connect of {@code order[attempt]} failed: tries the next apiserver, if any and the client
   * is still there.
   */
  private void failed(ChannelHandlerContext ctx, List<Slot> order, int attempt, Throwable cause) {
    Slot slot = order.get(attempt);
    slot.meters.refused().increment();
    log.debug(
        "connect to apiserver {} failed: {}", ProxyMetrics.tag(slot.backend), cause.toString());
    pool.health().connectFailed(slot.backend, cause);
    Channel client = ctx.channel();
    if (!client.isActive()) {
      return;
    }
    if (attempt + 1 < order.size()) {
      connect(ctx, order, attempt + 1);
    } else {
      giveUp(client, "every apiserver tried refused or timed out");
    }
  }

  private void relay(ChannelHandlerContext ctx, Channel client, Channel backend, Slot slot) {
    if (!client.isActive()) {
      backend.close();
      return;
    }
    List<Object> early = List.copyOf(readEarly);
    readEarly.clear();
    ctx.pipeline().replace(this, "relay", new Relay(backend, slot.meters.bytesToBackend(), tuning));
    for (Object message : early) {
      client.pipeline().fireChannelRead(message);
    }
    if (endedEarly) {
      client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
    }
    Relay.start(client, backend);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object message) {
    readEarly.add(message);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof ChannelInputShutdownEvent) {
      endedEarly = true;
    } else {
      ctx.fireUserEventTriggered(event);
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    // Still holding bytes here means the client went away before the relay started.
    readEarly.forEach(ReferenceCountUtil::release);
    readEarly.clear();
  }

  private void giveUp(Channel client, String reason) {
    metrics.noBackend();
    events.noBackend(listener, reason);
    client.close();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug(
        "client {} failed before it was relayed: {}",
        ctx.channel().remoteAddress(),
        cause.toString());
    ctx.close();
  }
}
