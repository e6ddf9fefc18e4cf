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

  /** "192.0.2.100/32" or "2001:db8::100/128", as {@code ip} takes and shows it. */
  public String cidr() {
    return literal() + "/" + prefixLength;
  }

  /**
   * The address as people write it: IPv6 in the short form of RFC 5952, not Java's
   * "2001:db8:0:0:0:0:0:100".
   */
  public String literal() {
    if (!(address instanceof Inet6Address)) {
      return address.getHostAddress();
    }
    byte[] bytes = address.getAddress();
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
    }
    // The first longest run of two or more zero groups becomes "::".
    int runStart = -1;
    int runLength = 1;
    for (int i = 0; i < 8; i++) {
      int length = 0;
      while (i + length < 8 && groups[i + length] == 0) {
        length++;
      }
      if (length > runLength) {
        runStart = i;
        runLength = length;
      }
    }
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == runStart) {
        text.append("::");
        i += runLength - 1;
        continue;
      }
      if (text.length() > 0 && text.charAt(text.length() - 1) != ':') {
        text.append(':');
      }
      text.append(Integer.toHexString(groups[i]));
    }
    return text.toString();
  }

  @Override
  public String toString() {
    return cidr() + " on " + interfaceName;
  }
}
