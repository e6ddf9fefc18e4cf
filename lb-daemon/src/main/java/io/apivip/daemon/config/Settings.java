package io.apivip.daemon.config;

import io.apivip.daemon.transport.Transports;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The whole validated configuration of one node, immutable. Built only by {@link SettingsLoader},
 * so every instance has passed validation; the parts take what they need from it. {@code transport}
 * empty means "auto".
 */
public record Settings(
    String nodeId,
    Cluster cluster,
    Heartbeat heartbeat,
    Vip vip,
    Proxy proxy,
    List<Backend> backends,
    Health health,
    Admin admin,
    Optional<Transports.Kind> transport,
    String logLevel) {

  public Settings {
    backends = List.copyOf(backends);
  }

  /** This node's own entry of {@code cluster.nodes}. */
  public Node self() {
    return cluster.node(nodeId).orElseThrow();
  }

  /** One control-plane node: it runs apivip and, usually, a kube-apiserver. */
  public record Node(String id, InetAddress address, int priority) {}

  /**
   * {@code keyFile} holds the key this node signs its heartbeats with; it accepts that key and
   * those of {@code acceptKeyFiles} (the deprecated {@code previous-key-file} is read into it).
   */
  public record Cluster(
      String id,
      List<Node> nodes,
      int quorum,
      boolean preempt,
      Duration preemptDelay,
      Duration handoffTimeout,
      Path keyFile,
      List<Path> acceptKeyFiles) {

    public Cluster {
      nodes = List.copyOf(nodes);
      acceptKeyFiles = List.copyOf(acceptKeyFiles);
    }

    public Optional<Node> node(String nodeId) {
      return nodes.stream().filter(node -> node.id().equals(nodeId)).findFirst();
    }
  }

  public record Heartbeat(
      int port, Duration interval, Duration failureTimeout, Duration replayWindow) {}

  /**
   * The floating address. {@code prefixLength} is what is added to the interface (32 or 128 unless
   * configured). {@code refreshInterval} of zero means no periodic re-announcement.
   */
  public record Vip(
      InetAddress address,
      int prefixLength,
      String interfaceName,
      int announceCount,
      Duration announceInterval,
      Duration refreshInterval,
      Duration checkInterval) {}

  /** How a listener picks an apiserver for a new connection. */
  public enum Policy {
    LEAST_CONNECTIONS("least-connections"),
    ROUND_ROBIN("round-robin"),
    LOCAL_FIRST("local-first");

    private final String configName;

    Policy(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }

    public static Optional<Policy> fromConfigName(String name) {
      for (Policy policy : values()) {
        if (policy.configName.equals(name)) {
          return Optional.of(policy);
        }
      }
      return Optional.empty();
    }
  }

  /**
   * A proxy listener; {@code onVip} tells that {@code address} is the VIP, bound before it is
   * present.
   */
  public record Listener(InetSocketAddress address, boolean onVip, Policy policy) {}

  /** {@code idleTimeout} of zero means connections never time out. */
  public record Proxy(
      List<Listener> listeners,
      Duration connectTimeout,
      int connectAttempts,
      int maxConnections,
      Duration idleTimeout,
      Duration drainGrace,
      Limits limits) {

    public Proxy {
      listeners = List.copyOf(listeners);
    }
  }

  /**
   * What one client may hold of the proxy. {@code maxPerSource} 0, {@code firstByteTimeout} and
   * {@code halfCloseTimeout} zero mean no limit; connections on listeners other than the VIP's may
   * go {@code localReserve} beyond max-connections.
   */
  public record Limits(
      int maxPerSource,
      int localReserve,
      Duration firstByteTimeout,
      Duration halfCloseTimeout,
      Duration keepAliveIdle,
      Duration keepAliveInterval,
      int keepAliveCount,
      int relayReadMax,
      long relayMemory) {

    /**
     * No limit beyond max-connections, the kernel's keepalive timing, reads up to 1 MiB and no
     * memory budget to speak of: for benchmarks and tests of other things.
     */
    public static Limits none() {
      return new Limits(
          0,
          0,
          Duration.ZERO,
          Duration.ZERO,
          Duration.ofHours(2),
          Duration.ofSeconds(75),
          9,
          1 << 20,
          Long.MAX_VALUE / 4);
    }
  }

  /** A kube-apiserver, and the node it runs on (for maintenance flags and local preference). */
  public record Backend(String nodeId, InetSocketAddress address) {}

  public enum CheckKind {
    TCP,
    TLS,
    HTTPS
  }

  public record Health(
      CheckKind kind,
      String path,
      Set<Integer> statuses,
      Optional<Path> caFile,
      boolean verify,
      Optional<Path> clientCertFile,
      Optional<Path> clientKeyFile,
      Optional<Path> bearerTokenFile,
      Optional<String> serverName,
      Duration interval,
      Duration timeout,
      int rise,
      int fall) {

    public Health {
      statuses = Set.copyOf(statuses);
    }
  }

  /**
   * {@code listen} serves reading on loopback; {@code socket}, when present, also serves the
   * state-changing actions to root and {@code operatorsGroup}.
   */
  public record Admin(
      InetSocketAddress listen,
      Optional<Path> socket,
      String operatorsGroup,
      Optional<InetSocketAddress> metricsListen) {}
}
