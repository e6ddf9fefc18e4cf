package io.apivip.daemon.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.Hostile;
import io.apivip.lab.cluster.LabNode;
import io.apivip.lab.cluster.LabProbe;
import io.apivip.lab.netns.Exec;
import io.apivip.lab.netns.Host;
import io.apivip.lab.netns.NetnsSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * apivip under attack, in the namespace lab: three real nodes, a client connecting through the VIP
 * every 50 ms, and the attacks of issue 20 one after the other on one lab: an unprivileged drain,
 * many idle connections from one host, slow readers of a large response, and a datagram flood at
 * the holder's heartbeat port, from a non-member and spoofed from a member. Each prints a
 * "hostile:" line of figures. CI runs the short forms; {@code -Dapivip.hostile.long=true}
 * (bench/hostile/run.sh) runs the sizes.
 */
@Tag("netns")
class HostileIT {

  static final boolean LONG = Boolean.getBoolean("apivip.hostile.long");
  static final long PROBE_INTERVAL_MILLIS = 50;

  /**
   * A second address of the client namespace, the attacking host, so that the probe is another
   * client.
   */
  static final String ATTACKER = "192.0.2.201";

  ClusterLab lab;
  final EndToEndIT helpers = new EndToEndIT();

  @BeforeAll
  static void namespaces() {
    NetnsSupport.assumeAvailable();
  }

  @AfterEach
  void closeLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void attacksOnTheHolderChangeNothingForOtherClients(TestInfo info) throws Exception {
    Path work = Path.of("target", "e2e", "hostile").toAbsolutePath();
    ClusterLab.deleteRecursively(work);
    lab =
        ClusterLab.start(
            ClusterLab.Options.defaults(EndToEndIT.JAR.toAbsolutePath(), work)
                .withExtraConfig(EndToEndIT.LAB_HEALTH));
    helpers.lab = lab;
    LabNode holder = helpers.awaitOneHolder(lab.nodes());
    Host client = lab.network().client();
    lab.network()
        .exec(client, "ip", "addr", "add", ATTACKER + "/24", "dev", client.interfaceName())
        .orThrow();
    List<String> figures = new ArrayList<>();
    try (LabProbe probe = lab.startProbe(PROBE_INTERVAL_MILLIS, 0, Duration.ofSeconds(2))) {
      EndToEndIT.awaitSteadyTraffic(probe);

      figures.add(unprivilegedDrain(holder));
      figures.add(
          underAttack(
              probe,
              holder,
              "idle connections",
              () ->
                  hostile(
                      Duration.ofMinutes(2),
                      "idle",
                      "--from",
                      ATTACKER,
                      "--to",
                      lab.vip().getHostAddress() + ":" + ClusterLab.PROXY_PORT,
                      "--count",
                      LONG ? "10000" : "1500",
                      "--seconds",
                      LONG ? "20" : "13"),
              List.of("outcome=\"source-limit\"", "outcome=\"first-byte-timeout\"")));
      figures.add(
          underAttack(
              probe,
              holder,
              "slow readers",
              () ->
                  hostile(
                      Duration.ofMinutes(3),
                      "slow",
                      "--to",
                      lab.vip().getHostAddress() + ":" + ClusterLab.PROXY_PORT,
                      "--ca",
                      lab.caFile().toString(),
                      "--count",
                      LONG ? "300" : "40",
                      "--seconds",
                      LONG ? "10" : "5",
                      "--rate",
                      "64",
                      "--read-seconds",
                      LONG ? "20" : "5"),
              List.of()));
      String flood = LONG ? "100000" : "20000";
      String floodSeconds = LONG ? "10" : "3";
      String heartbeatPort =
          holder.host().ipv4().getHostAddress() + ":" + ClusterLab.HEARTBEAT_PORT;
      Attack floodTheHolder =
          withKernelUdp(
              holder,
              () ->
                  hostile(
                      Duration.ofMinutes(1),
                      "flood",
                      "--to",
                      heartbeatPort,
                      "--rate",
                      flood,
                      "--seconds",
                      floodSeconds));
      figures.add(
          underAttack(
              probe,
              holder,
              "datagram flood from a non-member",
              floodTheHolder,
              List.of("reason=\"not_member\"")));
      LabNode spoofed =
          lab.nodes().stream().filter(node -> node != holder).findFirst().orElseThrow();
      spoofFrom(client, spoofed);
      try {
        figures.add(
            underAttack(
                probe,
                holder,
                "datagram flood spoofed from " + spoofed.id(),
                floodTheHolder,
                List.of("reason=\"bad_mac\"")));
      } finally {
        lab.network().exec(client, "nft", "delete", "table", "ip", "hostile_nat");
      }
    } finally {
      figures.forEach(line -> System.out.println("hostile: " + line));
    }
  }

  /**
   * As nobody on the holder: POST /drain over TCP and over the admin socket; both refused, nothing
   * changes.
   */
  String unprivilegedDrain(LabNode holder) throws Exception {
    Path socket = holder.adminSocket();
    Exec.Result tcp = postAsNobody(holder, "http://127.0.0.1:" + ClusterLab.ADMIN_PORT + "/drain");
    Exec.Result unix =
        postAsNobody(holder, "--unix-socket", socket.toString(), "http://localhost/drain");
    Thread.sleep(500);
    StatusReport status = EndToEndIT.status(holder);
    assertThat(tcp.stdout()).as("TCP /drain as nobody").isEqualTo("403");
    assertThat(unix.stdout()).as("socket /drain as nobody").isNotEqualTo("200");
    assertThat(status.maintenance()).isFalse();
    assertThat(helpers.awaitOneHolder(lab.nodes())).isEqualTo(holder);
    assertThat(Files.readString(holder.log())).contains("drain refused: asked over TCP");
    return "unprivileged drain on the holder "
        + holder.id()
        + ": TCP answered "
        + tcp.stdout()
        + ", the admin socket "
        + (unix.exitCode() == 0
            ? "answered " + unix.stdout()
            : "refused the connection (curl exit " + unix.exitCode() + ")")
        + "; maintenance off, "
        + holder.id()
        + " kept the VIP";
  }

  interface Attack {
    Exec.Result run() throws Exception;
  }

  /**
   * curl -X POST as user nobody (no groups) on the holder: answers curl's result, the HTTP code.
   */
  private Exec.Result postAsNobody(LabNode holder, String... target) {
    List<String> command =
        new ArrayList<>(
            List.of(
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "5",
                "-X",
                "POST"));
    command.addAll(List.of(target));
    return lab.network().exec(holder.host(), command.toArray(String[]::new));
  }

  /**
   * Runs an attack while watching every node's status (every 250 ms: any member not alive, any
   * other holder) and the holder's relay memory; then checks the client's connections through the
   * VIP in that time all succeeded, the holder kept the VIP and the counters named grew.
   */
  String underAttack(
      LabProbe probe, LabNode holder, String name, Attack attack, List<String> counters)
      throws Exception {
    List<String> suspicions = new CopyOnWriteArrayList<>();
    AtomicLong relayHeld = new AtomicLong();
    AtomicBoolean watching = new AtomicBoolean(true);
    String before = holder.metrics().orElse("");
    Thread watcher =
        new Thread(
            () -> {
              while (watching.get()) {
                for (LabNode node : lab.nodes()) {
                  node.statusJson()
                      .map(EndToEndIT::parse)
                      .ifPresent(
                          status -> {
                            status.members().stream()
                                .filter(
                                    m -> !m.state().equals("self") && !m.state().equals("alive"))
                                .forEach(
                                    m ->
                                        suspicions.add(
                                            node.id() + " saw " + m.id() + " " + m.state()));
                            if (!holder.id().equals(status.vip().holder())) {
                              suspicions.add(node.id() + " saw holder " + status.vip().holder());
                            }
                          });
                }
                holder
                    .metrics()
                    .ifPresent(
                        metrics ->
                            relayHeld.accumulateAndGet(
                                (long) metric(metrics, "apivip_proxy_relay_held_bytes", ""),
                                Math::max));
                try {
                  Thread.sleep(250);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "hostile-watcher");
    watcher.start();
    long start = System.currentTimeMillis();
    Exec.Result result;
    try {
      result = attack.run();
    } finally {
      watching.set(false);
      watcher.join(5000);
    }
    long end = System.currentTimeMillis();
    Thread.sleep(1500);
    LabProbe.Summary summary = probe.summary(start, end);
    String after = holder.metrics().orElse("");
    StringBuilder grew = new StringBuilder();
    for (String counter : counters) {
      double delta = metric(after, "", counter) - metric(before, "", counter);
      grew.append(", ").append(counter).append(" +").append((long) delta);
      assertThat(delta).as(counter + " grew").isPositive();
    }
    String line =
        name
            + ": "
            + result.stdout().strip()
            + "; client through the VIP every "
            + PROBE_INTERVAL_MILLIS
            + " ms: "
            + summary
            + "; relay held at most "
            + (relayHeld.get() >> 10)
            + " KiB"
            + grew
            + "; "
            + (suspicions.isEmpty()
                ? "no suspicion, no VIP move"
                : suspicions.size()
                    + " suspicions: "
                    + suspicions.stream().distinct().limit(5).toList());
    System.out.println("hostile: " + line);
    assertThat(result.exitCode()).as(result.stderr()).isZero();
    assertThat(summary.attempts()).isPositive();
    assertThat(summary.failures()).as(name + ": " + summary.failed()).isZero();
    assertThat(suspicions).as(name).isEmpty();
    assertThat(helpers.awaitOneHolder(lab.nodes())).isEqualTo(holder);
    return line;
  }

  /**
   * The attack, with what the holder's kernel did with UDP meanwhile appended to its output: the
   * datagrams it delivered to sockets and those it dropped because a socket's receive buffer was
   * full ({@code /proc/net/snmp} of the holder's namespace), so that a flood's datagrams the daemon
   * did not count are accounted for.
   */
  Attack withKernelUdp(LabNode holder, Attack attack) {
    return () -> {
      Map<String, Long> before = udpCounters(holder);
      Exec.Result result = attack.run();
      Map<String, Long> after = udpCounters(holder);
      String kernel =
          String.format(
              " (the holder's kernel: %,d UDP datagrams delivered, %,d dropped for a full receive"
                  + " buffer)",
              after.get("InDatagrams") - before.get("InDatagrams"),
              after.get("RcvbufErrors") - before.get("RcvbufErrors"));
      return new Exec.Result(
          result.command(), result.exitCode(), result.stdout().strip() + kernel, result.stderr());
    };
  }

  /** The holder's namespace's {@code Udp:} counters of /proc/net/snmp, by name. */
  Map<String, Long> udpCounters(LabNode holder) {
    String snmp = lab.network().exec(holder.host(), "cat", "/proc/net/snmp").orThrow().stdout();
    List<String> udp = snmp.lines().filter(line -> line.startsWith("Udp: ")).toList();
    assertThat(udp).as("/proc/net/snmp's Udp lines").hasSize(2);
    String[] names = udp.get(0).split("\\s+");
    String[] values = udp.get(1).split("\\s+");
    Map<String, Long> counters = new HashMap<>();
    for (int i = 1; i < names.length; i++) {
      counters.put(names[i], Long.parseLong(values[i]));
    }
    return counters;
  }

  /** Runs {@link Hostile} in the client namespace. */
  Exec.Result hostile(Duration timeout, String... arguments) {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                Hostile.class.getName()));
    command.addAll(List.of(arguments));
    return lab.network().exec(lab.network().client(), timeout, command);
  }

  /**
   * Datagrams to the heartbeat port leave the client with the address and port of {@code node}'s
   * heartbeat socket, as a forger on the LAN sends them: the holder cannot tell them from the
   * node's by their addresses.
   */
  void spoofFrom(Host client, LabNode node) throws Exception {
    Path rules = Files.createTempFile(lab.workDirectory(), "spoof", ".nft");
    Files.writeString(
        rules,
        """
        table ip hostile_nat {
          chain postrouting {
            type nat hook postrouting priority 100; policy accept;
            udp dport %d snat to %s:%d;
          }
        }
        """
            .formatted(
                ClusterLab.HEARTBEAT_PORT,
                node.host().ipv4().getHostAddress(),
                ClusterLab.HEARTBEAT_PORT));
    lab.network().exec(client, "nft", "-f", rules.toString()).orThrow();
  }

  /**
   * The sum of the samples of {@code name} (any, when empty) whose labels contain {@code label}.
   */
  static double metric(String metrics, String name, String label) {
    Pattern line =
        Pattern.compile("^(apivip_[a-z_]+)(\\{[^}]*\\})? ([0-9.eE+-]+)$", Pattern.MULTILINE);
    Matcher matcher = line.matcher(metrics);
    double sum = 0;
    while (matcher.find()) {
      String labels = Optional.ofNullable(matcher.group(2)).orElse("");
      if ((name.isEmpty() || matcher.group(1).equals(name)) && labels.contains(label)) {
        sum += Double.parseDouble(matcher.group(3));
      }
    }
    return sum;
  }
}
