package io.apivip.daemon.systemd;

import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds systemd's watchdog (WatchdogSec=, sd_watchdog_enabled(3)) only while the daemon's event
 * loops are responsive: every quarter of the watchdog interval a probe task is put on each loop,
 * and WATCHDOG=1 is sent only if every loop ran the probes of the round before. A loop that hangs
 * (a deadlock, a blocking call) stops the pings, and systemd restarts the daemon; the unit's
 * ExecStopPost removes the VIP. The prober runs on a thread of its own, not on a loop it watches.
 */
public final class Watchdog implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Watchdog.class);

  private final SystemdNotifier systemd;
  private final List<EventExecutor> loops;
  private final LongSupplier clock;
  private final List<AtomicLong> answered = new ArrayList<>();
  private final ScheduledExecutorService prober =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "apivip-watchdog");
            thread.setDaemon(true);
            return thread;
          });
  private long probedAt = -1;
  private boolean stalled;

  Watchdog(SystemdNotifier systemd, List<EventExecutor> loops, LongSupplier clock) {
    this.systemd = systemd;
    this.loops = List.copyOf(loops);
    this.clock = clock;
    for (int i = 0; i < this.loops.size(); i++) {
      answered.add(new AtomicLong(-1));
    }
  }

  /**
   * Starts feeding the watchdog when systemd asked for one (WATCHDOG_USEC set, and WATCHDOG_PID
   * unset or this process); empty otherwise.
   */
  public static Optional<Watchdog> fromEnvironment(
      SystemdNotifier systemd, List<EventExecutor> loops) {
    return interval(
            System.getenv("WATCHDOG_USEC"),
            System.getenv("WATCHDOG_PID"),
            ProcessHandle.current().pid())
        .map(
            interval -> {
              Watchdog watchdog = new Watchdog(systemd, loops, System::nanoTime);
              watchdog.start(interval);
              log.info(
                  "feeding systemd's watchdog (every {} ms) while {} event loops answer",
                  interval.toMillis() / 4,
                  loops.size());
              return watchdog;
            });
  }

  /** The watchdog interval systemd asked for, if it asked this process. */
  static Optional<Duration> interval(String usec, String pid, long ownPid) {
    if (usec == null
        || usec.isEmpty()
        || (pid != null && !pid.isEmpty() && !pid.equals(Long.toString(ownPid)))) {
      return Optional.empty();
    }
    try {
      long micros = Long.parseLong(usec);
      return micros > 0 ? Optional.of(Duration.ofNanos(micros * 1000)) : Optional.empty();
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  void start(Duration interval) {
    long period = Math.max(1, interval.toNanos() / 4);
    prober.scheduleAtFixedRate(this::round, 0, period, TimeUnit.NANOSECONDS);
  }

  /**
   * One round: pings if every loop ran the previous round's probe, then probes again. The first
   * round only probes.
   */
  void round() {
    if (probedAt >= 0) {
      if (responsive(answered, probedAt)) {
        systemd.send("WATCHDOG=1");
        if (stalled) {
          stalled = false;
          log.info("every event loop answers again; feeding systemd's watchdog");
        }
      } else if (!stalled) {
        stalled = true;
        log.error(
            "an event loop did not answer within {} ms; no longer feeding systemd's watchdog, which"
                + " restarts the daemon unless it answers again",
            (clock.getAsLong() - probedAt) / 1_000_000);
      }
    }
    long now = clock.getAsLong();
    probedAt = now;
    for (int i = 0; i < loops.size(); i++) {
      AtomicLong slot = answered.get(i);
      EventExecutor loop = loops.get(i);
      if (!loop.isShuttingDown()) {
        loop.execute(() -> slot.set(now));
      }
    }
  }

  /** Whether every loop ran the probe sent at {@code probedAt}. */
  static boolean responsive(List<AtomicLong> answered, long probedAt) {
    return answered.stream().allMatch(slot -> slot.get() >= probedAt);
  }

  @Override
  public void close() {
    prober.shutdownNow();
  }
}
