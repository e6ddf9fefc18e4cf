package io.apivip.lab.netns;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small Ethernet LAN made of Linux network namespaces, for tests, the demo and benchmarks: N node
 * namespaces and one client namespace, each with an interface {@code eth0} plugged into a bridge
 * that lives in a namespace of its own. Nothing is linked to the root namespace, so no lab packet
 * leaves the machine. Needs root (see {@link NetnsSupport} for tests).
 *
 * <p>Numbering, on 192.0.2.0/24 and 2001:db8::/64 (documentation ranges):
 *
 * <pre>
 *   node i (1..50)  192.0.2.(10+i)   2001:db8::(10+i)   MAC 02:00:00:00:00:xx
 *                   (n1 = .11, 2001:db8::11)
 *   client          192.0.2.200      2001:db8::200      MAC 02:00:00:00:00:c8
 *   free for a VIP  192.0.2.100      2001:db8::100      ({@link #VIP_IPV4}, {@link #VIP_IPV6})
 * </pre>
 *
 * where xx is the IPv4 host number in hex, so a MAC in a neighbour table tells which host it is.
 * IPv6 duplicate address detection is off in every lab namespace, so addresses work at once.
 *
 * <p>Namespaces are named {@code apivip-lab-<pid>-<n>-<host>} ({@link LabNames}). {@link #close()}
 * deletes them and ends the processes {@link #start started} in them; a shutdown hook does the same
 * if the JVM exits first, and {@link #create} first deletes namespaces left by lab JVMs that died.
 */
public final class NetnsLab implements AutoCloseable {

  public static final String VIP_IPV4 = "192.0.2.100";
  public static final String VIP_IPV6 = "2001:db8::100";
  public static final int IPV4_PREFIX_LENGTH = 24;
  public static final int IPV6_PREFIX_LENGTH = 64;
  public static final int MAX_NODES = 50;
  public static final String INTERFACE = "eth0";

  private static final Logger log = LoggerFactory.getLogger(NetnsLab.class);
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
  private static final Duration PROCESS_EXIT_WAIT = Duration.ofSeconds(3);
  private static final AtomicInteger LABS = new AtomicInteger();
  private static final String BRIDGE = "br0";
  private static final int CLIENT_HOST_NUMBER = 200;
  private static final Pattern LLADDR = Pattern.compile("\\blladdr ([0-9a-f:]{17})\\b");

  private final String prefix;
  private final String bridgeNamespace;
  private final List<Host> nodes;
  private final Host client;

  /** Namespaces made so far, in order; guarded by this. */
  private final List<String> namespaces = new ArrayList<>();

  /** Processes started in the lab; guarded by this. */
  private final List<Process> processes = new ArrayList<>();

  private final Thread shutdownHook;
  private boolean closed;

  private NetnsLab(String prefix, int nodeCount) {
    this.prefix = prefix;
    this.bridgeNamespace = prefix + "bridge";
    List<Host> made = new ArrayList<>();
    for (int i = 1; i <= nodeCount; i++) {
      made.add(host("n" + i, 10 + i));
    }
    this.nodes = List.copyOf(made);
    this.client = host("client", CLIENT_HOST_NUMBER);
    this.shutdownHook = new Thread(this::close, "netns-lab-cleanup");
  }

  /**
   * Builds a lab of {@code nodeCount} nodes and a client, all links up. Deletes stale namespaces of
   * dead lab JVMs first. If building fails, whatever was made is deleted before the exception
   * leaves.
   */
  public static NetnsLab create(int nodeCount) {
    if (nodeCount < 1 || nodeCount > MAX_NODES) {
      throw new IllegalArgumentException(
          "nodeCount must be 1.." + MAX_NODES + ", got " + nodeCount);
    }
    sweepStale();
    NetnsLab lab =
        new NetnsLab(
            LabNames.labPrefix(ProcessHandle.current().pid(), LABS.incrementAndGet()), nodeCount);
    Runtime.getRuntime().addShutdownHook(lab.shutdownHook);
    try {
      lab.build();
    } catch (RuntimeException | Error e) {
      lab.close();
      throw e;
    }
    return lab;
  }

  /**
   * Deletes lab namespaces whose owning JVM is no longer alive; returns how many. Namespaces of
   * live JVMs (other runs going on now) are left alone.
   */
  public static int sweepStale() {
    Exec.Result list = ip("netns", "list");
    if (!list.ok()) {
      return 0;
    }
    int deleted = 0;
    for (String line : list.stdout().split("\n")) {
      String namespace = LabNames.namespaceOfListLine(line);
      OptionalLong owner = LabNames.ownerPid(namespace);
      if (owner.isEmpty()) {
        continue;
      }
      boolean ownerAlive =
          ProcessHandle.of(owner.getAsLong()).map(ProcessHandle::isAlive).orElse(false);
      if (!ownerAlive && ip("netns", "delete", namespace).ok()) {
        deleted++;
      }
    }
    if (deleted > 0) {
      log.info("deleted {} stale lab namespaces left by dead runs", deleted);
    }
    return deleted;
  }

  /** Node {@code index}, counting from 1. */
  public Host node(int index) {
    return nodes.get(index - 1);
  }

  public List<Host> nodes() {
    return nodes;
  }

  public Host client() {
    return client;
  }

  /** The prefix of every namespace of this lab. */
  public String prefix() {
    return prefix;
  }

  /** Runs a short command inside {@code host}'s namespace and waits for it (10 s at most). */
  public Exec.Result exec(Host host, String... command) {
    return exec(host, COMMAND_TIMEOUT, List.of(command));
  }

  public Exec.Result exec(Host host, Duration timeout, List<String> command) {
    return Exec.run(timeout, inNamespace(host.namespace(), command));
  }

  /**
   * Starts {@code builder}'s command inside {@code host}'s namespace, with the builder's
   * redirections and environment. The lab ends the process (and its descendants) on {@link
   * #close()}.
   */
  public Process start(Host host, ProcessBuilder builder) throws IOException {
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("lab " + prefix + " is closed");
      }
      builder.command(inNamespace(host.namespace(), builder.command()));
      Process process = builder.start();
      processes.add(process);
      return process;
    }
  }

  /**
   * Starts a {@link NameServer} in {@code host} on TCP {@code port} that answers with the host's
   * name, and returns once it listens. {@link #connect} from another host then tells which host
   * answered.
   */
  public Process startNameServer(Host host, int port) throws IOException {
    String classpath = Path.of(codeLocation()).toString();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process process =
        start(
            host,
            new ProcessBuilder(
                    java,
                    "-Xmx32m",
                    "-cp",
                    classpath,
                    NameServer.class.getName(),
                    Integer.toString(port),
                    host.name())
                .redirectErrorStream(true));
    CompletableFuture<String> firstLine =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
              } catch (IOException e) {
                return e.toString();
              }
            });
    try {
      String line = firstLine.get(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      if (!NameServer.READY.equals(line)) {
        throw new IllegalStateException(
            "name server in " + host.name() + " did not start: " + line);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting a name server", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "name server in "
              + host.name()
              + " did not start in "
              + COMMAND_TIMEOUT.toSeconds()
              + " s",
          e);
    }
    return process;
  }

  /**
   * Connects over TCP from {@code from} to address:port and returns what the server sent until it
   * closed (a {@link NameServer}'s name), or empty when no connection was made within 3 s.
   */
  public Optional<String> connect(Host from, InetAddress address, int port) {
    Exec.Result result =
        exec(
            from,
            CONNECT_TIMEOUT,
            List.of(
                "bash",
                "-c",
                "exec 3<>/dev/tcp/" + address.getHostAddress() + "/" + port + " && cat <&3"));
    return result.ok() ? Optional.of(result.stdout().strip()) : Optional.empty();
  }

  /**
   * Unplugs {@code host}'s cable: its port on the bridge goes down, so {@code eth0} in the host
   * loses carrier (NO-CARRIER) while keeping its configuration, as with a pulled cable or a switch
   * port failure.
   */
  public void cutLink(Host host) {
    ipIn(bridgeNamespace, "link", "set", "dev", bridgePort(host), "down");
  }

  /** Plugs {@code host}'s cable back in. */
  public void restoreLink(Host host) {
    ipIn(bridgeNamespace, "link", "set", "dev", bridgePort(host), "up");
  }

  /**
   * The MAC address {@code host}'s neighbour table holds for {@code address}, if any entry has one.
   */
  public Optional<String> neighbourMac(Host host, InetAddress address) {
    Exec.Result shown =
        Exec.run(
                COMMAND_TIMEOUT,
                List.of(
                    "ip",
                    "-n",
                    host.namespace(),
                    "neigh",
                    "show",
                    "to",
                    address.getHostAddress(),
                    "dev",
                    host.interfaceName()))
            .orThrow();
    Matcher matcher = LLADDR.matcher(shown.stdout().toLowerCase(Locale.ROOT));
    return matcher.find() ? Optional.of(matcher.group(1)) : Optional.empty();
  }

  /** Whether {@code address} is configured on {@code host}'s interface. */
  public boolean hasAddress(Host host, InetAddress address) {
    String family = address instanceof Inet6Address ? "-6" : "-4";
    Exec.Result shown =
        Exec.run(
                COMMAND_TIMEOUT,
                List.of(
                    "ip",
                    "-n",
                    host.namespace(),
                    "-o",
                    family,
                    "addr",
                    "show",
                    "dev",
                    host.interfaceName()))
            .orThrow();
    return Stream.of(shown.stdout().split("\n"))
        .map(line -> line.strip().split("\\s+"))
        .filter(fields -> fields.length > 3)
        .anyMatch(fields -> sameAddress(fields[3], address));
  }

  /**
   * Ends the lab's processes and deletes its namespaces (the bridge and veth pairs go with them).
   * Idempotent, never throws: problems are logged, so it is safe in finally blocks and @AfterAll.
   */
  @Override
  public void close() {
    List<Process> toEnd;
    List<String> toDelete;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      toEnd = new ArrayList<>(processes);
      toDelete = new ArrayList<>(namespaces);
    }
    toEnd.forEach(NetnsLab::end);
    Collections.reverse(toDelete);
    for (String namespace : toDelete) {
      Exec.Result deleted = ip("netns", "delete", namespace);
      if (!deleted.ok()) {
        log.warn("cannot delete lab namespace {}: {}", namespace, deleted.stderr().strip());
      }
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // Called from the hook itself: nothing to remove.
    }
  }

  private void build() {
    addNamespace(bridgeNamespace);
    ipIn(
        bridgeNamespace,
        "link",
        "add",
        "name",
        BRIDGE,
        "type",
        "bridge",
        "stp_state",
        "0",
        "mcast_snooping",
        "0");
    ipIn(bridgeNamespace, "link", "set", "dev", BRIDGE, "up");
    for (Host host : Stream.concat(nodes.stream(), Stream.of(client)).toList()) {
      plugIn(host);
    }
  }

  private void plugIn(Host host) {
    String namespace = host.namespace();
    addNamespace(namespace);
    // Before the interface exists: it copies the namespace's defaults when it is made.
    Exec.run(
            COMMAND_TIMEOUT,
            inNamespace(
                namespace,
                List.of(
                    "sh",
                    "-c",
                    "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad && echo 0 >"
                        + " /proc/sys/net/ipv6/conf/default/accept_dad")))
        .orThrow();
    String port = bridgePort(host);
    // Made inside the bridge namespace with the peer placed straight into the host's, so the
    // names never pass through (or clash in) the root namespace.
    ipIn(
        bridgeNamespace,
        "link",
        "add",
        "name",
        port,
        "type",
        "veth",
        "peer",
        "name",
        host.interfaceName(),
        "netns",
        namespace);
    ipIn(bridgeNamespace, "link", "set", "dev", port, "master", BRIDGE, "up");
    ipIn(namespace, "link", "set", "dev", host.interfaceName(), "address", host.mac());
    ipIn(
        namespace,
        "addr",
        "add",
        host.ipv4().getHostAddress() + "/" + IPV4_PREFIX_LENGTH,
        "dev",
        host.interfaceName());
    ipIn(
        namespace,
        "addr",
        "add",
        host.ipv6().getHostAddress() + "/" + IPV6_PREFIX_LENGTH,
        "dev",
        host.interfaceName(),
        "nodad");
    ipIn(namespace, "link", "set", "dev", host.interfaceName(), "up");
    ipIn(namespace, "link", "set", "dev", "lo", "up");
  }

  private void addNamespace(String namespace) {
    ip("netns", "add", namespace).orThrow();
    synchronized (this) {
      namespaces.add(namespace);
    }
  }

  private Host host(String name, int hostNumber) {
    try {
      return new Host(
          name,
          prefix + name,
          INTERFACE,
          (Inet4Address) InetAddress.getByName("192.0.2." + hostNumber),
          (Inet6Address) InetAddress.getByName("2001:db8::" + hostNumber),
          String.format(Locale.ROOT, "02:00:00:00:00:%02x", hostNumber));
    } catch (UnknownHostException e) {
      throw new IllegalStateException("literal addresses always parse", e);
    }
  }

  private static URI codeLocation() {
    try {
      return NameServer.class.getProtectionDomain().getCodeSource().getLocation().toURI();
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate the lab's classes", e);
    }
  }

  private static String bridgePort(Host host) {
    return "p-" + host.name();
  }

  private static boolean sameAddress(String cidr, InetAddress address) {
    String literal = cidr.contains("/") ? cidr.substring(0, cidr.indexOf('/')) : cidr;
    try {
      return InetAddress.getByName(literal).equals(address);
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static void end(Process process) {
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      if (!process.waitFor(PROCESS_EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(PROCESS_EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  private static List<String> inNamespace(String namespace, List<String> command) {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
    full.addAll(command);
    return full;
  }

  private static void ipIn(String namespace, String... arguments) {
    List<String> command = new ArrayList<>(List.of("ip", "-n", namespace));
    command.addAll(List.of(arguments));
    Exec.run(COMMAND_TIMEOUT, command).orThrow();
  }

  private static Exec.Result ip(String... arguments) {
    List<String> command = new ArrayList<>(List.of("ip"));
    command.addAll(List.of(arguments));
    return Exec.run(COMMAND_TIMEOUT, command);
  }
}
