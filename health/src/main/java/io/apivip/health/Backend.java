package io.apivip.health;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A kube-apiserver to check: a name for logs, events and metrics (the daemon uses the node id of
 * {@code Settings.Backend}) and the resolved address it listens on.
 *
 * <p>The address must be resolved (an IP): resolving a name would block an event loop.
 */
public record Backend(String name, InetSocketAddress address) {

  public Backend {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(address, "address");
    if (address.isUnresolved()) {
      throw new IllegalArgumentException(
          "backend " + name + ": address " + address + " must be resolved");
    }
  }

  /**
   * {@code 192.0.2.11:16443} or {@code [2001:db8::11]:16443}: the metric tag and the HTTP Host
   * default.
   */
  public String hostPort() {
    String host = address.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
  }

  @Override
  public String toString() {
    return name + "@" + hostPort();
  }
}
