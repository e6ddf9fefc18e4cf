package io.apivip.daemon.node;

import io.apivip.daemon.cluster.ClusterStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * What stands in the way of draining this node: a drain that would leave no node to hold the VIP,
 * or a second node out while another one already is (a rolling patch must never have two of three
 * control-plane nodes out, or dqlite loses its majority and the Kubernetes API stops). A pure
 * function of the cluster's view and of which apiservers are ready; {@code apivip drain} is refused
 * while it names anything, and {@code --force} goes ahead and says what it costs.
 */
public final class DrainGuard {

  private DrainGuard() {}

  /**
   * @param members every configured node as this node sees it (itself included, as SELF)
   * @param apiserverReady whether a node's apiserver is ready, as this node's health checks see it
   * @return why a drain of this node should not go ahead now; empty when it may
   */
  public static List<String> obstacles(
      List<ClusterStatus.Member> members, Predicate<String> apiserverReady) {
    List<String> obstacles = new ArrayList<>();
    boolean anotherCouldHold = false;
    for (ClusterStatus.Member member : members) {
      if (member.liveness() == ClusterStatus.Liveness.SELF) {
        continue;
      }
      if (member.liveness() != ClusterStatus.Liveness.ALIVE) {
        obstacles.add(
            "node "
                + member.id()
                + " is down ("
                + member.liveness().name().toLowerCase(Locale.ROOT).replace('_', ' ')
                + ")");
      } else if (member.maintenance()) {
        obstacles.add("node " + member.id() + " is in maintenance");
      } else if (!apiserverReady.test(member.id())) {
        obstacles.add("the apiserver on node " + member.id() + " is not ready");
      }
      anotherCouldHold |=
          member.liveness() == ClusterStatus.Liveness.ALIVE
              && member.eligible()
              && !member.maintenance();
    }
    if (!anotherCouldHold) {
      obstacles.add(0, "no other node could hold the VIP: this node is the last one that can");
    }
    return List.copyOf(obstacles);
  }

  /** What going ahead anyway costs, for {@code --force}: one sentence per kind of obstacle. */
  public static String cost(List<String> obstacles) {
    List<String> costs = new ArrayList<>();
    if (obstacles.stream().anyMatch(o -> o.startsWith("no other node"))) {
      costs.add(
          "the VIP stays on this node until another node can take it, and clients through the VIP"
              + " fail while this node is down");
    }
    if (obstacles.stream().anyMatch(o -> !o.startsWith("no other node"))) {
      costs.add(
          "with another control-plane node already out, taking this one out too can leave dqlite"
              + " without a majority: the Kubernetes API stops until a node is back");
    }
    return String.join("; ", costs);
  }
}
