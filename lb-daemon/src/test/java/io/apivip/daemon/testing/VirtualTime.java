package io.apivip.daemon.testing;

import java.time.Duration;
import java.util.PriorityQueue;

/**
 * Virtual time and the tasks due in it, for the fakes of the parts' single threads (the VIP part's
 * scheduler, the node controller's loop): nothing runs until a test calls {@link #runDue()} or
 * {@link #advance}; tasks due at the same instant run in the order they were scheduled.
 */
public final class VirtualTime {

  /** Where virtual time starts, in nanoseconds: far from zero, as System.nanoTime is. */
  public static final long START = 1_000_000_000L;

  /** A scheduled task; {@link #cancel()} before it runs keeps it from running. */
  public final class Task {
    private final long due;
    private final long order;
    private final Runnable runnable;
    private boolean cancelled;

    private Task(long due, Runnable runnable) {
      this.due = due;
      this.order = nextOrder++;
      this.runnable = runnable;
    }

    public void cancel() {
      cancelled = true;
    }
  }

  private final PriorityQueue<Task> tasks =
      new PriorityQueue<>(
          (a, b) -> a.due != b.due ? Long.compare(a.due, b.due) : Long.compare(a.order, b.order));
  private long now = START;
  private long nextOrder;

  public long nanoTime() {
    return now;
  }

  /** Virtual time, in milliseconds since the start. */
  public long millis() {
    return (now - START) / 1_000_000;
  }

  public Task schedule(Duration delay, Runnable runnable) {
    Task task = new Task(now + delay.toNanos(), runnable);
    tasks.add(task);
    return task;
  }

  /** Runs every task due by now, including those they schedule for now. */
  public void runDue() {
    advance(Duration.ZERO);
  }

  /** Moves time forward, running each task at its due time, in order. */
  public void advance(Duration duration) {
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

  /**
   * The process stalls: time moves on and nothing runs; tasks due meanwhile run late, at the next
   * {@link #runDue}.
   */
  public void stall(Duration duration) {
    now += duration.toNanos();
  }

  /** Drops every task not yet run. */
  public void clear() {
    tasks.clear();
  }

  /** Tasks still to run. */
  public long pending() {
    return tasks.stream().filter(task -> !task.cancelled).count();
  }
}
