package io.apivip.daemon.proxy;

import io.netty.channel.Channel;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.Native;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds events to an epoll channel's interest set before Netty registers the channel: registration
 * then carries them, where adding one afterwards costs an epoll_ctl call per connection. Netty's
 * channel classes are final and its {@code setFlag} protected, hence the method handle. Other
 * transports' channels are left alone.
 */
final class EpollInterest {

  private static final Logger log = LoggerFactory.getLogger(EpollInterest.class);
  private static final MethodHandle SET_FLAG = setFlagHandle();

  private EpollInterest() {}

  private static MethodHandle setFlagHandle() {
    try {
      // The declaring class is package-private in Netty, so it is named rather than imported.
      Class<?> epollChannel = Class.forName("io.netty.channel.epoll.AbstractEpollChannel");
      MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(epollChannel, MethodHandles.lookup());
      return lookup.findVirtual(epollChannel, "setFlag", MethodType.methodType(void.class, int.class))
          .asType(MethodType.methodType(void.class, Channel.class, int.class));
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      log.warn("cannot reach Netty's epoll interest set ({}): a half-closed connection may be reset, and each"
          + " connection to an apiserver costs one epoll_ctl call more", e.toString());
      return null;
    }
  }

  /**
   * Keeps the channel alive across a half-close, working around a bug of Netty 4.2 (seen in 4.2.18
   * to 4.2.20). When a channel's epoll interest set becomes empty, which happens once its input has
   * ended and it has nothing waiting to be written, EpollIoHandler removes the descriptor from epoll
   * yet keeps it marked as added; the next interest change (EPOLLOUT, when a write to the direction
   * still open fills the socket buffer) then fails with ENOENT and Netty closes the connection
   * mid-stream. EPOLLERR in the interest set keeps it from ever being empty; the kernel reports
   * EPOLLERR whether it is asked for or not, so no event changes; but while the descriptor stays in
   * epoll, a reset after the input ended is reported on every wait and left unhandled by Netty,
   * which {@link ResetWatch} ends. Remove this once Netty re-adds a
   * descriptor it removed; {@code TcpProxyTest.aLargeAnswerReachesAClientThatHasEndedItsSide} tells.
   *
   * <p>Call on the channel's event loop, best before it is registered.
   */
  static void keepAcrossHalfClose(Channel channel) {
    add(channel, Native.EPOLLERR);
  }

  /**
   * Reads from the moment the channel connects, for a backend channel whose relay starts reading
   * as soon as the connect succeeds anyway: one epoll_ctl call fewer per connection. Bytes that
   * arrive together with the connect's completion are read after it (Netty handles EPOLLOUT first).
   * Call before the channel is registered.
   */
  static void readFromTheStart(Channel channel) {
    add(channel, Native.EPOLLIN);
  }

  private static void add(Channel channel, int events) {
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
