package io.apivip.daemon.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The first handler of an admitted client: closes it if its first bytes do not come within {@code
 * proxy.first-byte-timeout} of the accept (a TLS client sends its ClientHello at once), so a client
 * that connects and sends nothing holds its slot, and its apiserver connection, only that long.
 * Passes everything on and steps aside at the first byte.
 */
final class FirstBytes extends ChannelInboundHandlerAdapter {

  private final Duration timeout;
  private final ProxyMetrics metrics;
  private final ProxyLog events;
  private ScheduledFuture<?> deadline;

  FirstBytes(Duration timeout, ProxyMetrics metrics, ProxyLog events) {
    this.timeout = timeout;
    this.metrics = metrics;
    this.events = events;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    deadline =
        ctx.executor()
            .schedule(
                () -> {
                  metrics.firstByteTimeout();
                  events.firstByteTimeout(timeout);
                  ctx.close();
                },
                timeout.toNanos(),
                TimeUnit.NANOSECONDS);
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object message) {
    cancel();
    ctx.pipeline().remove(this);
    ctx.fireChannelRead(message);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }

  private void cancel() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }
}
