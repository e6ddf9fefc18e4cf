package io.apivip.daemon.vip;

import java.time.Duration;
import java.util.PriorityQueue;

/**
 * A {@link Scheduler} on virtual time: nothing runs until the test calls {@link #runDue()} or
 * {@link #advance}.
 */
final class FakeScheduler implements Scheduler {

  private final class Task implements Cancellable {
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
  private boolean shutDown;

  @Override
  public long nanoTime() {
    return now;
  }

  @Override
  public void execute(Runnable task) {
    schedule(Duration.ZERO, task);
  }

  @Override
  public Cancellable schedule(Duration delay, Runnable runnable) {
    Task task = new Task(now + delay.toNanos(), runnable);
    if (!shutDown) {
      tasks.add(task);
    }
    return task;
  }

  @Override
  public boolean inSchedulerThread() {
    return true;
  }

  @Override
  public void shutdown(Duration timeout) {
    runDue();
    shutDown = true;
    tasks.clear();
  }

  /**
   * The process stalls: time moves on and nothing runs; tasks due meanwhile run late, at the next
   * {@link #runDue}.
   */
  void stall(Duration duration) {
    now += duration.toNanos();
  }

  /** Runs every task due by now, including those they schedule for now. */
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
        task.runnable.run();
      }
    }
    now = until;
  }

  /** Virtual time, in milliseconds since the start. */
  long millis() {
    return (now - 1_000_000_000L) / 1_000_000;
  }
}
