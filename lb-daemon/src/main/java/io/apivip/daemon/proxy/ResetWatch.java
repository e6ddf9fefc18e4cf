package io.apivip.daemon.proxy;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.FastThreadLocal;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Finds the sockets that were reset after their input ended. No transport reports such a reset
 * before the next write to the socket, which may be long in coming (a quiet watch), and meanwhile
 * epoll reports EPOLLERR|EPOLLHUP for the socket on every wait, which Netty leaves unhandled: its
 * event loop would never rest. So each event loop asks the kernel, every {@link #INTERVAL}, for the
 * pending error of the sockets it watches; a connection that ends within the interval, as most do,
 * is never asked about. NIO offers no way to ask: its channels are not watched, and there the reset
 * shows at the next write.
 *
 * <p>One instance per event loop, used only on that loop's thread.
 */
final class ResetWatch {

  static final Duration INTERVAL = Duration.ofMillis(250);

  private static final FastThreadLocal<ResetWatch> OF_THIS_LOOP = new FastThreadLocal<>() {
    @Override
    protected ResetWatch initialValue() {
      return new ResetWatch();
    }
  };

  /** Native channels only (see {@link #watch}), each with what to run once its socket is reset. */
  private final Map<Channel, Runnable> watched = new HashMap<>();
  private boolean checkScheduled;

  private ResetWatch() {}

  /**
   * Runs {@code onReset} once the channel's socket has an error pending, until {@link #forget}.
   * Call on the channel's event loop. Returns whether the channel is watched (not over NIO).
   */
  static boolean watch(Channel channel, Runnable onReset) {
    if (!(channel instanceof UnixChannel unix && unix.fd() instanceof Socket) || !channel.isOpen()) {
      return false;
    }
    OF_THIS_LOOP.get().add(channel, onReset);
    return true;
  }

  /** Stops watching the channel; call on its event loop. */
  static void forget(Channel channel) {
    OF_THIS_LOOP.get().watched.remove(channel);
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
    for (Iterator<Map.Entry<Channel, Runnable>> it = watched.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Channel, Runnable> entry = it.next();
      Channel channel = entry.getKey();
      if (!channel.isOpen()) {
        // Closed without being forgotten: its descriptor's number may belong to another socket now.
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

  /** Whether the kernel holds an error for the socket (and clears it), or the socket is closed. */
  private static boolean hasError(Socket socket) {
    try {
      return socket.getSoError() != 0;
    } catch (IOException closed) {
      return true;
    }
  }
}
