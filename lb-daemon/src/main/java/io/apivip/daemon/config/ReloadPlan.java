package io.apivip.daemon.config;

import java.lang.reflect.RecordComponent;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What a reload of the configuration (SIGHUP, {@code systemctl reload apivip}) does: which changes
 * of the settings the running daemon takes, and which wait for a restart. A pure function of the
 * running settings and the newly loaded ones; the daemon applies {@link #applied()} on the parts'
 * own threads.
 *
 * <p>Taken at run time, each by the part that owns it: the cluster keys (key-file,
 * accept-key-files; their contents are read again even when the paths stay), the other nodes of
 * cluster.nodes (added, removed, moved, their priority), this node's priority, cluster.quorum,
 * preempt, preempt-delay and handoff-timeout; backends; every health setting; log.level.
 *
 * <p>Left for a restart, and said so: node-id, this node's own address, cluster.id, heartbeat.*
 * (the socket, and the leases this node holds rest on the timing), vip.* (the address the VIP part
 * owns), proxy.* (bound listeners and their limits), admin.* and transport. {@link #applied()}
 * keeps the running value of each, so the daemon runs on as it ran.
 *
 * @param applied the settings the daemon runs with after the reload
 * @param changes what the reload changes, one line each, for the log and the reload's answer
 * @param restartNeeded what changed in the file but waits for a restart, one line each
 */
public record ReloadPlan(Settings applied, List<String> changes, List<String> restartNeeded) {

  public ReloadPlan {
    changes = List.copyOf(changes);
    restartNeeded = List.copyOf(restartNeeded);
  }

  public static ReloadPlan of(Settings running, Settings loaded) {
    List<String> changes = new ArrayList<>();
    List<String> restart = new ArrayList<>();
    if (!loaded.nodeId().equals(running.nodeId())) {
      restart.add("node-id: " + running.nodeId() + " -> " + loaded.nodeId());
    }
    Settings.Cluster cluster = cluster(running, loaded, changes, restart);
    compare("heartbeat", running.heartbeat(), loaded.heartbeat(), restart);
    compare("vip", running.vip(), loaded.vip(), restart);
    compare("proxy", running.proxy(), loaded.proxy(), restart);
    compare("admin", running.admin(), loaded.admin(), restart);
    if (!loaded.transport().equals(running.transport())) {
      restart.add(
          "transport: "
              + running.transport().map(Object::toString).orElse("auto")
              + " -> "
              + loaded.transport().map(Object::toString).orElse("auto"));
    }
    if (!loaded.backends().equals(running.backends())) {
      changes.add(
          "backends: " + backends(running.backends()) + " -> " + backends(loaded.backends()));
    }
    compare("health", running.health(), loaded.health(), changes);
    if (!loaded.logLevel().equals(running.logLevel())) {
      changes.add("log.level: " + running.logLevel() + " -> " + loaded.logLevel());
    }
    Settings applied =
        new Settings(
            running.nodeId(),
            cluster,
            running.heartbeat(),
            running.vip(),
            running.proxy(),
            loaded.backends(),
            loaded.health(),
            running.admin(),
            running.transport(),
            loaded.logLevel());
    return new ReloadPlan(applied, changes, restart);
  }

  /** Whether the apiservers or how they are checked change. */
  public boolean changesHealthOrBackends(Settings running) {
    return !applied.backends().equals(running.backends())
        || !applied.health().equals(running.health());
  }

  /**
   * The cluster part of the reload: the loaded keys, rules and nodes, but this node's own entry
   * keeps its running address (the heartbeat socket is bound to it) and the cluster its id. When
   * this node is no longer listed under its running id (a new node-id), the nodes stay as they run.
   */
  private static Settings.Cluster cluster(
      Settings running, Settings loaded, List<String> changes, List<String> restart) {
    Settings.Cluster before = running.cluster();
    Settings.Cluster after = loaded.cluster();
    if (!after.id().equals(before.id())) {
      restart.add("cluster.id: " + before.id() + " -> " + after.id());
    }
    Settings.Node self = running.self();
    List<Settings.Node> nodes;
    Optional<Settings.Node> listed = after.node(running.nodeId());
    if (listed.isEmpty()) {
      nodes = before.nodes();
      if (!after.nodes().equals(before.nodes())) {
        restart.add(
            "cluster.nodes: this node ("
                + running.nodeId()
                + ") is no longer listed; the new list applies with the new node-id at a restart");
      }
    } else {
      if (!listed.get().address().equals(self.address())) {
        restart.add(
            "cluster.nodes: this node's address "
                + self.address().getHostAddress()
                + " -> "
                + listed.get().address().getHostAddress()
                + " (the heartbeat socket is bound to it)");
      }
      nodes =
          after.nodes().stream()
              .map(
                  node ->
                      node.id().equals(self.id())
                          ? new Settings.Node(node.id(), self.address(), node.priority())
                          : node)
              .toList();
      describeNodes(before.nodes(), nodes, changes);
    }
    Settings.Cluster applied =
        new Settings.Cluster(
            before.id(),
            nodes,
            after.quorum(),
            after.preempt(),
            after.preemptDelay(),
            after.handoffTimeout(),
            after.keyFile(),
            after.acceptKeyFiles());
    // The nodes are described above; the other components compare as the sections do.
    compare("cluster", withNodes(before, nodes), applied, changes);
    return applied;
  }

  private static Settings.Cluster withNodes(Settings.Cluster cluster, List<Settings.Node> nodes) {
    return new Settings.Cluster(
        cluster.id(),
        nodes,
        cluster.quorum(),
        cluster.preempt(),
        cluster.preemptDelay(),
        cluster.handoffTimeout(),
        cluster.keyFile(),
        cluster.acceptKeyFiles());
  }

  /** "cluster.nodes: added n4 (192.0.2.14)", "removed n3", "n2 moved to ...", "n2 priority ...". */
  private static void describeNodes(
      List<Settings.Node> before, List<Settings.Node> after, List<String> changes) {
    Map<String, Settings.Node> old =
        before.stream().collect(Collectors.toMap(Settings.Node::id, node -> node));
    List<String> lines = new ArrayList<>();
    int added = 0;
    int removed = 0;
    for (Settings.Node node : after) {
      Settings.Node was = old.get(node.id());
      if (was == null) {
        added++;
        lines.add("added " + node.id() + " (" + node.address().getHostAddress() + ")");
      } else if (!was.address().equals(node.address())) {
        lines.add(node.id() + " moved to " + node.address().getHostAddress());
      } else if (was.priority() != node.priority()) {
        lines.add(node.id() + " priority " + was.priority() + " -> " + node.priority());
      }
    }
    for (Settings.Node node : before) {
      if (after.stream().noneMatch(n -> n.id().equals(node.id()))) {
        removed++;
        lines.add("removed " + node.id());
      }
    }
    if (!lines.isEmpty()) {
      changes.add("cluster.nodes: " + String.join(", ", lines));
    }
    if (added > 1 || removed > 1) {
      changes.add(
          "cluster.nodes: more than one node added or removed at once; while the nodes reload one"
              + " by one, two of them might each see a quorum of its own list: change one node per"
              + " round of reloads (docs/microk8s.md, \"Adding or replacing a node\")");
    }
  }

  /**
   * One line per component of two records of a section that differs: "health.interval: 1s -> 2s".
   */
  private static void compare(String section, Record before, Record after, List<String> lines) {
    for (RecordComponent component : before.getClass().getRecordComponents()) {
      Object was = value(component, before);
      Object now = value(component, after);
      if (!Objects.equals(was, now)) {
        lines.add(
            section + "." + kebab(component.getName()) + ": " + render(was) + " -> " + render(now));
      }
    }
  }

  private static Object value(RecordComponent component, Record record) {
    try {
      return component.getAccessor().invoke(record);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot read " + component, e);
    }
  }

  /** caFile -> ca-file, as the keys are written. */
  private static String kebab(String name) {
    return name.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
  }

  private static String render(Object value) {
    if (value instanceof Optional<?> optional) {
      return optional.map(ReloadPlan::render).orElse("\"\"");
    }
    if (value instanceof Duration duration) {
      return ConfigReader.format(duration);
    }
    if (value instanceof InetAddress address) {
      return address.getHostAddress();
    }
    if (value instanceof InetSocketAddress address) {
      return address.getAddress().getHostAddress() + ":" + address.getPort();
    }
    if (value instanceof Collection<?> values) {
      return values.stream().map(ReloadPlan::render).collect(Collectors.joining(", ", "[", "]"));
    }
    if (value instanceof Enum<?> constant) {
      return constant.name().toLowerCase(Locale.ROOT);
    }
    return String.valueOf(value);
  }

  private static String backends(List<Settings.Backend> backends) {
    return backends.stream()
        .map(
            backend ->
                (backend.nodeId().isEmpty() ? "" : backend.nodeId() + "=")
                    + render(backend.address()))
        .collect(Collectors.joining(", ", "[", "]"));
  }
}
