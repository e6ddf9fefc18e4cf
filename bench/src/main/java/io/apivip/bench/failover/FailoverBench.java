package io.apivip.bench.failover;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The failover benchmark: apivip against keepalived + HAProxy, each on the same three-node
 * network-namespace lab with the same stand-in apiservers and client, one after the other in one
 * run. Prints progress, then one table; with {@code --readme} also writes the table, with the date
 * and {@code --machine}, into that file's "Failover and handoff" section. Needs root. Run by
 * bench/failover/run.sh, which sees to keepalived, HAProxy and the jar.
 *
 * <pre>
 * FailoverBench --jar apivip.jar [--trials 20] [--cpu-seconds 60]
 *               [--systems apivip,keepalived,keepalived-fast] [--work DIR]
 *               [--readme bench/README.md --machine TEXT --commit REVISION]
 * </pre>
 */
public final class FailoverBench {

  /** The systems under test, by the name {@code --systems} takes. */
  enum SystemName {
    APIVIP("apivip"),
    KEEPALIVED("keepalived"),
    KEEPALIVED_FAST("keepalived-fast");

    final String flag;

    SystemName(String flag) {
      this.flag = flag;
    }

    static SystemName of(String flag) {
      for (SystemName system : values()) {
        if (system.flag.equals(flag)) {
          return system;
        }
      }
      throw new IllegalArgumentException(
          "--systems: unknown system " + flag + " (apivip, keepalived, keepalived-fast)");
    }
  }

  /** What to run, from the command line. */
  record Options(
      Path jar,
      int trials,
      Duration cpuHog,
      List<SystemName> systems,
      Optional<Path> work,
      Optional<Path> readme,
      String machine,
      String commit) {

    static Options parse(String... args) {
      Path jar = null;
      int trials = 20;
      long cpuSeconds = 60;
      List<SystemName> systems = List.of(SystemName.values());
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
          case "--trials" -> trials = BenchCommand.positive(flag, value);
          case "--cpu-seconds" -> cpuSeconds = BenchCommand.positive(flag, value);
          case "--systems" ->
              systems =
                  List.of(value.split(",")).stream()
                      .map(String::strip)
                      .map(SystemName::of)
                      .distinct()
                      .toList();
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
      return new Options(
          jar, trials, Duration.ofSeconds(cpuSeconds), systems, work, readme, machine, commit);
    }
  }

  private FailoverBench() {}

  public static void main(String[] args) throws IOException {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("failover bench: " + e.getMessage());
      System.exit(2);
      return;
    }
    PrintStream out = BenchCommand.console();
    Path work =
        options.work().isPresent()
            ? options.work().get()
            : Files.createTempDirectory("apivip-failover-bench");
    String loadAtStart = BenchCommand.loadAverage();
    AtomicBoolean stopping = BenchCommand.stopOnSignal("failover-bench-stop");
    List<SystemResult> results = new ArrayList<>();
    for (SystemName system : options.systems()) {
      if (stopping.get()) {
        out.println("stopped: nothing written");
        return;
      }
      results.add(measure(system, options, work.resolve(system.flag), out));
    }
    if (stopping.get()) {
      out.println("stopped: nothing written");
      return;
    }
    String table = ResultTable.markdown(results, options.cpuHog().toSeconds());
    out.println();
    out.print(table);
    out.println();
    ResultTable.verdicts(results, options.cpuHog().toSeconds()).forEach(out::println);
    if (options.readme().isPresent()) {
      Path readme = options.readme().get();
      BenchCommand.writeSection(
          readme,
          ReadmeSection.HEADING,
          section(options, table, loadAtStart, BenchCommand.loadAverage()));
      out.println("written to " + readme);
    }
    out.println("logs and configurations: " + work);
    System.exit(results.stream().anyMatch(result -> result.error().isPresent()) ? 1 : 0);
  }

  private static SystemResult measure(
      SystemName system, Options options, Path work, PrintStream out) {
    out.println("== " + system.flag + ": starting a three-node lab in " + work);
    try (Contender contender = start(system, options.jar(), work)) {
      return new Trials(contender, options.trials(), options.cpuHog(), out).run();
    } catch (IOException | RuntimeException e) {
      String error = e.getMessage() == null ? e.toString() : e.getMessage();
      out.println("== " + system.flag + ": could not start: " + error);
      return new SystemResult(
          title(system),
          system == SystemName.APIVIP,
          Optional.empty(),
          List.of(),
          List.of(),
          List.of(),
          List.of(),
          List.of(),
          OptionalInt.empty(),
          Optional.empty(),
          Optional.of("could not start: " + error));
    }
  }

  private static Contender start(SystemName system, Path jar, Path work) throws IOException {
    return switch (system) {
      case APIVIP -> ApivipContender.start(jar, work);
      case KEEPALIVED -> KeepalivedContender.start(KeepalivedConfig.Variant.DEFAULT, jar, work);
      case KEEPALIVED_FAST -> KeepalivedContender.start(KeepalivedConfig.Variant.FAST, jar, work);
    };
  }

  private static String title(SystemName system) {
    return switch (system) {
      case APIVIP -> ApivipContender.TITLE;
      case KEEPALIVED -> KeepalivedConfig.Variant.DEFAULT.title();
      case KEEPALIVED_FAST -> KeepalivedConfig.Variant.FAST.title();
    };
  }

  /** The README section: what was measured, where, how, and the table. */
  static String section(Options options, String table, String loadAtStart, String loadAtEnd) {
    return String.format(
        Locale.ROOT,
        """
        %s

        Measured on %s%s with `bench/failover/run.sh`%s (%d trials of each kind per system; \
        needs root).
        Load average (1 min) at the start and the end of the run: %s and %s.

        %s
        How it is measured: each system runs on the same lab, one after the other: three node
        namespaces and a client namespace on one bridge, a stand-in kube-apiserver (HTTPS,
        `/readyz`) on :16443 of every node, and a client that opens a new TLS connection to
        `VIP:6443` every 10 ms and asks for `/version`. A connection fails when it gets no answer
        within 3 s, or when it is not made within 1 s in the link-cut and no-fault trials (so a lost
        SYN, retransmitted after 1 s, is a failure) or 3 s in the others (a SYN sent twice is slow,
        not failed). The failure window is the longest stretch from the start of a failed
        connection to the start of the next successful one. Before every trial the system is back
        in its steady state: one node holds the VIP and every node routes to every apiserver. A
        window ends there, and the next fault comes 1 s later, so that no connection of one
        window is cut by the next fault and counted against the window it started in.

        - Link cut: the holder's link goes down (its bridge port, as with a pulled cable); the
          client is watched for %d s, then the link comes back.
        - Planned handoff: apivip: `apivip drain --wait`, then SIGTERM; keepalived: SIGTERM (it
          sends a priority-0 advertisement); watched until the process has exited and the VIP
          moved %.1f s ago, then the node is started again.
        - API server failure: the holder's apiserver fails `/readyz` for %d s, then refuses
          connections for %d s, then recovers.
        - CPU hog: `sh -c 'while :; do :; done'` in the holder's namespace for %d s (one of the
          machine's cores busy); which node has the VIP is sampled every 100 ms, or as often as the
          machine allows.

        apivip runs with its default settings. keepalived (Debian's) and HAProxy follow the kubeadm
        high-availability guide: keepalived with `state MASTER`/`BACKUP`, priority 101/100, the
        guide's `check_apiserver.sh` (interval 3, weight -2, fall 10, rise 2) and unicast peers;
        HAProxy in `mode tcp` on `*:6443`, round robin with `option httpchk GET /readyz` and `check
        check-ssl verify none` (inter 2 s, fall 3, rise 2), `timeout connect 5s`, `retries 1`,
        `option redispatch`. The second keepalived variant only changes `advert_int` to 0.1 with
        `vrrp_version 3`. With the
        guide's priorities keepalived takes the VIP back when the preferred node returns, which the
        "plugged back in" and "started again" rows count. Other load on the machine moves every
        figure: the no-fault row shows what the lab loses on its own.
        """,
        ReadmeSection.HEADING,
        LocalDate.now(ZoneOffset.UTC),
        options.machine().isBlank() ? "" : " on " + options.machine(),
        options.commit().isBlank() ? "" : " at apivip commit " + options.commit(),
        options.trials(),
        loadAtStart,
        loadAtEnd,
        table,
        Trials.UNPLANNED_OBSERVATION.toSeconds(),
        Trials.PLANNED_AFTER_MOVE.toMillis() / 1000.0,
        Trials.READYZ_FAILING.toSeconds(),
        Trials.REFUSING.toSeconds(),
        options.cpuHog().toSeconds());
  }
}
