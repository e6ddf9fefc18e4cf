package io.apivip.daemon.vip;

import io.apivip.daemon.config.Settings;
import java.net.Inet6Address;
import java.net.InetAddress;

/** The floating address as it goes on the interface: address, prefix length and interface name. */
public record VipAddress(InetAddress address, int prefixLength, String interfaceName) {

  public static VipAddress of(Settings.Vip settings) {
    return new VipAddress(settings.address(), settings.prefixLength(), settings.interfaceName());
  }

  public boolean ipv6() {
    return address instanceof Inet6Address;
  }

  /** "192.0.2.100/32", as {@code ip} takes it. */
  public String cidr() {
    return address.getHostAddress() + "/" + prefixLength;
  }

  @Override
  public String toString() {
    return cidr() + " on " + interfaceName;
  }
}
