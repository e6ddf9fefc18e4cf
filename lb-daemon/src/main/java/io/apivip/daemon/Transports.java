package io.apivip.daemon;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.channels.spi.SelectorProvider;

/**
 * Netty's native epoll transport on Linux, NIO elsewhere: the event loop group and the channel
 * classes that go with it. Every part that opens sockets takes its channels from here.
 */
public record Transports(
    boolean epoll,
    IoHandlerFactory ioHandlerFactory,
    Class<? extends ServerSocketChannel> serverChannel,
    Class<? extends SocketChannel> socketChannel,
    Class<? extends DatagramChannel> datagramChannel) {

  /** Epoll when its native library loads, otherwise NIO. */
  public static Transports best() {
    return Epoll.isAvailable() ? epollTransports() : nio();
  }

  public static Transports nio() {
    return new Transports(
        false, NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class, NioDatagramChannel.class);
  }

  private static Transports epollTransports() {
    return new Transports(
        true, EpollIoHandler.newFactory(), EpollServerSocketChannel.class, EpollSocketChannel.class, EpollDatagramChannel.class);
  }

  /** A new event loop group of this transport whose threads are named {@code name-N}. */
  public EventLoopGroup newGroup(int threads, String name) {
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), ioHandlerFactory);
  }

  /**
   * A new, unregistered TCP channel of the address's family. The channel classes' default socket is
   * dual-stack IPv6, which costs an extra system call per connection to an IPv4 address.
   */
  public SocketChannel newSocketChannel(InetAddress peer) {
    SocketProtocolFamily family = peer instanceof Inet6Address ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET;
    return epoll ? new EpollSocketChannel(family) : new NioSocketChannel(SelectorProvider.provider(), family);
  }

  public String name() {
    return epoll ? "epoll" : "nio";
  }
}
