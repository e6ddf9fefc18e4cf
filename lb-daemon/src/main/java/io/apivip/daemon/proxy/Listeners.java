package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.transport.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's listening sockets: binds every configured listener (the VIP one before the VIP is on
 * an interface) and keeps, per listener, the sockets it listens with, for the VIP gate, the status
 * page and shutdown.
 */
final class Listeners {

  /** Under TcpProxy's name, as the proxy's other lines for operators. */
  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  private final Transports transports;
  private final EventLoopGroup loops;
  private final List<IndexedListener> configured;
  private final RecvByteBufAllocator reads;

  /** Per listener, in configuration order, its listening sockets; empty before {@link #bind}. */
  private volatile List<List<Channel>> bound = List.of();

  private final NettySeam.KeepAlive keepAlive;

  /**
   * @param loops each accepts connections and carries both sides of those it accepted
   * @param reads the read sizes of accepted connections ({@link RelayMemory#reads})
   * @param keepAlive the TCP keepalive every accepted connection gets
   */
  Listeners(
      Transports transports,
      EventLoopGroup loops,
      List<IndexedListener> configured,
      RecvByteBufAllocator reads,
      NettySeam.KeepAlive keepAlive) {
    this.reads = reads;
    this.keepAlive = keepAlive;
    this.transports = transports;
    this.loops = loops;
    this.configured = List.copyOf(configured);
  }

  List<IndexedListener> configured() {
    return configured;
  }

  /** Where a listener binds. */
  record BindPlan(InetSocketAddress address, boolean freeBind) {}

  /**
   * The VIP listener binds the VIP before it is on an interface, with IP_FREEBIND, so that taking
   * the VIP over needs no re-bind. Without the option (NIO) it binds the wildcard address instead,
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
   * Binds every listener, each accepted connection getting {@code admission}'s handler for its
   * listener; blocks until done, so call it off the event loops, once. On failure nothing stays
   * bound and the exception names the listener.
   */
  void bind(Function<IndexedListener, ChannelHandler> admission) throws IOException {
    List<List<Channel>> sockets = new ArrayList<>();
    for (IndexedListener listener : configured) {
      try {
        sockets.add(bind(listener, admission.apply(listener)));
      } catch (IOException e) {
        sockets.forEach(each -> each.forEach(Channel::close));
        throw e;
      }
    }
    bound = List.copyOf(sockets);
  }

  /**
   * Binds one listener. On the native transports that is one socket per event loop, all on the same
   * address with SO_REUSEPORT: the kernel spreads new connections over them and each loop accepts
   * its own, so no connection is handed from the accepting thread to another (a queued task and a
   * wake-up per connection). Before those, a socket without the option checks that nobody listens
   * there yet, which the option would otherwise let a second daemon do unnoticed.
   */
  private List<Channel> bind(IndexedListener listener, ChannelHandler admission)
      throws IOException {
    BindPlan plan = bindPlan(listener.settings(), transports.freeBind().isPresent());
    List<Channel> sockets = new ArrayList<>();
    try {
      if (transports.reusePort().isEmpty()) {
        sockets.add(listen(plan, loops, false, admission));
      } else {
        Channel probe = listen(plan, loops, false, admission);
        int port = ((InetSocketAddress) probe.localAddress()).getPort(); // the one port 0 chose
        probe.close().awaitUninterruptibly();
        BindPlan shared =
            new BindPlan(new InetSocketAddress(plan.address().getAddress(), port), plan.freeBind());
        for (EventExecutor loop : loops) {
          sockets.add(listen(shared, (EventLoop) loop, true, admission));
        }
      }
    } catch (IOException e) {
      sockets.forEach(Channel::close);
      throw e;
    }
    String wanted = ProxyStatus.render(listener.settings().address());
    String boundTo = ProxyStatus.render((InetSocketAddress) sockets.get(0).localAddress());
    if (listener.settings().onVip() && !plan.freeBind()) {
      log.warn(
          "listening for the VIP {} on {}: IP_FREEBIND needs the io_uring or epoll transport, and"
              + " this one is {}",
          wanted,
          boundTo,
          transports.name());
    } else {
      log.info(
          "listening on {} ({}{}, {} sockets)",
          boundTo,
          listener.settings().policy().configName(),
          plan.freeBind() ? ", VIP, bound with IP_FREEBIND" : "",
          sockets.size());
    }
    return List.copyOf(sockets);
  }

  /**
   * One listening socket whose connections {@code acceptor} accepts and carries.
   *
   * @param reusePort with SO_REUSEPORT, which the transport must offer
   * @param admission the handler shared by every connection of this listener
   */
  private Channel listen(
      BindPlan plan, EventLoopGroup acceptor, boolean reusePort, ChannelHandler admission)
      throws IOException {
    ServerBootstrap bootstrap =
        new ServerBootstrap()
            .group(acceptor, acceptor)
            .channelFactory(() -> transports.newServerChannel(plan.address().getAddress()))
            .option(ChannelOption.SO_REUSEADDR, true)
            .handler(NettySeam.acceptedSocketsKeepAlive(keepAlive))
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childOption(ChannelOption.RCVBUF_ALLOCATOR, reads)
            .childHandler(admission);
    if (plan.freeBind()) {
      bootstrap.option(transports.freeBind().orElseThrow(), true);
    }
    if (reusePort) {
      bootstrap.option(transports.reusePort().orElseThrow(), true);
    }
    ChannelFuture binding = bootstrap.bind(plan.address()).awaitUninterruptibly();
    if (!binding.isSuccess()) {
      throw new IOException(
          "cannot listen on "
              + ProxyStatus.render(plan.address())
              + ": "
              + binding.cause().getMessage(),
          binding.cause());
    }
    return binding.channel();
  }

  /** The listening sockets of the VIP listeners; empty before {@link #bind}. */
  List<Channel> vipSockets() {
    List<List<Channel>> sockets = bound;
    List<Channel> vip = new ArrayList<>();
    for (int i = 0; i < configured.size() && i < sockets.size(); i++) {
      if (configured.get(i).settings().onVip()) {
        vip.addAll(sockets.get(i));
      }
    }
    return vip;
  }

  /**
   * Where the listener listens, as {@link ProxyStatus#render}; empty before {@link #bind} and after
   * {@link #close}.
   */
  String boundTo(IndexedListener listener) {
    List<List<Channel>> sockets = bound;
    return listener.index() < sockets.size() && sockets.get(listener.index()).get(0).isOpen()
        ? ProxyStatus.render(
            (InetSocketAddress) sockets.get(listener.index()).get(0).localAddress())
        : "";
  }

  /**
   * The addresses the listeners are bound to, in configuration order; empty before {@link #bind}.
   */
  List<InetSocketAddress> boundAddresses() {
    return bound.stream()
        .map(sockets -> (InetSocketAddress) sockets.get(0).localAddress())
        .toList();
  }

  /** Closes every listening socket and runs {@code whenClosed} once all are closed; any thread. */
  void close(Runnable whenClosed) {
    List<Channel> sockets = bound.stream().flatMap(List::stream).toList();
    if (sockets.isEmpty()) {
      whenClosed.run();
      return;
    }
    AtomicInteger closing = new AtomicInteger(sockets.size());
    for (Channel socket : sockets) {
      socket
          .close()
          .addListener(
              closed -> {
                if (closing.decrementAndGet() == 0) {
                  whenClosed.run();
                }
              });
    }
  }
}
