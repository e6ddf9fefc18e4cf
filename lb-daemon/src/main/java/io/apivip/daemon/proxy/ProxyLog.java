package io.apivip.daemon.proxy;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Operator-facing log lines for conditions that repeat per connection: each is logged when it starts
 * and when it ends, never once per refused client. Called from every event loop.
 */
final class ProxyLog {

  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  private final AtomicBoolean refusingForNoBackend = new AtomicBoolean();
  private final AtomicBoolean refusingForLimit = new AtomicBoolean();

  void noBackend(ProxyListener listener, String reason) {
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
      log.warn("{} client connections open (proxy.max-connections); closing new ones (counted as outcome=limit)", maxConnections);
    }
  }

  void underLimit() {
    if (refusingForLimit.get() && refusingForLimit.compareAndSet(true, false)) {
      log.info("client connections below proxy.max-connections again; accepting new ones");
    }
  }
}
