package io.apivip.bench.proxy;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Listener;
import io.apivip.daemon.config.Settings.Policy;
import io.apivip.daemon.proxy.BackendHealth;
import io.apivip.daemon.proxy.Routing;
import io.apivip.daemon.proxy.TcpProxy;
import io.apivip.daemon.transport.Transports;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Java side of bench/proxy/run.sh, on loopback only: proxy LISTEN_PORT BACKEND_PORT RELAY
 * apivip's TcpProxy in front of 127.0.0.1:BACKEND_PORT; RELAY: copy (epoll) or io_uring http PORT a
 * small HTTP/1.1 server answering "ok" (wrk's backend) hold PORT COUNT opens COUNT idle connections
 * to 127.0.0.1:PORT and keeps them Each prints "ready" once it serves (or holds) and runs until it
 * is killed.
 */
public final class ProxyBench {

  /** Event loop threads of every Java part: the machine's cores, as HAProxy's nbthread default. */
  static final int THREADS = Runtime.getRuntime().availableProcessors();

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "proxy" -> proxy(Integer.parseInt(args[1]), Integer.parseInt(args[2]), args[3]);
      case "http" -> http(Integer.parseInt(args[1]));
      case "hold" -> hold(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
    Thread.sleep(Long.MAX_VALUE);
  }

  static void proxy(int listenPort, int backendPort, String relay) throws Exception {
    Transports.Kind kind =
        switch (relay) {
          case "copy" -> Transports.Kind.EPOLL;
          case "io_uring" -> Transports.Kind.IO_URING;
          default ->
              throw new IllegalArgumentException("relay must be copy or io_uring, not " + relay);
        };
    if (!kind.available()) {
      throw new IllegalStateException(
          "the " + kind.configName() + " transport is not available on this machine");
    }
    Transports transports = Transports.of(kind);
    EventLoopGroup loops = transports.newGroup(THREADS, "apivip-proxy");
    Listener listener =
        new Listener(
            new InetSocketAddress("127.0.0.1", listenPort), false, Policy.LEAST_CONNECTIONS);
    // max-connections above the 10,000 idle connections of the memory test; everything else as
    // reference.conf.
    Settings.Proxy settings =
        new Settings.Proxy(
            List.of(listener),
            Duration.ofSeconds(1),
            3,
            20_000,
            Duration.ZERO,
            Duration.ofSeconds(1),
            Settings.Limits.none());
    Backend backend = new Backend("n1", new InetSocketAddress("127.0.0.1", backendPort));
    BackendHealth alwaysUp =
        new BackendHealth() {
          @Override
          public boolean isUp(Backend b) {
            return true;
          }

          @Override
          public void connectFailed(Backend b, Throwable cause) {}
        };
    TcpProxy proxy =
        new TcpProxy(
            settings,
            List.of(backend),
            "n1",
            new Routing(alwaysUp),
            transports,
            loops,
            new SimpleMeterRegistry());
    proxy.start();
    System.out.println("ready");
  }

  static void http(int port) throws Exception {
    Transports transports = Transports.best();
    EventLoopGroup loops = transports.newGroup(THREADS, "http");
    new ServerBootstrap()
        .group(loops)
        .channel(transports.serverChannel())
        .childHandler(
            new ChannelInitializer<>() {
              @Override
              protected void initChannel(Channel channel) {
                channel.pipeline().addLast(new HttpServerCodec(), new Ok());
              }
            })
        .bind("127.0.0.1", port)
        .sync();
    System.out.println("ready");
  }

  /** Answers every request with "ok"; closes after it when the client asked to. */
  static final class Ok extends SimpleChannelInboundHandler<HttpObject> {
    private static final ByteBuf BODY =
        Unpooled.unreleasableBuffer(
            Unpooled.directBuffer()
                .writeBytes("ok\n".getBytes(StandardCharsets.US_ASCII))
                .asReadOnly());

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject message) {
      if (!(message instanceof HttpRequest request)) {
        return;
      }
      boolean keepAlive = HttpUtil.isKeepAlive(request);
      FullHttpResponse response =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, HttpResponseStatus.OK, BODY.duplicate());
      response
          .headers()
          .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN)
          .setInt(HttpHeaderNames.CONTENT_LENGTH, BODY.readableBytes());
      if (!keepAlive) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      ChannelFuture written = ctx.writeAndFlush(response);
      if (!keepAlive) {
        written.addListener(ChannelFutureListener.CLOSE);
      }
    }
  }

  static void hold(int port, int count) throws Exception {
    Transports transports = Transports.best();
    EventLoopGroup loops = transports.newGroup(1, "hold");
    Bootstrap bootstrap =
        new Bootstrap()
            .group(loops)
            .channel(transports.socketChannel())
            .handler(
                new ChannelInitializer<>() {
                  @Override
                  protected void initChannel(Channel channel) {
                    // idle: nothing to do
                  }
                });
    AtomicInteger open = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    Semaphore inFlight = new Semaphore(256); // stay within the listen backlog
    for (int i = 0; i < count; i++) {
      inFlight.acquire();
      bootstrap
          .connect("127.0.0.1", port)
          .addListener(
              (ChannelFuture connected) -> {
                inFlight.release();
                if (connected.isSuccess()) {
                  open.incrementAndGet();
                  connected.channel().closeFuture().addListener(closed -> open.decrementAndGet());
                } else {
                  failed.incrementAndGet();
                }
              });
    }
    inFlight.acquire(256);
    TimeUnit.MILLISECONDS.sleep(500);
    System.out.println("ready " + open.get() + " open, " + failed.get() + " failed");
  }
}
