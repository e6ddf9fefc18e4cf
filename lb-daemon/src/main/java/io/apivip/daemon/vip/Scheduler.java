package io.apivip.daemon.vip;

import java.time.Duration;

/**
 * The single thread that owns the VIP's state and does its kernel work, and the clock it runs by.
 * Behind an interface so tests can run the manager on virtual time.
 */
interface Scheduler {

  /** A scheduled task that may still be cancelled. */
  interface Cancellable {
    void cancel();
  }

  long nanoTime();

  /** Runs {@code task} on the thread soon; ignored once shut down. */
  void execute(Runnable task);

  Cancellable schedule(Duration delay, Runnable task);

  boolean inSchedulerThread();

  /** Stops the thread after the tasks already queued, waiting up to {@code timeout}. */
  void shutdown(Duration timeout);
}
