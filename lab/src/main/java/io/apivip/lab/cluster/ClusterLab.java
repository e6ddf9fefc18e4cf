package io.apivip.lab.cluster;

import io.apivip.lab.Pki;
import io.apivip.lab.netns.Exec;
import io.apivip.lab.netns.Host;
import io.apivip.lab.netns.NetnsLab;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An apivip cluster of real processes in a {@link NetnsLab}: every node namespace runs a stand-in
 * kube-apiserver on :16443 and apivip from the built jar with a generated configuration, key and
 * certificates (one CA; each apiserver certificate names its node, the VIP and 127.0.0.1). The
 * client namespace runs {@link LabProbe}s. Used by the end-to-end tests, the demo and benchmarks.
 *
 * <p>Files live in a work directory: {@code ca.crt}, {@code cluster.key}, and per node {@code
 * nX/apivip.conf}, {@code nX/apivip.log}, {@code nX/apiserver.log}. {@link #close()} ends every
 * process and deletes the namespaces and the admin sockets' directory; the work directory is kept
 * for post-mortems (the demo and the benchmarks make a new one under /tmp unless told where).
 */
public final class ClusterLab implements AutoCloseable {

  public static final int APISERVER_PORT = 16443;
  public static final int PROXY_PORT = 6443;
  public static final int HEARTBEAT_PORT = 6480;
  public static final int ADMIN_PORT = 6490;
  public static final int VIP_PREFIX_LENGTH = NetnsLab.IPV4_PREFIX_LENGTH;
  private static final String FILTER_TABLE = "apivip_lab";
  private static final List<String> LEAN_JVM =
      List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k");
  private static final Logger log = LoggerFactory.getLogger(ClusterLab.class);

  /**
   * What to build: {@code nodes} nodes, the apivip jar to run, extra HOCON lines appended to every
   * node's configuration (to change defaults) and to single nodes' (by node id, after those), a
   * work directory, JVM options for the lab's processes, and the class path of the lab's own
   * processes (stand-in apiserver, probe, injector). That class path is never the apivip jar: the
   * product carries no lab.
   */
  public record Options(
      int nodes,
      Path jar,
      List<String> extraConfig,
      Map<String, List<String>> nodeConfig,
      Path workDirectory,
      List<String> javaOptions,
      String labClassPath) {
    public Options {
      extraConfig = List.copyOf(extraConfig);
      nodeConfig = Map.copyOf(nodeConfig);
      javaOptions = List.copyOf(javaOptions);
    }

    /**
     * Three nodes. The lab runs seven JVMs or more on what may be a two-core machine, so its
     * processes use the serial collector and the quick C1 compiler only: they warm up with a
     * fraction of the CPU, which keeps one process's start from starving another's heartbeats.
     */
    public static Options defaults(Path jar, Path workDirectory) {
      return new Options(3, jar, List.of(), Map.of(), workDirectory, LEAN_JVM, ownClassPath());
    }

    /** {@code count} nodes instead of three. */
    public Options withNodes(int count) {
      return new Options(
          count, jar, extraConfig, nodeConfig, workDirectory, javaOptions, labClassPath);
    }

    public Options withExtraConfig(String... lines) {
      return new Options(
          nodes, jar, List.of(lines), nodeConfig, workDirectory, javaOptions, labClassPath);
    }

    /** Lines for one node's configuration only, e.g. a different transport on node "n1". */
    public Options withNodeConfig(String nodeId, String... lines) {
      Map<String, List<String>> all = new HashMap<>(nodeConfig);
      all.put(nodeId, List.of(lines));
      return new Options(nodes, jar, extraConfig, all, workDirectory, javaOptions, labClassPath);
    }

    /**
     * The class path of this JVM, which holds the lab since it runs this class (the demo's jar, the
     * benchmark's class path, a test's), with every entry made absolute: the lab's processes may
     * start in another directory.
     */
    static String ownClassPath() {
      return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
          .filter(entry -> !entry.isEmpty())
          .map(entry -> Path.of(entry).toAbsolutePath().toString())
          .collect(Collectors.joining(File.pathSeparator));
    }
  }

  private final NetnsLab network;
  private final Options options;
  private final List<LabNode> nodes = new ArrayList<>();
  private final InetAddress vip;
  private final List<LabProbe> probes = new ArrayList<>();

  /**
   * The nodes' admin sockets, one directory per node as {@code /run/apivip} is under systemd. It
   * lies in the temporary directory, not the work directory: a Unix socket's path may hold at most
   * 107 bytes, and the work directory is as deep as the checkout (CI's was too deep).
   */
  private final Path runtime;

  private ClusterLab(NetnsLab network, Options options) throws IOException {
    this.network = network;
    this.options = options;
    this.vip = InetAddress.getByName(NetnsLab.VIP_IPV4);
    // Mode 0755 as systemd's RuntimeDirectory=: the socket itself decides who may connect.
    this.runtime =
        Files.createTempDirectory(
            "apivip-lab-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
  }

  /** Builds the network, writes the files and starts every apiserver and apivip. */
  public static ClusterLab start(Options options) throws IOException {
    return start(options, true);
  }

  /**
   * Builds the network, writes the files and starts every stand-in apiserver but no apivip, so
   * another load balancer can run on the same lab (the failover benchmark's keepalived and
   * HAProxy).
   */
  public static ClusterLab startApiserversOnly(Options options) throws IOException {
    return start(options, false);
  }

  private static ClusterLab start(Options options, boolean withApivip) throws IOException {
    if (!Files.isRegularFile(options.jar())) {
      throw new IllegalArgumentException(
          "no apivip jar at " + options.jar() + "; build it with ./dev build");
    }
    NetnsLab network = NetnsLab.create(options.nodes());
    ClusterLab lab = null;
    try {
      lab = new ClusterLab(network, options);
      lab.writeFiles();
      for (LabNode node : lab.nodes) {
        node.startApiserver();
      }
      if (withApivip) {
        for (LabNode node : lab.nodes) {
          node.startApivip();
        }
      }
      return lab;
    } catch (IOException | RuntimeException e) {
      if (lab != null) {
        lab.close();
      } else {
        network.close();
      }
      throw e;
    }
  }

  private void writeFiles() throws IOException {
    Path work = options.workDirectory();
    Files.createDirectories(work);
    Pki pki = Pki.newCa("apivip-lab-ca");
    pki.writeCa(caFile());
    pki.issueClient("apivip").write(work.resolve("client.crt"), work.resolve("client.key"));
    Path key = work.resolve("cluster.key");
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    Files.deleteIfExists(key);
    Files.createFile(
        key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(key, HexFormat.of().formatHex(secret) + "\n", StandardCharsets.US_ASCII);

    String members =
        network.nodes().stream()
            .map(
                host ->
                    "  { id = \""
                        + host.name()
                        + "\", address = \""
                        + host.ipv4().getHostAddress()
                        + "\", priority = 100 }")
            .collect(Collectors.joining("\n"));
    for (Host host : network.nodes()) {
      Path directory = work.resolve(host.name());
      Path adminSocket =
          Files.createDirectories(runtime.resolve(host.name())).resolve("admin.sock");
      Files.createDirectories(directory);
      pki.issueServer(
              List.of(
                  host.ipv4().getHostAddress(),
                  NetnsLab.VIP_IPV4,
                  "127.0.0.1",
                  "localhost",
                  "kubernetes"))
          .write(directory.resolve("apiserver.crt"), directory.resolve("apiserver.key"));
      String config =
          """
          # Written by the apivip lab for node %s.
          node-id = "%s"
          cluster.nodes = [
          %s
          ]
          cluster.key-file = "%s"
          vip.address = "%s/%d"
          vip.interface = "%s"
          health.ca-file = "%s"
          health.client-cert-file = "%s"
          health.client-key-file = "%s"
          admin.socket = "%s"
          %s
          %s
          """
              .formatted(
                  host.name(),
                  host.name(),
                  members,
                  key,
                  NetnsLab.VIP_IPV4,
                  NetnsLab.IPV4_PREFIX_LENGTH,
                  host.interfaceName(),
                  caFile(),
                  work.resolve("client.crt"),
                  work.resolve("client.key"),
                  adminSocket,
                  String.join("\n", options.extraConfig()),
                  String.join("\n", options.nodeConfig().getOrDefault(host.name(), List.of())));
      Files.writeString(directory.resolve("apivip.conf"), config, StandardCharsets.UTF_8);
      nodes.add(
          new LabNode(
              network,
              host,
              directory,
              adminSocket,
              options.jar(),
              options.labClassPath(),
              options.javaOptions()));
    }
  }

  public NetnsLab network() {
    return network;
  }

  public List<LabNode> nodes() {
    return List.copyOf(nodes);
  }

  /** Node {@code index}, counting from 1. */
  public LabNode node(int index) {
    return nodes.get(index - 1);
  }

  public LabNode node(String id) {
    return nodes.stream()
        .filter(node -> node.id().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no node " + id));
  }

  public InetAddress vip() {
    return vip;
  }

  public Path caFile() {
    return options.workDirectory().resolve("ca.crt");
  }

  public Path workDirectory() {
    return options.workDirectory();
  }

  /** The nodes whose interface carries the VIP right now. */
  public List<LabNode> nodesWithVip() {
    return nodes.stream().filter(node -> node.hasVip(vip)).toList();
  }

  /**
   * Polls until {@code condition} holds (every 100 ms, at most {@code timeout}); answers whether it
   * did, so a test can fail with its own message.
   */
  public static boolean await(Duration timeout, java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(100);
    }
    return condition.getAsBoolean();
  }

  /** Polls a node's {@code /status} until {@code test} accepts it; answers the last JSON seen. */
  public static Optional<String> awaitStatus(LabNode node, Duration timeout, Predicate<String> test)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Optional<String> last = Optional.empty();
    while (System.nanoTime() < deadline) {
      last = node.statusJson();
      if (last.isPresent() && test.test(last.get())) {
        return last;
      }
      Thread.sleep(100);
    }
    return last.filter(test);
  }

  /**
   * Starts a client in the client namespace that opens a new connection to VIP:6443 every {@code
   * intervalMillis} (a connection not made within {@code connectTimeout} fails) and holds {@code
   * watchers} watch streams.
   */
  public LabProbe startProbe(long intervalMillis, int watchers, Duration connectTimeout)
      throws IOException {
    // The probe makes a TLS handshake every few milliseconds: it gets the full JIT, as a client
    // would.
    LabProbe probe =
        LabProbe.start(
            network,
            options.labClassPath(),
            List.of(),
            vip,
            PROXY_PORT,
            caFile(),
            intervalMillis,
            watchers,
            connectTimeout);
    synchronized (probes) {
      probes.add(probe);
    }
    return probe;
  }

  /**
   * Cuts {@code node} off from {@code others}: its firewall drops every packet to or from them,
   * while its link and the client stay reachable (a partition between nodes, not a dead node).
   */
  public void partition(LabNode node, List<LabNode> others) {
    String addresses =
        others.stream()
            .map(other -> other.host().ipv4().getHostAddress())
            .collect(Collectors.joining(", "));
    String rules =
        """
        table inet %1$s {
          chain input {
            type filter hook input priority 0; policy accept; ip saddr { %2$s } drop;
          }
          chain output {
            type filter hook output priority 0; policy accept; ip daddr { %2$s } drop;
          }
        }
        """
            .formatted(FILTER_TABLE, addresses);
    nft(node.host(), rules);
  }

  /**
   * Drops the packets matching {@code match} (an nft match for an {@code inet} table, such as "udp
   * dport 6480") that {@code node} receives, while what it sends still goes out: the node is deaf
   * to them, and the others still hear it. {@link #heal} removes the rule.
   */
  public void dropInbound(LabNode node, String match) {
    drop(node, "input", match);
  }

  /**
   * Drops the packets matching {@code match} that {@code node} sends, while it still receives them:
   * the node is mute to the others. {@link #heal} removes the rule.
   */
  public void dropOutbound(LabNode node, String match) {
    drop(node, "output", match);
  }

  private void drop(LabNode node, String hook, String match) {
    String rules =
        """
        table inet %1$s {
          chain %2$s {
            type filter hook %2$s priority 0; policy accept; %3$s drop;
          }
        }
        """
            .formatted(FILTER_TABLE, hook, match);
    nft(node.host(), rules);
  }

  /** Removes every partition and drop rule from {@code node}. */
  public void heal(LabNode node) {
    network.exec(node.host(), "nft", "delete", "table", "inet", FILTER_TABLE);
  }

  /**
   * Sends each datagram in {@code payloads} {@code repeat} times from the client namespace to every
   * node's heartbeat port, with the source address of {@code spoofedSource} (by source NAT in the
   * client namespace), as an attacker on the LAN could.
   */
  public void injectHeartbeats(List<byte[]> payloads, LabNode spoofedSource, int repeat)
      throws IOException {
    Host client = network.client();
    Path directory = Files.createTempDirectory(options.workDirectory(), "inject");
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m",
                "-cp",
                options.labClassPath(),
                UdpInjector.class.getName(),
                "--repeat",
                Integer.toString(repeat)));
    for (LabNode node : nodes) {
      command.addAll(List.of("--to", node.host().ipv4().getHostAddress() + ":" + HEARTBEAT_PORT));
    }
    for (int i = 0; i < payloads.size(); i++) {
      Path file = directory.resolve("datagram-" + i);
      Files.write(file, payloads.get(i));
      command.addAll(List.of("--file", file.toString()));
    }
    String spoof =
        """
        table ip %1$s_nat {
          chain postrouting {
            type nat hook postrouting priority 100; policy accept; udp dport %2$d snat to %3$s;
          }
        }
        """
            .formatted(FILTER_TABLE, HEARTBEAT_PORT, spoofedSource.host().ipv4().getHostAddress());
    nft(client, spoof);
    try {
      network.exec(client, Duration.ofSeconds(30), command).orThrow();
    } finally {
      network.exec(client, "nft", "delete", "table", "ip", FILTER_TABLE + "_nat");
    }
  }

  /**
   * Records the heartbeats {@code node} receives for {@code duration} (tcpdump in its namespace)
   * and answers their UDP payloads, for replay tests.
   */
  public List<byte[]> captureHeartbeats(LabNode node, Duration duration, int maxPackets)
      throws IOException {
    Path file = Files.createTempFile(options.workDirectory(), "capture", ".pcap");
    Exec.Result result =
        network.exec(
            node.host(),
            duration.plusSeconds(5),
            List.of(
                "timeout",
                Long.toString(Math.max(1, duration.toSeconds())),
                "tcpdump",
                "-i",
                node.host().interfaceName(),
                "-U",
                "-c",
                Integer.toString(maxPackets),
                "-w",
                file.toString(),
                "udp",
                "dst",
                "port",
                Integer.toString(HEARTBEAT_PORT),
                "and",
                "dst",
                "host",
                node.host().ipv4().getHostAddress()));
    if (result.exitCode() != 0 && result.exitCode() != 124) {
      throw new IllegalStateException("tcpdump failed: " + result.stderr());
    }
    return Pcap.udpPayloads(file);
  }

  private void nft(Host host, String rules) {
    try {
      Path file = Files.createTempFile(options.workDirectory(), "rules", ".nft");
      Files.writeString(file, rules);
      network.exec(host, "nft", "-f", file.toString()).orThrow();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Ends the probes and every process, deletes the namespaces. Never throws. */
  @Override
  public void close() {
    synchronized (probes) {
      for (LabProbe probe : probes) {
        try {
          probe.close();
        } catch (RuntimeException e) {
          log.warn("cannot stop a probe: {}", e.toString());
        }
      }
      probes.clear();
    }
    network.close();
    deleteRuntime();
  }

  private void deleteRuntime() {
    try {
      deleteRecursively(runtime);
    } catch (IOException | UncheckedIOException e) {
      log.warn("cannot delete the lab's runtime directory {}: {}", runtime, e.toString());
    }
  }

  /** Deletes {@code directory} and everything in it; nothing when it does not exist. */
  public static void deleteRecursively(Path directory) throws IOException {
    if (!Files.exists(directory)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
