package io.apivip.bench.failover;

import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import io.apivip.lab.cluster.LabProbe;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs every scenario on one system under test, with a client in the lab that opens a new TLS
 * connection to VIP:6443 every 10 ms, and collects what that client saw. Trials run one after the
 * other; before each, the system is back in its steady state ({@link Contender#steady()}).
 */
final class Trials {

  static final long PROBE_INTERVAL_MILLIS = 10;

  /**
   * For the link cut and the baseline: a connection whose SYN had to be sent again (the kernel's
   * first retransmission is after 1 s) fails, so a lost SYN is part of the failure window.
   */
  static final Duration FAILOVER_CONNECT_TIMEOUT = Duration.ofSeconds(1);

  /** For everything planned or local: a SYN sent twice is a slow connection, not a failed one. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);

  /**
   * Long enough for every system to have moved the VIP and routed around the cut node's apiserver.
   */
  static final Duration UNPLANNED_OBSERVATION = Duration.ofSeconds(8);

  static final Duration PLANNED_AFTER_MOVE = Duration.ofMillis(1500);
  static final Duration PLANNED_OBSERVATION_LIMIT = Duration.ofSeconds(15);

  /** A kube-apiserver shutting down fails /readyz for a while before it closes its listener. */
  static final Duration READYZ_FAILING = Duration.ofSeconds(3);

  static final Duration REFUSING = Duration.ofSeconds(2);
  private static final Duration STEADY_TIMEOUT = Duration.ofSeconds(90);

  /**
   * Between a window's end and the next fault: in the steady state an attempt takes milliseconds,
   * so the attempts of one window end before the next fault can cut them and count against it.
   */
  private static final Duration SETTLE = Duration.ofSeconds(1);

  private static final Duration FIRST_STEADY_TIMEOUT = Duration.ofSeconds(120);

  /** An attempt ends within the longest connect timeout plus the probe's 3 s read timeout. */
  private static final Duration ATTEMPT_LIMIT = Duration.ofMillis(6500);

  private static final long VIP_SAMPLE_MILLIS = 100;
  static final Duration BASELINE = Duration.ofSeconds(10);
  private static final Duration WARM_UP = Duration.ofSeconds(15);

  private record Window(long from, long until, OptionalLong vipMovedMillis) {}

  private final Contender contender;
  private final ClusterLab lab;
  private final int trials;
  private final Duration cpuHog;
  private final PrintStream progress;
  private final List<Trial> unplanned = new ArrayList<>();
  private final List<Trial> returns = new ArrayList<>();
  private final List<Trial> planned = new ArrayList<>();
  private final List<Trial> plannedReturns = new ArrayList<>();
  private final List<Trial> apiserver = new ArrayList<>();
  private Optional<Trial> baseline = Optional.empty();
  private OptionalInt cpuMoves = OptionalInt.empty();
  private Optional<Trial> cpu = Optional.empty();
  private LabProbe probe;

  Trials(Contender contender, int trials, Duration cpuHog, PrintStream progress) {
    this.contender = contender;
    this.lab = contender.lab();
    this.trials = trials;
    this.cpuHog = cpuHog;
    this.progress = progress;
  }

  /** Runs every scenario; a failure ends the run and is reported with what was measured so far. */
  SystemResult run() {
    Optional<String> error = Optional.empty();
    try {
      awaitSteady(FIRST_STEADY_TIMEOUT);
      useProbe(FAILOVER_CONNECT_TIMEOUT);
      warmUp();
      baseline();
      unplannedFailovers();
      useProbe(CONNECT_TIMEOUT);
      plannedHandoffs();
      apiserverFailures();
      cpuHog();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = Optional.of("interrupted");
    } catch (IOException | RuntimeException e) {
      error = Optional.of(e.getMessage() == null ? e.toString() : e.getMessage());
      say("stopped: " + error.get());
    }
    return new SystemResult(
        contender.title(),
        contender.isApivip(),
        baseline,
        unplanned,
        returns,
        planned,
        plannedReturns,
        apiserver,
        cpuMoves,
        cpu,
        error);
  }

  /**
   * Lets the client's traffic run unmeasured for a while: every process of the lab started at once,
   * and until their JITs have compiled the TLS paths, health checks time out and the system can
   * fall out of its steady state on its own.
   */
  private void warmUp() throws InterruptedException {
    Thread.sleep(WARM_UP.toMillis());
    awaitSteady(STEADY_TIMEOUT);
  }

  /**
   * Nothing happens: what the client sees of the lab itself, the floor under every other figure.
   */
  private void baseline() throws InterruptedException {
    long from = now();
    Thread.sleep(BASELINE.toMillis());
    baseline =
        Optional.of(
            summarize("baseline", List.of(new Window(from, now(), OptionalLong.empty()))).get(0));
    say(
        "no fault for %d s: %d of %d connections failed"
            .formatted(
                BASELINE.toSeconds(),
                baseline.get().failedConnections(),
                baseline.get().attempts()));
  }

  /** The holder's cable is pulled; after the observation it is plugged back in. */
  private void unplannedFailovers() throws InterruptedException {
    List<Window> cuts = new ArrayList<>();
    List<Window> backs = new ArrayList<>();
    try {
      for (int i = 1; i <= trials; i++) {
        LabNode holder = contender.holder();
        long cutAt = now();
        holder.cutLink();
        OptionalLong moved = awaitVipElsewhere(holder, cutAt, UNPLANNED_OBSERVATION);
        sleepUntil(cutAt + UNPLANNED_OBSERVATION.toMillis());
        long restoredAt = now();
        holder.restoreLink();
        cuts.add(new Window(cutAt, restoredAt, moved));
        awaitSteady(STEADY_TIMEOUT);
        backs.add(new Window(restoredAt, now(), OptionalLong.empty()));
        Thread.sleep(SETTLE.toMillis());
        say(
            "link cut %d/%d on %s: VIP elsewhere after %s"
                .formatted(i, trials, holder.id(), millis(moved)));
      }
    } finally {
      unplanned.addAll(summarize("link-cut", cuts));
      returns.addAll(summarize("link-back", backs));
    }
    say(
        "link cut: failure windows "
            + unplanned.stream()
                .map(trial -> trial.failureWindowMillis() + " ms")
                .collect(Collectors.joining(", ")));
  }

  /** The holder is stopped for maintenance, then started again. */
  private void plannedHandoffs() throws InterruptedException, IOException {
    List<Window> stops = new ArrayList<>();
    List<Window> starts = new ArrayList<>();
    try {
      for (int i = 1; i <= trials; i++) {
        LabNode holder = contender.holder();
        long stopAt = now();
        // Watched alongside: a graceful stop may move the VIP long before it returns.
        CompletableFuture<OptionalLong> watch =
            CompletableFuture.supplyAsync(
                () -> awaitVipElsewhere(holder, stopAt, PLANNED_OBSERVATION_LIMIT));
        contender.stopGracefully(holder);
        OptionalLong moved = watch.join();
        sleepUntil(
            Math.min(
                now() + PLANNED_AFTER_MOVE.toMillis(),
                stopAt + PLANNED_OBSERVATION_LIMIT.toMillis()));
        long restartAt = now();
        stops.add(new Window(stopAt, restartAt, moved));
        contender.restart(holder);
        awaitSteady(STEADY_TIMEOUT);
        starts.add(new Window(restartAt, now(), OptionalLong.empty()));
        Thread.sleep(SETTLE.toMillis());
        say(
            "planned handoff %d/%d from %s: VIP elsewhere after %s"
                .formatted(i, trials, holder.id(), millis(moved)));
      }
    } finally {
      planned.addAll(summarize("planned-stop", stops));
      plannedReturns.addAll(summarize("planned-start", starts));
    }
    say(
        "planned handoff: failed connections "
            + planned.stream()
                .map(trial -> Long.toString(trial.failedConnections()))
                .collect(Collectors.joining(", ")));
  }

  /** The holder's apiserver fails /readyz, then refuses connections, then recovers. */
  private void apiserverFailures() throws InterruptedException {
    List<Window> failures = new ArrayList<>();
    try {
      for (int i = 1; i <= trials; i++) {
        LabNode holder = contender.holder();
        long failAt = now();
        holder.apiserver("fail-readyz");
        Thread.sleep(READYZ_FAILING.toMillis());
        holder.apiserver("refuse");
        Thread.sleep(REFUSING.toMillis());
        holder.apiserver("healthy");
        awaitSteady(STEADY_TIMEOUT);
        failures.add(new Window(failAt, now(), OptionalLong.empty()));
        Thread.sleep(SETTLE.toMillis());
        say("API server failure %d/%d on %s".formatted(i, trials, holder.id()));
      }
    } finally {
      apiserver.addAll(summarize("apiserver-failure", failures));
    }
    say(
        "API server failure: failed connections "
            + apiserver.stream()
                .map(trial -> Long.toString(trial.failedConnections()))
                .collect(Collectors.joining(", ")));
  }

  /** One core busy on the holder; counts how often the VIP moves meanwhile. */
  private void cpuHog() throws InterruptedException, IOException {
    LabNode holder = contender.holder();
    List<Set<String>> samples = new ArrayList<>();
    long start = now();
    Process hog =
        lab.network()
            .start(
                holder.host(),
                new ProcessBuilder(
                        "timeout",
                        Long.toString(cpuHog.toSeconds()),
                        "sh",
                        "-c",
                        "while :; do :; done")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD));
    try {
      say("CPU hog on %s for %d s".formatted(holder.id(), cpuHog.toSeconds()));
      long deadline = start + cpuHog.toMillis() + 5_000;
      for (long tick = start; hog.isAlive() && now() < deadline; tick += VIP_SAMPLE_MILLIS) {
        samples.add(
            lab.nodesWithVip().stream()
                .map(LabNode::id)
                .collect(Collectors.toCollection(HashSet::new)));
        sleepUntil(tick + VIP_SAMPLE_MILLIS);
      }
    } finally {
      hog.destroy();
      hog.waitFor(5, TimeUnit.SECONDS);
    }
    long end = now();
    cpuMoves = OptionalInt.of(VipMoves.count(samples));
    cpu =
        Optional.of(
            summarize("cpu-hog", List.of(new Window(start, end, OptionalLong.empty()))).get(0));
    say(
        "CPU hog: %d VIP moves in %d samples, %d failed connections"
            .formatted(cpuMoves.getAsInt(), samples.size(), cpu.get().failedConnections()));
    awaitSteady(STEADY_TIMEOUT);
  }

  /** The client's figures per window, once every attempt started in them has ended. */
  private List<Trial> summarize(String scenario, List<Window> windows) throws InterruptedException {
    if (windows.isEmpty()) {
      return List.of();
    }
    sleepUntil(windows.get(windows.size() - 1).until() + ATTEMPT_LIMIT.toMillis());
    List<Trial> figures = new ArrayList<>();
    for (Window window : windows) {
      LabProbe.Summary summary = probe.summary(window.from(), window.until());
      if (summary.attempts() == 0) {
        throw new IllegalStateException(
            "the client made no connection attempts between "
                + window.from()
                + " and "
                + window.until());
      }
      figures.add(
          new Trial(
              summary.longestFailureWindowMillis(),
              summary.failures(),
              summary.attempts(),
              window.vipMovedMillis()));
      writeDetails(scenario, figures.size(), window, summary);
    }
    return figures;
  }

  /**
   * Appends a trial's failures, by reason, to trials.txt in the work directory, for a look after
   * the run.
   */
  private void writeDetails(String scenario, int trial, Window window, LabProbe.Summary summary) {
    Map<String, Long> reasons =
        summary.failed().stream()
            .collect(
                Collectors.groupingBy(
                    LabProbe.Attempt::detail, TreeMap::new, Collectors.counting()));
    String line =
        "%s %d: from %d until %d, %s; failures by reason %s%n"
            .formatted(scenario, trial, window.from(), window.until(), summary, reasons);
    try {
      Files.writeString(
          lab.workDirectory().resolve("trials.txt"),
          line,
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      say("cannot write trials.txt: " + e.getMessage());
    }
  }

  /**
   * Milliseconds from {@code since} until a node other than {@code holder} carries the VIP; empty
   * if none within {@code limit}.
   */
  private OptionalLong awaitVipElsewhere(LabNode holder, long since, Duration limit) {
    try {
      while (now() < since + limit.toMillis()) {
        if (lab.nodesWithVip().stream().anyMatch(node -> !node.equals(holder))) {
          return OptionalLong.of(now() - since);
        }
        Thread.sleep(10);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return OptionalLong.empty();
  }

  private void awaitSteady(Duration timeout) throws InterruptedException {
    contender.awaitSteady(timeout);
  }

  /**
   * Replaces the client with one whose connections fail after {@code connectTimeout}, once it gets
   * through.
   */
  private void useProbe(Duration connectTimeout) throws IOException, InterruptedException {
    if (probe != null) {
      probe.close();
    }
    probe = lab.startProbe(PROBE_INTERVAL_MILLIS, 0, connectTimeout);
    awaitClientThrough();
  }

  private void awaitClientThrough() throws InterruptedException {
    if (!probe.awaitSuccess(Duration.ofSeconds(60))) {
      throw new IllegalStateException(
          "the client gets no connection through VIP:"
              + ClusterLab.PROXY_PORT
              + "; logs in "
              + lab.workDirectory());
    }
    Thread.sleep(1_000);
  }

  private void say(String message) {
    progress.println("[" + contender.title() + "] " + message);
  }

  private static String millis(OptionalLong millis) {
    return millis.isPresent()
        ? String.format(Locale.ROOT, "%.2f s", millis.getAsLong() / 1000.0)
        : "never";
  }

  private static long now() {
    return System.currentTimeMillis();
  }

  private static void sleepUntil(long epochMillis) throws InterruptedException {
    long wait = epochMillis - now();
    if (wait > 0) {
      Thread.sleep(wait);
    }
  }
}
