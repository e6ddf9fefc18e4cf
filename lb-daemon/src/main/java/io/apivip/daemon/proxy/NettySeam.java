package io.apivip.daemon.proxy;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.apivip.daemon.transport.Transports;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.Native;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.FastThreadLocal;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.channels.NotYetConnectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where the proxy goes around Netty: into its channels' epoll interest set, straight
 * to their sockets, or to the kernel through JNA. Each item answers one behaviour of Netty or of
 * the kernel, and names the test that fails without it (test classes in {@code
 * lb-daemon/src/test/.../proxy}):
 *
 * <ol>
 *   <li>{@link #keepAcrossHalfClose}: Netty 4.2 removes a half-closed channel's descriptor from
 *       epoll and then fails its next interest change, closing the connection mid-stream. Proven by
 *       {@code RelayTest.aLargeAnswerReachesAClientThatHasEndedItsSide}.
 *   <li>{@link #watchForReset}: Netty's epoll channels do not report a reset that follows the end
 *       of their input, and the kernel's EPOLLERR then wakes the event loop without end. Proven by
 *       {@code RelayTest.aClientThatEndsItsSideAndThenResetsIsLetGoWhileTheApiserverIsQuiet}.
 *   <li>{@link #afterTheseEvents}: Netty maps epoll events to channels by descriptor number, so
 *       closing another channel mid-batch can hand its event to a new socket that got the number.
 *       Proven under load only: {@code EndToEndIT.drainStopAndRestartCostNoConnection} failed in 7
 *       of 21 runs without it (commit 7fef1d4); {@code
 *       RelayTest.bothEndsEndingAndResettingAtOnceCloseTheConnection} covers the path.
 *   <li>{@link #holdSynsBack}: Netty has no way to stop a listening socket from accepting without
 *       closing it (which refuses clients); a socket filter makes the kernel drop SYNs instead.
 *       Proven by {@code
 *       VipGateTest.aPlannedHandoffHoldsNewVipConnectionsBackInsteadOfRefusingThem} and, across
 *       nodes, {@code EndToEndIT.drainStopAndRestartCostNoConnection}.
 *   <li>{@link #shutdownOutput}: Netty's shutdownOutput builds an exception with a stack trace on
 *       every call (about 2% of the proxy's CPU per connection). A cost, not a fault; its behaviour
 *       is proven by {@code RelayTest.clientHalfCloseReachesTheApiserverWhichCanStillAnswer} and
 *       {@code RelayTest.bothEndsEndingAndResettingAtOnceCloseTheConnection}.
 *   <li>{@link #acceptedSocketsKeepAlive}: Linux passes a listening socket's SO_KEEPALIVE and its
 *       timing (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, which Netty sets only on connected
 *       channels, so through JNA) on to the sockets accepted from it, which saves four system calls
 *       per connection. Proven by {@code
 *       ListenersAdmissionTest.bothSidesKeepAliveWithTheConfiguredTiming}, which reads the accepted
 *       socket's keepalive timer from the kernel and fails should Linux stop passing them on.
 *   <li>{@link #readFromTheStart}: EPOLLIN carried by the registration of a backend channel saves
 *       one epoll_ctl call per connection (bench/proxy's system call row). A cost, not a fault;
 *       relaying is proven intact by {@code RelayTest.relaysLargeRandomPayloadsIntactBothWays}.
 * </ol>
 *
 * <p>Two more answers to Netty's behaviour are state of a handler, so they stay there: {@link
 * Connector} holds the bytes and end of stream that epoll reads before the relay starts (EPOLLRDHUP
 * drains a socket whatever autoRead says; {@code
 * RelayTest.clientHalfCloseReachesTheApiserverWhichCanStillAnswer} takes that path when the
 * client's end arrives before the connect completes, which no test forces), and {@link Relay} turns
 * ALLOW_HALF_CLOSURE off once one direction has ended (Netty's shutdown of a dead socket's input
 * throws a costly exception; a cost, not a fault).
 */
final class NettySeam {

  private static final Logger log = LoggerFactory.getLogger(NettySeam.class);

  private NettySeam() {}

  // ---- epoll interest set --------------------------------------------------------------------

  /**
   * Keeps the channel alive across a half-close, working around a bug of Netty 4.2 (seen in 4.2.18
   * to 4.2.20). When a channel's epoll interest set becomes empty, which happens once its input has
   * ended and it has nothing waiting to be written, EpollIoHandler removes the descriptor from
   * epoll yet keeps it marked as added; the next interest change (EPOLLOUT, when a write to the
   * direction still open fills the socket buffer) then fails with ENOENT and Netty closes the
   * connection mid-stream. EPOLLERR in the interest set keeps it from ever being empty; the kernel
   * reports EPOLLERR whether it is asked for or not, so no event changes; but while the descriptor
   * stays in epoll, a reset after the input ended is reported on every wait and left unhandled by
   * Netty, which {@link #watchForReset} ends. Remove this once Netty re-adds a descriptor it
   * removed.
   *
   * <p>Call on the channel's event loop, best before it is registered.
   */
  static void keepAcrossHalfClose(Channel channel) {
    EpollInterest.add(channel, Native.EPOLLERR);
  }

  /**
   * Reads from the moment the channel connects, for a backend channel whose relay starts reading as
   * soon as the connect succeeds anyway: one epoll_ctl call fewer per connection. Bytes that arrive
   * together with the connect's completion are read after it (Netty handles EPOLLOUT first). Call
   * before the channel is registered, after autoRead is set (which clears EPOLLIN).
   */
  static void readFromTheStart(Channel channel) {
    EpollInterest.add(channel, Native.EPOLLIN);
  }

  /**
   * Adds events to an epoll channel's interest set before Netty registers the channel: registration
   * then carries them, where adding one afterwards costs an epoll_ctl call per connection. Netty's
   * channel classes are final and its {@code setFlag} protected, hence the method handle. Other
   * transports' channels are left alone.
   */
  private static final class EpollInterest {
    private static final MethodHandle SET_FLAG = setFlagHandle();

    private static MethodHandle setFlagHandle() {
      try {
        // The declaring class is package-private in Netty, so it is named rather than imported.
        Class<?> epollChannel = Class.forName("io.netty.channel.epoll.AbstractEpollChannel");
        MethodHandles.Lookup lookup =
            MethodHandles.privateLookupIn(epollChannel, MethodHandles.lookup());
        return lookup
            .findVirtual(epollChannel, "setFlag", MethodType.methodType(void.class, int.class))
            .asType(MethodType.methodType(void.class, Channel.class, int.class));
      } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
        log.warn(
            "cannot reach Netty's epoll interest set ({}): a half-closed connection may be reset,"
                + " and each connection to an apiserver costs one epoll_ctl call more",
            e.toString());
        return null;
      }
    }

    static void add(Channel channel, int events) {
      if (SET_FLAG == null || !(channel instanceof AbstractEpollStreamChannel)) {
        return;
      }
      try {
        SET_FLAG.invokeExact(channel, events);
      } catch (Throwable e) {
        channel.pipeline().fireExceptionCaught(e);
      }
    }
  }

  // ---- resets after the end of input ---------------------------------------------------------

  /**
   * Runs {@code onReset} once the channel's socket has an error pending, until {@link
   * #forgetResetWatch}. Call on the channel's event loop. Returns whether the channel is watched
   * (not over NIO, which offers no way to ask and where the reset shows at the next write).
   */
  static boolean watchForReset(Channel channel, Runnable onReset) {
    return ResetWatch.watch(channel, onReset);
  }

  /** Stops watching the channel; call on its event loop. */
  static void forgetResetWatch(Channel channel) {
    ResetWatch.OF_THIS_LOOP.get().watched.remove(channel);
  }

  /**
   * Finds the sockets that were reset after their input ended. No transport reports such a reset
   * before the next write to the socket, which may be long in coming (a quiet watch), and meanwhile
   * epoll reports EPOLLERR|EPOLLHUP for the socket on every wait, which Netty leaves unhandled: its
   * event loop would never rest. So each event loop asks the kernel, every {@link #INTERVAL}, for
   * the pending error of the sockets it watches; a connection that ends within the interval, as
   * most do, is never asked about. One instance per event loop, used only on that loop's thread.
   */
  private static final class ResetWatch {
    static final Duration INTERVAL = Duration.ofMillis(250);

    static final FastThreadLocal<ResetWatch> OF_THIS_LOOP =
        new FastThreadLocal<>() {
          @Override
          protected ResetWatch initialValue() {
            return new ResetWatch();
          }
        };

    /**
     * Native channels only (see {@link #watch}), each with what to run once its socket is reset.
     */
    final Map<Channel, Runnable> watched = new HashMap<>();

    private boolean checkScheduled;

    static boolean watch(Channel channel, Runnable onReset) {
      if (!(channel instanceof UnixChannel unix && unix.fd() instanceof Socket)
          || !channel.isOpen()) {
        return false;
      }
      OF_THIS_LOOP.get().add(channel, onReset);
      return true;
    }

    private void add(Channel channel, Runnable onReset) {
      watched.put(channel, onReset);
      if (!checkScheduled) {
        checkScheduled = true;
        EventLoop loop = channel.eventLoop();
        loop.schedule(() -> check(loop), INTERVAL.toNanos(), TimeUnit.NANOSECONDS);
      }
    }

    private void check(EventLoop loop) {
      List<Runnable> reset = new ArrayList<>();
      for (Iterator<Map.Entry<Channel, Runnable>> it = watched.entrySet().iterator();
          it.hasNext(); ) {
        Map.Entry<Channel, Runnable> entry = it.next();
        Channel channel = entry.getKey();
        if (!channel.isOpen()) {
          // Closed without being forgotten: its descriptor's number may belong to another socket
          // now.
          it.remove();
        } else if (hasError((Socket) ((UnixChannel) channel).fd())) {
          it.remove();
          reset.add(entry.getValue());
        }
      }
      reset.forEach(Runnable::run);
      checkScheduled = !watched.isEmpty();
      if (checkScheduled) {
        loop.schedule(() -> check(loop), INTERVAL.toNanos(), TimeUnit.NANOSECONDS);
      }
    }

    /**
     * Whether the kernel holds an error for the socket (and clears it), or the socket is closed.
     */
    private static boolean hasError(Socket socket) {
      try {
        return socket.getSoError() != 0;
      } catch (IOException closed) {
        return true;
      }
    }
  }

  // ---- closing another channel ----------------------------------------------------------------

  /**
   * Runs {@code close} once the event loop has handled the batch of events it is handling, where
   * closing a channel other than the one whose event is at hand would free its descriptor's number
   * while an event for it may still wait in that batch. A socket opened in between (the connect for
   * a client accepted in the same batch) can get the number, and Netty then hands it the closed
   * socket's event: in the lab, a backend socket still connecting received a dead socket's end of
   * stream, and the proxy ended its client mid-handshake. A channel closing on its own event is
   * safe: epoll reports a descriptor once per batch.
   */
  static void afterTheseEvents(Channel channel, Runnable close) {
    channel.eventLoop().execute(close);
  }

  // ---- sending the end of stream --------------------------------------------------------------

  /**
   * Sends the channel's end of stream (FIN). On the native transports this shuts the socket
   * directly: Netty's shutdownOutput builds an exception with a stack trace each time, to fail the
   * writes still pending, of which there are none here (the caller has flushed). Elsewhere, Netty's
   * way. A socket that was reset is no longer connected (ENOTCONN, which Netty throws as a
   * NotYetConnectedException): the future fails then, as Netty's own would.
   */
  static ChannelFuture shutdownOutput(Channel channel) {
    if (channel instanceof UnixChannel unix
        && unix.fd() instanceof Socket socket
        && channel.isActive()) {
      try {
        socket.shutdown(false, true);
        return channel.newSucceededFuture();
      } catch (IOException | NotYetConnectedException e) {
        return channel.newFailedFuture(e);
      }
    }
    return ((DuplexChannel) channel).shutdownOutput();
  }

  // ---- listening sockets ----------------------------------------------------------------------

  /** TCP keepalive with its timing in whole seconds. */
  record KeepAlive(Transports transports, Duration idle, Duration interval, int count) {

    /** Sets it on one channel: the transport's socket options, four system calls. */
    void on(Channel channel) {
      transports.keepAlive(channel, idle, interval, count);
    }
  }

  /**
   * A handler for a listening socket's pipeline, ahead of Netty's acceptor. Gives every accepted
   * socket TCP keepalive with its timing: on a native socket once, before it listens, as Linux
   * copies the listening socket's SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT, and
   * starts the timer, into each socket accepted from it (which saves four system calls per
   * connection); otherwise, or if an option cannot be set there, on each accepted channel. Adds
   * {@link #keepAcrossHalfClose}'s EPOLLERR to each accepted channel before it is registered.
   * Proved by ListenersAdmissionTest.bothSidesKeepAliveWithTheConfiguredTiming, which reads the
   * accepted socket's keepalive timer from the kernel.
   */
  static ChannelHandler acceptedSocketsKeepAlive(KeepAlive keepAlive) {
    return new ListenerSetup(keepAlive);
  }

  private static final class ListenerSetup extends ChannelInboundHandlerAdapter {
    private final KeepAlive keepAlive;
    private boolean inherited;

    ListenerSetup(KeepAlive keepAlive) {
      this.keepAlive = keepAlive;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (ctx.channel() instanceof UnixChannel unix && unix.fd() instanceof Socket socket) {
        try {
          socket.setKeepAlive(true);
        } catch (IOException e) {
          log.error(
              "cannot turn TCP keepalive on for the proxy's listening socket: {}", e.toString());
          ctx.channel().close(); // the bind then fails
          return;
        }
        inherited = SocketOptions.keepAliveTiming(unix.fd().intValue(), keepAlive);
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object accepted) {
      Channel client = (Channel) accepted;
      if (!inherited) {
        keepAlive.on(client);
      }
      keepAcrossHalfClose(client);
      ctx.fireChannelRead(client);
    }
  }

  /** The C library's socket calls, for what Netty does not offer on its sockets. */
  private interface LibC extends Library {
    int setsockopt(int socket, int level, int option, Pointer value, int length);

    int setsockopt(int socket, int level, int option, int[] value, int length);

    String strerror(int errno);
  }

  /** Loads the C library on first use: a JVM that never needs it never loads it. */
  private static final class Holder {
    static final LibC LIBC = com.sun.jna.Native.load("c", LibC.class);
  }

  /** Socket options Netty sets only on connected channels, set on a listening socket's fd. */
  private static final class SocketOptions {
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_KEEPIDLE = 4;
    private static final int TCP_KEEPINTVL = 5;
    private static final int TCP_KEEPCNT = 6;

    /** Whether all three were set; false sends the caller to set them per channel. */
    static boolean keepAliveTiming(int fd, KeepAlive keepAlive) {
      try {
        return set(fd, TCP_KEEPIDLE, (int) keepAlive.idle().toSeconds())
            && set(fd, TCP_KEEPINTVL, (int) keepAlive.interval().toSeconds())
            && set(fd, TCP_KEEPCNT, keepAlive.count());
      } catch (LinkageError e) {
        return false;
      }
    }

    private static boolean set(int fd, int option, int value) {
      return Holder.LIBC.setsockopt(fd, IPPROTO_TCP, option, new int[] {value}, 4) == 0;
    }
  }

  /**
   * Closes a listening socket to new connections without refusing them: a one-instruction socket
   * filter ("drop everything") makes the kernel drop incoming SYNs silently, so clients send them
   * again a second later instead of seeing a reset. Connections already accepted keep flowing.
   * Linux only, through JNA; needs no privilege (SO_ATTACH_FILTER on one's own socket). Answers why
   * it could not, if it could not.
   */
  static Optional<String> holdSynsBack(Channel listener) {
    return SynFilter.attach(listener);
  }

  /** Accepts new connections again; harmless when no filter is attached. */
  static void letSynsIn(Channel listener) {
    SynFilter.detach(listener);
  }

  private static final class SynFilter {
    private static final int SOL_SOCKET = 1;
    private static final int SO_ATTACH_FILTER = 26;
    private static final int SO_DETACH_FILTER = 27;
    private static final short BPF_RET_K = 0x06;

    /**
     * struct sock_fprog on 64-bit Linux: unsigned short len, padding, struct sock_filter *filter.
     */
    private static final int FPROG_SIZE = 16;

    private static final int FILTER_POINTER_OFFSET = 8;

    static Optional<String> attach(Channel listener) {
      if (!(listener instanceof UnixChannel unix) || com.sun.jna.Native.POINTER_SIZE != 8) {
        return Optional.of("needs the epoll transport on a 64-bit Linux");
      }
      try {
        Memory instruction = new Memory(8);
        instruction.clear();
        instruction.setShort(0, BPF_RET_K); // return 0: keep no byte of the packet, i.e. drop it
        Memory program = new Memory(FPROG_SIZE);
        program.clear();
        program.setShort(0, (short) 1);
        program.setPointer(FILTER_POINTER_OFFSET, instruction);
        if (Holder.LIBC.setsockopt(
                unix.fd().intValue(), SOL_SOCKET, SO_ATTACH_FILTER, program, FPROG_SIZE)
            != 0) {
          return Optional.of(
              "setsockopt(SO_ATTACH_FILTER): "
                  + Holder.LIBC.strerror(com.sun.jna.Native.getLastError()));
        }
        return Optional.empty();
      } catch (LinkageError e) {
        return Optional.of("cannot load the C library through JNA: " + e);
      }
    }

    static void detach(Channel listener) {
      if (listener instanceof UnixChannel unix && listener.isOpen()) {
        try {
          Holder.LIBC.setsockopt(
              unix.fd().intValue(), SOL_SOCKET, SO_DETACH_FILTER, new int[] {0}, 4);
        } catch (LinkageError e) {
          // attach reported it already.
        }
      }
    }
  }
}
