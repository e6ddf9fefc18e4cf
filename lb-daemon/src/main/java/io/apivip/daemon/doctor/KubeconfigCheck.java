package io.apivip.daemon.doctor;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Listener;
import io.apivip.daemon.config.Settings.Node;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which kubeconfigs on this node still name a single apiserver instead of the VIP? Kubeconfigs are
 * YAML, but only the {@code server:} of each cluster (and the cluster's name, for the fix) is
 * needed, so a line-oriented reading suffices and no YAML library is pulled in.
 */
final class KubeconfigCheck {

  static final String CHECK = "kubeconfig";
  static final Path MICROK8S_CREDENTIALS = Path.of("/var/snap/microk8s/current/credentials");
  private static final String GUIDE = "docs/microk8s.md section 6";
  private static final Pattern ANY_SERVER =
      Pattern.compile("[\"']?\\bserver[\"']?\\s*:\\s*[\"']?([^\"'\\s,}]+)");
  private static final Pattern KEY_LINE =
      Pattern.compile("^(\\s*)(-\\s+)?[\"']?([A-Za-z_-]+)[\"']?\\s*:\\s*(.*?)\\s*,?\\s*$");

  /**
   * Where kubeconfigs are looked for: a file, or a directory whose {@code *.config} files are read.
   * {@code nodeComponents} marks MicroK8s's own (kubelet, proxy, scheduler ...), which should stay
   * on this node rather than follow the VIP.
   */
  record Location(Path path, boolean nodeComponents) {}

  /** One cluster of a kubeconfig: its name ("" when not found) and its server URL. */
  record Server(String cluster, String url) {}

  /** Host name resolution, replaceable in tests. */
  interface Resolver {
    List<InetAddress> resolve(String host) throws UnknownHostException;

    Resolver SYSTEM = host -> List.of(InetAddress.getAllByName(host));
  }

  /** What a server URL points at. */
  enum Target {
    /** An apivip listener: the VIP, or the node-local endpoint. */
    PROXY,
    /** This node's own apiserver, directly. */
    OWN_APISERVER,
    /** The VIP, but not on a proxy port: past the proxy, to whichever apiserver the holder runs. */
    VIP_PAST_PROXY,
    /** Another single node. */
    ONE_NODE,
    /** Not this cluster. */
    ELSEWHERE
  }

  /** The addresses that tell the targets apart, from the settings. */
  record Endpoints(
      InetAddress vip,
      Set<InetSocketAddress> proxy,
      Set<InetSocketAddress> ownApiserver,
      Map<InetAddress, String> nodes,
      String vipUrl,
      String localUrl) {

    static Endpoints of(Settings settings) {
      Set<InetSocketAddress> proxy = new LinkedHashSet<>();
      String vipUrl = null;
      String localUrl = null;
      for (Listener listener : settings.proxy().listeners()) {
        proxy.add(listener.address());
        String url = url(listener.address());
        if (listener.onVip() && vipUrl == null) {
          vipUrl = url;
        } else if (listener.address().getAddress().isLoopbackAddress() && localUrl == null) {
          localUrl = url;
        }
      }
      if (vipUrl == null) {
        vipUrl =
            url(
                new InetSocketAddress(
                    settings.vip().address(),
                    settings.proxy().listeners().get(0).address().getPort()));
      }
      Set<InetSocketAddress> own = new LinkedHashSet<>();
      for (Backend backend : settings.backends()) {
        if (backend.nodeId().equals(settings.nodeId())) {
          int port = backend.address().getPort();
          own.add(backend.address());
          own.add(new InetSocketAddress(NetUtil.LOCALHOST4, port));
          own.add(new InetSocketAddress(NetUtil.LOCALHOST6, port));
        }
      }
      Map<InetAddress, String> nodes = new HashMap<>();
      for (Node node : settings.cluster().nodes()) {
        nodes.put(node.address(), node.id());
      }
      return new Endpoints(
          settings.vip().address(),
          Set.copyOf(proxy),
          Set.copyOf(own),
          Map.copyOf(nodes),
          vipUrl,
          localUrl == null ? vipUrl : localUrl);
    }

    private static String url(InetSocketAddress address) {
      String host = NetUtil.toAddressString(address.getAddress());
      return "https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }
  }

  private KubeconfigCheck() {}

  /**
   * MicroK8s's credentials, {@code ~/.kube/config}, the invoking user's {@code ~/.kube/config}
   * under sudo (whose kubeconfig is what that user's kubectl uses, while the doctor runs as root)
   * and every file of {@code $KUBECONFIG}.
   */
  static List<Location> onThisNode(
      Path home, Optional<Path> invokingUserHome, String kubeconfigVariable) {
    List<Location> locations = new ArrayList<>();
    locations.add(new Location(MICROK8S_CREDENTIALS, true));
    locations.add(new Location(home.resolve(".kube/config"), false));
    invokingUserHome
        .filter(other -> !other.equals(home))
        .ifPresent(other -> locations.add(new Location(other.resolve(".kube/config"), false)));
    if (kubeconfigVariable != null) {
      for (String entry : kubeconfigVariable.split(":")) {
        if (!entry.isBlank()) {
          locations.add(new Location(Path.of(entry), false));
        }
      }
    }
    return locations;
  }

  /**
   * The home directory of the user who ran {@code sudo} ({@code $SUDO_USER}), from the user
   * database as {@code getent passwd} reads it; empty when not under sudo, or under sudo as root.
   */
  static Optional<Path> invokingUserHome(String sudoUser, ShortCommand.Runner commands) {
    if (sudoUser == null || sudoUser.isBlank() || sudoUser.equals("root")) {
      return Optional.empty();
    }
    return commands
        .run(List.of("getent", "passwd", sudoUser))
        .filter(result -> result.exitCode() == 0)
        .map(result -> result.output().split(":", -1))
        .filter(fields -> fields.length >= 7 && fields[5].startsWith("/"))
        .map(fields -> Path.of(fields[5]));
  }

  /**
   * The host names (not addresses) of kubeconfig servers that reach apivip, each with the first
   * file naming it: clients verify that name in whichever apiserver's certificate they are given.
   * Files that cannot be read are left out; {@link #check} reports them.
   */
  static Map<String, String> namesOfApivip(
      List<Location> locations, Settings settings, Resolver resolver) {
    Endpoints endpoints = Endpoints.of(settings);
    Map<String, String> names = new LinkedHashMap<>();
    for (Path file : readableFiles(locations)) {
      String text;
      try {
        text = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        continue;
      }
      for (Server server : servers(text)) {
        Optional<URI> uri = uri(server);
        if (uri.isEmpty()) {
          continue;
        }
        String host = host(uri.get());
        if (host.isEmpty() || NetUtil.createInetAddressFromIpAddressString(host) != null) {
          continue;
        }
        try {
          if (classify(resolver.resolve(host), port(uri.get()), endpoints) == Target.PROXY) {
            names.putIfAbsent(host.toLowerCase(Locale.ROOT), file.toString());
          }
        } catch (UnknownHostException e) {
          // check() says so.
        }
      }
    }
    return names;
  }

  private static List<Path> readableFiles(List<Location> locations) {
    Set<Path> seen = new LinkedHashSet<>();
    for (Location location : locations) {
      try {
        files(location.path()).forEach(file -> seen.add(file.toAbsolutePath().normalize()));
      } catch (IOException e) {
        // check() says so.
      }
    }
    return List.copyOf(seen);
  }

  private static Optional<URI> uri(Server server) {
    try {
      return Optional.of(URI.create(server.url()));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static String host(URI uri) {
    return uri.getHost() == null ? "" : uri.getHost().replaceAll("^\\[|\\]$", "");
  }

  private static int port(URI uri) {
    return uri.getPort() > 0 ? uri.getPort() : 443;
  }

  static List<Finding> check(List<Location> locations, Settings settings, Resolver resolver) {
    Endpoints endpoints = Endpoints.of(settings);
    List<Finding> findings = new ArrayList<>();
    Set<Path> seen = new LinkedHashSet<>();
    for (Location location : locations) {
      List<Path> files;
      try {
        files = files(location.path());
      } catch (IOException e) {
        findings.add(
            Finding.warn(
                CHECK,
                "cannot read "
                    + location.path()
                    + " ("
                    + e
                    + "): run sudo apivip doctor to check it"));
        continue;
      }
      for (Path file : files) {
        if (!seen.add(file.toAbsolutePath().normalize())) {
          continue;
        }
        String text;
        try {
          text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
          findings.add(
              Finding.warn(
                  CHECK,
                  "cannot read " + file + " (" + e + "): run sudo apivip doctor to check it"));
          continue;
        }
        for (Server server : servers(text)) {
          findings.add(judge(file, location.nodeComponents(), server, endpoints, resolver));
        }
      }
    }
    if (seen.isEmpty()) {
      findings.add(
          Finding.ok(
              CHECK, "no kubeconfig found in " + locations.stream().map(Location::path).toList()));
    }
    return findings;
  }

  private static List<Path> files(Path path) throws IOException {
    if (Files.isDirectory(path)) {
      List<Path> files = new ArrayList<>();
      try (DirectoryStream<Path> stream = Files.newDirectoryStream(path, "*.config")) {
        stream.forEach(files::add);
      }
      files.sort(null);
      return files;
    }
    return Files.exists(path) ? List.of(path) : List.of();
  }

  static Finding judge(
      Path file, boolean nodeComponents, Server server, Endpoints endpoints, Resolver resolver) {
    String what = file + (server.cluster().isEmpty() ? "" : ": cluster " + server.cluster());
    Optional<URI> parsed = uri(server);
    if (parsed.isEmpty()) {
      return Finding.warn(CHECK, what + " has a server that is not a URL: " + server.url());
    }
    String host = host(parsed.get());
    int port = port(parsed.get());
    List<InetAddress> addresses;
    InetAddress literal = NetUtil.createInetAddressFromIpAddressString(host);
    try {
      addresses = literal != null ? List.of(literal) : resolver.resolve(host);
    } catch (UnknownHostException e) {
      return Finding.warn(
          CHECK,
          what
              + " names "
              + server.url()
              + ", whose host does not resolve here: fix the name or its DNS record");
    }
    Target target = classify(addresses, port, endpoints);
    String replacement = nodeComponents ? endpoints.localUrl() : endpoints.vipUrl();
    return switch (target) {
      case PROXY -> Finding.ok(CHECK, what + " uses " + server.url() + " (apivip)");
      case ELSEWHERE ->
          Finding.ok(
              CHECK, what + " names " + server.url() + ", not a node of this cluster: not checked");
      case OWN_APISERVER ->
          nodeComponents
              ? Finding.ok(
                  CHECK,
                  what
                      + " uses this node's own apiserver ("
                      + server.url()
                      + "): fine for this node's own components;"
                      + " to keep them up when it fails, use "
                      + endpoints.localUrl()
                      + " ("
                      + GUIDE
                      + ")")
              : Finding.warn(
                  CHECK,
                  what
                      + " points at this node's apiserver only ("
                      + server.url()
                      + "): its users lose the API"
                      + " when this node reboots; run: "
                      + fix(file, nodeComponents, server, replacement));
      case VIP_PAST_PROXY ->
          Finding.warn(
              CHECK,
              what
                  + " uses the VIP on another port than apivip's ("
                  + server.url()
                  + "): it bypasses the proxy and fails whenever the holder's own apiserver does;"
                  + " run: "
                  + fix(file, nodeComponents, server, replacement));
      case ONE_NODE -> {
        String node =
            addresses.stream()
                .map(endpoints.nodes()::get)
                .filter(id -> id != null)
                .findFirst()
                .orElse("one node");
        yield Finding.warn(
            CHECK,
            what
                + " points at "
                + node
                + " only ("
                + server.url()
                + "): "
                + (nodeComponents ? "this node's components" : "its users")
                + " lose the API when "
                + node
                + " reboots; run: "
                + fix(file, nodeComponents, server, replacement));
      }
    };
  }

  static Target classify(List<InetAddress> addresses, int port, Endpoints endpoints) {
    if (addresses.stream()
        .anyMatch(address -> endpoints.proxy().contains(new InetSocketAddress(address, port)))) {
      return Target.PROXY;
    }
    if (addresses.stream()
        .anyMatch(
            address -> endpoints.ownApiserver().contains(new InetSocketAddress(address, port)))) {
      return Target.OWN_APISERVER;
    }
    if (addresses.contains(endpoints.vip())) {
      return Target.VIP_PAST_PROXY;
    }
    return addresses.stream().anyMatch(endpoints.nodes()::containsKey)
        ? Target.ONE_NODE
        : Target.ELSEWHERE;
  }

  private static String fix(Path file, boolean nodeComponents, Server server, String target) {
    if (nodeComponents) {
      return "sudo sed -i 's#server: "
          + server.url()
          + "#server: "
          + target
          + "#' "
          + file
          + " && sudo snap restart microk8s.daemon-kubelite ("
          + GUIDE
          + ")";
    }
    if (server.cluster().isEmpty()) {
      return "sed -i 's#server: " + server.url() + "#server: " + target + "#' " + file;
    }
    return "kubectl --kubeconfig "
        + file
        + " config set-cluster "
        + server.cluster()
        + " --server="
        + target;
  }

  /**
   * The clusters of a kubeconfig: each {@code server:} under {@code clusters:}, with the name of
   * its list item. A file read some other way (JSON, odd indentation) still yields its servers,
   * unnamed.
   */
  static List<Server> servers(String kubeconfig) {
    List<Server> servers = new ArrayList<>();
    String section = "";
    int itemColumn = -1;
    int contentColumn = -1;
    String name = "";
    String url = null;
    for (String line : kubeconfig.split("\r?\n")) {
      if (line.isBlank() || line.stripLeading().startsWith("#")) {
        continue;
      }
      Matcher key = KEY_LINE.matcher(line);
      if (!key.matches()) {
        continue;
      }
      int indent = key.group(1).length();
      boolean item = key.group(2) != null;
      String field = key.group(3);
      String value = unquote(key.group(4));
      if (indent == 0 && !item) {
        flush(servers, name, url);
        name = "";
        url = null;
        section = field;
        continue;
      }
      if (!section.equals("clusters")) {
        continue;
      }
      if (item && (itemColumn < 0 || indent == itemColumn)) {
        flush(servers, name, url);
        itemColumn = indent;
        contentColumn = indent + key.group(2).length();
        name = "";
        url = null;
      }
      int column = indent + (item ? key.group(2).length() : 0);
      if (field.equals("name") && column == contentColumn && name.isEmpty()) {
        name = value;
      } else if (field.equals("server") && url == null) {
        url = value;
      }
    }
    flush(servers, name, url);
    if (servers.isEmpty()) {
      Matcher any = ANY_SERVER.matcher(kubeconfig);
      while (any.find()) {
        servers.add(new Server("", any.group(1)));
      }
    }
    return servers;
  }

  private static void flush(List<Server> servers, String name, String url) {
    if (url != null && !url.isEmpty()) {
      servers.add(new Server(name, url));
    }
  }

  private static String unquote(String value) {
    if (value.length() >= 2
        && (value.startsWith("\"") && value.endsWith("\"")
            || value.startsWith("'") && value.endsWith("'"))) {
      return value.substring(1, value.length() - 1);
    }
    return value;
  }
}
