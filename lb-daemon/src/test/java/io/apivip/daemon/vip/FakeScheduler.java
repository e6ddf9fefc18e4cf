package io.apivip.daemon.vip;

import io.apivip.daemon.testing.VirtualTime;
import java.time.Duration;

/**
 * A {@link Scheduler} on virtual time: nothing runs until the test calls {@link #runDue()} or
 * {@link #advance}.
 */
final class FakeScheduler implements Scheduler {

  private final VirtualTime time = new VirtualTime();
  private boolean shutDown;

  @Override
  public long nanoTime() {
    return time.nanoTime();
  }

  @Override
  public void execute(Runnable task) {
    schedule(Duration.ZERO, task);
  }

  @Override
  public Cancellable schedule(Duration delay, Runnable runnable) {
    if (shutDown) {
      return () -> {};
    }
    return time.schedule(delay, runnable)::cancel;
  }

  @Override
  public boolean inSchedulerThread() {
    return true;
  }

  @Override
  public void shutdown(Duration timeout) {
    runDue();
    shutDown = true;
    time.clear();
  }

  /**
   * The process stalls: time moves on and nothing runs; tasks due meanwhile run late, at the next
   * {@link #runDue}.
   */
  void stall(Duration duration) {
    time.stall(duration);
  }

  /** Runs every task due by now, including those they schedule for now. */
  void runDue() {
    time.runDue();
  }

  /** Moves time forward, running each task at its due time, in order. */
  void advance(Duration duration) {
    time.advance(duration);
  }

  /** Virtual time, in milliseconds since the start. */
  long millis() {
    return time.millis();
  }
}
