package io.apivip.daemon.admin;

import io.apivip.daemon.transport.Transports;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.PeerCredentials;
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
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's admin HTTP server. On loopback TCP it serves what anyone on the node may read: {@code
 * GET /status}, {@code /healthz}, {@code /metrics}. The state-changing {@code POST /drain} and
 * {@code /resume} are served only on a Unix domain socket, to root and the operators' group,
 * checked on the peer's credentials ({@code SO_PEERCRED}); the socket file itself is mode 0660,
 * group operators. An optional further listener serves only metrics and health, so Prometheus can
 * scrape from the network.
 */
public final class AdminServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  private static final int MAX_REQUEST_BYTES = 16 * 1024;
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  /** What a listener serves. */
  enum Access {
    /** /metrics and /healthz. */
    METRICS,
    /** What anyone on the node may read: /status too. */
    READ,
    /** The actions as well, for callers that {@link Operators} allows. */
    OPERATE
  }

  private final AdminApi api;
  private final PrometheusMeterRegistry registry;
  private final Operators operators;
  private final Counter refusals;
  private final List<Channel> channels = new ArrayList<>();
  private Optional<Channel> socketChannel = Optional.empty();
  private Optional<Path> socketPath = Optional.empty();
  private EventLoopGroup socketGroup;

  public AdminServer(AdminApi api, PrometheusMeterRegistry registry, Operators operators) {
    this.api = api;
    this.registry = registry;
    this.operators = operators;
    this.refusals =
        Counter.builder("apivip.admin.refused")
            .description(
                "State-changing admin requests refused: not on the admin socket, or not an"
                    + " operator")
            .register(registry);
  }

  /**
   * Binds the admin listener, the admin socket when given, and the metrics-only listener when
   * given; throws when a port or the socket's path is unusable, so the daemon fails at start-up
   * rather than running without its admin API.
   */
  public void start(
      InetSocketAddress admin,
      Optional<Path> socket,
      Optional<InetSocketAddress> metricsOnly,
      EventLoopGroup group,
      Transports transports)
      throws InterruptedException, IOException {
    channels.add(bind(admin, Access.READ, group, transports));
    if (socket.isPresent()) {
      bindSocket(socket.get());
    }
    if (metricsOnly.isPresent()) {
      channels.add(bind(metricsOnly.get(), Access.METRICS, group, transports));
    }
  }

  /** The admin socket's path, when it is bound. */
  public Optional<Path> socketPath() {
    return socketPath;
  }

  /**
   * Binds the socket on an epoll loop of its own: only epoll reports a domain socket peer's
   * credentials, and the proxy may run on io_uring or NIO. A file left by a crash is replaced.
   */
  private void bindSocket(Path path) throws InterruptedException, IOException {
    if (!Epoll.isAvailable()) {
      log.warn(
          "the admin socket {} needs the epoll transport, which is not available here ({}); drain"
              + " and resume are unavailable",
          path,
          Epoll.unavailabilityCause());
      return;
    }
    Path directory = path.toAbsolutePath().getParent();
    if (directory == null || !Files.isDirectory(directory)) {
      throw new IOException(
          "admin.socket: directory "
              + directory
              + " does not exist (under systemd, RuntimeDirectory=apivip makes /run/apivip)");
    }
    if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      if (!"s".equals(fileType(path))) {
        throw new IOException(
            "admin.socket: " + path + " exists and is not a socket; refusing to replace it");
      }
      Files.delete(path);
    }
    socketGroup =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("apivip-admin", true), EpollIoHandler.newFactory());
    Channel channel =
        new ServerBootstrap()
            .group(socketGroup)
            .channel(EpollServerDomainSocketChannel.class)
            .childHandler(initializer(Access.OPERATE))
            .bind(new DomainSocketAddress(path.toString()))
            .sync()
            .channel();
    socketChannel = Optional.of(channel);
    socketPath = Optional.of(path);
    restrict(path);
    log.info(
        "admin socket listening on {} (drain, resume: root and group {})",
        path,
        operators.groupName());
  }

  /** Mode 0660, group operators: the file system refuses others before the daemon has to. */
  private void restrict(Path path) {
    try {
      Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw----"));
    } catch (IOException e) {
      log.warn("cannot set the mode of the admin socket {}: {}", path, e.toString());
    }
    try {
      GroupPrincipal group =
          path.getFileSystem()
              .getUserPrincipalLookupService()
              .lookupPrincipalByGroupName(operators.groupName());
      Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setGroup(group);
    } catch (IOException | UnsupportedOperationException e) {
      log.warn(
          "cannot give the admin socket {} to group {} ({}); only root and the daemon's user can"
              + " use it",
          path,
          operators.groupName(),
          e.toString());
    }
  }

  private static String fileType(Path path) {
    try {
      Object mode = Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      return ((Integer) mode & 0170000) == 0140000 ? "s" : "-";
    } catch (IOException | UnsupportedOperationException e) {
      return "?";
    }
  }

  /** The address actually bound by the admin listener (useful when the port was 0). */
  public InetSocketAddress adminAddress() {
    return (InetSocketAddress) channels.get(0).localAddress();
  }

  /** The address of the metrics-only listener, when there is one. */
  public Optional<InetSocketAddress> metricsAddress() {
    return channels.size() > 1
        ? Optional.of((InetSocketAddress) channels.get(1).localAddress())
        : Optional.empty();
  }

  private Channel bind(
      InetSocketAddress address, Access access, EventLoopGroup group, Transports transports)
      throws InterruptedException {
    Channel channel =
        new ServerBootstrap()
            .group(group)
            .channel(transports.serverChannel())
            .childHandler(initializer(access))
            .bind(address)
            .sync()
            .channel();
    log.info(
        "admin {} listening on {}",
        access == Access.READ ? "API (read-only)" : "metrics",
        channel.localAddress());
    return channel;
  }

  private ChannelInitializer<Channel> initializer(Access access) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.pipeline()
            .addLast(new ReadTimeoutHandler(30))
            .addLast(new HttpServerCodec())
            .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
            .addLast(new Handler(access));
      }
    };
  }

  @Override
  public void close() {
    for (Channel channel : channels) {
      channel.close().syncUninterruptibly();
    }
    channels.clear();
    socketChannel.ifPresent(channel -> channel.close().syncUninterruptibly());
    socketChannel = Optional.empty();
    if (socketGroup != null) {
      socketGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      socketGroup = null;
    }
    socketPath.ifPresent(
        path -> {
          try {
            Files.deleteIfExists(path);
          } catch (IOException e) {
            log.debug("cannot remove the admin socket {}: {}", path, e.toString());
          }
        });
  }

  /** Answers one request; the routes are few enough to read in one switch. */
  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private final Access access;

    Handler(Access access) {
      this.access = access;
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
      if (access == Access.METRICS) {
        respond(
            ctx,
            request,
            HttpResponseStatus.NOT_FOUND,
            "text/plain",
            "this listener serves only /metrics and /healthz\n");
        return;
      }
      switch (path) {
        case "/status" -> {
          if (!method.equals(HttpMethod.GET)) {
            notAllowed(ctx, request, "GET");
            return;
          }
          respond(
              ctx, request, HttpResponseStatus.OK, "application/json", Json.write(api.status()));
        }
        case "/drain", "/resume" -> {
          if (!method.equals(HttpMethod.POST)) {
            notAllowed(ctx, request, "POST");
            return;
          }
          String action = path.substring(1);
          Optional<String> refusal = refusal(ctx.channel(), action);
          if (refusal.isPresent()) {
            refusals.increment();
            respond(ctx, request, HttpResponseStatus.FORBIDDEN, "text/plain", refusal.get() + "\n");
            return;
          }
          // The node takes the request in on its own thread; answer when it has, without blocking
          // this loop.
          boolean keepAlive = HttpUtil.isKeepAlive(request);
          boolean force =
              new QueryStringDecoder(request.uri())
                  .parameters()
                  .getOrDefault("force", List.of())
                  .contains("true");
          (path.equals("/drain") ? api.drain(force) : api.resume())
              .whenComplete(
                  (report, failure) -> {
                    Throwable cause =
                        failure instanceof CompletionException ? failure.getCause() : failure;
                    if (cause instanceof DrainRefused refused) {
                      send(
                          ctx,
                          keepAlive,
                          response(
                              HttpResponseStatus.CONFLICT,
                              "text/plain",
                              refused.getMessage() + "\n"));
                    } else if (failure != null) {
                      send(
                          ctx,
                          keepAlive,
                          response(
                              HttpResponseStatus.INTERNAL_SERVER_ERROR,
                              "text/plain",
                              failure + "\n"));
                    } else {
                      send(
                          ctx,
                          keepAlive,
                          response(HttpResponseStatus.OK, "application/json", Json.write(report)));
                    }
                  });
        }
        default ->
            respond(
                ctx,
                request,
                HttpResponseStatus.NOT_FOUND,
                "text/plain",
                "unknown path; try GET /status, /healthz, /metrics or POST /drain, /resume\n");
      }
    }

    /**
     * Why this caller may not take this action, or empty when it may; a refusal is logged with who
     * asked.
     */
    private Optional<String> refusal(Channel channel, String action) {
      if (access != Access.OPERATE) {
        log.warn(
            "{} refused: asked over TCP from {}, where the admin API is read-only",
            action,
            channel.remoteAddress());
        return Optional.of(
            action
                + " is served only on the admin socket, to root and group "
                + operators.groupName()
                + socketPath.map(path -> " (" + path + "); run: sudo apivip " + action).orElse(""));
      }
      PeerCredentials credentials;
      try {
        credentials = ((EpollDomainSocketChannel) channel).peerCredentials();
      } catch (IOException e) {
        log.warn("{} refused: the caller's credentials cannot be read: {}", action, e.toString());
        return Optional.of(action + " refused: the caller's credentials cannot be read");
      }
      Operators.Peer peer =
          new Operators.Peer(
              credentials.pid(),
              credentials.uid(),
              credentials.gids().length > 0 ? credentials.gids()[0] : -1);
      Operators.Decision decision = operators.decide(peer);
      if (!decision.allowed()) {
        log.warn("{} refused: {} {}", action, operators.describe(peer), decision.reason());
        return Optional.of(
            action
                + " refused: "
                + operators.describe(peer)
                + " "
                + decision.reason()
                + "; ask an administrator to run: usermod -aG "
                + operators.groupName()
                + " USER");
      }
      log.info(
          "{} requested through the admin socket by {} ({})",
          action,
          operators.describe(peer),
          decision.reason());
      return Optional.empty();
    }

    private void notAllowed(ChannelHandlerContext ctx, FullHttpRequest request, String allowed) {
      FullHttpResponse response =
          response(HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "use " + allowed + "\n");
      response.headers().set(HttpHeaderNames.ALLOW, allowed);
      send(ctx, request, response);
    }

    private void respond(
        ChannelHandlerContext ctx,
        FullHttpRequest request,
        HttpResponseStatus status,
        String type,
        String body) {
      send(ctx, request, response(status, type, body));
    }

    private FullHttpResponse response(HttpResponseStatus status, String type, String body) {
      FullHttpResponse response =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
      return response;
    }

    private void send(
        ChannelHandlerContext ctx, FullHttpRequest request, FullHttpResponse response) {
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
      log.debug(
          "admin connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }
}
