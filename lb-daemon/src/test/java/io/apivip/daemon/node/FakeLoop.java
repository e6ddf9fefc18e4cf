package io.apivip.daemon.node;

import io.apivip.daemon.testing.VirtualTime;
import java.time.Duration;

/**
 * A {@link Loop} on virtual time: nothing runs until the test calls {@link #runDue()} or {@link
 * #advance}, and {@link #inLoop()} is true only while a task runs, so a controller method called
 * straight from a test (not posted) trips the controller's thread check.
 */
final class FakeLoop implements Loop {

  private final VirtualTime time = new VirtualTime();
  private boolean running;

  @Override
  public long nanoTime() {
    return time.nanoTime();
  }

  @Override
  public boolean inLoop() {
    return running;
  }

  @Override
  public void execute(Runnable task) {
    schedule(Duration.ZERO, task);
  }

  @Override
  public Timer schedule(Duration delay, Runnable runnable) {
    return time.schedule(
            delay,
            () -> {
              running = true;
              try {
                runnable.run();
              } finally {
                running = false;
              }
            })
        ::cancel;
  }

  /** Runs every task due by now, including those they post for now. */
  void runDue() {
    time.runDue();
  }

  /** Moves time forward, running each task at its due time, in order. */
  void advance(Duration duration) {
    time.advance(duration);
  }

  /** Timers still to fire. */
  long pendingTimers() {
    return time.pending();
  }
}
