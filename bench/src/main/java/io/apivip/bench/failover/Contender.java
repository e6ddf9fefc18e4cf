package io.apivip.bench.failover;

import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import java.io.IOException;
import java.util.Optional;

/**
 * A system under test running on a three-node {@link ClusterLab}: what keeps the VIP and spreads
 * connections over the stand-in apiservers, with the operations the trials need that differ between
 * systems. Closing it ends every process and deletes the lab.
 */
sealed interface Contender extends AutoCloseable permits ApivipContender, KeepalivedContender {

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

  /** Starts again what {@link #stopGracefully} stopped on {@code node}. */
  void restart(LabNode node) throws IOException;

  @Override
  void close();
}
