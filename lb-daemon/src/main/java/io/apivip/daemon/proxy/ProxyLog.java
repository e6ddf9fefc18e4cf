package io.apivip.daemon.proxy;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Operator-facing log lines for conditions that repeat per connection: each is logged when it
 * starts and when it ends, never once per refused client. Called from every event loop.
 */
final class ProxyLog {

  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  private static final long QUIET_NANOS = java.util.concurrent.TimeUnit.MINUTES.toNanos(1);

  private final AtomicBoolean refusingForNoBackend = new AtomicBoolean();
  private final AtomicBoolean refusingForSource = new AtomicBoolean();
  private final java.util.concurrent.atomic.AtomicLong firstByteTimeouts =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong firstByteReported =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - QUIET_NANOS);
  private final java.util.concurrent.atomic.AtomicLong halfCloseTimeouts =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong halfCloseReported =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - QUIET_NANOS);
  private final AtomicBoolean refusingForLimit = new AtomicBoolean();

  void noBackend(IndexedListener listener, String reason) {
    if (!refusingForNoBackend.get() && refusingForNoBackend.compareAndSet(false, true)) {
      log.warn(
          "closing new client connections on {}: {} (counted as outcome=no-backend)",
          ProxyStatus.render(listener.settings().address()),
          reason);
    }
  }

  void backendReached() {
    if (refusingForNoBackend.get() && refusingForNoBackend.compareAndSet(true, false)) {
      log.info("an apiserver accepts connections again; relaying new client connections");
    }
  }

  void overLimit(int maxConnections) {
    if (!refusingForLimit.get() && refusingForLimit.compareAndSet(false, true)) {
      log.warn(
          "{} client connections open (proxy.max-connections); closing new ones (counted as"
              + " outcome=limit)",
          maxConnections);
    }
  }

  void underLimit() {
    if (refusingForLimit.get() && refusingForLimit.compareAndSet(true, false)) {
      log.info("client connections below proxy.max-connections again; accepting new ones");
    }
  }

  /** A source refused for its limit; logged when the first source reaches it. */
  void sourceLimited(java.net.InetAddress source, int max) {
    if (!refusingForSource.get() && refusingForSource.compareAndSet(false, true)) {
      log.warn(
          "client {} holds {} connections (proxy.max-connections-per-source); closing its new ones"
              + " and those of any other client at the limit (counted as outcome=source-limit,"
              + " gauge apivip_proxy_sources_limited)",
          source.getHostAddress(),
          max);
    }
  }

  /** No source is at its limit any more. */
  void noSourceLimited() {
    if (refusingForSource.get() && refusingForSource.compareAndSet(true, false)) {
      log.info("no client is at proxy.max-connections-per-source any more");
    }
  }

  /**
   * Clients closed for sending nothing: one line per minute at most, with the count since the last.
   */
  void firstByteTimeout(java.time.Duration timeout) {
    long count = firstByteTimeouts.incrementAndGet();
    long last = firstByteReported.get();
    long now = System.nanoTime();
    if (now - last >= QUIET_NANOS && firstByteReported.compareAndSet(last, now)) {
      firstByteTimeouts.addAndGet(-count);
      log.warn(
          "closed {} client connections that sent nothing within proxy.first-byte-timeout ({}) in"
              + " the last minute or more (counted as outcome=first-byte-timeout)",
          count,
          timeout);
    }
  }

  /** Connections closed for staying half-closed: one line per minute at most. */
  void halfCloseTimeout(java.time.Duration timeout) {
    long count = halfCloseTimeouts.incrementAndGet();
    long last = halfCloseReported.get();
    long now = System.nanoTime();
    if (now - last >= QUIET_NANOS && halfCloseReported.compareAndSet(last, now)) {
      halfCloseTimeouts.addAndGet(-count);
      log.warn(
          "closed {} connections that stayed half-closed for proxy.half-close-timeout ({})"
              + " (apivip_proxy_half_close_timeouts_total)",
          count,
          timeout);
    }
  }
}
