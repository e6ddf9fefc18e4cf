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
 * Keeps epoll channels alive across a half-close, working around a bug of Netty 4.2 (seen in 4.2.18
 * to 4.2.20). When a channel's epoll interest set becomes empty, which happens once its input has ended
 * and it has nothing waiting to be written, EpollIoHandler removes the descriptor from epoll yet keeps
 * it marked as added; the next interest change (EPOLLOUT, when a write to the direction still open fills
 * the socket buffer) then fails with ENOENT and Netty closes the connection mid-stream.
 *
 * <p>The fix adds EPOLLERR to the channel's interest set, so it is never empty. The kernel reports
 * EPOLLERR whether it is asked for or not, so no event changes. Netty's channel classes are final and
 * its {@code setFlag} protected, hence the method handle. Remove this class once Netty re-adds a
 * descriptor it removed; {@code TcpProxyTest.aLargeAnswerReachesAClientThatHasEndedItsSide} tells.
 */
final class HalfCloseSafeEpoll {

  private static final Logger log = LoggerFactory.getLogger(HalfCloseSafeEpoll.class);
  private static final MethodHandle SET_FLAG = setFlagHandle();

  private HalfCloseSafeEpoll() {}

  private static MethodHandle setFlagHandle() {
    try {
      // The declaring class is package-private in Netty, so it is named rather than imported.
      Class<?> epollChannel = Class.forName("io.netty.channel.epoll.AbstractEpollChannel");
      MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(epollChannel, MethodHandles.lookup());
      return lookup.findVirtual(epollChannel, "setFlag", MethodType.methodType(void.class, int.class))
          .asType(MethodType.methodType(void.class, Channel.class, int.class));
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      log.warn("cannot apply the Netty epoll half-close workaround ({}); a half-closed connection may be reset", e.toString());
      return null;
    }
  }

  /** Call on the channel's event loop, before or after it is registered. */
  static void protect(Channel channel) {
    if (SET_FLAG == null || !(channel instanceof AbstractEpollStreamChannel)) {
      return;
    }
    try {
      SET_FLAG.invokeExact(channel, Native.EPOLLERR);
    } catch (Throwable e) {
      channel.pipeline().fireExceptionCaught(e);
    }
  }
}
