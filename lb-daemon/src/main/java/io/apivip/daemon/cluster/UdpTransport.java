package io.apivip.daemon.cluster;

import io.apivip.daemon.transport.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 *
 * <p>Each peer's heartbeats queue in a receive buffer of their own: beside the main socket, which
 * sends to every peer and receives what no other socket takes, each peer has a socket bound to the
 * same address and port (SO_REUSEPORT) and connected to that peer's address and port. The kernel
 * hands a datagram to the socket whose addresses match it best, so a flood, from anywhere or
 * spoofed from one member's address, fills only the buffer it lands in, and the other members'
 * heartbeats still arrive even when this node cannot verify datagrams as fast as they come (with
 * one buffer for all, a spoofed flood pushed them out and the holder lost its quorum: see the
 * hostile attacks in bench/README.md). Sockets of one SO_REUSEPORT group share a user: only a
 * process of the daemon's user could join it. The NIO transport cannot set SO_REUSEPORT, and Linux
 * before 5.4 did not sort a group's datagrams by connection; there, the main socket receives all.
 */
public final class UdpTransport implements Transport {

  private static final Logger log = LoggerFactory.getLogger(UdpTransport.class);

  /** Larger than any valid heartbeat, so an oversized datagram is seen (and dropped) as such. */
  private static final int RECEIVE_BUFFER = HeartbeatCodec.MAX_DATAGRAM * 2;

  /**
   * Each socket's receive buffer: 4 MiB holds a few thousand datagrams (each costs about a KiB of
   * kernel memory whatever its size), so a burst of a flood or a pause of the reader does not push
   * heartbeats out. The kernel caps it at net.core.rmem_max; start-up warns when it does.
   */
  static final int SOCKET_RECEIVE_BUFFER = 4 << 20;

  /** The major and minor numbers at the start of os.version, e.g. "6.1" of "6.1.0-27-amd64". */
  private static final Pattern KERNEL_VERSION = Pattern.compile("^(\\d+)\\.(\\d+)");

  private final Channel channel;
  private final Inbound inbound;

  /** Opens the peers' sockets, bound where the main socket is; empty without SO_REUSEPORT. */
  private final Optional<Bootstrap> peerSockets;

  /** Replaced whole by {@link #setPeers} on the event loop, which alone reads it. */
  private Map<String, InetSocketAddress> peers;

  /**
   * Each peer's own receiving socket, by the address it is connected to; changed on the event loop
   * only, closed by {@link #close} from any thread.
   */
  private final Map<InetSocketAddress, Channel> peerChannels = new ConcurrentHashMap<>();

  private UdpTransport(
      Channel channel,
      Inbound inbound,
      Optional<Bootstrap> peerSockets,
      Map<String, InetSocketAddress> peers) {
    this.channel = channel;
    this.inbound = inbound;
    this.peerSockets = peerSockets;
    this.peers = Map.copyOf(peers);
  }

  /**
   * Binds {@code local} on one event loop of {@code group}, and each peer's socket beside it when
   * {@code transports} can set SO_REUSEPORT; blocks until bound.
   */
  public static UdpTransport bind(
      EventLoopGroup group,
      Transports transports,
      InetSocketAddress local,
      Map<String, InetSocketAddress> peers,
      Receiver receiver,
      Runnable notMember)
      throws InterruptedException {
    Inbound inbound = new Inbound(addresses(peers), receiver, notMember);
    EventLoop loop = group.next();
    Optional<ChannelOption<Boolean>> reusePort =
        transports.reusePort().filter(any -> sortsByConnection(System.getProperty("os.version")));
    Bootstrap main = socket(loop, transports, inbound);
    if (reusePort.isPresent()) {
      // A socket without SO_REUSEPORT first: when anything holds the port, another apivip of the
      // same user too, the bind fails ("Address already in use") instead of joining its group.
      try (DatagramSocket probe = new DatagramSocket(local)) {
        local = new InetSocketAddress(local.getAddress(), probe.getLocalPort()); // what 0 chose
      } catch (SocketException e) {
        throw cannotBind(local, e);
      }
      main.option(reusePort.get(), true);
    }
    Channel channel = bindMain(main, local);
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
    Optional<Bootstrap> peerSockets =
        reusePort.map(
            option ->
                socket(loop, transports, inbound)
                    .option(option, true)
                    .localAddress(channel.localAddress()));
    UdpTransport transport = new UdpTransport(channel, inbound, peerSockets, peers);
    // Connected before bind returns: until then, the peers' heartbeats land in the main socket.
    for (ChannelFuture connect : loop.submit(transport::openPeerSockets).sync().getNow()) {
      connect.await();
    }
    return transport;
  }

  /**
   * Binds the main socket. Once in CI's lab, a node found the port in use right after the probe had
   * bound and closed it, and nothing else there held it: up to 5 attempts, 100 ms apart, each
   * logged, before it gives up.
   */
  private static Channel bindMain(Bootstrap main, InetSocketAddress local)
      throws InterruptedException {
    for (int attempt = 1; ; attempt++) {
      ChannelFuture bound = main.bind(local).await();
      if (bound.isSuccess()) {
        return bound.channel();
      }
      if (attempt == 5 || !String.valueOf(bound.cause().getMessage()).contains("already in use")) {
        throw cannotBind(local, bound.cause());
      }
      log.warn(
          "the heartbeat socket's port {} was in use a moment after it was free ({}); trying again"
              + " in 100 ms",
          local,
          bound.cause().getMessage());
      Thread.sleep(100);
    }
  }

  private static IllegalStateException cannotBind(InetSocketAddress local, Throwable cause) {
    return new IllegalStateException(
        "cannot bind the heartbeat socket to " + local + ": " + cause.getMessage(), cause);
  }

  /**
   * Whether this Linux kernel gives a datagram to the connected socket of an SO_REUSEPORT group
   * that matches it, not to any member by hash: since 5.4 ("udp: correct reuseport selection with
   * connected sockets"). Older kernels, or an unreadable version, keep one socket for all.
   */
  static boolean sortsByConnection(String kernelVersion) {
    Matcher version = KERNEL_VERSION.matcher(String.valueOf(kernelVersion));
    if (!version.find()) {
      return false;
    }
    int major = Integer.parseInt(version.group(1));
    int minor = Integer.parseInt(version.group(2));
    return major > 5 || (major == 5 && minor >= 4);
  }

  private static Bootstrap socket(EventLoop loop, Transports transports, Inbound inbound) {
    return new Bootstrap()
        .group(loop)
        .channel(transports.datagramChannel())
        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_BUFFER))
        .option(ChannelOption.SO_RCVBUF, SOCKET_RECEIVE_BUFFER)
        .handler(inbound);
  }

  /**
   * Opens a socket for each peer that has none and closes those of former peers; on the event loop.
   * Returns the new sockets' connections under way. A peer whose socket cannot be opened is heard
   * on the main socket.
   *
   * <p>A socket joins the SO_REUSEPORT group when it binds and takes only its peer's datagrams once
   * it is connected, a moment later: a datagram that arrives in between may stay in its queue and
   * be read as its peer's. Only the attribution of that datagram's drop is then wrong, as a
   * heartbeat is authenticated by its signed sender, never by its address.
   */
  private List<ChannelFuture> openPeerSockets() {
    if (peerSockets.isEmpty()) {
      return List.of();
    }
    List<ChannelFuture> connects = new ArrayList<>();
    Set<InetSocketAddress> wanted = Set.copyOf(peers.values());
    peerChannels
        .entrySet()
        .removeIf(
            entry -> {
              if (wanted.contains(entry.getKey())) {
                return false;
              }
              entry.getValue().close();
              return true;
            });
    for (InetSocketAddress peer : wanted) {
      if (peerChannels.containsKey(peer)) {
        continue;
      }
      ChannelFuture connected = peerSockets.get().connect(peer);
      connects.add(connected);
      peerChannels.put(peer, connected.channel());
      connected.addListener(
          done -> {
            if (!done.isSuccess()) {
              peerChannels.remove(peer, connected.channel());
              log.warn(
                  "cannot open a heartbeat socket of its own for peer {} ({}); its heartbeats share"
                      + " the main socket's receive buffer",
                  peer,
                  done.cause().toString());
            }
          });
    }
    return connects;
  }

  private static Set<InetAddress> addresses(Map<String, InetSocketAddress> peers) {
    return peers.values().stream()
        .map(InetSocketAddress::getAddress)
        .collect(Collectors.toUnmodifiableSet());
  }

  /** The peers' addresses now; on the event loop. */
  public Map<String, InetSocketAddress> peers() {
    return peers;
  }

  /**
   * The peers become {@code peers} (a reload of cluster.nodes): heartbeats go to them, and
   * datagrams from their addresses only are read. On the event loop, like every send and receipt.
   */
  public void setPeers(Map<String, InetSocketAddress> next) {
    if (!channel.eventLoop().inEventLoop()) {
      throw new IllegalStateException("UdpTransport.setPeers must run on its event loop");
    }
    peers = Map.copyOf(next);
    inbound.members = addresses(next);
    openPeerSockets();
  }

  /** The owner thread: every datagram is delivered on it. */
  public EventLoop eventLoop() {
    return channel.eventLoop();
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) channel.localAddress();
  }

  /** How many peers have a receiving socket of their own, open now; on the event loop. */
  int peerSocketsOpen() {
    return (int) peerChannels.values().stream().filter(Channel::isActive).count();
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
    peerChannels.values().forEach(peer -> peer.close().syncUninterruptibly());
    channel.close().syncUninterruptibly();
  }

  /** Shared by every socket of one transport, which all run on its event loop. */
  @ChannelHandler.Sharable
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
