package io.apivip.lab.apiserver;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLSession;

/**
 * Answers HTTP requests like kube-apiserver does, as far as health checks and the proxy can tell.
 */
final class ApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

  /** kube-apiserver's verbose /readyz when the datastore is gone (abridged). */
  static final String READYZ_FAILED =
      """
      [+]ping ok
      [+]log ok
      [-]etcd failed: reason withheld
      [+]informer-sync ok
      [+]poststarthook/start-apiserver-admission-initializer ok
      readyz check failed
      """;

  static final String VERSION_JSON =
      """
      {
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.3",
        "gitCommit": "32cc146f75aad04beaaa245a7157eb35063a9f99",
        "gitTreeState": "clean",
        "buildDate": "2025-03-11T19:52:21Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64"
      }
      """;

  static final long WATCH_EVENT_INTERVAL_MILLIS = 100;

  private final String name;

  /** kube-apiserver's answer to a request without valid credentials when anonymous auth is off. */
  static final String UNAUTHORIZED_JSON =
      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
          + "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}\n";

  private final Supplier<Mode> mode;
  private final Gate gate;

  /** Decides whether a request gets an answer or kube-apiserver's 401. */
  @FunctionalInterface
  interface Gate {
    /**
     * @param session the TLS session the request came on (its peer certificates, if any)
     * @param authorization the request's Authorization header, or null
     */
    boolean admits(SSLSession session, String authorization);
  }

  ApiHandler(String name, Supplier<Mode> mode, Gate gate) {
    this.name = name;
    this.mode = mode;
    this.gate = gate;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    QueryStringDecoder uri = new QueryStringDecoder(request.uri());
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    Mode now = mode.get();
    if (now instanceof Mode.Hang) {
      return;
    }
    SslHandler tls = ctx.pipeline().get(SslHandler.class);
    if (!gate.admits(
        tls.engine().getSession(), request.headers().get(HttpHeaderNames.AUTHORIZATION))) {
      respond(
          ctx, HttpResponseStatus.UNAUTHORIZED, "application/json", UNAUTHORIZED_JSON, keepAlive);
      return;
    }
    if (now instanceof Mode.Slow slow) {
      ctx.executor()
          .schedule(
              () -> answer(ctx, uri, keepAlive, now),
              slow.delay().toMillis(),
              TimeUnit.MILLISECONDS);
    } else {
      answer(ctx, uri, keepAlive, now);
    }
  }

  private void answer(
      ChannelHandlerContext ctx, QueryStringDecoder uri, boolean keepAlive, Mode now) {
    if (!ctx.channel().isActive()) {
      return;
    }
    if (uri.parameters().getOrDefault("watch", List.of()).contains("true")) {
      watch(ctx);
      return;
    }
    switch (uri.path()) {
      case "/readyz" -> {
        if (now instanceof Mode.FailReadyz) {
          respond(
              ctx,
              HttpResponseStatus.INTERNAL_SERVER_ERROR,
              "text/plain; charset=utf-8",
              READYZ_FAILED,
              keepAlive);
        } else {
          respond(ctx, HttpResponseStatus.OK, "text/plain; charset=utf-8", "ok", keepAlive);
        }
      }
      case "/livez" ->
          respond(ctx, HttpResponseStatus.OK, "text/plain; charset=utf-8", "ok", keepAlive);
      case "/version" ->
          respond(ctx, HttpResponseStatus.OK, "application/json", VERSION_JSON, keepAlive);
      case "/openapi/v2" -> respondLarge(ctx, keepAlive);
      default -> respond(ctx, HttpResponseStatus.OK, "application/json", fixedBody(), keepAlive);
    }
  }

  /**
   * The body of every request that is not a health or version probe: enough for a relay test to
   * check.
   */
  String fixedBody() {
    return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Success\","
        + "\"message\":\"stand-in kube-apiserver "
        + name
        + "\"}\n";
  }

  private void respond(
      ChannelHandlerContext ctx,
      HttpResponseStatus status,
      String contentType,
      String body,
      boolean keepAlive) {
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
    response.headers().set(StandInApiServer.BACKEND_HEADER, name);
    HttpUtil.setContentLength(response, response.content().readableBytes());
    HttpUtil.setKeepAlive(response, keepAlive);
    var written = ctx.writeAndFlush(response);
    if (!keepAlive) {
      written.addListener(ChannelFutureListener.CLOSE);
    }
  }

  /**
   * The size of the stand-in's /openapi/v2, as large as a real cluster's: slow readers of it test
   * the relay's memory.
   */
  public static final int OPENAPI_BYTES = 8 << 20;

  private static final byte[] OPENAPI = openApi();

  private static byte[] openApi() {
    byte[] body = new byte[OPENAPI_BYTES];
    java.util.Arrays.fill(body, (byte) ' ');
    body[0] = '{';
    body[OPENAPI_BYTES - 2] = '}';
    body[OPENAPI_BYTES - 1] = '\n';
    return body;
  }

  /**
   * Writes /openapi/v2 a chunk at a time, the next once the last is in the socket, as a Go server's
   * blocking writes do: a client that does not read holds one chunk here, not the whole body.
   */
  private void respondLarge(ChannelHandlerContext ctx, boolean keepAlive) {
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
    response.headers().set(StandInApiServer.BACKEND_HEADER, name);
    HttpUtil.setContentLength(response, OPENAPI_BYTES);
    HttpUtil.setKeepAlive(response, keepAlive);
    ctx.write(response);
    writeChunk(ctx, 0, keepAlive);
  }

  private static final int OPENAPI_CHUNK = 64 << 10;

  private void writeChunk(ChannelHandlerContext ctx, int offset, boolean keepAlive) {
    int length = Math.min(OPENAPI_CHUNK, OPENAPI_BYTES - offset);
    boolean last = offset + length == OPENAPI_BYTES;
    var content = Unpooled.wrappedBuffer(OPENAPI, offset, length);
    var written =
        ctx.writeAndFlush(
            last
                ? new io.netty.handler.codec.http.DefaultLastHttpContent(content)
                : new DefaultHttpContent(content));
    if (last) {
      if (!keepAlive) {
        written.addListener(ChannelFutureListener.CLOSE);
      }
      return;
    }
    written.addListener(
        done -> {
          if (done.isSuccess()) {
            writeChunk(ctx, offset + length, keepAlive);
          }
        });
  }

  private boolean watching;

  /** A chunked response that never ends: one JSON event line per tick until the client closes. */
  private void watch(ChannelHandlerContext ctx) {
    watching = true;
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
    response.headers().set(StandInApiServer.BACKEND_HEADER, name);
    response.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    ctx.writeAndFlush(response);
    long[] resourceVersion = {0};
    ScheduledFuture<?> ticks =
        ctx.executor()
            .scheduleAtFixedRate(
                () -> {
                  // A watcher that stops reading falls behind; it does not make us buffer without
                  // bound.
                  if (ctx.channel().isWritable()) {
                    String event = watchEvent(++resourceVersion[0]);
                    ctx.writeAndFlush(
                        new DefaultHttpContent(
                            Unpooled.copiedBuffer(event, StandardCharsets.UTF_8)));
                  }
                },
                0,
                WATCH_EVENT_INTERVAL_MILLIS,
                TimeUnit.MILLISECONDS);
    ctx.channel().closeFuture().addListener(closed -> ticks.cancel(false));
  }

  private String watchEvent(long resourceVersion) {
    return "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\","
        + "\"metadata\":{\"name\":\"apivip-watch\",\"namespace\":\"default\",\"resourceVersion\":\""
        + resourceVersion
        + "\"},\"data\":{\"backend\":\""
        + name
        + "\"}}}\n";
  }

  /**
   * The client ended its side: as kube-apiserver, end the response (a watch gets its last chunk)
   * and close through the pipeline, so TLS says goodbye with close_notify: a clean end for the
   * client.
   */
  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof ChannelInputShutdownEvent) {
      if (watching) {
        ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
            .addListener(ChannelFutureListener.CLOSE);
      } else {
        ctx.close();
      }
      return;
    }
    ctx.fireUserEventTriggered(event);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
