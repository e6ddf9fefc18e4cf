package io.apivip.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.lab.apiserver.Mode;
import io.apivip.lab.apiserver.StandInApiServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HealthMonitorTest {

  static final Backend B1 = new Backend("n1", new InetSocketAddress("192.0.2.11", 16443));
  static final Backend B2 = new Backend("n2", new InetSocketAddress("192.0.2.12", 16443));

  @TempDir Path dir;

  /**
   * Answers each backend's checks from a script of results (+ healthy, - failed); the last one
   * repeats.
   */
  static final class ScriptedProber implements Prober {
    final Map<Backend, Deque<Boolean>> scripts = new ConcurrentHashMap<>();
    final Map<Backend, AtomicInteger> checks = new ConcurrentHashMap<>();

    ScriptedProber script(Backend backend, String results) {
      Deque<Boolean> script = new ArrayDeque<>();
      for (String result : results.split(" ")) {
        script.add(result.equals("+"));
      }
      scripts.put(backend, script);
      return this;
    }

    @Override
    public CompletableFuture<CheckResult> probe(Backend backend) {
      int number = checks.computeIfAbsent(backend, b -> new AtomicInteger()).incrementAndGet();
      Deque<Boolean> script = scripts.get(backend);
      boolean healthy = script.size() > 1 ? script.poll() : script.peek();
      String reason = "check " + number;
      return CompletableFuture.completedFuture(
          healthy
              ? CheckResult.healthy(reason, Duration.ofMillis(1))
              : CheckResult.failed(reason, Duration.ofMillis(1)));
    }
  }

  static BlockingQueue<HealthEvent> events(HealthMonitor monitor) {
    BlockingQueue<HealthEvent> events = new LinkedBlockingQueue<>();
    monitor.addListener(events::add);
    return events;
  }

  static HealthEvent next(BlockingQueue<HealthEvent> events) throws InterruptedException {
    HealthEvent event = events.poll(5, TimeUnit.SECONDS);
    assertThat(event).as("an event within 5s").isNotNull();
    return event;
  }

  static Schedule fast(int rise, int fall) {
    return new Schedule(Duration.ofMillis(10), 0, rise, fall);
  }

  @Test
  void startsUnknownAndTheFirstResultDecidesAtOnce() throws Exception {
    ScriptedProber prober = new ScriptedProber().script(B1, "+").script(B2, "-");
    try (HealthMonitor monitor =
        new HealthMonitor(List.of(B1, B2), prober, fast(2, 2), new SimpleMeterRegistry())) {
      assertThat(monitor.snapshot().values())
          .extracting(BackendStatus::state)
          .containsExactly(HealthState.UNKNOWN, HealthState.UNKNOWN);
      BlockingQueue<HealthEvent> events = events(monitor);
      monitor.start();
      Map<Backend, HealthEvent> first = new ConcurrentHashMap<>();
      for (int i = 0; i < 2; i++) {
        HealthEvent event = next(events);
        first.put(event.backend(), event);
      }
      assertThat(first.get(B1))
          .extracting(HealthEvent::from, HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.UNKNOWN, HealthState.UP, "check 1");
      assertThat(first.get(B2))
          .extracting(HealthEvent::from, HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.UNKNOWN, HealthState.DOWN, "check 1");
      assertThat(monitor.state(B1)).isEqualTo(HealthState.UP);
      assertThat(monitor.snapshot().get(B2))
          .extracting(BackendStatus::state, BackendStatus::reason)
          .containsExactly(HealthState.DOWN, "check 1");
    }
  }

  @Test
  void fallsAfterFallFailuresAndRisesAfterRiseSuccessesInARow() throws Exception {
    // Checks:                          1 2 3 4 5 6 7 8 9
    ScriptedProber prober = new ScriptedProber().script(B1, "+ - + - - + - + + +");
    try (HealthMonitor monitor =
        new HealthMonitor(List.of(B1), prober, fast(2, 2), new SimpleMeterRegistry())) {
      BlockingQueue<HealthEvent> events = events(monitor);
      monitor.start();
      assertThat(next(events))
          .extracting(HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.UP, "check 1");
      assertThat(next(events))
          .extracting(HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.DOWN, "check 5");
      assertThat(next(events))
          .extracting(HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.UP, "check 9");
      Thread.sleep(100);
      assertThat(events).as("one event per transition, none while the state holds").isEmpty();
    }
  }

  @Test
  void callsListenersOnItsOwnThreadAndSurvivesAFailingListener() throws Exception {
    ScriptedProber prober = new ScriptedProber().script(B1, "+");
    try (HealthMonitor monitor =
        new HealthMonitor(List.of(B1), prober, fast(2, 2), new SimpleMeterRegistry())) {
      BlockingQueue<String> threads = new LinkedBlockingQueue<>();
      monitor.addListener(
          event -> {
            throw new IllegalStateException("listener bug");
          });
      monitor.addListener(event -> threads.add(Thread.currentThread().getName()));
      monitor.start();
      assertThat(threads.poll(5, TimeUnit.SECONDS)).isEqualTo("apivip-health");
    }
  }

  /**
   * Hands each check to the test, which ends it when it chooses: what a passive report meets is
   * then decided by the test, not by how the machine schedules a short interval.
   */
  static final class GatedProber implements Prober {
    final BlockingDeque<CompletableFuture<CheckResult>> pending = new LinkedBlockingDeque<>();
    int ended;

    @Override
    public CompletableFuture<CheckResult> probe(Backend backend) {
      CompletableFuture<CheckResult> check = new CompletableFuture<>();
      pending.add(check);
      return check;
    }

    /**
     * Ends the next check (waiting for the monitor to begin it) as healthy or failed, with reason
     * "check N". The monitor begins a check only once it has settled the result of the previous
     * one.
     */
    void endNextCheck(boolean healthy) throws InterruptedException {
      CompletableFuture<CheckResult> check = pending.pollFirst(5, TimeUnit.SECONDS);
      assertThat(check).as("a check begun within 5s").isNotNull();
      String reason = "check " + ++ended;
      check.complete(
          healthy
              ? CheckResult.healthy(reason, Duration.ofMillis(1))
              : CheckResult.failed(reason, Duration.ofMillis(1)));
    }

    /** Waits until the monitor has begun the next check, so it has settled every earlier one. */
    void awaitNextCheck() throws InterruptedException {
      CompletableFuture<CheckResult> check = pending.pollFirst(5, TimeUnit.SECONDS);
      assertThat(check).as("a check begun within 5s").isNotNull();
      pending.addFirst(check);
    }
  }

  @Test
  void aBurstOfPassiveFailuresCountsOnceAndAFailedCheckCompletesTheFall() throws Exception {
    GatedProber prober = new GatedProber();
    try (HealthMonitor monitor =
        new HealthMonitor(List.of(B1), prober, fast(2, 2), new SimpleMeterRegistry())) {
      BlockingQueue<HealthEvent> events = events(monitor);
      monitor.start();
      prober.endNextCheck(true);
      assertThat(next(events).to()).isEqualTo(HealthState.UP);
      for (int i = 0; i < 50; i++) {
        monitor.reportConnectFailure(B1, "connect refused");
      }
      // The reports were queued before this check's result, so the monitor weighs them first.
      prober.endNextCheck(false);
      assertThat(next(events))
          .as(
              "50 failed connects at once are one failure of fall=2; the failed check is the"
                  + " second")
          .extracting(HealthEvent::from, HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.UP, HealthState.DOWN, "check 2");
    }
  }

  @Test
  void passiveFailuresBetweenChecksAddUpToFall() throws Exception {
    GatedProber prober = new GatedProber();
    try (HealthMonitor monitor =
        new HealthMonitor(List.of(B1), prober, fast(1, 3), new SimpleMeterRegistry())) {
      BlockingQueue<HealthEvent> events = events(monitor);
      monitor.start();
      prober.endNextCheck(true);
      assertThat(next(events).to()).isEqualTo(HealthState.UP);
      monitor.reportConnectFailure(B1, "connect refused"); // 1 of 3
      prober.endNextCheck(false); // 2 of 3
      prober.awaitNextCheck();
      monitor.reportConnectFailure(B1, "connect refused"); // 3 of 3, before the next check ends
      assertThat(next(events))
          .extracting(HealthEvent::from, HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.UP, HealthState.DOWN, "passive: connect refused");
      prober.endNextCheck(true);
      assertThat(next(events))
          .extracting(HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.UP, "check 3");
    }
  }

  @Test
  void publishesUpGaugeDurationsAndResultsByOutcome() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ScriptedProber prober = new ScriptedProber().script(B1, "+").script(B2, "-");
    try (HealthMonitor monitor = new HealthMonitor(List.of(B1, B2), prober, fast(1, 1), registry)) {
      BlockingQueue<HealthEvent> events = events(monitor);
      monitor.start();
      // A check's metrics are recorded before the transition it causes is published.
      next(events);
      next(events);
      assertThat(
              registry.get("apivip.backend.up").tag("backend", "192.0.2.11:16443").gauge().value())
          .isEqualTo(1.0);
      assertThat(
              registry
                  .get("apivip.backend.up")
                  .tag("backend", "192.0.2.12:16443")
                  .tag("name", "n2")
                  .gauge()
                  .value())
          .isEqualTo(0.0);
      assertThat(
              registry
                  .get("apivip.health.checks")
                  .tag("backend", "192.0.2.11:16443")
                  .tag("outcome", "healthy")
                  .counter()
                  .count())
          .isPositive();
      assertThat(
              registry
                  .get("apivip.health.checks")
                  .tag("backend", "192.0.2.12:16443")
                  .tag("outcome", "failed")
                  .counter()
                  .count())
          .isPositive();
      assertThat(
              registry
                  .get("apivip.health.checks")
                  .tag("backend", "192.0.2.12:16443")
                  .tag("outcome", "healthy")
                  .counter()
                  .count())
          .isZero();
      assertThat(
              registry
                  .get("apivip.health.check.duration")
                  .tag("backend", "192.0.2.11:16443")
                  .timer()
                  .count())
          .isPositive();
      assertThat(
              registry
                  .get("apivip.health.certificate.expiry.timestamp")
                  .tag("backend", "192.0.2.11:16443")
                  .gauge()
                  .value())
          .as("no check reached TLS")
          .isNaN();
    }
  }

  /**
   * A reload: a backend that stays keeps its state (the proxy goes on routing to it), a new one is
   * checked from unknown, a removed one stops being checked and leaves the snapshot and the meters.
   */
  @Test
  void aReconfigurationKeepsWhatStaysChecksWhatIsNewAndForgetsWhatLeft() throws Exception {
    Backend b3 = new Backend("n3", new InetSocketAddress("192.0.2.13", 16443));
    ScriptedProber prober = new ScriptedProber().script(B1, "+").script(B2, "+").script(b3, "-");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (HealthMonitor monitor = new HealthMonitor(List.of(B1, B2), prober, fast(2, 2), registry)) {
      BlockingQueue<HealthEvent> events = events(monitor);
      monitor.start();
      next(events);
      next(events);
      assertThat(monitor.state(B1)).isEqualTo(HealthState.UP);

      monitor
          .reconfigure(List.of(B1, b3), prober, new Schedule(Duration.ofMillis(20), 0, 3, 1))
          .get(5, TimeUnit.SECONDS);
      assertThat(next(events))
          .extracting(HealthEvent::backend, HealthEvent::from, HealthEvent::to)
          .containsExactly(b3, HealthState.UNKNOWN, HealthState.DOWN);
      assertThat(monitor.snapshot().keySet()).containsExactly(B1, b3);
      assertThat(monitor.state(B1)).as("B1 stays up").isEqualTo(HealthState.UP);
      assertThat(monitor.state(B2)).isEqualTo(HealthState.UNKNOWN);
      assertThat(registry.find("apivip.backend.up").tag("name", "n2").gauges()).isEmpty();
      assertThat(registry.find("apivip.backend.up").tag("name", "n3").gauge()).isNotNull();
      int b2Checks = prober.checks.get(B2).get();
      Thread.sleep(100);
      assertThat(prober.checks.get(B2).get())
          .as("B2 is no longer checked")
          .isLessThanOrEqualTo(b2Checks + 1);
      // A connection that was open to B2 may still fail: not an error, and nothing changes.
      monitor.reportConnectFailure(B2, "refused");
      assertThat(events.poll(100, TimeUnit.MILLISECONDS)).isNull();
      assertThat(monitor.snapshot().keySet()).containsExactly(B1, b3);

      // B2 back: one check loop again, not two.
      monitor.reconfigure(List.of(B1, B2, b3), prober, fast(1, 1)).get(5, TimeUnit.SECONDS);
      assertThat(next(events))
          .extracting(HealthEvent::backend, HealthEvent::to)
          .containsExactly(B2, HealthState.UP);
      int b1Before = prober.checks.get(B1).get();
      int b2Before = prober.checks.get(B2).get();
      Thread.sleep(200);
      // On the same schedule as B1: two loops for B2 would check it twice as often.
      assertThat(prober.checks.get(B2).get() - b2Before)
          .as("checks of B2 while B1 had %d", prober.checks.get(B1).get() - b1Before)
          .isLessThanOrEqualTo(prober.checks.get(B1).get() - b1Before + 2);
    }
  }

  @Test
  void rejectsReportsAboutUnknownBackends() {
    try (HealthMonitor monitor =
        new HealthMonitor(
            List.of(B1),
            new ScriptedProber().script(B1, "+"),
            fast(2, 2),
            new SimpleMeterRegistry())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> monitor.reportConnectFailure(B2, "refused"))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /**
   * Against the stand-in, over the network: the behaviour an operator sees. How soon the hang is
   * seen (at worst an interval plus the timeout, 2.1 s here) is not asserted beyond next()'s 5 s:
   * on a loaded two-core machine any tighter bound fails now and then; speed is measured in bench/.
   */
  @Test
  void detectsAHangingServerAsATimeout() throws Exception {
    Lab lab = new Lab(dir);
    EventLoopGroup group = Lab.newGroup(1);
    // Seconds rather than milliseconds: on a loaded two-core machine a TLS handshake alone can take
    // a few hundred milliseconds, which would make a shorter timeout fail a healthy server.
    Duration interval = Duration.ofSeconds(1);
    Duration timeout = Duration.ofSeconds(1);
    NettyProber prober = Lab.prober(group, lab.readyz(timeout));
    try (StandInApiServer server = lab.server("b1");
        HealthMonitor monitor =
            new HealthMonitor(
                List.of(Lab.backend(server)),
                prober,
                new Schedule(interval, 1, 1),
                new SimpleMeterRegistry())) {
      // A cold JVM may take longer than the timeout for its first TLS handshake (class loading
      // under the paranoid leak detector); this test is about hang detection, so warm up first.
      prober.probe(Lab.backend(server)).get(5, TimeUnit.SECONDS);
      BlockingQueue<HealthEvent> events = events(monitor);
      monitor.start();
      assertThat(next(events))
          .extracting(HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.UP, "HTTP 200");
      server.mode(Mode.HANG);
      assertThat(next(events))
          .extracting(HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.DOWN, "timeout after 1s in TLS handshake");

      server.mode(Mode.FAIL_READYZ);
      server.mode(Mode.HEALTHY);
      assertThat(next(events))
          .extracting(HealthEvent::to, HealthEvent::reason)
          .containsExactly(HealthState.UP, "HTTP 200");
      server.mode(Mode.REFUSE);
      assertThat(next(events).reason()).startsWith("ConnectException: Connection refused");
    } finally {
      Lab.shutdown(group);
    }
  }
}
