package io.apivip.daemon.cluster;

import java.net.InetAddress;

/**
 * Sends one datagram to one configured peer, best effort: a lost datagram is normal and the next
 * heartbeat repairs it. Whoever builds a transport hands it a {@link Receiver}; received datagrams
 * reach the cluster's owner thread through it. {@link UdpTransport} is the real one.
 */
public interface Transport extends AutoCloseable {

  void send(String peerId, byte[] datagram);

  @Override
  void close();

  /** Where received datagrams go; called on the cluster's owner thread. */
  @FunctionalInterface
  interface Receiver {
    void receive(byte[] datagram, InetAddress from);
  }
}
