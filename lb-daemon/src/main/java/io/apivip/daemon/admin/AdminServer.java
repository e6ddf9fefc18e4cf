package io.apivip.daemon.admin;

import io.apivip.daemon.transport.Transports;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's admin HTTP server: {@code GET /status}, {@code /healthz}, {@code /metrics}, and
 * {@code POST /drain} and {@code /resume}. An optional second listener serves only metrics and
 * health, so Prometheus can scrape from the network while the actions stay on loopback.
 */
public final class AdminServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  private static final int MAX_REQUEST_BYTES = 16 * 1024;
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final AdminApi api;
  private final PrometheusMeterRegistry registry;
  private final List<Channel> channels = new ArrayList<>();

  public AdminServer(AdminApi api, PrometheusMeterRegistry registry) {
    this.api = api;
    this.registry = registry;
  }

  /**
   * Binds the admin listener and, when given, the metrics-only listener; throws when a port is
   * taken, so the daemon fails at start-up rather than running without its admin API.
   */
  public void start(
      InetSocketAddress admin, Optional<InetSocketAddress> metricsOnly, EventLoopGroup group, Transports transports)
      throws InterruptedException {
    channels.add(bind(admin, true, group, transports));
    if (metricsOnly.isPresent()) {
      channels.add(bind(metricsOnly.get(), false, group, transports));
    }
  }

  /** The address actually bound by the admin listener (useful when the port was 0). */
  public InetSocketAddress adminAddress() {
    return (InetSocketAddress) channels.get(0).localAddress();
  }

  /** The address of the metrics-only listener, when there is one. */
  public Optional<InetSocketAddress> metricsAddress() {
    return channels.size() > 1 ? Optional.of((InetSocketAddress) channels.get(1).localAddress()) : Optional.empty();
  }

  private Channel bind(InetSocketAddress address, boolean actions, EventLoopGroup group, Transports transports)
      throws InterruptedException {
    Channel channel =
        new ServerBootstrap()
            .group(group)
            .channel(transports.serverChannel())
            .childHandler(
                new ChannelInitializer<>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline()
                        .addLast(new ReadTimeoutHandler(30))
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                        .addLast(new Handler(actions));
                  }
                })
            .bind(address)
            .sync()
            .channel();
    log.info("admin {} listening on {}", actions ? "API" : "metrics", channel.localAddress());
    return channel;
  }

  @Override
  public void close() {
    for (Channel channel : channels) {
      channel.close().syncUninterruptibly();
    }
    channels.clear();
  }

  /** Answers one request; the routes are few enough to read in one switch. */
  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private final boolean actions;

    Handler(boolean actions) {
      this.actions = actions;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      if (!request.decoderResult().isSuccess()) {
        respond(ctx, request, HttpResponseStatus.BAD_REQUEST, "text/plain", "malformed request\n");
        return;
      }
      String path = new QueryStringDecoder(request.uri()).path();
      HttpMethod method = request.method();
      switch (path) {
        case "/healthz" -> {
          respond(ctx, request, HttpResponseStatus.OK, "text/plain", "ok\n");
          return;
        }
        case "/metrics" -> {
          if (!method.equals(HttpMethod.GET)) {
            notAllowed(ctx, request, "GET");
            return;
          }
          respond(ctx, request, HttpResponseStatus.OK, PROMETHEUS_TEXT, registry.scrape());
          return;
        }
        default -> {
          // falls through to the actions below
        }
      }
      if (!actions) {
        respond(ctx, request, HttpResponseStatus.NOT_FOUND, "text/plain", "this listener serves only /metrics and /healthz\n");
        return;
      }
      switch (path) {
        case "/status" -> {
          if (!method.equals(HttpMethod.GET)) {
            notAllowed(ctx, request, "GET");
            return;
          }
          respond(ctx, request, HttpResponseStatus.OK, "application/json", Json.write(api.status()));
        }
        case "/drain", "/resume" -> {
          if (!method.equals(HttpMethod.POST)) {
            notAllowed(ctx, request, "POST");
            return;
          }
          log.info("{} requested through the admin API from {}", path.substring(1), ctx.channel().remoteAddress());
          // The node takes the request in on its own thread; answer when it has, without blocking this loop.
          boolean keepAlive = HttpUtil.isKeepAlive(request);
          boolean force = new QueryStringDecoder(request.uri()).parameters().getOrDefault("force", List.of()).contains("true");
          (path.equals("/drain") ? api.drain(force) : api.resume()).whenComplete((report, failure) -> {
            Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
            if (cause instanceof DrainRefused refused) {
              send(ctx, keepAlive, response(HttpResponseStatus.CONFLICT, "text/plain", refused.getMessage() + "\n"));
            } else if (failure != null) {
              send(ctx, keepAlive, response(HttpResponseStatus.INTERNAL_SERVER_ERROR, "text/plain", failure + "\n"));
            } else {
              send(ctx, keepAlive, response(HttpResponseStatus.OK, "application/json", Json.write(report)));
            }
          });
        }
        default -> respond(ctx, request, HttpResponseStatus.NOT_FOUND, "text/plain",
            "unknown path; try GET /status, /healthz, /metrics or POST /drain, /resume\n");
      }
    }

    private void notAllowed(ChannelHandlerContext ctx, FullHttpRequest request, String allowed) {
      FullHttpResponse response = response(HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "use " + allowed + "\n");
      response.headers().set(HttpHeaderNames.ALLOW, allowed);
      send(ctx, request, response);
    }

    private void respond(ChannelHandlerContext ctx, FullHttpRequest request, HttpResponseStatus status, String type, String body) {
      send(ctx, request, response(status, type, body));
    }

    private FullHttpResponse response(HttpResponseStatus status, String type, String body) {
      FullHttpResponse response =
          new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
      return response;
    }

    private void send(ChannelHandlerContext ctx, FullHttpRequest request, FullHttpResponse response) {
      send(ctx, HttpUtil.isKeepAlive(request), response);
    }

    private void send(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse response) {
      if (keepAlive) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        ctx.writeAndFlush(response);
      } else {
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("admin connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }
}
