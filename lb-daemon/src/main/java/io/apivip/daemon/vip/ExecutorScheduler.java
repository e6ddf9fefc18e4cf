package io.apivip.daemon.vip;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The production {@link Scheduler}: one daemon thread of its own, so callers never wait on the
 * kernel.
 */
final class ExecutorScheduler implements Scheduler {

  private static final Logger log = LoggerFactory.getLogger(ExecutorScheduler.class);

  private final ScheduledExecutorService executor;
  private volatile Thread thread;

  ExecutorScheduler(String threadName) {
    ScheduledThreadPoolExecutor pool =
        new ScheduledThreadPoolExecutor(
            1,
            runnable -> {
              Thread made = new Thread(runnable, threadName);
              made.setDaemon(true);
              thread = made;
              return made;
            });
    pool.setRemoveOnCancelPolicy(true);
    pool.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    this.executor = pool;
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public void execute(Runnable task) {
    try {
      executor.execute(guarded(task));
    } catch (RejectedExecutionException shutDown) {
      log.debug("VIP thread stopped; task dropped");
    }
  }

  @Override
  public Cancellable schedule(Duration delay, Runnable task) {
    try {
      var future = executor.schedule(guarded(task), delay.toNanos(), TimeUnit.NANOSECONDS);
      return () -> future.cancel(false);
    } catch (RejectedExecutionException shutDown) {
      return () -> {};
    }
  }

  @Override
  public boolean inSchedulerThread() {
    return Thread.currentThread() == thread;
  }

  @Override
  public void shutdown(Duration timeout) {
    executor.shutdown();
    if (inSchedulerThread()) {
      return;
    }
    try {
      if (!executor.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      executor.shutdownNow();
    }
  }

  /**
   * A bug in one task must not stop the thread's timers (the executor would swallow it silently).
   */
  private static Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        log.error("unexpected error on the VIP thread", e);
      }
    };
  }
}
