package io.apivip.daemon.node;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The one thread that runs the {@link NodeController}, and the clock it runs by. The daemon's is
 * one Netty event loop; tests use one on virtual time.
 */
public interface Loop {

  /** A timer that may still be cancelled. */
  interface Timer {
    void cancel();
  }

  /** Monotonic nanoseconds. */
  long nanoTime();

  /** Whether the calling thread is this loop's thread. */
  boolean inLoop();

  /**
   * Runs {@code task} on the loop soon, after the tasks posted before it; dropped once the loop is
   * shut down.
   */
  void execute(Runnable task);

  Timer schedule(Duration delay, Runnable task);

  /** The loop of one Netty executor (an event loop of a group with one thread). */
  static Loop on(EventExecutor executor) {
    return new Loop() {
      @Override
      public long nanoTime() {
        return System.nanoTime();
      }

      @Override
      public boolean inLoop() {
        return executor.inEventLoop();
      }

      @Override
      public void execute(Runnable task) {
        try {
          executor.execute(task);
        } catch (RejectedExecutionException e) {
          // The daemon is stopping: events from parts that still run (health, VIP) have no one to
          // act on them.
        }
      }

      @Override
      public Timer schedule(Duration delay, Runnable task) {
        try {
          ScheduledFuture<?> future =
              executor.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
          return () -> future.cancel(false);
        } catch (RejectedExecutionException e) {
          return () -> {};
        }
      }
    };
  }
}
