package io.apivip.daemon.vip;

import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;

/**
 * Sends the announcement frames of {@link Frames} out of the VIP's interface through a packet
 * socket opened for each announcement, so an interface that was re-created in between (new index,
 * new MAC) is picked up.
 */
final class RawAnnouncer implements Announcer {

  @Override
  public Announcement announce(VipAddress vip) throws KernelException {
    NetworkInterface nic = ethernetInterface(vip);
    byte[] mac = hardwareAddress(nic);
    List<Frames.Kind> sent = new ArrayList<>();
    try (PacketSocket socket = PacketSocket.open(nic.getIndex())) {
      for (Frames.Frame frame : Frames.announcement(mac, vip.address())) {
        socket.send(frame);
        sent.add(frame.kind());
      }
    }
    return new Announcement(Frames.formatMac(mac), sent);
  }

  @Override
  public void probe(VipAddress vip) throws KernelException {
    NetworkInterface nic = ethernetInterface(vip);
    hardwareAddress(nic);
    PacketSocket.open(nic.getIndex()).close();
  }

  static NetworkInterface ethernetInterface(VipAddress vip) throws KernelException {
    NetworkInterface nic;
    try {
      nic = NetworkInterface.getByName(vip.interfaceName());
    } catch (SocketException e) {
      throw new KernelException(
          KernelException.Kind.FAILED,
          "cannot read interface " + vip.interfaceName() + ": " + e.getMessage());
    }
    if (nic == null) {
      throw new KernelException(
          KernelException.Kind.NO_SUCH_INTERFACE,
          "interface " + vip.interfaceName() + " does not exist");
    }
    return nic;
  }

  static byte[] hardwareAddress(NetworkInterface nic) throws KernelException {
    byte[] mac;
    try {
      mac = nic.getHardwareAddress();
    } catch (SocketException e) {
      throw new KernelException(
          KernelException.Kind.FAILED,
          "cannot read interface " + nic.getName() + ": " + e.getMessage());
    }
    if (mac == null || mac.length != Frames.MAC_LENGTH) {
      throw new KernelException(
          KernelException.Kind.FAILED,
          "interface " + nic.getName() + " has no Ethernet address to announce");
    }
    return mac;
  }
}
