package io.apivip.bench.failover;

import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import io.apivip.lab.netns.Exec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;

/** apivip with default settings on every node of the lab. */
public final class ApivipContender implements Contender {

  public static final String TITLE = "apivip (defaults)";
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

  private final ClusterLab lab;

  private ApivipContender(ClusterLab lab) {
    this.lab = lab;
  }

  public static ApivipContender start(Path jar, Path workDirectory) throws IOException {
    return new ApivipContender(ClusterLab.start(ClusterLab.Options.defaults(jar, workDirectory)));
  }

  @Override
  public String title() {
    return TITLE;
  }

  @Override
  public boolean isApivip() {
    return true;
  }

  @Override
  public ClusterLab lab() {
    return lab;
  }

  @Override
  public boolean steady() {
    if (lab.nodesWithVip().size() != 1) {
      return false;
    }
    int nodes = lab.nodes().size();
    for (LabNode node : lab.nodes()) {
      Optional<String> status = node.statusJson();
      if (status.isEmpty() || !ApivipStatus.wholeClusterHealthy(status.get(), nodes)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public Optional<String> broken() {
    return lab.nodes().stream()
        .filter(node -> !node.running())
        .findFirst()
        .map(node -> "apivip on " + node.id() + " exited; see " + node.log());
  }

  /** {@code apivip drain --wait}, then SIGTERM, as before a reboot. */
  @Override
  public void stopGracefully(LabNode holder) throws InterruptedException {
    Exec.Result drained = holder.apivipCommand(DRAIN_TIMEOUT, "drain", "--wait");
    if (!drained.ok()) {
      throw new IllegalStateException(
          "apivip drain --wait on "
              + holder.id()
              + " failed: "
              + (drained.stderr() + drained.stdout()).strip());
    }
    if (holder.stop(STOP_TIMEOUT).isEmpty()) {
      throw new IllegalStateException(
          "apivip on "
              + holder.id()
              + " did not exit within "
              + STOP_TIMEOUT.toSeconds()
              + " s of SIGTERM");
    }
  }

  @Override
  public void restart(LabNode node) throws IOException {
    node.startApivip();
  }

  @Override
  public String clusterTraffic() {
    return "udp dport " + ClusterLab.HEARTBEAT_PORT;
  }

  /**
   * The election ranks by priority, then node id; the lab gives every node priority 100, so the
   * highest id among the others.
   */
  @Override
  public LabNode topRankedNonHolder(LabNode holder) {
    return lab.nodes().stream()
        .filter(node -> !node.equals(holder))
        .max(Comparator.comparing(LabNode::id))
        .orElseThrow(() -> new IllegalStateException("the lab has no node but " + holder.id()));
  }

  /** The apivip JVM itself: `ip netns exec` becomes it. */
  @Override
  public long daemonPid(LabNode node) {
    return node.apivipPid();
  }

  @Override
  public void crash(LabNode node) throws InterruptedException {
    node.crash();
  }

  @Override
  public void close() {
    lab.close();
  }
}
