package io.apivip.bench.failover;

import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import io.apivip.lab.netns.Exec;
import io.apivip.lab.netns.Host;
import io.apivip.lab.netns.NetnsLab;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * keepalived (VRRP) and HAProxy on every node of the lab, configured as the kubeadm guide does
 * ({@link KeepalivedConfig}), in one of two variants: keepalived's default advertisement interval,
 * or a tuned one. Both run as plain processes in the node's namespace, each with its own files.
 */
public final class KeepalivedContender implements Contender {

  private static final int STATS_PORT = 8404;
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  private final KeepalivedConfig.Variant variant;
  private final ClusterLab lab;

  /** By node id; used only by the benchmark's one thread. */
  private final Map<String, Process> keepaliveds = new HashMap<>();

  private final Map<String, Process> haproxies = new HashMap<>();

  private KeepalivedContender(KeepalivedConfig.Variant variant, ClusterLab lab) {
    this.variant = variant;
    this.lab = lab;
  }

  public static KeepalivedContender start(
      KeepalivedConfig.Variant variant, Path jar, Path workDirectory) throws IOException {
    ClusterLab lab =
        ClusterLab.startApiserversOnly(ClusterLab.Options.defaults(jar, workDirectory));
    KeepalivedContender contender = new KeepalivedContender(variant, lab);
    try {
      for (LabNode node : lab.nodes()) {
        contender.writeFiles(node);
      }
      for (LabNode node : lab.nodes()) {
        contender.startHaproxy(node);
      }
      for (LabNode node : lab.nodes()) {
        contender.restart(node);
      }
      return contender;
    } catch (IOException | RuntimeException e) {
      contender.close();
      throw e;
    }
  }

  /**
   * The node that the guide makes MASTER with the highest priority, and so holds the VIP whenever
   * it can.
   */
  private LabNode preferred() {
    return lab.node(1);
  }

  private KeepalivedConfig config(LabNode node) {
    List<Host> hosts = lab.network().nodes();
    Path directory = directory(node);
    return new KeepalivedConfig(
        variant,
        node.id(),
        address(node.host()),
        hosts.stream()
            .filter(host -> !host.equals(node.host()))
            .map(KeepalivedContender::address)
            .toList(),
        node.equals(preferred()),
        NetnsLab.VIP_IPV4,
        NetnsLab.IPV4_PREFIX_LENGTH,
        node.host().interfaceName(),
        hosts.stream()
            .map(
                host ->
                    new KeepalivedConfig.Backend(
                        host.name(), address(host), ClusterLab.APISERVER_PORT))
            .toList(),
        new KeepalivedConfig.Ports(ClusterLab.PROXY_PORT, STATS_PORT),
        directory.resolve("check_apiserver.sh"));
  }

  private void writeFiles(LabNode node) throws IOException {
    KeepalivedConfig config = config(node);
    Path directory = directory(node);
    Files.writeString(
        directory.resolve("keepalived.conf"), config.keepalivedConf(), StandardCharsets.UTF_8);
    Files.writeString(
        directory.resolve("haproxy.cfg"), config.haproxyCfg(), StandardCharsets.UTF_8);
    Files.writeString(config.checkScript(), config.checkScriptText(), StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(
        config.checkScript(), PosixFilePermissions.fromString("rwxr-xr-x"));
    Exec.Result haproxyCheck =
        lab.network()
            .exec(
                node.host(),
                "haproxy",
                "-c",
                "-q",
                "-f",
                directory.resolve("haproxy.cfg").toString());
    if (!haproxyCheck.ok()) {
      throw new IllegalStateException(
          "haproxy rejects the configuration of "
              + node.id()
              + ": "
              + (haproxyCheck.stderr() + haproxyCheck.stdout()).strip());
    }
    Exec.Result keepalivedCheck =
        lab.network()
            .exec(
                node.host(),
                "keepalived",
                "-t",
                "-f",
                directory.resolve("keepalived.conf").toString());
    if (!keepalivedCheck.ok()) {
      throw new IllegalStateException(
          "keepalived rejects the configuration of "
              + node.id()
              + ": "
              + (keepalivedCheck.stderr() + keepalivedCheck.stdout()).strip());
    }
  }

  private void startHaproxy(LabNode node) throws IOException {
    Path directory = directory(node);
    ProcessBuilder builder =
        new ProcessBuilder("haproxy", "-db", "-f", directory.resolve("haproxy.cfg").toString())
            .redirectErrorStream(true)
            .redirectOutput(
                ProcessBuilder.Redirect.appendTo(directory.resolve("haproxy.log").toFile()));
    haproxies.put(node.id(), lab.network().start(node.host(), builder));
  }

  @Override
  public String title() {
    return variant.title();
  }

  @Override
  public boolean isApivip() {
    return false;
  }

  @Override
  public ClusterLab lab() {
    return lab;
  }

  @Override
  public boolean steady() {
    List<LabNode> holders = lab.nodesWithVip();
    if (holders.size() != 1 || !holders.get(0).equals(preferred())) {
      return false;
    }
    for (LabNode node : lab.nodes()) {
      Exec.Result stats =
          lab.network()
              .exec(
                  node.host(),
                  "curl",
                  "-sf",
                  "--max-time",
                  "2",
                  "http://127.0.0.1:" + STATS_PORT + "/stats;csv");
      if (!stats.ok() || !KeepalivedConfig.allBackendsUp(stats.stdout(), lab.nodes().size())) {
        return false;
      }
    }
    return true;
  }

  @Override
  public Optional<String> broken() {
    for (LabNode node : lab.nodes()) {
      for (Map.Entry<String, Map<String, Process>> kind :
          Map.of("keepalived", keepaliveds, "haproxy", haproxies).entrySet()) {
        Process process = kind.getValue().get(node.id());
        if (process == null || !process.isAlive()) {
          return Optional.of(
              kind.getKey()
                  + " on "
                  + node.id()
                  + " is not running; see "
                  + directory(node).resolve(kind.getKey() + ".log"));
        }
      }
    }
    return Optional.empty();
  }

  /**
   * SIGTERM to keepalived, as {@code systemctl stop keepalived} does: it gives up the VIP with a
   * priority-0 advertisement.
   */
  @Override
  public void stopGracefully(LabNode holder) throws InterruptedException {
    Process keepalived = keepaliveds.get(holder.id());
    if (keepalived == null) {
      return;
    }
    keepalived.destroy();
    if (!keepalived.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(
          "keepalived on "
              + holder.id()
              + " did not exit within "
              + STOP_TIMEOUT.toSeconds()
              + " s of SIGTERM");
    }
  }

  /** Starts keepalived on {@code node}, VRRP only, in the foreground, logging to its own file. */
  @Override
  public void restart(LabNode node) throws IOException {
    Process running = keepaliveds.get(node.id());
    if (running != null && running.isAlive()) {
      throw new IllegalStateException("keepalived already runs on " + node.id());
    }
    Path directory = directory(node);
    ProcessBuilder builder =
        new ProcessBuilder(
                "keepalived",
                "--vrrp",
                "--dont-fork",
                "--log-console",
                "--log-detail",
                "--no-syslog",
                "--use-file",
                directory.resolve("keepalived.conf").toString(),
                "--pid",
                directory.resolve("keepalived.pid").toString(),
                "--vrrp_pid",
                directory.resolve("keepalived-vrrp.pid").toString(),
                "--checkers_pid",
                directory.resolve("keepalived-checkers.pid").toString(),
                "--bfd_pid",
                directory.resolve("keepalived-bfd.pid").toString())
            .redirectErrorStream(true)
            .redirectOutput(
                ProcessBuilder.Redirect.appendTo(directory.resolve("keepalived.log").toFile()));
    keepaliveds.put(node.id(), lab.network().start(node.host(), builder));
  }

  /** VRRP, IP protocol 112, by number: not every system's /etc/protocols names it. */
  @Override
  public String clusterTraffic() {
    return "ip protocol 112";
  }

  /**
   * VRRP's choice among the others: the highest priority (the preferred node's 101, else 100), then
   * the highest address.
   */
  @Override
  public LabNode topRankedNonHolder(LabNode holder) {
    return lab.nodes().stream()
        .filter(node -> !node.equals(holder))
        .max(
            Comparator.comparingInt((LabNode node) -> node.equals(preferred()) ? 101 : 100)
                .thenComparing(node -> new BigInteger(1, node.host().ipv4().getAddress())))
        .orElseThrow(() -> new IllegalStateException("the lab has no node but " + holder.id()));
  }

  /**
   * keepalived's VRRP child, which sends and receives the advertisements and sets the VIP; the
   * process the benchmark starts only watches over it.
   */
  @Override
  public long daemonPid(LabNode node) {
    Path file = directory(node).resolve("keepalived-vrrp.pid");
    try {
      return Long.parseLong(Files.readString(file, StandardCharsets.US_ASCII).strip());
    } catch (IOException | NumberFormatException e) {
      throw new IllegalStateException("no VRRP process id in " + file + ": " + e, e);
    }
  }

  /**
   * SIGKILL of the VRRP child and of its parent, the parent held still meanwhile, so it cannot
   * start a new child nor clean up after the old one.
   */
  @Override
  public void crash(LabNode node) throws InterruptedException {
    Process parent = keepaliveds.get(node.id());
    if (parent == null || !parent.isAlive()) {
      throw new IllegalStateException("keepalived does not run on " + node.id());
    }
    long child = daemonPid(node);
    signal("STOP", parent.pid());
    signal("KILL", child);
    parent.destroyForcibly();
    if (!parent.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(
          "keepalived on "
              + node.id()
              + " did not exit within "
              + STOP_TIMEOUT.toSeconds()
              + " s of SIGKILL");
    }
  }

  private static void signal(String signal, long pid) {
    Exec.run(STOP_TIMEOUT, List.of("kill", "-" + signal, Long.toString(pid))).orThrow();
  }

  @Override
  public void close() {
    lab.close();
  }

  private Path directory(LabNode node) {
    return lab.workDirectory().resolve(node.id());
  }

  private static String address(Host host) {
    return host.ipv4().getHostAddress();
  }
}
