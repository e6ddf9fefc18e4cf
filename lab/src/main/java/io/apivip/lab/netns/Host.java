package io.apivip.lab.netns;

import java.net.Inet4Address;
import java.net.Inet6Address;

/**
 * One machine of the lab: a network namespace with one Ethernet interface on the lab's bridge.
 *
 * @param name short name, "n1".."nN" for nodes and "client" for the client
 * @param namespace the network namespace, for {@code ip netns exec}
 * @param interfaceName the interface on the bridge, always "eth0"
 * @param mac that interface's MAC address, lower case with colons
 */
public record Host(
    String name,
    String namespace,
    String interfaceName,
    Inet4Address ipv4,
    Inet6Address ipv6,
    String mac) {

  @Override
  public String toString() {
    return name + " (" + namespace + ", " + ipv4.getHostAddress() + ", " + mac + ")";
  }
}
