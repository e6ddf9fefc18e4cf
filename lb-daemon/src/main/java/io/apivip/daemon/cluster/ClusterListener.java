package io.apivip.daemon.cluster;

import java.util.Set;

/**
 * What the cluster tells the rest of the daemon. Called on the cluster's owner thread: return
 * quickly and never block (hand the work to your own thread).
 */
public interface ClusterListener {

  /**
   * Add or remove the VIP. After adding it, call {@link ClusterService#addressUp(long)} with the
   * decision's {@link VipDecision#id}: until then this node's heartbeats do not claim the VIP, so a
   * node handing it over keeps it (make before break).
   */
  void vipDecision(VipDecision decision);

  /**
   * This node holds the VIP, and a peer that claimed it (announced it holds it, or backed itself
   * for it) no longer does: it stopped, was suspected, or restarted. That peer may have announced
   * the VIP on the LAN after this node did, so neighbour tables may still name it: announce again.
   */
  default void announceAgain(String reason) {}

  /**
   * The nodes whose latest heartbeat (or, for this node, whose state) says maintenance; for the
   * proxy.
   */
  default void maintenanceChanged(Set<String> nodesInMaintenance) {}
}
