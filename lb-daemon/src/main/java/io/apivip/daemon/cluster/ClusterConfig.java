package io.apivip.daemon.cluster;

import io.apivip.daemon.config.KeyFile;
import io.apivip.daemon.config.Settings;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

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
    byte[] key,
    Optional<byte[]> previousKey) {

  public ClusterConfig {
    nodes = List.copyOf(nodes);
    key = key.clone();
    previousKey = previousKey.map(byte[]::clone);
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

  /** Reads the key files named in the settings. */
  public static ClusterConfig from(Settings settings) throws IOException {
    Settings.Cluster cluster = settings.cluster();
    Settings.Heartbeat heartbeat = settings.heartbeat();
    Optional<byte[]> previous = Optional.empty();
    if (cluster.previousKeyFile().isPresent()) {
      previous = Optional.of(KeyFile.read(cluster.previousKeyFile().get()));
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
        KeyFile.read(cluster.keyFile()),
        previous);
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
