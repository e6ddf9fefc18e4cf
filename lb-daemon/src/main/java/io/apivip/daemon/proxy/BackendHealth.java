package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings.Backend;

/**
 * What the proxy needs from health checking, and all it tells back. The daemon adapts the health
 * module onto this, so the proxy imports neither {@code io.apivip.health} nor the cluster.
 *
 * <p>Both methods are called on Netty event loops, for every new client connection and every failed
 * connect: they must be cheap and must never block (read a volatile snapshot, hand work to another
 * thread).
 */
public interface BackendHealth {

  /** Whether new connections may go to this apiserver now. */
  boolean isUp(Backend backend);

  /**
   * The proxy could not connect to this apiserver (refused, timed out, unreachable): a passive
   * signal that health may use to mark it down before its next check. The proxy has already tried
   * the next one.
   */
  void connectFailed(Backend backend, Throwable cause);
}
