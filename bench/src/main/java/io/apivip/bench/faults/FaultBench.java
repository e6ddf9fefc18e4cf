package io.apivip.bench.faults;

import io.apivip.bench.failover.ApivipContender;
import io.apivip.bench.failover.BenchCommand;
import io.apivip.bench.failover.Contender;
import io.apivip.bench.failover.KeepalivedConfig;
import io.apivip.bench.failover.KeepalivedContender;
import io.apivip.lab.cluster.ClusterLab;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * The fault matrix: apivip against keepalived + HAProxy under the faults that break VRRP (one-way
 * loss of the cluster's traffic, a paused or crashed daemon, a lossy network, a flapping link, a
 * partition), each on the same three-node network-namespace lab, one system after the other. Prints
 * progress, then one table; with {@code --readme} also writes it, with the date, {@code --machine}
 * and {@code --commit}, into that file's "Faults that break VRRP" section. Needs root. Run by
 * bench/faults/run.sh.
 *
 * <pre>
 * FaultBench --jar apivip.jar [--systems apivip,keepalived] [--faults holder-deaf,pause,...]
 *            [--trials 1] [--work DIR] [--readme bench/README.md --machine TEXT --commit REVISION]
 * </pre>
 */
public final class FaultBench {

  static final String HEADING = "## Faults that break VRRP";

  /** The systems under test, by the name {@code --systems} takes. */
  enum SystemName {
    APIVIP("apivip", ApivipContender.TITLE),
    KEEPALIVED("keepalived", KeepalivedConfig.Variant.DEFAULT.title()),
    KEEPALIVED_FAST("keepalived-fast", KeepalivedConfig.Variant.FAST.title());

    final String flag;
    final String title;

    SystemName(String flag, String title) {
      this.flag = flag;
      this.title = title;
    }

    static SystemName of(String flag) {
      return Stream.of(values())
          .filter(system -> system.flag.equals(flag))
          .findFirst()
          .orElseThrow(
              () ->
                  new IllegalArgumentException(
                      "--systems: unknown system "
                          + flag
                          + " (apivip, keepalived, keepalived-fast)"));
    }

    Contender start(Path jar, Path work) throws IOException {
      return switch (this) {
        case APIVIP -> ApivipContender.start(jar, work);
        case KEEPALIVED -> KeepalivedContender.start(KeepalivedConfig.Variant.DEFAULT, jar, work);
        case KEEPALIVED_FAST -> KeepalivedContender.start(KeepalivedConfig.Variant.FAST, jar, work);
      };
    }
  }

  /** What to run, from the command line. */
  record Options(
      Path jar,
      List<SystemName> systems,
      List<Fault> faults,
      int trials,
      Optional<Path> work,
      Optional<Path> readme,
      String machine,
      String commit) {

    static Options parse(String... args) {
      Path jar = null;
      List<SystemName> systems = List.of(SystemName.APIVIP, SystemName.KEEPALIVED);
      List<Fault> faults = Fault.all();
      int trials = 1;
      Optional<Path> work = Optional.empty();
      Optional<Path> readme = Optional.empty();
      String machine = "";
      String commit = "";
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(flag + " needs a value");
        }
        String value = args[++i];
        switch (flag) {
          case "--jar" -> jar = Path.of(value);
          case "--systems" ->
              systems = list(value).stream().map(SystemName::of).distinct().toList();
          case "--faults" -> {
            List<Fault> chosen = list(value).stream().map(Fault::of).distinct().toList();
            // The table lists them in the matrix's order, whatever order they were named in.
            faults = Fault.all().stream().filter(chosen::contains).toList();
          }
          case "--trials" -> trials = BenchCommand.positive(flag, value);
          case "--work" -> work = Optional.of(Path.of(value));
          case "--readme" -> readme = Optional.of(Path.of(value));
          case "--machine" -> machine = value;
          case "--commit" -> commit = value;
          default -> throw new IllegalArgumentException("unknown option " + flag);
        }
      }
      if (jar == null) {
        throw new IllegalArgumentException("--jar apivip.jar is required");
      }
      return new Options(jar, systems, faults, trials, work, readme, machine, commit);
    }

    private static List<String> list(String value) {
      List<String> items =
          Stream.of(value.split(",")).map(String::strip).filter(item -> !item.isEmpty()).toList();
      if (items.isEmpty()) {
        throw new IllegalArgumentException("an empty list: " + value);
      }
      return items;
    }
  }

  private FaultBench() {}

  public static void main(String[] args) throws IOException {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("fault bench: " + e.getMessage());
      System.exit(2);
      return;
    }
    PrintStream out = BenchCommand.console();
    Path work =
        options.work().isPresent()
            ? options.work().get()
            : Files.createTempDirectory("apivip-fault-bench");
    String loadAtStart = BenchCommand.loadAverage();
    AtomicBoolean stopping = BenchCommand.stopOnSignal("fault-bench-stop");
    boolean netem = !options.faults().contains(Fault.LOSS) || FaultRuns.netemAvailable();
    if (!netem) {
      out.println("this kernel has no netem: the loss fault drops packets with nftables, no delay");
    }
    List<SystemFaults> results = new ArrayList<>();
    for (SystemName system : options.systems()) {
      if (stopping.get()) {
        break;
      }
      results.add(measure(system, options, netem, work.resolve(system.flag), out));
    }
    if (stopping.get()) {
      out.println("stopped: nothing written");
      return;
    }
    String table = FaultTable.markdown(results, options.faults());
    out.println();
    out.print(table);
    if (options.readme().isPresent()) {
      Path readme = options.readme().get();
      BenchCommand.writeSection(
          readme, HEADING, section(options, netem, table, loadAtStart, BenchCommand.loadAverage()));
      out.println("written to " + readme);
    }
    out.println("logs, configurations and each fault's holders over time (faults.txt): " + work);
    System.exit(results.stream().anyMatch(result -> result.error().isPresent()) ? 1 : 0);
  }

  private static SystemFaults measure(
      SystemName system, Options options, boolean netem, Path work, PrintStream out) {
    out.println("== " + system.flag + ": starting a three-node lab in " + work);
    try (Contender contender = system.start(options.jar(), work)) {
      return new FaultRuns(contender, options.faults(), options.trials(), netem, out).run();
    } catch (IOException | RuntimeException e) {
      String error = e.getMessage() == null ? e.toString() : e.getMessage();
      out.println("== " + system.flag + ": could not start: " + error);
      return new SystemFaults(system.title, Map.of(), Optional.of("could not start: " + error));
    }
  }

  /** The README section: what was measured, where, how, and the table. */
  static String section(
      Options options, boolean netem, String table, String loadAtStart, String loadAtEnd) {
    return String.format(
        Locale.ROOT,
        """
        %s

        Measured on %s%s with `bench/faults/run.sh`%s (%s; needs root). Each cell: seconds \
        with no node carrying the VIP / seconds with two or more carrying it / failed client \
        calls (of all) / the slowest call%s.
        Load average (1 min) at the start and the end of the run: %s and %s.

        %s
        How it is measured: each system runs on the failover benchmark's lab (three node
        namespaces and a client namespace on one bridge, a stand-in kube-apiserver on every node),
        set up as there: apivip with its defaults, keepalived and HAProxy as the kubeadm guide
        has them. A client opens a new TLS connection to `VIP:6443` every %d ms and asks for
        `/version`; a call fails when it is not connected within %d s, when a read (of the TLS
        handshake or the answer) waits more than 10 s, or when the connection is refused or
        reset; the slowest call is the longest such attempt, failed or not. A shell loop (at nice -10) runs `ip -o addr` in every node's namespace
        every 20 ms or as fast as the machine allows, and so tells which nodes really carry the
        address; a sample's state counts until the next sample. Each
        fault lasts %d s and is then undone; it is watched from its start until %d s after
        that. Before each fault the system is back in its steady state (one node holds the VIP,
        every balancer routes to every apiserver). The top-ranked non-holder is the node the
        system would elect next: for apivip the highest node id (every node has priority 100),
        for keepalived the backup with the highest address (both have priority 100).

        - Deaf / mute: nftables in the node's namespace drop its inbound / outbound cluster
          traffic: apivip's heartbeats (UDP %d), keepalived's VRRP advertisements (IP protocol
          112). Everything else, the client's calls included, still flows.
        - Pause: SIGSTOP of the process that decides about the VIP (the apivip JVM; keepalived's
          VRRP child), SIGCONT %d s later.
        - Crash: SIGKILL of that process (for keepalived, of its parent too, so nothing restarts
          it or cleans up); the link stays up and the VIP stays where it was configured. After the
          window the address is removed, as a reboot would, and the daemon started again.
        - Loss: %s
        - Flap: the holder's bridge port %d times down for %d ms and up for %d ms.
        - Partition: nftables on the holder drop everything to and from the other nodes; the
          client still reaches it.
        """,
        HEADING,
        LocalDate.now(ZoneOffset.UTC),
        options.machine().isBlank() ? "" : " on " + options.machine(),
        options.commit().isBlank() ? "" : " at apivip commit " + options.commit(),
        options.trials() == 1
            ? "one trial of each fault"
            : options.trials() + " trials of each fault",
        options.trials() == 1 ? "" : " (seconds and slowest: the worst trial; calls: all trials)",
        loadAtStart,
        loadAtEnd,
        table,
        FaultRuns.PROBE_INTERVAL_MILLIS,
        FaultRuns.CONNECT_TIMEOUT.toSeconds(),
        FaultRuns.FAULT.toSeconds(),
        FaultRuns.AFTER.toSeconds(),
        ClusterLab.HEARTBEAT_PORT,
        FaultRuns.PAUSE.toSeconds(),
        netem
            ? "`tc qdisc add dev eth0 root netem "
                + FaultRuns.NETEM
                + "` in every node's namespace (what a node sends, to the client too)."
            : "this machine's kernel has no netem (`CONFIG_NET_SCH_NETEM` unset), so nftables"
                + " in every node's namespace drop one packet in five that it sends on its link"
                + " (`"
                + FaultRuns.NFT_LOSS.formatted("eth0")
                + " drop`), to the client too, with no added delay; where netem is there, the"
                + " benchmark uses `netem "
                + FaultRuns.NETEM
                + "` instead.",
        FaultRuns.FLAPS,
        FaultRuns.FLAP_DOWN.toMillis(),
        FaultRuns.FLAP_UP.toMillis());
  }
}
