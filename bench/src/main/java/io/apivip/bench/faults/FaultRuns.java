package io.apivip.bench.faults;

import io.apivip.bench.failover.Contender;
import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import io.apivip.lab.cluster.LabProbe;
import io.apivip.lab.netns.Exec;
import io.apivip.lab.netns.NetnsLab;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Runs the chosen faults, one after the other, on one system under test while a client in the lab
 * opens a new TLS connection to VIP:6443 every 50 ms and a sampler watches which nodes carry the
 * VIP. Before each fault the system is back in its steady state ({@link Contender#steady()}); what
 * a fault killed is started again after its window.
 */
final class FaultRuns {

  static final long PROBE_INTERVAL_MILLIS = 50;

  /**
   * A SYN sent twice is a slow call, not a failed one; a call not connected within 3 s fails, and
   * so does one not answered within the probe's 10 s read timeout.
   */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);

  static final Duration FAULT = Duration.ofSeconds(15);
  static final Duration PAUSE = Duration.ofSeconds(5);

  /** Watched after a fault is undone: what its end costs (a returning node, a stale holder). */
  static final Duration AFTER = Duration.ofSeconds(5);

  static final int FLAPS = 10;
  static final Duration FLAP_DOWN = Duration.ofSeconds(1);
  static final Duration FLAP_UP = Duration.ofMillis(500);
  static final String NETEM = "loss 20% delay 50ms 50ms";

  /**
   * Where the kernel has no netem: one packet in five a node sends on its link dropped at random
   * (nftables), with no delay.
   */
  static final String NFT_LOSS = "oifname \"%s\" numgen random mod 100 < 20";

  private static final Duration FIRST_STEADY_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration STEADY_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration WARM_UP = Duration.ofSeconds(15);
  private static final Duration SETTLE = Duration.ofSeconds(1);

  /**
   * An attempt ends within the connect timeout plus the probe's read timeout (10 s, which bounds
   * the TLS handshake and the answer), and a second to spare.
   */
  private static final Duration ATTEMPT_LIMIT = CONNECT_TIMEOUT.plusSeconds(11);

  private final Contender contender;
  private final ClusterLab lab;
  private final List<Fault> faults;
  private final int trials;
  private final PrintStream progress;
  private final boolean netem;
  private final Map<Fault, List<FaultFigures>> figures = new EnumMap<>(Fault.class);
  private LabProbe probe;
  private AddressSampler sampler;

  /** {@code netem}: whether the loss fault may use tc netem ({@link #netemAvailable()}). */
  FaultRuns(
      Contender contender, List<Fault> faults, int trials, boolean netem, PrintStream progress) {
    this.contender = contender;
    this.lab = contender.lab();
    this.faults = List.copyOf(faults);
    this.trials = trials;
    this.progress = progress;
    this.netem = netem;
  }

  /** Runs every fault; a failure ends the run and is reported with what was measured so far. */
  SystemFaults run() {
    Optional<String> error = Optional.empty();
    try {
      contender.awaitSteady(FIRST_STEADY_TIMEOUT);
      probe = lab.startProbe(PROBE_INTERVAL_MILLIS, 0, CONNECT_TIMEOUT);
      awaitClientThrough();
      // Until the JITs have compiled the TLS paths, health checks may time out on their own.
      Thread.sleep(WARM_UP.toMillis());
      contender.awaitSteady(STEADY_TIMEOUT);
      sampler = AddressSampler.start(lab);
      for (int trial = 1; trial <= trials; trial++) {
        for (Fault fault : faults) {
          measure(fault, trial);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = Optional.of("interrupted");
    } catch (IOException | RuntimeException e) {
      error = Optional.of(e.getMessage() == null ? e.toString() : e.getMessage());
      say("stopped: " + error.get());
    } finally {
      if (sampler != null) {
        sampler.close();
      }
    }
    Map<Fault, List<FaultFigures>> measured = new EnumMap<>(Fault.class);
    figures.forEach((fault, list) -> measured.put(fault, List.copyOf(list)));
    return new SystemFaults(contender.title(), measured, error);
  }

  private void measure(Fault fault, int trial) throws InterruptedException, IOException {
    LabNode holder = contender.holder();
    LabNode target =
        fault == Fault.NEXT_DEAF || fault == Fault.NEXT_MUTE
            ? contender.topRankedNonHolder(holder)
            : holder;
    long from = now();
    try {
      inject(fault, target);
      Thread.sleep(AFTER.toMillis());
    } finally {
      if (fault == Fault.CRASH) {
        restartAfterCrash(target);
      }
    }
    long until = from + FAULT.toMillis() + AFTER.toMillis();
    sleepUntil(until + ATTEMPT_LIMIT.toMillis());
    if (!sampler.running()) {
      throw new IllegalStateException(
          "the address sampler stopped; see " + lab.workDirectory().resolve("address-sampler.log"));
    }
    List<HolderTimeline.Sample> samples = sampler.since(from);
    HolderTimeline.Occupancy occupancy = HolderTimeline.measure(samples, from, until);
    FaultFigures result = FaultFigures.of(occupancy, probe.attempts(), from, until);
    figures.computeIfAbsent(fault, key -> new ArrayList<>()).add(result);
    say(
        String.format(
            Locale.ROOT,
            "%s %d/%d on %s: no holder %s, two holders %s, %d of %d calls failed, slowest %s"
                + " (%d samples over %s of %s, gaps up to %d ms)",
            fault.flag,
            trial,
            trials,
            target.id(),
            FaultTable.seconds(result.noHolderMillis()),
            FaultTable.seconds(result.manyHoldersMillis()),
            result.failedCalls(),
            result.calls(),
            FaultTable.seconds(result.slowestCallMillis()),
            occupancy.spans(),
            FaultTable.seconds(result.observedMillis()),
            FaultTable.seconds(until - from),
            result.longestGapMillis()));
    writeDetails(fault, trial, target, from, until, samples);
    contender.awaitSteady(STEADY_TIMEOUT);
    Thread.sleep(SETTLE.toMillis());
  }

  /**
   * Puts {@code fault} on {@code node} for {@link #FAULT} and undoes it, even on failure; a crash
   * is undone later, by {@link #restartAfterCrash}.
   */
  private void inject(Fault fault, LabNode node) throws InterruptedException {
    long end = now() + FAULT.toMillis();
    switch (fault) {
      case HOLDER_DEAF, NEXT_DEAF -> {
        try {
          lab.dropInbound(node, contender.clusterTraffic());
          sleepUntil(end);
        } finally {
          lab.heal(node);
        }
      }
      case HOLDER_MUTE, NEXT_MUTE -> {
        try {
          lab.dropOutbound(node, contender.clusterTraffic());
          sleepUntil(end);
        } finally {
          lab.heal(node);
        }
      }
      case PAUSE -> {
        long pid = contender.daemonPid(node);
        try {
          signal("STOP", pid);
          Thread.sleep(PAUSE.toMillis());
        } finally {
          signal("CONT", pid);
        }
        sleepUntil(end);
      }
      case CRASH -> {
        contender.crash(node);
        sleepUntil(end);
      }
      case LOSS -> {
        try {
          for (LabNode each : lab.nodes()) {
            if (netem) {
              tc(each, "add").orThrow();
            } else {
              lab.dropOutbound(each, NFT_LOSS.formatted(each.host().interfaceName()));
            }
          }
          sleepUntil(end);
        } finally {
          for (LabNode each : lab.nodes()) {
            if (netem) {
              tc(each, "del");
            } else {
              lab.heal(each);
            }
          }
        }
      }
      case FLAP -> {
        try {
          for (int flap = 0; flap < FLAPS; flap++) {
            node.cutLink();
            Thread.sleep(FLAP_DOWN.toMillis());
            node.restoreLink();
            Thread.sleep(FLAP_UP.toMillis());
          }
        } finally {
          node.restoreLink();
        }
      }
      case PARTITION -> {
        try {
          lab.partition(node, lab.nodes().stream().filter(other -> !other.equals(node)).toList());
          sleepUntil(end);
        } finally {
          lab.heal(node);
        }
      }
    }
  }

  /** As a reboot would: the VIP the dead daemon left goes, and the daemon starts again. */
  private void restartAfterCrash(LabNode node) throws IOException {
    lab.network()
        .exec(
            node.host(),
            "ip",
            "addr",
            "del",
            NetnsLab.VIP_IPV4 + "/" + ClusterLab.VIP_PREFIX_LENGTH,
            "dev",
            node.host().interfaceName());
    contender.restart(node);
  }

  /**
   * Whether this kernel has tc's netem qdisc (CONFIG_NET_SCH_NETEM), tried on the loopback of a
   * namespace made for the purpose and deleted after.
   */
  static boolean netemAvailable() {
    String namespace = "apivip-netem-check-" + ProcessHandle.current().pid();
    Duration limit = Duration.ofSeconds(10);
    if (!Exec.run(limit, List.of("ip", "netns", "add", namespace)).ok()) {
      return false;
    }
    try {
      return Exec.run(
              limit,
              List.of(
                  "ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", "lo", "root",
                  "netem", "loss", "1%"))
          .ok();
    } finally {
      Exec.run(limit, List.of("ip", "netns", "delete", namespace));
    }
  }

  private Exec.Result tc(LabNode node, String action) {
    List<String> command =
        new ArrayList<>(List.of("tc", "qdisc", action, "dev", node.host().interfaceName(), "root"));
    if (action.equals("add")) {
      command.add("netem");
      command.addAll(List.of(NETEM.split(" ")));
    }
    return lab.network().exec(node.host(), Duration.ofSeconds(10), command);
  }

  private static void signal(String signal, long pid) {
    Exec.run(Duration.ofSeconds(10), List.of("kill", "-" + signal, Long.toString(pid))).orThrow();
  }

  /**
   * Appends a fault's holders over time and the client's failures by reason to faults.txt in the
   * work directory, for a look after the run.
   */
  private void writeDetails(
      Fault fault,
      int trial,
      LabNode target,
      long from,
      long until,
      List<HolderTimeline.Sample> samples) {
    Map<String, Long> reasons =
        probe.attempts().stream()
            .filter(a -> !a.ok() && a.startMillis() >= from && a.startMillis() <= until)
            .collect(
                Collectors.groupingBy(
                    LabProbe.Attempt::detail, TreeMap::new, Collectors.counting()));
    String line =
        "%s %d on %s: from %d until %d; holders %s; failures by reason %s%n"
            .formatted(
                fault.flag,
                trial,
                target.id(),
                from,
                until,
                HolderTimeline.changes(samples, from, until),
                reasons);
    try {
      Files.writeString(
          lab.workDirectory().resolve("faults.txt"),
          line,
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      say("cannot write faults.txt: " + e.getMessage());
    }
  }

  private void awaitClientThrough() throws InterruptedException {
    if (!probe.awaitSuccess(Duration.ofSeconds(60))) {
      throw new IllegalStateException(
          "the client gets no connection through VIP:"
              + ClusterLab.PROXY_PORT
              + "; logs in "
              + lab.workDirectory());
    }
  }

  private void say(String message) {
    progress.println("[" + contender.title() + "] " + message);
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
