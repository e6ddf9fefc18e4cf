package io.apivip.daemon.proxy;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's graceful close at shutdown: stops accepting, lets open connections finish for up to
 * {@code proxy.drain-grace}, then closes what is left. Not the node's maintenance drain ({@code
 * apivip drain}), which moves the VIP and keeps the proxy serving.
 */
final class Shutdown {

  /** Under TcpProxy's name, as the proxy's other lines for operators. */
  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  private final Duration grace;
  private final EventLoopGroup loops;
  private final Listeners listeners;
  private final Admission admission;
  private final AtomicBoolean started = new AtomicBoolean();

  Shutdown(Duration grace, EventLoopGroup loops, Listeners listeners, Admission admission) {
    this.grace = grace;
    this.loops = loops;
    this.listeners = listeners;
    this.admission = admission;
  }

  /** See {@link TcpProxy#closeGracefully}. */
  CompletableFuture<Void> closeGracefully() {
    CompletableFuture<Void> closed = admission.allClosed();
    if (!started.compareAndSet(false, true)) {
      return closed;
    }
    admission.refuseNew();
    log.info(
        "closing gracefully: no longer accepting; {} client connections may finish within {}",
        admission.open(),
        grace);
    ScheduledFuture<?> graceOver =
        loops.next().schedule(this::closeRemaining, grace.toNanos(), TimeUnit.NANOSECONDS);
    closed.whenComplete((done, failure) -> graceOver.cancel(false));
    listeners.close(admission::listenersClosed);
    return closed;
  }

  private void closeRemaining() {
    int open = admission.open();
    if (open > 0) {
      log.info(
          "proxy.drain-grace of {} is over: closing {} client connections still open", grace, open);
      admission.closeAll();
    }
  }
}
