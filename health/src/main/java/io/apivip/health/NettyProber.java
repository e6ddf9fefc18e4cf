package io.apivip.health;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Checks backends over the network with Netty, on an event loop group the caller owns and shares:
 * the daemon hands in its epoll or NIO group and channel class
 * (io.apivip.daemon.transport.Transports), tests NIO. Every check opens a fresh connection (a
 * pooled one would hide a dead listener) and closes it when the check ends, whatever the outcome; a
 * timer on the channel's event loop ends it at the timeout, so a server that accepts and never
 * answers costs one timeout, never a stuck check.
 *
 * <p>{@link #probe} reads certificate and token files when they have changed, so call it off event
 * loops (the {@link HealthMonitor} thread does); everything else runs on one event loop per check.
 */
public final class NettyProber implements Prober {

  private static final int MAX_BODY_CHARS = 1024;

  private final EventLoopGroup group;
  private final Class<? extends SocketChannel> channelClass;
  private final CheckSpec spec;
  private final Optional<TlsMaterial> tls;

  public NettyProber(
      EventLoopGroup group, Class<? extends SocketChannel> channelClass, CheckSpec spec) {
    this.group = Objects.requireNonNull(group);
    this.channelClass = Objects.requireNonNull(channelClass);
    this.spec = Objects.requireNonNull(spec);
    Optional<java.nio.file.Path> tokenFile =
        spec instanceof CheckSpec.Https https ? https.bearerTokenFile() : Optional.empty();
    this.tls = spec.tlsOptions().map(options -> new TlsMaterial(options, tokenFile));
  }

  public CheckSpec spec() {
    return spec;
  }

  @Override
  public CompletableFuture<CheckResult> probe(Backend backend) {
    SslContext context = null;
    Optional<String> token = Optional.empty();
    if (tls.isPresent()) {
      try {
        context = tls.get().context();
        token = tls.get().bearerToken();
      } catch (TlsMaterial.Unusable e) {
        return CompletableFuture.completedFuture(CheckResult.failed(e.getMessage(), Duration.ZERO));
      }
    }
    Attempt attempt = new Attempt(backend, group.next(), context, token);
    try {
      attempt.loop.execute(attempt::start);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.completedFuture(
          CheckResult.failed("event loop group is shut down", Duration.ZERO));
    }
    return attempt.result;
  }

  /** One check, confined to one event loop from {@link #start} on. */
  private final class Attempt {
    final Backend backend;
    final EventLoop loop;
    final SslContext sslContext;
    final Optional<String> bearerToken;
    final CompletableFuture<CheckResult> result = new CompletableFuture<>();
    long startNanos;
    String phase = "connecting";

    /** The presented certificate's notAfter, once a handshake completed. */
    Optional<Instant> certificateExpiry = Optional.empty();

    Channel channel;
    ScheduledFuture<?> deadline;

    Attempt(Backend backend, EventLoop loop, SslContext sslContext, Optional<String> bearerToken) {
      this.backend = backend;
      this.loop = loop;
      this.sslContext = sslContext;
      this.bearerToken = bearerToken;
    }

    void start() {
      startNanos = System.nanoTime();
      long timeoutMillis = spec.timeout().toMillis();
      deadline = loop.schedule(this::timedOut, timeoutMillis, TimeUnit.MILLISECONDS);
      Bootstrap bootstrap =
          new Bootstrap()
              .group(loop)
              .channel(channelClass)
              // Our deadline, not the connect timeout, ends a slow connect: one clock, one reason.
              .option(
                  ChannelOption.CONNECT_TIMEOUT_MILLIS,
                  (int) Math.min(Integer.MAX_VALUE, timeoutMillis + 1000))
              .option(ChannelOption.TCP_NODELAY, true)
              .handler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      pipeline(ch);
                    }
                  });
      try {
        ChannelFuture connect = bootstrap.connect(backend.address());
        channel = connect.channel();
        connect.addListener(
            done -> {
              if (done.isSuccess()) {
                connected();
              } else {
                fail(done.cause());
              }
            });
      } catch (RuntimeException e) {
        fail(e);
      }
    }

    private void pipeline(Channel ch) {
      if (sslContext != null) {
        String peerHost = serverName().orElse(backend.address().getAddress().getHostAddress());
        SslHandler ssl = sslContext.newHandler(ch.alloc(), peerHost, backend.address().getPort());
        ssl.setHandshakeTimeoutMillis(spec.timeout().toMillis() + 1000);
        ch.pipeline().addLast(ssl);
      }
      if (spec instanceof CheckSpec.Https) {
        if (sslContext != null) {
          ch.pipeline().addLast(new CloseNotifyEndsInput());
        }
        ch.pipeline().addLast(new HttpClientCodec()).addLast(new ResponseReader());
      }
      ch.pipeline().addLast(new FailureCatcher());
    }

    private Optional<String> serverName() {
      return spec.tlsOptions().flatMap(TlsOptions::serverName);
    }

    private void connected() {
      if (sslContext == null) {
        succeed("connected");
        return;
      }
      phase = "in TLS handshake";
      SslHandler ssl = channel.pipeline().get(SslHandler.class);
      ssl.handshakeFuture()
          .addListener(
              handshake -> {
                if (!handshake.isSuccess()) {
                  fail(handshake.cause());
                  return;
                }
                certificateExpiry = notAfter(ssl.engine().getSession());
                if (spec instanceof CheckSpec.Https https) {
                  phase = "waiting for the HTTP response";
                  channel
                      .writeAndFlush(request(https))
                      .addListener(
                          written -> {
                            if (!written.isSuccess()) {
                              fail(written.cause());
                            }
                          });
                } else {
                  succeed(
                      "TLS handshake completed (" + ssl.engine().getSession().getProtocol() + ")");
                }
              });
    }

    private FullHttpRequest request(CheckSpec.Https https) {
      FullHttpRequest request =
          new DefaultFullHttpRequest(
              HttpVersion.HTTP_1_1, HttpMethod.GET, https.path(), Unpooled.EMPTY_BUFFER);
      request
          .headers()
          .set(HttpHeaderNames.HOST, serverName().orElse(backend.hostPort()))
          .set(HttpHeaderNames.USER_AGENT, "apivip-health")
          .set(HttpHeaderNames.ACCEPT, "*/*")
          .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      bearerToken.ifPresent(
          token -> request.headers().set(HttpHeaderNames.AUTHORIZATION, "Bearer " + token));
      return request;
    }

    void responded(int status, String body) {
      CheckSpec.Https https = (CheckSpec.Https) spec;
      if (https.statuses().contains(status)) {
        succeed("HTTP " + status);
      } else {
        String summary = Reasons.summarize(body);
        complete(
            CheckResult.failed(
                summary.isEmpty() ? "HTTP " + status : "HTTP " + status + ": " + summary,
                elapsed()));
      }
    }

    private void timedOut() {
      complete(
          new CheckResult(
              CheckResult.Outcome.TIMEOUT,
              "timeout after " + Reasons.duration(spec.timeout()) + " " + phase,
              elapsed()));
    }

    private void succeed(String reason) {
      complete(CheckResult.healthy(reason, elapsed()));
    }

    void fail(Throwable cause) {
      complete(CheckResult.failed(Reasons.describe(cause), elapsed()));
    }

    void closedEarly() {
      complete(CheckResult.failed("connection closed " + phase, elapsed()));
    }

    /** The leaf certificate's end of validity; empty if the session has none (it always should). */
    private static Optional<Instant> notAfter(SSLSession session) {
      try {
        Certificate[] chain = session.getPeerCertificates();
        return chain.length > 0 && chain[0] instanceof X509Certificate leaf
            ? Optional.of(leaf.getNotAfter().toInstant())
            : Optional.empty();
      } catch (SSLPeerUnverifiedException e) {
        return Optional.empty();
      }
    }

    private Duration elapsed() {
      return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    /** The first outcome wins; the connection is closed whatever it was. */
    private void complete(CheckResult outcome) {
      if (result.isDone()) {
        return;
      }
      if (deadline != null) {
        deadline.cancel(false);
      }
      if (channel != null) {
        channel.close();
      }
      result.complete(
          new CheckResult(
              outcome.outcome(), outcome.reason(), outcome.duration(), certificateExpiry));
    }

    /** Reads the status and the start of the body; the rest is dropped. */
    private final class ResponseReader extends SimpleChannelInboundHandler<HttpObject> {
      private int status;
      private final StringBuilder body = new StringBuilder();

      @Override
      protected void channelRead0(ChannelHandlerContext ctx, HttpObject message) {
        if (message instanceof HttpResponse response) {
          status = response.status().code();
        }
        if (message instanceof HttpContent content && body.length() < MAX_BODY_CHARS) {
          int take = Math.min(content.content().readableBytes(), MAX_BODY_CHARS - body.length());
          body.append(
              content
                  .content()
                  .toString(content.content().readerIndex(), take, StandardCharsets.UTF_8));
        }
        if (message instanceof LastHttpContent) {
          responded(status, body.toString());
        }
      }
    }

    /**
     * A received TLS close_notify ends the response input, as it does for curl and Go clients. An
     * HTTP/1.0 body without Content-Length ends where the input ends; Netty's HTTP codec ends it on
     * a TCP close or on a {@link ChannelInputShutdownEvent}, but SslHandler only reports
     * close_notify ({@link SslCloseCompletionEvent}), so a server that then keeps TCP open (OpenSSL
     * {@code s_server -WWW}) would make every check time out. Proved by NettyProberTest against
     * CloseNotifyServer and OpenSSL s_server -WWW.
     */
    private static final class CloseNotifyEndsInput extends ChannelInboundHandlerAdapter {
      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        ctx.fireUserEventTriggered(event);
        if (event instanceof SslCloseCompletionEvent close && close.isSuccess()) {
          ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        }
      }
    }

    /** Last in the pipeline: any error or early close, or end of input, ends the check. */
    private final class FailureCatcher extends ChannelInboundHandlerAdapter {
      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(cause);
      }

      /** The HTTP codec has passed on all it could decode before this event; nothing more comes. */
      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent) {
          closedEarly();
        }
        ctx.fireUserEventTriggered(event);
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        closedEarly();
        ctx.fireChannelInactive();
      }
    }
  }
}
