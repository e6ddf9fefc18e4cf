package io.apivip.health;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Knows which backends can serve: checks each one on its {@link Schedule} with a {@link Prober},
 * applies the rise/fall rule, publishes every state change to {@link HealthListener}s and keeps a
 * snapshot that any thread may read. The proxy may report a failed connect ({@link
 * #reportConnectFailure}), which counts toward fall like a failed check.
 *
 * <p>The daemon builds it from its settings: one {@code Backend(nodeId, address)} per {@code
 * Settings.Backend}, a {@link NettyProber} over its shared event loop group with the {@link
 * CheckSpec} that {@code Settings.Health} describes, and {@code new Schedule(interval, rise,
 * fall)}.
 *
 * <p>Threads: all state belongs to one thread of its own, {@code apivip-health}, which also calls
 * the listeners; checks run on the prober's event loops and hand their results back to it.
 */
public final class HealthMonitor implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(HealthMonitor.class);

  /** Every backend ever configured, so that a report about a removed one is not an error. */
  private final Set<Backend> known = ConcurrentHashMap.newKeySet();

  private final MeterRegistry registry;
  private final Clock clock;

  // Replaced by reconfigure, on the thread.
  private List<Backend> backends;
  private volatile Prober prober;
  private volatile Schedule schedule;

  private final ScheduledExecutorService thread;
  private final List<HealthListener> listeners = new CopyOnWriteArrayList<>();
  private final Map<Backend, RiseFall.Progress> progress = new LinkedHashMap<>(); // owned by thread
  private final Map<Backend, HealthMetrics> metrics = new LinkedHashMap<>();

  /** Each backend's check loop, by number: one loop per backend; owned by thread. */
  private final Map<Backend, Long> loops = new LinkedHashMap<>();

  private long loopCount;
  private volatile Map<Backend, BackendStatus> snapshot;
  private boolean started; // owned by thread
  private boolean closed; // owned by thread

  public HealthMonitor(
      List<Backend> backends, Prober prober, Schedule schedule, MeterRegistry registry) {
    this(backends, prober, schedule, registry, Clock.systemUTC());
  }

  HealthMonitor(
      List<Backend> backends,
      Prober prober,
      Schedule schedule,
      MeterRegistry registry,
      Clock clock) {
    this.backends = distinct(backends);
    this.known.addAll(backends);
    this.registry = registry;
    this.prober = Objects.requireNonNull(prober);
    this.schedule = Objects.requireNonNull(schedule);
    this.clock = Objects.requireNonNull(clock);
    ScheduledThreadPoolExecutor executor =
        new ScheduledThreadPoolExecutor(
            1,
            runnable -> {
              Thread t = new Thread(runnable, "apivip-health");
              t.setDaemon(true);
              return t;
            });
    // close() must not wait for checks scheduled up to an interval ahead.
    executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    this.thread = executor;
    Map<Backend, BackendStatus> initial = new LinkedHashMap<>();
    for (Backend backend : this.backends) {
      add(backend, initial);
    }
    this.snapshot = Collections.unmodifiableMap(initial);
  }

  private static List<Backend> distinct(List<Backend> backends) {
    List<Backend> copy = List.copyOf(backends);
    if (Set.copyOf(copy).size() != copy.size()) {
      throw new IllegalArgumentException("backends must be distinct: " + backends);
    }
    return copy;
  }

  /** A backend starts unknown, with its meters. */
  private void add(Backend backend, Map<Backend, BackendStatus> statuses) {
    progress.put(backend, RiseFall.Progress.START);
    loops.put(backend, ++loopCount);
    statuses.put(
        backend, new BackendStatus(HealthState.UNKNOWN, "not checked yet", clock.instant()));
    metrics.put(
        backend,
        new HealthMetrics(
            registry, backend, this, monitor -> monitor.state(backend) == HealthState.UP ? 1 : 0));
  }

  /**
   * A reload: checks {@code next} from now on, with {@code nextProber} and {@code nextSchedule}. A
   * backend that stays keeps its state and its place in the rise/fall rule (so an apiserver up
   * stays up, and the proxy keeps routing to it); a new one starts unknown and is checked within a
   * jitter; a removed one is no longer checked, leaves the snapshot and its meters. The new
   * interval applies from each backend's next check. Completes once done, on the monitor's thread.
   */
  public CompletableFuture<Void> reconfigure(
      List<Backend> next, Prober nextProber, Schedule nextSchedule) {
    List<Backend> wanted = distinct(next);
    Objects.requireNonNull(nextProber);
    Objects.requireNonNull(nextSchedule);
    known.addAll(wanted);
    CompletableFuture<Void> done = new CompletableFuture<>();
    runOnThread(
        () -> {
          prober = nextProber;
          schedule = nextSchedule;
          Map<Backend, BackendStatus> statuses = new LinkedHashMap<>();
          for (Backend backend : wanted) {
            if (progress.containsKey(backend)) {
              statuses.put(backend, snapshot.get(backend));
            } else {
              add(backend, statuses);
              log.info("backend {} added: checked from now on", backend);
              if (started && !closed) {
                firstCheck(backend);
              }
            }
          }
          for (Backend backend : backends) {
            if (!wanted.contains(backend)) {
              progress.remove(backend);
              loops.remove(backend);
              metrics.remove(backend).remove();
              log.info("backend {} removed: no longer checked", backend);
            }
          }
          backends = wanted;
          snapshot = Collections.unmodifiableMap(statuses);
          done.complete(null);
        });
    return done;
  }

  /**
   * Adds a listener for every transition from now on; see {@link HealthListener} for the thread.
   */
  public void addListener(HealthListener listener) {
    listeners.add(Objects.requireNonNull(listener));
  }

  /** Starts checking every backend; the first checks begin within a jitter of now. */
  public void start() {
    thread.execute(
        () -> {
          if (started || closed) {
            return;
          }
          started = true;
          for (Backend backend : backends) {
            firstCheck(backend);
          }
        });
  }

  private void firstCheck(Backend backend) {
    long spread = (long) (schedule.interval().toNanos() * schedule.jitter());
    thread.schedule(
        () -> check(backend, loops.get(backend)),
        spread == 0 ? 0 : ThreadLocalRandom.current().nextLong(spread),
        TimeUnit.NANOSECONDS);
  }

  /** Every backend's status as of the last change, in configuration order. Safe from any thread. */
  public Map<Backend, BackendStatus> snapshot() {
    return snapshot;
  }

  /** Safe from any thread. */
  public HealthState state(Backend backend) {
    BackendStatus status = snapshot.get(backend);
    return status == null ? HealthState.UNKNOWN : status.state();
  }

  /**
   * The proxy saw a connect to {@code backend} refused or timed out: one failure toward {@code
   * fall}, at most one between two checks ({@link RiseFall}). Safe from any thread, returns at
   * once.
   */
  public void reportConnectFailure(Backend backend, String reason) {
    if (!known.contains(backend)) {
      throw new IllegalArgumentException("unknown backend " + backend);
    }
    runOnThread(
        () -> {
          // A connection to a backend a reload removed may fail after it left: nothing to judge.
          if (progress.containsKey(backend)) {
            settle(
                backend,
                RiseFall.afterPassiveFailure(progress.get(backend), schedule.fall()),
                "passive: " + reason);
          }
        });
  }

  /**
   * One check of {@code backend} by its check loop {@code loop}; a loop of a backend that a reload
   * removed (and perhaps added again, with a loop of its own) ends here.
   */
  private void check(Backend backend, Long loop) {
    if (closed || !loop.equals(loops.get(backend))) {
      return;
    }
    long startNanos = System.nanoTime();
    CompletableFuture<CheckResult> result;
    try {
      result = prober.probe(backend);
    } catch (RuntimeException e) {
      result =
          CompletableFuture.completedFuture(CheckResult.failed(Reasons.describe(e), Duration.ZERO));
    }
    result.whenComplete(
        (outcome, error) -> {
          CheckResult checked =
              error == null ? outcome : CheckResult.failed(Reasons.describe(error), Duration.ZERO);
          runOnThread(() -> checked(backend, loop, checked, startNanos));
        });
  }

  private void checked(Backend backend, Long loop, CheckResult result, long startNanos) {
    if (closed || !loop.equals(loops.get(backend))) {
      return;
    }
    metrics.get(backend).record(result);
    settle(
        backend,
        RiseFall.afterCheck(
            progress.get(backend), result.healthy(), schedule.rise(), schedule.fall()),
        result.reason());
    // Next check one interval (give or take the jitter) after this one started, never overlapping
    // it.
    long interval = schedule.interval().toNanos();
    long spread = (long) (interval * schedule.jitter());
    long jitter = spread == 0 ? 0 : ThreadLocalRandom.current().nextLong(-spread, spread + 1);
    long delay = Math.max(0, interval + jitter - (System.nanoTime() - startNanos));
    thread.schedule(() -> check(backend, loop), delay, TimeUnit.NANOSECONDS);
  }

  private void settle(Backend backend, RiseFall.Progress next, String reason) {
    RiseFall.Progress previous = progress.put(backend, next);
    if (previous.state() == next.state()) {
      return;
    }
    HealthEvent event =
        new HealthEvent(backend, previous.state(), next.state(), reason, clock.instant());
    Map<Backend, BackendStatus> updated = new LinkedHashMap<>(snapshot);
    updated.put(backend, new BackendStatus(next.state(), reason, event.at()));
    snapshot = Collections.unmodifiableMap(updated);
    if (next.state() == HealthState.UP) {
      log.info(
          "backend {} is up ({} -> up): {}",
          backend,
          previous.state().name().toLowerCase(Locale.ROOT),
          reason);
    } else {
      log.warn(
          "backend {} is down ({} -> down): {}",
          backend,
          previous.state().name().toLowerCase(Locale.ROOT),
          reason);
    }
    for (HealthListener listener : listeners) {
      try {
        listener.onTransition(event);
      } catch (RuntimeException e) {
        log.error("health listener {} failed on {}", listener, event, e);
      }
    }
  }

  private void runOnThread(Runnable task) {
    try {
      thread.execute(task);
    } catch (RejectedExecutionException closing) {
      // Closed: nothing listens any more.
    }
  }

  /** Stops scheduling checks; checks in flight end within their timeout and are ignored. */
  @Override
  public void close() {
    runOnThread(() -> closed = true);
    thread.shutdown();
    try {
      if (!thread.awaitTermination(5, TimeUnit.SECONDS)) {
        thread.shutdownNow();
      }
    } catch (InterruptedException e) {
      thread.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
