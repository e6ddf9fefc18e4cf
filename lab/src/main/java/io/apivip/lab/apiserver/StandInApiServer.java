package io.apivip.lab.apiserver;

import io.apivip.lab.Pki;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * A stand-in kube-apiserver for tests, the demo and the lab: HTTPS with /readyz, /livez, /version and
 * a watch-like stream, whose behaviour can be switched at run time to the failures health checks and
 * the proxy must survive (see {@link Mode}). Every response carries {@value #BACKEND_HEADER} naming
 * the instance, so a test can tell which backend answered.
 *
 * <p>Owns a one-thread NIO event loop group. Thread-safe: {@link #mode(Mode)} may be called from any
 * thread.
 */
public final class StandInApiServer implements AutoCloseable {

  public static final String BACKEND_HEADER = "X-Apivip-Backend";

  private final String name;
  private final SslContext tls;
  private final EventLoopGroup group;
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final ServerBootstrap bootstrap;
  private final InetSocketAddress address;
  private volatile Mode mode = Mode.HEALTHY;
  private volatile Optional<String> requiredToken = Optional.empty();
  private Channel listener; // guarded by this; null while refusing or closed

  private StandInApiServer(String name, InetSocketAddress listen, SslContext tls) {
    this.name = Objects.requireNonNull(name);
    this.tls = tls;
    this.group = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("apiserver-" + name, true), NioIoHandler.newFactory());
    this.bootstrap =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_REUSEADDR, true)
            // A client that ends its side ends its watch, cleanly, as kube-apiserver does (ApiHandler).
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childHandler(new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel channel) {
                accept(channel);
              }
            });
    try {
      this.listener = bootstrap.bind(listen).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw e;
    }
    this.address = (InetSocketAddress) listener.localAddress();
  }

  /**
   * Starts a server on {@code listen} (port 0 picks a free port) presenting {@code certificate}; when
   * {@code clientCa} is present, the TLS handshake requires a client certificate signed by it.
   */
  public static StandInApiServer start(String name, InetSocketAddress listen, Pki.Issued certificate, Optional<X509Certificate> clientCa) {
    SslContextBuilder builder = SslContextBuilder.forServer(certificate.key(), certificate.certificate());
    clientCa.ifPresent(ca -> builder.trustManager(ca).clientAuth(ClientAuth.REQUIRE));
    return new StandInApiServer(name, listen, build(builder));
  }

  /** As {@link #start(String, InetSocketAddress, Pki.Issued, Optional)}, from PEM files. */
  public static StandInApiServer start(String name, InetSocketAddress listen, Path certificate, Path key, Optional<Path> clientCa) {
    SslContextBuilder builder = SslContextBuilder.forServer(certificate.toFile(), key.toFile());
    clientCa.ifPresent(ca -> builder.trustManager(ca.toFile()).clientAuth(ClientAuth.REQUIRE));
    return new StandInApiServer(name, listen, build(builder));
  }

  private static SslContext build(SslContextBuilder builder) {
    try {
      return builder.sslProvider(SslProvider.JDK).build();
    } catch (SSLException e) {
      throw new IllegalArgumentException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  /** Where it listens; the same address again after {@link Mode.Refuse} ends. */
  public InetSocketAddress address() {
    return address;
  }

  public String name() {
    return name;
  }

  public Mode mode() {
    return mode;
  }

  /**
   * From now on, answer 401 like kube-apiserver without anonymous auth to requests that do not carry
   * {@code Authorization: Bearer TOKEN}; empty accepts every request again.
   */
  public void requireBearerToken(Optional<String> token) {
    requiredToken = Objects.requireNonNull(token);
  }

  /** Connections open right now, as the server sees them. */
  public int openConnections() {
    return connections.size();
  }

  /**
   * Switches behaviour. Entering {@link Mode.Refuse} closes the listener and every open connection;
   * leaving it binds the same address again. Other switches apply to the next request.
   */
  public synchronized void mode(Mode next) {
    Objects.requireNonNull(next);
    if (next instanceof Mode.Refuse) {
      closeListener();
      connections.close().syncUninterruptibly();
    } else if (listener == null && !group.isShuttingDown()) {
      listener = bootstrap.bind(address).syncUninterruptibly().channel();
    }
    mode = next;
  }

  private void accept(SocketChannel channel) {
    connections.add(channel);
    if (mode instanceof Mode.Hang) {
      // Read and drop, so the connection closes when the client gives up, but never answer.
      channel.pipeline().addLast(new Discard());
      return;
    }
    channel
        .pipeline()
        .addLast(tls.newHandler(channel.alloc()))
        .addLast(new HttpServerCodec())
        .addLast(new HttpObjectAggregator(64 * 1024))
        .addLast(new ApiHandler(name, this::mode, () -> requiredToken));
  }

  /**
   * NIO closes a registered socket only when its selector next runs, after the close future has
   * completed; a task scheduled now runs after that, so once it has run, connects are refused.
   */
  private void closeListener() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
      listener.eventLoop().schedule(() -> {}, 1, TimeUnit.MILLISECONDS).syncUninterruptibly();
      listener = null;
    }
  }

  @Override
  public synchronized void close() {
    closeListener();
    connections.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Override
  public String toString() {
    return "stand-in apiserver " + name + " at " + address + " (" + mode.command() + ")";
  }

  private static final class Discard extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }

    /** A hanging server still notices its client leave (half-closure is allowed for watches). */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof ChannelInputShutdownEvent) {
        ctx.close();
      } else {
        ctx.fireUserEventTriggered(event);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
