package io.apivip.bench.failover;

import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A system under test running on a three-node {@link ClusterLab}: what keeps the VIP and spreads
 * connections over the stand-in apiservers, with the operations the benchmarks need that differ
 * between systems. Closing it ends every process and deletes the lab.
 */
public sealed interface Contender extends AutoCloseable
    permits ApivipContender, KeepalivedContender {

  /** How long {@link #awaitSteady} wants the steady state to hold before it counts. */
  Duration STEADY_FOR = Duration.ofMillis(500);

  /** The column title in the table. */
  String title();

  boolean isApivip();

  ClusterLab lab();

  /**
   * Whether the system is in its steady state, where the next trial may start: one node carries the
   * VIP (the one it prefers, if it prefers one), every node runs, and every node's balancer routes
   * to every apiserver.
   */
  boolean steady();

  /** Why the system can no longer become steady (a process that should run has exited), if so. */
  Optional<String> broken();

  /**
   * Stops {@code holder} the way the system is stopped for maintenance; returns once that is done.
   */
  void stopGracefully(LabNode holder) throws InterruptedException;

  /** Starts again what {@link #stopGracefully} or {@link #crash} stopped on {@code node}. */
  void restart(LabNode node) throws IOException;

  /**
   * An nft match (for an {@code inet} table) of the packets the nodes elect the holder with, in
   * both directions: apivip's heartbeats, keepalived's VRRP advertisements.
   */
  String clusterTraffic();

  /**
   * The node the system would give the VIP to if {@code holder} went away: the highest-ranked of
   * the others.
   */
  LabNode topRankedNonHolder(LabNode holder);

  /** The process that decides about the VIP on {@code node}, to pause it. */
  long daemonPid(LabNode node);

  /**
   * SIGKILL of the process that decides about the VIP on {@code node}, so nothing of it runs and
   * nothing cleans up: its link and addresses, the VIP included, stay as they are.
   */
  void crash(LabNode node) throws InterruptedException;

  /** The one node carrying the VIP; anything else is not a state a trial may start from. */
  default LabNode holder() {
    List<LabNode> holders = lab().nodesWithVip();
    if (holders.size() != 1) {
      throw new IllegalStateException("expected one node with the VIP, found " + holders);
    }
    return holders.get(0);
  }

  /**
   * Returns once the system has been {@link #steady()} for {@link #STEADY_FOR}; fails when it is
   * not within {@code timeout}, or as soon as it is {@link #broken()}.
   */
  default void awaitSteady(Duration timeout) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeout.toMillis();
    long steadySince = -1;
    while (System.currentTimeMillis() < deadline) {
      Optional<String> broken = broken();
      if (broken.isPresent()) {
        throw new IllegalStateException(broken.get());
      }
      if (steady()) {
        if (steadySince < 0) {
          steadySince = System.currentTimeMillis();
        } else if (System.currentTimeMillis() - steadySince >= STEADY_FOR.toMillis()) {
          return;
        }
      } else {
        steadySince = -1;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(
        "not back in its steady state within "
            + timeout.toSeconds()
            + " s (VIP on "
            + lab().nodesWithVip()
            + "); logs in "
            + lab().workDirectory());
  }

  @Override
  void close();
}
