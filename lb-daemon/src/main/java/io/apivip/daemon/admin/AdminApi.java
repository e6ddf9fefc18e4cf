package io.apivip.daemon.admin;

import java.util.concurrent.CompletableFuture;

/**
 * What the admin server asks of the daemon. Called on an event loop thread: implementations answer
 * from snapshots and hand actions to their owners without blocking.
 *
 * <p>"Drain" and "resume" are the operator's words (the HTTP paths, {@code apivip drain}): they
 * turn this node's maintenance on and off, a planned handoff; they are not the proxy's shutdown
 * drain.
 */
public interface AdminApi {

  StatusReport status();

  /**
   * Maintenance on (starts a planned handoff); completes with the status once the node has taken it
   * in, or fails with {@link DrainRefused} when the drain is not safe now and {@code force} is
   * false.
   */
  CompletableFuture<StatusReport> drain(boolean force);

  /** Maintenance off; completes with the status once the node has taken it in. */
  CompletableFuture<StatusReport> resume();
}
