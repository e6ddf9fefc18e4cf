package io.apivip.daemon.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.channels.spi.SelectorProvider;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;
import jdk.net.ExtendedSocketOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the daemon's sockets do their I/O: Netty's io_uring or epoll transport on Linux, NIO
 * anywhere. The event loop group and the channel classes go together; every part that opens sockets
 * takes its channels from here.
 */
public record Transports(
    Kind kind,
    IoHandlerFactory ioHandlerFactory,
    Class<? extends ServerSocketChannel> serverChannel,
    Class<? extends SocketChannel> socketChannel,
    Class<? extends DatagramChannel> datagramChannel) {

  private static final Logger log = LoggerFactory.getLogger(Transports.class);

  /** A transport, by its name in the configuration ({@code transport}). */
  public enum Kind {
    IO_URING,
    EPOLL,
    NIO;

    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Kind> fromConfigName(String name) {
      return Arrays.stream(values()).filter(kind -> kind.configName().equals(name)).findFirst();
    }

    /** Whether this machine can use it; NIO always can. */
    public boolean available() {
      return switch (this) {
        case IO_URING -> IoUring.isAvailable();
        case EPOLL -> Epoll.isAvailable();
        case NIO -> true;
      };
    }

    /** Why not, for the log; empty when available. */
    String unavailability() {
      Throwable cause =
          switch (this) {
            case IO_URING -> IoUring.unavailabilityCause();
            case EPOLL -> Epoll.unavailabilityCause();
            case NIO -> null;
          };
      return cause == null ? "" : cause.toString();
    }
  }

  /** Epoll when its native library loads, otherwise NIO: the default ({@code transport = auto}). */
  public static Transports best() {
    return configured(Optional.empty());
  }

  /**
   * The transport configured: empty means {@link #best()}. One this machine cannot use (no native
   * library, an old kernel, io_uring turned off by sysctl or a seccomp filter) is replaced by the
   * best available, with a warning: a kernel update must not keep the daemon from starting.
   */
  public static Transports configured(Optional<Kind> wanted) {
    return configured(wanted, Kind::available);
  }

  static Transports configured(Optional<Kind> wanted, Predicate<Kind> available) {
    Kind auto = available.test(Kind.EPOLL) ? Kind.EPOLL : Kind.NIO;
    Kind kind = wanted.orElse(auto);
    if (!available.test(kind)) {
      log.warn(
          "transport {} is not available here ({}); using {}",
          kind.configName(),
          kind.unavailability(),
          auto.configName());
      kind = auto;
    }
    return of(kind);
  }

  /** The given transport; check {@link Kind#available()} first. */
  public static Transports of(Kind kind) {
    return switch (kind) {
      case IO_URING ->
          new Transports(
              kind,
              IoUringIoHandler.newFactory(),
              IoUringServerSocketChannel.class,
              IoUringSocketChannel.class,
              IoUringDatagramChannel.class);
      case EPOLL ->
          new Transports(
              kind,
              EpollIoHandler.newFactory(),
              EpollServerSocketChannel.class,
              EpollSocketChannel.class,
              EpollDatagramChannel.class);
      case NIO ->
          new Transports(
              kind,
              NioIoHandler.newFactory(),
              NioServerSocketChannel.class,
              NioSocketChannel.class,
              NioDatagramChannel.class);
    };
  }

  public static Transports nio() {
    return of(Kind.NIO);
  }

  /** Whether this is the epoll transport, the only one whose channels splice. */
  public boolean epoll() {
    return kind == Kind.EPOLL;
  }

  /** IP_FREEBIND for server channels of this transport; empty with NIO, which cannot set it. */
  public Optional<ChannelOption<Boolean>> freeBind() {
    return switch (kind) {
      case IO_URING -> Optional.of(IoUringChannelOption.IP_FREEBIND);
      case EPOLL -> Optional.of(EpollChannelOption.IP_FREEBIND);
      case NIO -> Optional.empty();
    };
  }

  /**
   * SO_REUSEPORT for server channels of this transport: several listening sockets on one address,
   * the kernel spreading new connections over them. Empty with NIO.
   */
  public Optional<ChannelOption<Boolean>> reusePort() {
    return kind == Kind.NIO ? Optional.empty() : Optional.of(UnixChannelOption.SO_REUSEPORT);
  }

  /**
   * Turns TCP keepalive on with the given timing (whole seconds): a peer that stops answering is
   * given up {@code idle + interval * count} after its last sign of life, instead of the kernel's
   * two hours and more. Returns false when the transport refused an option.
   */
  public boolean keepAlive(Channel channel, Duration idle, Duration interval, int count) {
    ChannelConfig config = channel.config();
    boolean set = config.setOption(ChannelOption.SO_KEEPALIVE, true);
    int idleSeconds = (int) idle.toSeconds();
    int intervalSeconds = (int) interval.toSeconds();
    return set
        & switch (kind) {
          case IO_URING ->
              config.setOption(IoUringChannelOption.TCP_KEEPIDLE, idleSeconds)
                  & config.setOption(IoUringChannelOption.TCP_KEEPINTVL, intervalSeconds)
                  & config.setOption(IoUringChannelOption.TCP_KEEPCNT, count);
          case EPOLL ->
              config.setOption(EpollChannelOption.TCP_KEEPIDLE, idleSeconds)
                  & config.setOption(EpollChannelOption.TCP_KEEPINTVL, intervalSeconds)
                  & config.setOption(EpollChannelOption.TCP_KEEPCNT, count);
          case NIO ->
              config.setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), idleSeconds)
                  & config.setOption(
                      NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), intervalSeconds)
                  & config.setOption(
                      NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), count);
        };
  }

  /** A new event loop group of this transport whose threads are named {@code name-N}. */
  public EventLoopGroup newGroup(int threads, String name) {
    return new MultiThreadIoEventLoopGroup(
        threads, new DefaultThreadFactory(name, true), ioHandlerFactory);
  }

  /**
   * A new, unregistered TCP channel of the address's family. Epoll's and NIO's default socket is
   * dual-stack IPv6, which costs an extra system call per connection to an IPv4 address; io_uring's
   * channel offers no choice.
   */
  public SocketChannel newSocketChannel(InetAddress peer) {
    return switch (kind) {
      case IO_URING -> new IoUringSocketChannel();
      case EPOLL -> new EpollSocketChannel(family(peer));
      case NIO -> new NioSocketChannel(SelectorProvider.provider(), family(peer));
    };
  }

  /**
   * A new, unregistered listening channel of the address's family. On an IPv4 address a dual-stack
   * IPv6 socket, the default of epoll and NIO, takes every connection through the kernel's IPv6
   * code and hands back IPv4-mapped addresses; an IPv6 address (the wildcard {@code ::} included)
   * keeps the dual-stack socket.
   */
  public ServerSocketChannel newServerChannel(InetAddress local) {
    return switch (kind) {
      case IO_URING -> new IoUringServerSocketChannel();
      case EPOLL -> new EpollServerSocketChannel(family(local));
      case NIO -> new NioServerSocketChannel(SelectorProvider.provider(), family(local));
    };
  }

  private static SocketProtocolFamily family(InetAddress address) {
    return address instanceof Inet6Address ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET;
  }

  public String name() {
    return kind.configName();
  }
}
