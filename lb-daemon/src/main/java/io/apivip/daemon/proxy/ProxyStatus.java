package io.apivip.daemon.proxy;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * A snapshot of the proxy for the admin {@code /status} page: per listener, the connections open to
 * each apiserver. Plain values, ready to be rendered as JSON.
 *
 * @param clients client connections open over all listeners, including those still connecting
 * @param closing whether the proxy is closing at shutdown: it has stopped accepting and is letting
 *     connections finish
 */
public record ProxyStatus(
    List<ListenerStatus> listeners, int clients, int maxConnections, boolean closing) {

  public ProxyStatus {
    listeners = List.copyOf(listeners);
  }

  /**
   * @param address the address asked for, "host:port"
   * @param boundTo the address actually bound ("0.0.0.0:6443" when the VIP fell back to the
   *     wildcard), empty until started
   */
  public record ListenerStatus(
      String address, String boundTo, boolean onVip, String policy, List<Connections> backends) {

    public ListenerStatus {
      backends = List.copyOf(backends);
    }
  }

  /**
   * One apiserver as one listener sees it: whether it takes new connections and how many it has.
   *
   * @param active proxied connections of this listener open to this apiserver, connects included
   */
  public record Connections(
      String nodeId, String address, boolean up, boolean maintenance, int active) {}

  /** "192.0.2.1:6443" or "[2001:db8::1]:6443", the form used in status, logs and metric tags. */
  public static String render(InetSocketAddress address) {
    String host = address.getAddress().getHostAddress();
    return (address.getAddress() instanceof Inet6Address ? "[" + host + "]" : host)
        + ":"
        + address.getPort();
  }
}
