package io.apivip.daemon.cluster;

import io.apivip.daemon.config.KeyFile;
import io.apivip.daemon.config.Settings;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What the cluster part needs from the settings, with the key material read. {@link #from} is how
 * the daemon builds it; tests build it directly.
 */
public record ClusterConfig(
    String clusterId,
    String selfId,
    List<Settings.Node> nodes,
    int quorum,
    boolean preempt,
    Duration preemptDelay,
    Duration handoffTimeout,
    Duration interval,
    Duration failureTimeout,
    Duration replayWindow,
    KeyRing keys) {

  public ClusterConfig {
    nodes = List.copyOf(nodes);
    String self = selfId;
    if (nodes.stream().noneMatch(node -> node.id().equals(self))) {
      throw new IllegalArgumentException("node " + selfId + " is not one of the cluster's nodes");
    }
    if (nodes.size() > HeartbeatCodec.MAX_NODES) {
      throw new IllegalArgumentException(
          "cluster.nodes lists "
              + nodes.size()
              + " nodes; a heartbeat carries at most "
              + HeartbeatCodec.MAX_NODES);
    }
  }

  /**
   * Reads the key files named in the settings; IOException when one cannot be read,
   * IllegalArgumentException when two different keys share an id.
   */
  public static ClusterConfig from(Settings settings) throws IOException {
    Settings.Cluster cluster = settings.cluster();
    Settings.Heartbeat heartbeat = settings.heartbeat();
    List<byte[]> accepted = new ArrayList<>();
    for (Path file : cluster.acceptKeyFiles()) {
      accepted.add(KeyFile.read(file));
    }
    return new ClusterConfig(
        cluster.id(),
        settings.nodeId(),
        cluster.nodes(),
        cluster.quorum(),
        cluster.preempt(),
        cluster.preemptDelay(),
        cluster.handoffTimeout(),
        heartbeat.interval(),
        heartbeat.failureTimeout(),
        heartbeat.replayWindow(),
        KeyRing.of(KeyFile.read(cluster.keyFile()), accepted));
  }

  public Settings.Node self() {
    return nodes.stream().filter(node -> node.id().equals(selfId)).findFirst().orElseThrow();
  }

  public List<Settings.Node> peers() {
    return nodes.stream().filter(node -> !node.id().equals(selfId)).toList();
  }

  Election.Rules rules() {
    return new Election.Rules(
        quorum,
        preempt,
        preemptDelay.toNanos(),
        handoffTimeout.toNanos(),
        failureTimeout.toNanos());
  }
}
