package io.apivip.daemon.doctor;

import io.apivip.daemon.admin.StatusReport;
import java.time.Duration;

/**
 * Has another host answered for the VIP (ARP, or neighbour discovery) while this node held it? The
 * daemon watches while it holds the VIP; a recent claimant fails, an old one warns, since the
 * conflict may be over.
 */
final class ForeignClaimCheck {

  static final String CHECK = "vip-claimant";

  /** A claimant seen more recently than this is taken to be there still. */
  static final Duration RECENT = Duration.ofMinutes(10);

  private ForeignClaimCheck() {}

  static Finding check(StatusReport status) {
    StatusReport.Vip vip = status.vip();
    StatusReport.ForeignClaim claim = vip.foreignClaim();
    if (claim == null) {
      String watcher =
          vip.heldHere()
              ? "this node holds it and watches for ARP and neighbour discovery for it"
              : vip.holder() == null
                  ? "no node holds it now"
                  : vip.holder() + " holds it now and watches: run apivip doctor there too";
      return Finding.ok(
          CHECK,
          "no other host claimed the VIP "
              + vip.address()
              + " while this node held it; "
              + watcher);
    }
    String what =
        "another host claimed the VIP "
            + vip.address()
            + " while this node held it: "
            + claim.mac()
            + " ("
            + claim.kind()
            + ", "
            + claim.frames()
            + (claim.frames() == 1 ? " frame" : " frames")
            + "), last at "
            + claim.lastSeen()
            + ", "
            + Math.round(claim.lastSeenSecondsAgo())
            + " s ago. Clients may reach that host instead of apivip. Find it: `ip neigh | grep -i "
            + claim.mac()
            + "` on a machine of this LAN, or the switch's MAC address table; `arping -c 3 -I "
            + vip.interfaceName()
            + " "
            + vip.address()
            + "` from a machine other than the holder lists every MAC that answers. Remove the"
            + " address there, or stop what manages it (keepalived, kube-vip, MetalLB, a DHCP pool"
            + " that hands it out); if it is another apivip node's MAC, its daemon died or froze"
            + " with the address on: `sudo ip addr del "
            + vip.address()
            + " dev "
            + vip.interfaceName()
            + "` there";
    if (claim.lastSeenSecondsAgo() <= RECENT.toSeconds()) {
      return Finding.fail(CHECK, what);
    }
    return Finding.warn(
        CHECK, what + " (none seen for over " + RECENT.toMinutes() + " minutes: it may be over)");
  }
}
