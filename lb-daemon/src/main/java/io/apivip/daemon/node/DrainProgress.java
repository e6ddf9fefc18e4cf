package io.apivip.daemon.node;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.cluster.ClusterStatus;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Whether a drain (maintenance) is done, and what it waits for: the detail an operator reads while
 * {@code apivip drain --wait} waits. Done when this node no longer holds the VIP and every live
 * peer has acknowledged a heartbeat that said maintenance (so its proxy routes no new connection
 * here).
 */
public final class DrainProgress {

  private DrainProgress() {}

  public static StatusReport.Drain of(NodeController.State node, ClusterStatus cluster) {
    if (!node.maintenance()) {
      return new StatusReport.Drain(false, false, "");
    }
    if (node.quiescing()) {
      return new StatusReport.Drain(
          true, false, "finishing the requests in flight on the VIP before handing it over");
    }
    if (cluster.holding()) {
      String candidates =
          cluster.members().stream()
              .filter(m -> m.liveness() != ClusterStatus.Liveness.SELF)
              .map(m -> m.id() + " " + describe(m))
              .collect(Collectors.joining(", "));
      return new StatusReport.Drain(
          true,
          false,
          "this node still holds the VIP, waiting for a successor (" + candidates + ")");
    }
    boolean announced =
        cluster.members().stream()
            .anyMatch(m -> m.liveness() == ClusterStatus.Liveness.SELF && m.maintenance());
    if (!announced || !cluster.maintenanceUnheard().isEmpty()) {
      String unheard =
          cluster.maintenanceUnheard().isEmpty()
              ? ""
              : "; not heard yet by " + String.join(", ", cluster.maintenanceUnheard());
      return new StatusReport.Drain(
          true, false, "telling peers to route around this node" + unheard);
    }
    String holder =
        cluster.holder().map(id -> id + " holds the VIP").orElse("no node holds the VIP");
    return new StatusReport.Drain(
        true, true, holder + "; peers route no new connections to this node");
  }

  private static String describe(ClusterStatus.Member member) {
    if (member.liveness() != ClusterStatus.Liveness.ALIVE) {
      return member.liveness().name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }
    if (member.maintenance()) {
      return "in maintenance";
    }
    return member.eligible() ? "eligible" : "not eligible";
  }
}
