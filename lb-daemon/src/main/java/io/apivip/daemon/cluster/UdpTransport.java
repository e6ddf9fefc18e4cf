package io.apivip.daemon.cluster;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Heartbeats over UDP unicast, one datagram per peer (no multicast: it is often blocked, and
 * unicast works on any L2 or routed network). Bound to this node's own address so that peers see
 * the configured address as the source. A datagram from an address that is no peer's is dropped on
 * arrival, counted and nothing else (no copy, no HMAC, no status); the others are copied out of
 * Netty's buffer (which is released at once) and handed to the receiver on the channel's event
 * loop, which is the cluster's owner thread.
 */
public final class UdpTransport implements Transport {

  private static final Logger log = LoggerFactory.getLogger(UdpTransport.class);

  /** Larger than any valid heartbeat, so an oversized datagram is seen (and dropped) as such. */
  private static final int RECEIVE_BUFFER = HeartbeatCodec.MAX_DATAGRAM * 2;

  /**
   * The socket's receive buffer: 4 MiB holds a few thousand datagrams (each costs about a KiB of
   * kernel memory whatever its size), so a burst of a flood or a pause of the reader does not push
   * peers' heartbeats out. The kernel caps it at net.core.rmem_max; start-up warns when it does.
   */
  static final int SOCKET_RECEIVE_BUFFER = 4 << 20;

  private final Channel channel;
  private final Inbound inbound;

  /** Replaced whole by {@link #setPeers} on the event loop, which alone reads it. */
  private Map<String, InetSocketAddress> peers;

  private UdpTransport(Channel channel, Inbound inbound, Map<String, InetSocketAddress> peers) {
    this.channel = channel;
    this.inbound = inbound;
    this.peers = Map.copyOf(peers);
  }

  /** Binds {@code local} on one event loop of {@code group}; blocks until bound. */
  public static UdpTransport bind(
      EventLoopGroup group,
      Class<? extends DatagramChannel> channelClass,
      InetSocketAddress local,
      Map<String, InetSocketAddress> peers,
      Receiver receiver,
      Runnable notMember)
      throws InterruptedException {
    Inbound inbound = new Inbound(addresses(peers), receiver, notMember);
    Channel channel =
        new Bootstrap()
            .group(group)
            .channel(channelClass)
            .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_BUFFER))
            .option(ChannelOption.SO_RCVBUF, SOCKET_RECEIVE_BUFFER)
            .handler(inbound)
            .bind(local)
            .sync()
            .channel();
    Integer granted = channel.config().getOption(ChannelOption.SO_RCVBUF);
    // Linux reports twice what it grants (the doubling covers its bookkeeping).
    if (granted != null && granted / 2 < SOCKET_RECEIVE_BUFFER / 2) {
      log.warn(
          "the heartbeat socket's receive buffer is {} KiB, not the {} KiB asked for:"
              + " net.core.rmem_max limits it; a burst of datagrams may push heartbeats out (sysctl"
              + " -w net.core.rmem_max={})",
          granted / 2 / 1024,
          SOCKET_RECEIVE_BUFFER / 1024,
          SOCKET_RECEIVE_BUFFER);
    }
    return new UdpTransport(channel, inbound, peers);
  }

  private static Set<InetAddress> addresses(Map<String, InetSocketAddress> peers) {
    return peers.values().stream()
        .map(InetSocketAddress::getAddress)
        .collect(Collectors.toUnmodifiableSet());
  }

  /**
   * The peers become {@code peers} (a reload of cluster.nodes): heartbeats go to them, and
   * datagrams from their addresses only are read. On the event loop, like every send and receipt.
   */
  /** The peers' addresses now; on the event loop. */
  public Map<String, InetSocketAddress> peers() {
    return peers;
  }

  public void setPeers(Map<String, InetSocketAddress> next) {
    if (!channel.eventLoop().inEventLoop()) {
      throw new IllegalStateException("UdpTransport.setPeers must run on its event loop");
    }
    peers = Map.copyOf(next);
    inbound.members = addresses(next);
  }

  /** The owner thread: every datagram is delivered on it. */
  public EventLoop eventLoop() {
    return channel.eventLoop();
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) channel.localAddress();
  }

  @Override
  public void send(String peerId, byte[] datagram) {
    InetSocketAddress peer = peers.get(peerId);
    if (peer != null && channel.isActive()) {
      channel.writeAndFlush(
          new DatagramPacket(Unpooled.wrappedBuffer(datagram), peer), channel.voidPromise());
    }
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
  }

  private static final class Inbound extends SimpleChannelInboundHandler<DatagramPacket> {
    /** Replaced by {@link #setPeers} on the event loop, which alone reads it. */
    private Set<InetAddress> members;

    private final Receiver receiver;
    private final Runnable notMember;

    Inbound(Set<InetAddress> members, Receiver receiver, Runnable notMember) {
      this.members = members;
      this.receiver = receiver;
      this.notMember = notMember;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
      if (!members.contains(packet.sender().getAddress())) {
        notMember.run();
        return;
      }
      ByteBuf content = packet.content();
      byte[] datagram = new byte[content.readableBytes()];
      content.getBytes(content.readerIndex(), datagram);
      receiver.receive(datagram, packet.sender().getAddress());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A send to an unreachable peer fails here; the failure detector reports the peer, not each
      // datagram.
      log.debug("heartbeat socket error: {}", cause.toString());
    }
  }
}
