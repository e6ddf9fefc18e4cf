package io.apivip.daemon.admin;

/**
 * What the admin server asks of the daemon. Called on an event loop thread: implementations answer
 * from snapshots and hand actions to their owners without blocking.
 */
public interface AdminApi {

  StatusReport status();

  /** Starts a planned handoff (maintenance on); answers the status right after. */
  StatusReport drain();

  /** Ends maintenance; answers the status right after. */
  StatusReport resume();
}
