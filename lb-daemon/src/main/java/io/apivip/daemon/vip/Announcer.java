package io.apivip.daemon.vip;

import java.util.List;

/** Tells the LAN that the VIP is at this node's MAC: the kernel edge of announcements. */
interface Announcer {

  /** What one announcement sent: the MAC it named and the frames, in order. */
  record Announcement(String mac, List<Frames.Kind> sent) {

    public Announcement {
      sent = List.copyOf(sent);
    }
  }

  Announcement announce(VipAddress vip) throws KernelException;

  /**
   * Checks that an announcement could be sent now (the interface exists, a packet socket opens)
   * without sending anything: how a node that does not hold the VIP learns it may hold it.
   */
  void probe(VipAddress vip) throws KernelException;
}
