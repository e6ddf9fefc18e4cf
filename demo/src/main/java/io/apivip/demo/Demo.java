package io.apivip.demo;

import io.apivip.daemon.admin.Json;
import io.apivip.daemon.admin.StatusReport;
import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import io.apivip.lab.cluster.LabProbe;
import io.apivip.lab.netns.Exec;
import io.apivip.lab.netns.Root;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The demo ({@code ./dev demo}): three apivip nodes and a client in network namespaces on this
 * machine, a live view of who holds the VIP and how the client fares, and commands to kill, drain
 * and restore nodes; or a narrated scripted run. It lives beside the product, not in it: the nodes
 * run the product jar, the lab runs from this module's jar.
 */
@Command(
    name = "apivip-demo",
    description = {
      "Start a three-node apivip lab in network namespaces on this machine (needs root; nothing",
      "leaves the machine), with a client connecting to the VIP every 20 ms, and watch the VIP"
          + " move.",
      "Interactive: type kill N, drain N, resume N, restore N, break N, heal N, help, quit.",
      "With --script, run a narrated scenario and exit."
    })
public final class Demo implements Callable<Integer> {

  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
  private static final Duration SETTLE = Duration.ofSeconds(60);
  private static final Duration PROBE_CONNECT_TIMEOUT = Duration.ofSeconds(3);

  /**
   * How long after its start an attempt of the probe has surely ended: the connect timeout, then
   * the probe's read timeout (10 s) for an answer, and a margin.
   */
  private static final Duration PROBE_GIVES_UP = Duration.ofSeconds(11);

  /** The kernel sends a SYN again after 1 s: a connection that took that long waited for it. */
  private static final long SYN_SENT_AGAIN_MILLIS = 1000;

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Show this help and exit.")
  boolean help;

  @Option(
      names = "--script",
      paramLabel = "NAME",
      description = "Run a narrated scenario and exit: failover, handoff or all.")
  String script;

  @Option(
      names = "--jar",
      paramLabel = "FILE",
      description =
          "The apivip jar every node runs (default: ${DEFAULT-VALUE}, which ./dev build makes).")
  Path jar = Path.of("lb-daemon/target/apivip.jar");

  @Option(
      names = "--work-dir",
      paramLabel = "DIR",
      description =
          "Where the lab writes configurations and logs (default: a new temporary directory).")
  Path workDirectory;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Demo()).execute(args));
  }

  private ClusterLab lab;
  private LabProbe probe;
  private long shownSince = System.currentTimeMillis();

  @Override
  public Integer call() throws Exception {
    if (script != null && !List.of("failover", "handoff", "all").contains(script)) {
      System.err.println(
          "apivip-demo: unknown script '" + script + "': expected failover, handoff or all");
      return 2;
    }
    if (!Root.isRoot()) {
      System.err.println(
          "the demo builds Linux network namespaces (ip netns) and starts processes in them, which"
              + " needs root: run sudo ./dev demo");
      return 1;
    }
    Path work = workDirectory != null ? workDirectory : Files.createTempDirectory("apivip-demo");
    say(
        "Building a lab: a bridge, three nodes (n1 192.0.2.11, n2 .12, n3 .13) and a client (.200),"
            + " in network namespaces.");
    say(
        "Each node runs a stand-in kube-apiserver on :16443 and apivip ("
            + jar
            + "); the VIP is 192.0.2.100. Files: "
            + work);
    lab =
        ClusterLab.start(
            ClusterLab.Options.defaults(jar.toAbsolutePath(), work)
                .withExtraConfig("health.timeout = 3s"));
    try {
      Optional<LabNode> holder = awaitHolder(lab.nodes());
      if (holder.isEmpty()) {
        say(
            "The nodes did not agree on a holder within "
                + SETTLE.toSeconds()
                + " s; see the logs under "
                + work);
        return 1;
      }
      say(
          "The nodes agree: "
              + holder.get().id()
              + " holds the VIP. Starting a client that opens a new TLS connection to"
              + " https://192.0.2.100:6443 every 20 ms.");
      // A connect may take up to 3 s: a SYN that was dropped and sent again a second later (as
      // during
      // a planned handoff, or while a dead holder's address moves) makes a slow connection, not a
      // failed one, as for kubectl; the narration counts those apart.
      probe = lab.startProbe(20, 0, PROBE_CONNECT_TIMEOUT);
      watch(Duration.ofSeconds(3));
      if (script == null) {
        return interactive();
      }
      if (script.equals("failover") || script.equals("all")) {
        failover();
      }
      if (script.equals("handoff") || script.equals("all")) {
        handoff();
      }
      say("Done. Stopping the lab.");
      return 0;
    } finally {
      lab.close();
    }
  }

  private void failover() throws Exception {
    LabNode holder = awaitHolder(lab.nodes()).orElseThrow();
    say(
        "Unplanned failure: "
            + holder.id()
            + " holds the VIP; killing it (SIGKILL) and pulling its cable.");
    long killedAt = System.currentTimeMillis();
    holder.kill();
    watch(Duration.ofSeconds(4));
    long until = System.currentTimeMillis() - 1000;
    // Connections the dead node had accepted fail only when the client gives up on them (its read
    // timeout): wait for those before counting, so that they are not blamed on what comes next.
    watch(PROBE_GIVES_UP);
    LabProbe.Summary summary = probe.summary(killedAt - 500, until);
    Optional<LabNode> successor =
        awaitHolder(lab.nodes().stream().filter(node -> node != holder).toList());
    say(
        successor
                .map(node -> node.id() + " took the VIP over. ")
                .orElse("No node took the VIP over. ")
            + "Of the client's "
            + summary.attempts()
            + " connections, "
            + summary.failures()
            + " failed (connections in flight on "
            + holder.id()
            + " when it died: reset by the new holder, or never answered) and "
            + slow(killedAt - 500, until)
            + " waited for a SYN sent again (about a second).");
    say(
        "Rebooting "
            + holder.id()
            + ": apivip starts again and the cable goes back in (it does not take the VIP back: no"
            + " preemption).");
    long rebootedAt = System.currentTimeMillis();
    holder.reboot(lab.vip(), ClusterLab.VIP_PREFIX_LENGTH);
    watch(Duration.ofSeconds(8));
    long rejoinUntil = System.currentTimeMillis() - 1000;
    watch(PROBE_GIVES_UP);
    LabProbe.Summary rejoin = probe.summary(rebootedAt, rejoinUntil);
    say(
        holder.id()
            + " is back. Of the client's "
            + rejoin.attempts()
            + " connections meanwhile, "
            + rejoin.failures()
            + " failed and "
            + slow(rebootedAt, rejoinUntil)
            + " waited for a SYN sent again.");
  }

  private void handoff() throws Exception {
    LabNode holder = awaitHolder(lab.nodes()).orElseThrow();
    say(
        "Planned maintenance: 'apivip drain --wait' on "
            + holder.id()
            + ", the holder, as before an OS patch.");
    long start = System.currentTimeMillis();
    Exec.Result drain = holder.apivipCommand(Duration.ofSeconds(90), "drain", "--wait");
    System.out.print(indent(drain.stdout() + drain.stderr()));
    say(
        "Stopping "
            + holder.id()
            + " (SIGTERM, as systemctl stop does), then starting it again as after a reboot.");
    holder.stop(Duration.ofSeconds(40));
    watch(Duration.ofSeconds(2));
    holder.startApivip();
    watch(Duration.ofSeconds(8));
    long until = System.currentTimeMillis() - 3000;
    LabProbe.Summary summary = probe.summary(start, until);
    say(
        "Across the handoff and the restart the client opened "
            + summary.attempts()
            + " connections; "
            + summary.failures()
            + " failed, "
            + slow(start, until)
            + " waited for a SYN sent again (about a second).");
  }

  private int interactive() throws Exception {
    say(
        "Commands: kill N (SIGKILL + cable out), drain N, resume N, restore N (rebooted: cable in,"
            + " apivip started), break N (its apiserver refuses), heal N, help, quit.");
    BlockingQueue<String> commands = new LinkedBlockingQueue<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                  commands.add(line.strip());
                }
              } catch (IOException e) {
                // Standard input closed: treated as quit below.
              }
              commands.add("quit");
            },
            "demo-input");
    reader.setDaemon(true);
    reader.start();
    while (true) {
      String command = commands.poll(1, TimeUnit.SECONDS);
      if (command == null) {
        show();
        continue;
      }
      if (command.isEmpty()) {
        continue;
      }
      String[] words = command.split("\\s+");
      if (words[0].equals("quit") || words[0].equals("q")) {
        say("Stopping the lab.");
        return 0;
      }
      try {
        run(words);
      } catch (RuntimeException e) {
        say("cannot " + command + ": " + e.getMessage());
      }
    }
  }

  private void run(String[] words) throws Exception {
    if (words[0].equals("help") || words.length < 2) {
      say(
          "Commands: kill N, drain N, resume N, restore N, break N, heal N, quit (N is 1, 2 or"
              + " 3).");
      return;
    }
    LabNode node = lab.node(Integer.parseInt(words[1].replaceAll("\\D", "")));
    switch (words[0]) {
      case "kill" -> {
        say("killing " + node.id());
        node.kill();
      }
      case "drain" -> {
        say("draining " + node.id() + " (apivip drain --wait)");
        Exec.Result result = node.apivipCommand(Duration.ofSeconds(90), "drain", "--wait");
        System.out.print(indent(result.stdout() + result.stderr()));
      }
      case "resume" ->
          System.out.print(indent(node.apivipCommand(Duration.ofSeconds(30), "resume").stdout()));
      case "restore" -> {
        if (node.running()) {
          node.restoreLink();
        } else {
          node.reboot(lab.vip(), ClusterLab.VIP_PREFIX_LENGTH);
        }
        say("restored " + node.id());
      }
      case "break" -> {
        node.apiserver("refuse");
        say(node.id() + "'s apiserver now refuses connections");
      }
      case "heal" -> {
        node.apiserver("healthy");
        say(node.id() + "'s apiserver is healthy again");
      }
      default -> say("unknown command " + words[0] + "; type help");
    }
  }

  /** Shows the live view every second for {@code duration}. */
  private void watch(Duration duration) throws InterruptedException {
    long end = System.nanoTime() + duration.toNanos();
    while (System.nanoTime() < end) {
      Thread.sleep(1000);
      show();
    }
  }

  /** Connections started in the window that succeeded, but only after a SYN was sent again. */
  private long slow(long fromMillis, long untilMillis) {
    return probe.attempts().stream()
        .filter(a -> a.startMillis() >= fromMillis && a.startMillis() <= untilMillis)
        .filter(a -> a.ok() && a.millis() >= SYN_SENT_AGAIN_MILLIS)
        .count();
  }

  /** One line: who carries the VIP, each node's view, and the client's last second. */
  private void show() {
    StringBuilder line = new StringBuilder(LocalTime.now().format(CLOCK)).append("  VIP on ");
    List<LabNode> carriers =
        lab.nodes().stream().filter(node -> node.running() && node.hasVip(lab.vip())).toList();
    line.append(
            carriers.isEmpty()
                ? "nobody"
                : String.join("+", carriers.stream().map(LabNode::id).toList()))
        .append("  |");
    for (LabNode node : lab.nodes()) {
      line.append("  ").append(node.id()).append(": ").append(describe(node));
    }
    long now = System.currentTimeMillis();
    LabProbe.Summary lastSecond = probe.summary(now - 2000, now - 1000);
    LabProbe.Summary sinceStart = probe.summary(shownSince, now - 1000);
    line.append(
        String.format(
            Locale.ROOT,
            "  |  client: %d/%d ok, %d failed since start",
            lastSecond.attempts() - lastSecond.failures(),
            lastSecond.attempts(),
            sinceStart.failures()));
    System.out.println(line);
  }

  private static String describe(LabNode node) {
    if (!node.running()) {
      return "down";
    }
    Optional<String> json = node.statusJson();
    if (json.isEmpty()) {
      return "starting";
    }
    try {
      StatusReport status = Json.read(json.get(), StatusReport.class);
      if (status.maintenance()) {
        return status.drain().complete() ? "drained" : "draining";
      }
      if (!status.quorum().present()) {
        return "no quorum";
      }
      return status.vip().heldHere() ? "holds" : "standby";
    } catch (IOException e) {
      return "?";
    }
  }

  private Optional<LabNode> awaitHolder(List<LabNode> candidates) throws InterruptedException {
    long deadline = System.nanoTime() + SETTLE.toNanos();
    while (System.nanoTime() < deadline) {
      List<LabNode> holders =
          candidates.stream().filter(node -> node.running() && holdsHere(node)).toList();
      if (holders.size() == 1 && holders.get(0).hasVip(lab.vip())) {
        return Optional.of(holders.get(0));
      }
      Thread.sleep(200);
    }
    return Optional.empty();
  }

  private static boolean holdsHere(LabNode node) {
    try {
      Optional<String> json = node.statusJson();
      return json.isPresent() && Json.read(json.get(), StatusReport.class).vip().heldHere();
    } catch (IOException e) {
      return false;
    }
  }

  private static void say(String text) {
    System.out.println();
    System.out.println(">> " + text);
  }

  private static String indent(String text) {
    return text.isBlank() ? "" : text.strip().replaceAll("(?m)^", "   ") + "\n";
  }
}
