package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings.Backend;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which apiservers take new connections: those up by health whose node is not in maintenance. The
 * one place of that rule: the proxy asks it for every new connection, and the node controller asks
 * it whether this node can route anywhere (its eligibility), so the two never disagree.
 *
 * <p>Any thread: health answers from a snapshot, and the maintenance set is replaced whole, never
 * mutated. It has one writer, the node controller, which takes it from the cluster.
 */
public final class Routing {

  private static final Logger log = LoggerFactory.getLogger(Routing.class);

  private final BackendHealth health;
  private volatile Set<String> maintenance = Set.of();

  public Routing(BackendHealth health) {
    this.health = health;
  }

  /** Whether new connections may go to this apiserver now. */
  public boolean routable(Backend backend) {
    return !maintenance.contains(backend.nodeId()) && health.isUp(backend);
  }

  /**
   * Nodes whose apiservers get no new connections; their open connections stay. Replaces the
   * previous set.
   */
  public void setMaintenance(Set<String> nodeIds) {
    Set<String> next = Set.copyOf(nodeIds);
    if (!next.equals(maintenance)) {
      log.info(
          "nodes in maintenance (no new connections to their apiservers): {}",
          next.isEmpty() ? "none" : next);
    }
    maintenance = next;
  }

  public Set<String> maintenance() {
    return maintenance;
  }

  public BackendHealth health() {
    return health;
  }
}
