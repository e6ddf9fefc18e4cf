package io.apivip.daemon.doctor;

import io.apivip.daemon.config.Settings;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.List;
import java.util.Optional;

/**
 * Is {@code vip.interface} on this machine, and is the VIP inside one of its subnets? A VIP outside
 * every subnet of its interface is still answered for, but clients on that network reach it only
 * through a route. This looks at the host, which configuration validation does not, so it lives
 * here.
 */
final class InterfaceCheck {

  static final String CHECK = "interface";

  /** One address of an interface with its prefix length, as in 192.0.2.11/24. */
  record Subnet(InetAddress address, int prefixLength) {
    @Override
    public String toString() {
      return address.getHostAddress() + "/" + prefixLength;
    }
  }

  /**
   * The addresses of the interface of that name, or empty when this machine has no such interface.
   */
  interface Interfaces {
    Optional<List<Subnet>> addresses(String name);

    Interfaces SYSTEM =
        name -> {
          try {
            return Optional.ofNullable(NetworkInterface.getByName(name))
                .map(
                    found ->
                        found.getInterfaceAddresses().stream()
                            .map(
                                address ->
                                    new Subnet(
                                        address.getAddress(), address.getNetworkPrefixLength()))
                            .toList());
          } catch (SocketException e) {
            return Optional.empty();
          }
        };
  }

  private InterfaceCheck() {}

  static Finding check(Settings.Vip vip, Interfaces interfaces) {
    String name = vip.interfaceName();
    Optional<List<Subnet>> addresses = interfaces.addresses(name);
    if (addresses.isEmpty()) {
      return Finding.fail(
          CHECK,
          "vip.interface = "
              + name
              + ": no such interface on this machine;"
              + " name the interface of the nodes' network (ip -brief address lists them)");
    }
    // The VIP itself on the interface (this node holds it) says nothing about the subnet.
    List<Subnet> sameFamily =
        addresses.get().stream()
            .filter(subnet -> subnet.address().getClass() == vip.address().getClass())
            .filter(subnet -> !subnet.address().equals(vip.address()))
            .toList();
    Optional<Subnet> home =
        sameFamily.stream().filter(subnet -> contains(subnet, vip.address())).findFirst();
    String address = vip.address().getHostAddress();
    return home.map(
            subnet ->
                Finding.ok(
                    CHECK, "the VIP " + address + " is inside " + name + "'s subnet " + subnet))
        .orElseGet(
            () ->
                Finding.warn(
                    CHECK,
                    "vip.address = "
                        + address
                        + ": not inside any subnet of "
                        + name
                        + " "
                        + sameFamily
                        + "; clients on that network will not reach it without a route"));
  }

  static boolean contains(Subnet subnet, InetAddress address) {
    byte[] x = subnet.address().getAddress();
    byte[] y = address.getAddress();
    if (x.length != y.length) {
      return false;
    }
    for (int bit = 0; bit < subnet.prefixLength(); bit++) {
      int mask = 0x80 >>> (bit % 8);
      if ((x[bit / 8] & mask) != (y[bit / 8] & mask)) {
        return false;
      }
    }
    return true;
  }
}
