package io.apivip.daemon.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.CheckKind;
import io.apivip.daemon.config.Settings.Listener;
import io.apivip.daemon.config.Settings.Node;
import io.apivip.daemon.config.Settings.Policy;
import io.apivip.daemon.transport.Transports;
import io.apivip.health.Pem;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Map.Entry;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns a HOCON file into {@link Settings}: merges it over {@code reference.conf}, rejects unknown
 * keys, reads every value and checks the rules that span keys, reporting all problems at once.
 */
public final class SettingsLoader {

  /** A valid configuration, what deserves a warning, and the merged config for display. */
  public record Loaded(Settings settings, List<String> warnings, Config effective) {}

  private static final String ROOT = "apivip";
  private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,31}");
  private static final Set<String> LOG_LEVELS = Set.of("error", "warn", "info", "debug", "trace");
  private static final Pattern GROUP_NAME = Pattern.compile("[a-z_][a-z0-9_-]{0,31}");
  private static final String AUTO_TRANSPORT = "auto";
  private static final String VIP_LISTENER = "vip";

  private final List<ConfigProblem> problems = new ArrayList<>();
  private final List<String> warnings = new ArrayList<>();
  private final boolean checkKeyFiles;

  private SettingsLoader(boolean checkKeyFiles) {
    this.checkKeyFiles = checkKeyFiles;
  }

  /** The defaults, from {@code reference.conf}. */
  public static Config reference() {
    return ConfigFactory.parseResources(SettingsLoader.class.getClassLoader(), "reference.conf")
        .resolve()
        .getConfig(ROOT);
  }

  public static Loaded load(Path file) throws InvalidConfigException {
    return new SettingsLoader(true).read(parse(file));
  }

  /**
   * As {@link #load(Path)} but without looking at the key files, for {@code apivip doctor}: it
   * checks them itself and still wants the rest of the settings when a key is missing.
   */
  public static Loaded loadWithoutKeyFiles(Path file) throws InvalidConfigException {
    return new SettingsLoader(false).read(parse(file));
  }

  private static Config parse(Path file) throws InvalidConfigException {
    if (!Files.isRegularFile(file)) {
      throw new InvalidConfigException(
          List.of(new ConfigProblem("--config", file.toString(), "no such file")));
    }
    try {
      return ConfigFactory.parseFile(
          file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      throw new InvalidConfigException(
          List.of(
              new ConfigProblem(
                  "--config", file.toString(), "cannot be parsed: " + e.getMessage())));
    }
  }

  public static Loaded load(Config user) throws InvalidConfigException {
    return new SettingsLoader(true).read(user);
  }

  private Loaded read(Config rawUser) throws InvalidConfigException {
    Config user = rawUser;
    if (user.root().keySet().equals(Set.of(ROOT)) && user.getValue(ROOT) instanceof ConfigObject) {
      user = user.getConfig(ROOT);
    }
    Config reference = reference();
    rejectUnknownKeys(user, reference);
    Config merged;
    try {
      merged = user.withFallback(reference).resolve();
    } catch (ConfigException e) {
      problems.add(new ConfigProblem("(file)", null, "cannot be resolved: " + e.getMessage()));
      throw new InvalidConfigException(problems);
    }
    ConfigReader in = new ConfigReader(merged, "", problems);

    String nodeId = in.requiredString("node-id");
    Settings.Cluster cluster = cluster(in, nodeId);
    Settings.Heartbeat heartbeat = heartbeat(in);
    Settings.Vip vip = vip(in, cluster);
    Settings.Proxy proxy = proxy(in, vip);
    List<Backend> backends = backends(in, cluster);
    Settings.Health health = health(in);
    Settings.Admin admin = admin(in);
    String logLevel = in.string("log.level").toLowerCase(Locale.ROOT);
    if (!LOG_LEVELS.contains(logLevel)) {
      in.invalid("log.level", "must be one of error, warn, info, debug, trace");
    }
    String transportName = in.string("transport");
    Optional<Transports.Kind> transport = Transports.Kind.fromConfigName(transportName);
    if (transport.isEmpty() && !transportName.equals(AUTO_TRANSPORT)) {
      in.invalid("transport", "must be auto, io_uring, epoll or nio");
    }
    checkPortsDistinct(in, proxy, backends, admin);

    if (!problems.isEmpty()) {
      throw new InvalidConfigException(problems);
    }
    Settings settings =
        new Settings(
            nodeId, cluster, heartbeat, vip, proxy, backends, health, admin, transport, logLevel);
    return new Loaded(settings, List.copyOf(warnings), merged);
  }

  private void rejectUnknownKeys(Config user, Config reference) {
    for (Entry<String, ConfigValue> entry : user.entrySet()) {
      String key = entry.getKey();
      if (!reference.hasPathOrNull(key)) {
        String hint =
            closestKey(key, reference).map(known -> "; did you mean " + known + "?").orElse("");
        problems.add(
            new ConfigProblem(key, ConfigReader.render(entry.getValue()), "unknown key" + hint));
      }
    }
  }

  private static Optional<String> closestKey(String key, Config reference) {
    return reference.entrySet().stream()
        .map(Entry::getKey)
        .min(Comparator.comparingInt(known -> editDistance(known, key)))
        .filter(known -> editDistance(known, key) <= Math.max(2, key.length() / 4));
  }

  private static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }

  private Settings.Cluster cluster(ConfigReader in, String nodeId) {
    String clusterId = in.requiredString("cluster.id");
    if (!clusterId.isEmpty() && !NODE_ID.matcher(clusterId).matches()) {
      in.invalid("cluster.id", "must be 1 to 32 letters, digits, '.', '_' or '-'");
    }
    List<Node> nodes = new ArrayList<>();
    List<ConfigObject> entries = in.objects("cluster.nodes");
    Set<String> ids = new LinkedHashSet<>();
    Set<InetAddress> addresses = new LinkedHashSet<>();
    for (int i = 0; i < entries.size(); i++) {
      String name = "cluster.nodes[" + i + "]";
      ConfigReader node = in.entry(entries.get(i), name, Set.of("id", "address", "priority"));
      String id = node.requiredString("id");
      if (!id.isEmpty() && !NODE_ID.matcher(id).matches()) {
        node.invalid("id", "must be 1 to 32 letters, digits, '.', '_' or '-'");
      } else if (!id.isEmpty() && !ids.add(id)) {
        node.invalid("id", "is used by another node; node ids must be unique");
      }
      Optional<InetAddress> address = ipAddress(node, "address");
      address
          .filter(a -> !addresses.add(a))
          .ifPresent(
              a ->
                  node.invalid(
                      "address", "is used by another node; node addresses must be unique"));
      int priority = node.integer("priority", 1, 255, 100);
      address.ifPresent(a -> nodes.add(new Node(id, a, priority)));
    }
    if (entries.isEmpty()) {
      in.problem(
          "cluster.nodes",
          "[]",
          "is required: list every control-plane node as { id, address, priority }");
    } else if (!nodeId.isEmpty() && !ids.contains(nodeId)) {
      in.problem("node-id", nodeId, "must be the id of one of cluster.nodes " + ids);
    }

    int majority = nodes.size() / 2 + 1;
    int quorum = in.integer("cluster.quorum", 0, Math.max(1, nodes.size()), 0);
    if (quorum == 0) {
      quorum = majority;
    } else if (quorum < majority) {
      warnings.add(
          "cluster.quorum = "
              + quorum
              + " is less than a majority of "
              + nodes.size()
              + " nodes ("
              + majority
              + "): both sides of a network partition may hold the VIP");
    }
    boolean preempt = in.bool("cluster.preempt");
    Duration preemptDelay = in.duration("cluster.preempt-delay", true);
    Duration handoffTimeout = in.duration("cluster.handoff-timeout", false);
    Path keyFile = Path.of(in.requiredString("cluster.key-file"));
    if (checkKeyFiles && !keyFile.toString().isEmpty()) {
      KeyFile.problem(keyFile).ifPresent(problem -> in.invalid("cluster.key-file", problem));
    }
    List<Path> acceptKeyFiles = acceptKeyFiles(in, keyFile);
    return new Settings.Cluster(
        clusterId, nodes, quorum, preempt, preemptDelay, handoffTimeout, keyFile, acceptKeyFiles);
  }

  /**
   * cluster.accept-key-files, and the deprecated cluster.previous-key-file of releases before key
   * ids, which is read as one more entry of it (with a warning) so that a configuration written for
   * those releases still starts after an upgrade of the package: refusing it would stop the node.
   */
  private List<Path> acceptKeyFiles(ConfigReader in, Path keyFile) {
    String key = "cluster.accept-key-files";
    Set<Path> files = new LinkedHashSet<>();
    for (String text : in.strings(key)) {
      if (text.isBlank()) {
        in.invalid(key, "must list key files, e.g. [\"/etc/apivip/cluster-old.key\"]; [] for none");
        continue;
      }
      files.add(Path.of(text.trim()));
    }
    Optional<Path> previous = in.optionalString("cluster.previous-key-file").map(Path::of);
    if (previous.isPresent()) {
      warnings.add(
          "cluster.previous-key-file is deprecated and read as cluster.accept-key-files = [\""
              + previous.get()
              + "\"]; write that instead (docs/microk8s.md, \"Changing the cluster key\")");
      files.add(previous.get());
    }
    // The signing key is accepted anyway.
    files.remove(keyFile);
    if (checkKeyFiles) {
      for (Path file : files) {
        KeyFile.problem(file).ifPresent(problem -> in.problem(key, file.toString(), problem));
      }
    }
    return List.copyOf(files);
  }

  private Settings.Heartbeat heartbeat(ConfigReader in) {
    int port = in.port("heartbeat.port");
    Duration interval = in.duration("heartbeat.interval", false);
    Duration failureTimeout = in.duration("heartbeat.failure-timeout", false);
    Duration replayWindow = in.duration("heartbeat.replay-window", false);
    if (!interval.isZero()
        && !failureTimeout.isZero()
        && failureTimeout.compareTo(interval.multipliedBy(3)) < 0) {
      in.invalid(
          "heartbeat.failure-timeout",
          "must be at least 3 x heartbeat.interval (" + ConfigReader.format(interval) + ")");
    }
    if (!replayWindow.isZero() && replayWindow.compareTo(Duration.ofSeconds(1)) < 0) {
      in.invalid(
          "heartbeat.replay-window", "must be at least 1s: clocks of healthy nodes differ by more");
    }
    return new Settings.Heartbeat(port, interval, failureTimeout, replayWindow);
  }

  private Settings.Vip vip(ConfigReader in, Settings.Cluster cluster) {
    String text = in.requiredString("vip.address");
    InetAddress address = null;
    int prefix = 0;
    if (!text.isEmpty()) {
      String[] parts = text.split("/", -1);
      address = parts.length <= 2 ? NetUtil.createInetAddressFromIpAddressString(parts[0]) : null;
      if (address == null) {
        in.invalid(
            "vip.address",
            "must be an IPv4 or IPv6 address with an optional prefix, e.g. 192.0.2.100/24");
      } else {
        int maxPrefix = address instanceof Inet4Address ? 32 : 128;
        prefix = maxPrefix;
        if (parts.length == 2) {
          try {
            prefix = Integer.parseInt(parts[1]);
          } catch (NumberFormatException e) {
            prefix = -1;
          }
          if (prefix < 1 || prefix > maxPrefix) {
            in.invalid("vip.address", "prefix must be between 1 and " + maxPrefix);
          }
        }
        InetAddress vipAddress = address;
        cluster.nodes().stream()
            .filter(node -> node.address().equals(vipAddress))
            .findFirst()
            .ifPresent(
                node ->
                    in.invalid(
                        "vip.address",
                        "is the address of node "
                            + node.id()
                            + "; the VIP must be an unused address"));
      }
    }
    // Whether this machine has the interface, and the VIP is in its subnet, is apivip doctor's
    // question.
    String interfaceName = in.requiredString("vip.interface");
    int announceCount = in.integer("vip.announce-count", 0, 100);
    Duration announceInterval = in.duration("vip.announce-interval", false);
    Duration refreshInterval = in.duration("vip.refresh-interval", true);
    Duration checkInterval = in.duration("vip.check-interval", false);
    return new Settings.Vip(
        address,
        prefix,
        interfaceName,
        announceCount,
        announceInterval,
        refreshInterval,
        checkInterval);
  }

  private Settings.Proxy proxy(ConfigReader in, Settings.Vip vip) {
    int defaultPort = in.port("proxy.port");
    List<Listener> listeners = new ArrayList<>();
    List<ConfigObject> entries = in.objects("proxy.listeners");
    if (entries.isEmpty()) {
      in.invalid("proxy.listeners", "must name at least one listener");
    }
    Set<InetSocketAddress> seen = new LinkedHashSet<>();
    for (int i = 0; i < entries.size(); i++) {
      String name = "proxy.listeners[" + i + "]";
      ConfigReader listener = in.entry(entries.get(i), name, Set.of("address", "policy", "port"));
      String addressText = listener.requiredString("address");
      boolean onVip = VIP_LISTENER.equals(addressText);
      InetAddress address =
          onVip ? vip.address() : NetUtil.createInetAddressFromIpAddressString(addressText);
      if (address == null && !onVip && !addressText.isEmpty()) {
        listener.invalid("address", "must be \"vip\" or an IP address");
      }
      int port = listener.has("port") ? listener.port("port") : defaultPort;
      String policyName =
          listener.has("policy")
              ? listener.string("policy")
              : Policy.LEAST_CONNECTIONS.configName();
      Optional<Policy> policy = Policy.fromConfigName(policyName);
      if (policy.isEmpty()) {
        listener.invalid("policy", "must be least-connections, round-robin or local-first");
      }
      if (address != null && port > 0 && policy.isPresent()) {
        InetSocketAddress socketAddress = new InetSocketAddress(address, port);
        if (!seen.add(socketAddress)) {
          listener.invalid("address", "listens on the same address and port as another listener");
        }
        listeners.add(new Listener(socketAddress, onVip, policy.get()));
      }
    }
    Duration connectTimeout = in.duration("proxy.connect-timeout", false);
    int connectAttempts = in.integer("proxy.connect-attempts", 1, 16);
    int maxConnections = in.integer("proxy.max-connections", 1, 1_000_000);
    Duration idleTimeout = in.duration("proxy.idle-timeout", true);
    Duration drainGrace = in.duration("proxy.drain-grace", true);
    Settings.Limits limits =
        new Settings.Limits(
            in.integer("proxy.max-connections-per-source", 0, 1_000_000),
            in.integer("proxy.local-reserve", 0, 1_000_000),
            in.duration("proxy.first-byte-timeout", true),
            in.duration("proxy.half-close-timeout", true),
            keepAliveSeconds(in, "proxy.keepalive.idle"),
            keepAliveSeconds(in, "proxy.keepalive.interval"),
            in.integer("proxy.keepalive.count", 1, 127),
            (int) in.bytes("proxy.relay.read-max", 16 << 10, 4 << 20),
            in.bytes("proxy.relay.memory", 1 << 20, 1L << 40));
    return new Settings.Proxy(
        listeners,
        connectTimeout,
        connectAttempts,
        maxConnections,
        idleTimeout,
        drainGrace,
        limits);
  }

  /** TCP keepalive times are whole seconds, 1 to 32767 (the kernel's limit). */
  private static Duration keepAliveSeconds(ConfigReader in, String key) {
    Duration duration = in.duration(key, false);
    if (duration.toMillis() % 1000 != 0
        || duration.toSeconds() < 1
        || duration.toSeconds() > 32767) {
      in.invalid(key, "must be whole seconds between 1s and 32767s");
    }
    return duration;
  }

  private List<Backend> backends(ConfigReader in, Settings.Cluster cluster) {
    int defaultPort = in.port("backends.port");
    List<ConfigObject> entries = in.objects("backends.servers");
    List<Backend> backends = new ArrayList<>();
    if (entries.isEmpty()) {
      for (Node node : cluster.nodes()) {
        backends.add(new Backend(node.id(), new InetSocketAddress(node.address(), defaultPort)));
      }
      return backends;
    }
    Set<InetSocketAddress> seen = new LinkedHashSet<>();
    for (int i = 0; i < entries.size(); i++) {
      String name = "backends.servers[" + i + "]";
      ConfigReader server = in.entry(entries.get(i), name, Set.of("node", "address", "port"));
      String nodeId = server.has("node") ? server.string("node") : "";
      if (!nodeId.isEmpty() && cluster.node(nodeId).isEmpty()) {
        server.invalid(
            "node",
            "must be the id of one of cluster.nodes, or left out for an apiserver on no node");
      }
      Optional<InetAddress> address = ipAddress(server, "address");
      int port = server.has("port") ? server.port("port") : defaultPort;
      if (address.isPresent() && port > 0) {
        InetSocketAddress socketAddress = new InetSocketAddress(address.get(), port);
        if (!seen.add(socketAddress)) {
          server.invalid("address", "is listed twice");
        }
        backends.add(new Backend(nodeId, socketAddress));
      }
    }
    return backends;
  }

  private Settings.Health health(ConfigReader in) {
    String kindName = in.string("health.kind").toLowerCase(Locale.ROOT);
    CheckKind kind =
        switch (kindName) {
          case "tcp" -> CheckKind.TCP;
          case "tls" -> CheckKind.TLS;
          case "https" -> CheckKind.HTTPS;
          default -> {
            in.invalid("health.kind", "must be tcp, tls or https");
            yield CheckKind.TCP;
          }
        };
    String path = in.string("health.path");
    if (!path.startsWith("/")) {
      in.invalid("health.path", "must start with /, e.g. /readyz");
    }
    Set<Integer> statuses = new LinkedHashSet<>(in.integers("health.statuses"));
    if (statuses.isEmpty() || statuses.stream().anyMatch(status -> status < 100 || status > 599)) {
      in.invalid(
          "health.statuses", "must be a non-empty list of HTTP statuses (100-599), e.g. [200]");
    }
    boolean tls = kind != CheckKind.TCP;
    boolean verify = in.bool("health.verify");
    if (tls && !verify) {
      warnings.add(
          "health.verify = false: the health checks trust any certificate, so anyone who can answer"
              + " on an apiserver's address can pass for a healthy apiserver and draw the proxy's"
              + " traffic; turn it on again (health.ca-file) once debugged");
    }
    Optional<Path> caFile = in.optionalString("health.ca-file").map(Path::of);
    if (tls && verify) {
      caFile.ifPresent(file -> checkCertificates(in, "health.ca-file", file));
    }
    Optional<Path> clientCert = in.optionalString("health.client-cert-file").map(Path::of);
    Optional<Path> clientKey = in.optionalString("health.client-key-file").map(Path::of);
    if (clientCert.isPresent() != clientKey.isPresent()) {
      in.invalid(
          clientCert.isPresent() ? "health.client-key-file" : "health.client-cert-file",
          "must be set together with health.client-cert-file and health.client-key-file");
    } else if (tls && clientCert.isPresent()) {
      checkClientPair(in, clientCert.get(), clientKey.get());
    }
    Optional<Path> bearerTokenFile = in.optionalString("health.bearer-token-file").map(Path::of);
    bearerTokenFile.ifPresent(
        file -> {
          if (!Files.isReadable(file)) {
            in.invalid("health.bearer-token-file", "no such file, or not readable");
          } else if (kind != CheckKind.HTTPS) {
            warnings.add(
                "health.bearer-token-file is set but health.kind = "
                    + kindName
                    + " sends no request");
          }
        });
    Optional<String> serverName = in.optionalString("health.server-name");
    Duration interval = in.duration("health.interval", false);
    Duration timeout = in.duration("health.timeout", false);
    int rise = in.integer("health.rise", 1, 100);
    int fall = in.integer("health.fall", 1, 100);
    return new Settings.Health(
        kind,
        path,
        statuses,
        caFile,
        verify,
        clientCert,
        clientKey,
        bearerTokenFile,
        serverName,
        interval,
        timeout,
        rise,
        fall);
  }

  /**
   * The certificates in {@code file}, read as the health checks read them; empty after a problem.
   */
  private static Optional<X509Certificate[]> checkCertificates(
      ConfigReader in, String key, Path file) {
    if (!Files.isReadable(file)) {
      in.invalid(key, "no such file, or not readable");
      return Optional.empty();
    }
    try {
      return Optional.of(Pem.certificates(file));
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      in.invalid(key, "is not a PEM certificate file: " + e.getMessage());
      return Optional.empty();
    }
  }

  private static void checkClientPair(ConfigReader in, Path cert, Path key) {
    Optional<X509Certificate[]> certificates =
        checkCertificates(in, "health.client-cert-file", cert);
    if (!Files.isReadable(key)) {
      in.invalid("health.client-key-file", "no such file, or not readable");
      return;
    }
    try {
      PrivateKey privateKey = Pem.privateKey(key);
      if (certificates.isPresent() && !signsFor(privateKey, certificates.get()[0])) {
        in.invalid(
            "health.client-key-file",
            "is not the private key of the certificate in health.client-cert-file");
      }
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      in.invalid(
          "health.client-key-file",
          "is not a PEM private key matching health.client-cert-file: " + e.getMessage());
    }
  }

  /**
   * Whether a signature by {@code key} verifies with the certificate's public key: a mismatched
   * pair parses, and fails only at the apiserver's handshake, where the reason is lost. {@code
   * apivip setup} asks it too, of the pairs it finds and makes.
   */
  public static boolean signsFor(PrivateKey key, X509Certificate certificate)
      throws GeneralSecurityException {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          default -> key.getAlgorithm(); // Ed25519 and Ed448 name their own signature.
        };
    byte[] challenge = "apivip check-config".getBytes(StandardCharsets.US_ASCII);
    Signature signer = Signature.getInstance(algorithm);
    signer.initSign(key);
    signer.update(challenge);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance(algorithm);
    verifier.initVerify(certificate.getPublicKey());
    verifier.update(challenge);
    return verifier.verify(signature);
  }

  private Settings.Admin admin(ConfigReader in) {
    Optional<InetAddress> address = ipAddress(in, "admin.address");
    int port = in.port("admin.port");
    InetSocketAddress listen =
        new InetSocketAddress(address.orElse(InetAddress.getLoopbackAddress()), Math.max(port, 0));
    if (address.isPresent() && !address.get().isLoopbackAddress()) {
      in.invalid(
          "admin.address",
          "must be a loopback address (127.0.0.1 or ::1): /status tells the cluster's layout to"
              + " whoever can reach it; for Prometheus on the network use admin.metrics-listen,"
              + " which serves only /metrics and /healthz");
    }
    Optional<Path> socket =
        in.optionalString("admin.socket")
            .flatMap(
                text -> {
                  Path path = Path.of(text);
                  if (!path.isAbsolute()) {
                    in.invalid(
                        "admin.socket",
                        "must be an absolute path, e.g. /run/apivip/admin.sock, or \"\" for no"
                            + " drain and resume");
                    return Optional.empty();
                  }
                  if (text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 107) {
                    in.invalid(
                        "admin.socket",
                        "must be at most 107 bytes long (the limit of a Unix socket's path)");
                    return Optional.empty();
                  }
                  return Optional.of(path);
                });
    String operators = in.requiredString("admin.operators-group");
    if (!GROUP_NAME.matcher(operators).matches()) {
      in.invalid("admin.operators-group", "must be the name of a local group, e.g. apivip-admin");
    }
    Optional<InetSocketAddress> metrics =
        in.optionalString("admin.metrics-listen")
            .flatMap(
                text -> {
                  Optional<InetSocketAddress> parsed = hostPort(text);
                  if (parsed.isEmpty()) {
                    in.invalid(
                        "admin.metrics-listen",
                        "must be address:port, e.g. 0.0.0.0:6491 or [::]:6491");
                  }
                  return parsed;
                });
    return new Settings.Admin(listen, socket, operators, metrics);
  }

  private void checkPortsDistinct(
      ConfigReader in, Settings.Proxy proxy, List<Backend> backends, Settings.Admin admin) {
    Map<Integer, String> owners = new HashMap<>();
    for (Listener listener : proxy.listeners()) {
      owners.putIfAbsent(listener.address().getPort(), "proxy.listeners");
    }
    for (Backend backend : backends) {
      claim(in, owners, backend.address().getPort(), "backends.port");
    }
    claim(in, owners, admin.listen().getPort(), "admin.port");
    admin
        .metricsListen()
        .ifPresent(metrics -> claim(in, owners, metrics.getPort(), "admin.metrics-listen"));
  }

  private static void claim(ConfigReader in, Map<Integer, String> owners, int port, String key) {
    if (port <= 0) {
      return;
    }
    String owner = owners.putIfAbsent(port, key);
    if (owner != null && !owner.equals(key)) {
      in.problem(key, String.valueOf(port), "must differ from the port of " + owner);
    }
  }

  private static Optional<InetAddress> ipAddress(ConfigReader in, String key) {
    String text = in.requiredString(key);
    if (text.isEmpty()) {
      return Optional.empty();
    }
    InetAddress address = NetUtil.createInetAddressFromIpAddressString(text);
    if (address == null) {
      in.invalid(key, "must be an IPv4 or IPv6 address (host names are not resolved)");
    }
    return Optional.ofNullable(address);
  }

  static Optional<InetSocketAddress> hostPort(String text) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0) {
      return Optional.empty();
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    InetAddress address = NetUtil.createInetAddressFromIpAddressString(host);
    try {
      int port = Integer.parseInt(text.substring(colon + 1));
      return address != null && port >= 1 && port <= 65535
          ? Optional.of(new InetSocketAddress(address, port))
          : Optional.empty();
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** The merged configuration as HOCON, for {@code check-config}; secrets are never inline. */
  public static String render(Config effective) {
    return effective
        .root()
        .render(
            ConfigRenderOptions.defaults()
                .setOriginComments(false)
                .setComments(false)
                .setJson(false));
  }
}
