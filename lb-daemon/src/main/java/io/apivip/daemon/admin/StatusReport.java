package io.apivip.daemon.admin;

import java.util.List;

/**
 * What {@code GET /status} answers, as JSON: this node, the members as this node sees them, who
 * holds the VIP, quorum, drain progress, the apiservers with their health and connections, and the
 * keys this node accepts besides the one it signs with (its own member's {@code key}). Ages and
 * offsets are in seconds; a null field is not known (for example a peer never heard).
 */
public record StatusReport(
    String node,
    String cluster,
    String version,
    String transport,
    boolean maintenance,
    Vip vip,
    Quorum quorum,
    List<Member> members,
    List<Apiserver> backends,
    Drain drain,
    List<String> acceptedKeys) {

  public StatusReport {
    members = List.copyOf(members);
    backends = List.copyOf(backends);
    // A daemon of an older release does not send it.
    acceptedKeys = acceptedKeys == null ? List.of() : List.copyOf(acceptedKeys);
  }

  /**
   * The node's state in one line, for systemd's STATUS= (what {@code systemctl status apivip}
   * shows): "holds the VIP 192.0.2.100 on eth0; quorum 3 of 3 nodes; apiservers up 3 of 3".
   */
  public String oneLine() {
    String role;
    if (maintenance) {
      role = drain.complete() ? "in maintenance (drained)" : "draining: " + drain.detail();
    } else if (vip.heldHere()) {
      role = "holds the VIP " + vip.address() + " on " + vip.interfaceName();
    } else if (vip.holder() != null) {
      role = "standby; " + vip.holder() + " holds the VIP " + vip.address();
    } else {
      role = "standby; no node holds the VIP " + vip.address();
    }
    long up = backends.stream().filter(backend -> backend.health().equals("up")).count();
    return role
        + "; quorum "
        + (quorum.present() ? "" : "LOST, ")
        + quorum.seen()
        + " of "
        + members.size()
        + " nodes"
        + "; apiservers up "
        + up
        + " of "
        + backends.size();
  }

  /**
   * The same report with {@code note} put before the drain's detail (what a forced drain costs).
   */
  public StatusReport withDrainNote(String note) {
    return new StatusReport(
        node,
        cluster,
        version,
        transport,
        maintenance,
        vip,
        quorum,
        members,
        backends,
        new Drain(drain.requested(), drain.complete(), note + drain.detail()),
        acceptedKeys);
  }

  /**
   * {@code holder} is the node that says it holds the VIP, or null when none does; {@code
   * foreignClaim} the last other host that claimed the VIP while this node held it, null when none
   * did since this node started.
   */
  public record Vip(
      String address,
      String interfaceName,
      String holder,
      boolean heldHere,
      boolean onInterface,
      ForeignClaim foreignClaim) {

    /** The VIP's status where no other host claimed it. */
    public Vip(
        String address,
        String interfaceName,
        String holder,
        boolean heldHere,
        boolean onInterface) {
      this(address, interfaceName, holder, heldHere, onInterface, null);
    }
  }

  /**
   * Another host answered ARP or neighbour discovery for the VIP while this node held it: its MAC,
   * the kind of its last claiming frame ({@code arp-reply}, {@code arp-request}, {@code arp-probe},
   * {@code na}, {@code ns}, {@code dad-probe}), when (ISO 8601, UTC) and how long ago that was, and
   * its claiming frames counted since this node started.
   */
  public record ForeignClaim(
      String mac, String kind, String lastSeen, double lastSeenSecondsAgo, long frames) {}

  public record Quorum(int required, int seen, boolean present) {}

  /**
   * {@code state} is self, alive or suspected. {@code key} is the fingerprint of the key the member
   * signs its heartbeats with: this node's own, or the one that signed a peer's latest accepted
   * heartbeat; null for a peer never heard (or a daemon of a release before key ids).
   */
  public record Member(
      String id,
      String address,
      int priority,
      String state,
      boolean eligible,
      boolean maintenance,
      boolean holdsVip,
      Double lastHeardSeconds,
      Double clockOffsetSeconds,
      long rejectedDatagrams,
      String key) {}

  /**
   * One apiserver as this node sees it. {@code health} is up, down or unknown; {@code routable}
   * tells whether new connections may go there. (The JSON keeps the key "backends".)
   */
  public record Apiserver(
      String node,
      String address,
      String health,
      String reason,
      boolean routable,
      int activeConnections) {}

  /**
   * Progress of {@code apivip drain}: {@code complete} once this node no longer holds the VIP and
   * every live peer has seen its maintenance flag, so no new connection reaches its apiserver.
   */
  public record Drain(boolean requested, boolean complete, String detail) {}
}
