package io.apivip.daemon.node;

import java.time.Duration;
import java.util.PriorityQueue;

/**
 * A {@link Loop} on virtual time: nothing runs until the test calls {@link #runDue()} or {@link
 * #advance}, and {@link #inLoop()} is true only while a task runs, so a controller method called
 * straight from a test (not posted) trips the controller's thread check.
 */
final class FakeLoop implements Loop {

  private final class Task implements Timer {
    final long due;
    final long order;
    final Runnable runnable;
    boolean cancelled;

    Task(long due, Runnable runnable) {
      this.due = due;
      this.order = nextOrder++;
      this.runnable = runnable;
    }

    @Override
    public void cancel() {
      cancelled = true;
    }
  }

  private final PriorityQueue<Task> tasks =
      new PriorityQueue<>(
          (a, b) -> a.due != b.due ? Long.compare(a.due, b.due) : Long.compare(a.order, b.order));
  private long now = 1_000_000_000L;
  private long nextOrder;
  private boolean running;

  @Override
  public long nanoTime() {
    return now;
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
    Task task = new Task(now + delay.toNanos(), runnable);
    tasks.add(task);
    return task;
  }

  /** Runs every task due by now, including those they post for now. */
  void runDue() {
    advance(Duration.ZERO);
  }

  /** Moves time forward, running each task at its due time, in order. */
  void advance(Duration duration) {
    long until = now + duration.toNanos();
    while (!tasks.isEmpty() && tasks.peek().due <= until) {
      Task task = tasks.poll();
      now = Math.max(now, task.due);
      if (!task.cancelled) {
        running = true;
        try {
          task.runnable.run();
        } finally {
          running = false;
        }
      }
    }
    now = until;
  }

  /** Timers still to fire. */
  long pendingTimers() {
    return tasks.stream().filter(task -> !task.cancelled).count();
  }
}
