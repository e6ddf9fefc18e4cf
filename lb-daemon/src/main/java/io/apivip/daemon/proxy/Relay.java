package io.apivip.daemon.proxy;

import io.micrometer.core.instrument.Counter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays one direction of a proxied connection: what this side's channel reads is written to its
 * peer. One instance sits on the client channel and one on the backend channel; both channels share
 * one event loop, so the pair needs no locking.
 *
 * <p>Both channels run with autoRead off: the next read is asked for only once the previous write
 * has been flushed to the peer's socket, so a slow reader on either side stops the other side's
 * reads instead of filling the proxy's memory: a connection holds at most one read per direction,
 * and {@link RelayMemory} sizes each read to a share of the relays' budget. An end of stream (FIN)
 * on one side becomes a shutdown of the peer's output once everything before it is flushed; the
 * connection is closed when both directions have ended. An error or a reset on either side resets
 * the other (SO_LINGER 0), so a broken stream is never presented as a complete one.
 */
final class Relay extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(Relay.class);

  /**
   * Fired on a client channel to end its connection gracefully: the apiserver sees the client's end
   * of stream, ends its response and closes with TLS's close_notify, which reaches the client as a
   * clean end. Connections still connecting ignore it.
   */
  static final Object END_GRACEFULLY =
      new Object() {
        @Override
        public String toString() {
          return "END_GRACEFULLY";
        }
      };

  /**
   * What every relayed connection gets: TCP keepalive with the configured timing on each socket,
   * and a bound on how long it may stay half-closed (zero: none), with what to do when that bites.
   */
  record Tuning(
      Consumer<Channel> keepAlive,
      Duration halfCloseTimeout,
      Runnable onHalfCloseTimeout,
      RelayMemory memory) {}

  private final Channel peer;
  private final Counter bytesRelayed;
  private final Tuning tuning;
  private boolean resetWatched;
  private ScheduledFuture<?> halfCloseDeadline;

  /**
   * @param bytesRelayed counts what this side reads, i.e. what is written to the peer
   */
  Relay(Channel peer, Counter bytesRelayed, Tuning tuning) {
    this.peer = peer;
    this.bytesRelayed = bytesRelayed;
    this.tuning = tuning;
  }

  /** Starts relaying between two connected channels. */
  static void start(Channel client, Channel backend) {
    readMore(client);
    readMore(backend);
  }

  /** Asks for the next read, unless the input has ended and there is nothing more to read. */
  private static void readMore(Channel channel) {
    if (!channel.config().isAutoRead() && !((DuplexChannel) channel).isInputShutdown()) {
      channel.read();
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    tuning.memory().opened();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    tuning.memory().closed();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    int held = 0;
    if (msg instanceof ByteBuf buf) {
      bytesRelayed.increment(buf.readableBytes());
      held = buf.capacity(); // what the read took of the pool, whatever it filled
    }
    int heldUntilWritten = held;
    tuning.memory().hold(heldUntilWritten);
    Channel self = ctx.channel();
    peer.writeAndFlush(msg)
        .addListener(
            (ChannelFutureListener)
                written -> {
                  tuning.memory().release(heldUntilWritten);
                  if (written.isSuccess()) {
                    readMore(self);
                  } else {
                    resetBoth(self, written.cause());
                  }
                });
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof ChannelInputShutdownEvent) {
      forwardEndOfStream(ctx.channel(), true);
    } else if (event == END_GRACEFULLY) {
      forwardEndOfStream(ctx.channel(), false);
    } else if (event instanceof IdleStateEvent) {
      log.debug(
          "closing idle connection {} <-> {}", ctx.channel().remoteAddress(), peer.remoteAddress());
      ctx.close();
      peer.close();
    } else {
      ctx.fireUserEventTriggered(event);
    }
  }

  /**
   * Half-close: the peer learns of the end only after everything read before it has been flushed.
   *
   * @param selfEnded whether this side's input really ended; not so when the proxy ends the stream
   *     for it ({@link #END_GRACEFULLY}), and this side may still send
   */
  private void forwardEndOfStream(Channel self, boolean selfEnded) {
    peer.writeAndFlush(Unpooled.EMPTY_BUFFER)
        .addListener(
            (ChannelFutureListener)
                flushed -> {
                  if (flushed.isSuccess()) {
                    NettySeam.shutdownOutput(peer)
                        .addListener(
                            (ChannelFutureListener) shut -> peerOutputEnded(self, selfEnded, shut));
                  } else {
                    resetBoth(self, flushed.cause());
                  }
                });
  }

  /** After the peer's output was shut down, or failed to be, for this side's end of stream. */
  private void peerOutputEnded(Channel self, boolean selfEnded, ChannelFuture shut) {
    if (!shut.isSuccess()) {
      // The peer's socket is no longer connected: reset before its error was read.
      resetBoth(self, shut.cause());
    } else if (((DuplexChannel) peer).isShutdown()) {
      // Both directions have ended; closing the peer closes this side through channelInactive.
      NettySeam.afterTheseEvents(peer, peer::close);
    } else {
      boundHalfClose(self);
      if (!selfEnded) {
        return;
      }
      // No transport reports this side's reset from now on.
      resetWatched =
          NettySeam.watchForReset(
              self, () -> resetBoth(self, new IOException("reset after its end of stream")));
      // The peer's end of stream will end the connection: let Netty close the peer then instead of
      // shutting down its input, which by then fails (ENOTCONN) with a costly exception. Not when
      // this side may still send: closing it with bytes unread would reset it.
      peer.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
    }
  }

  /**
   * A half-closed connection is closed {@code proxy.half-close-timeout} after its first end of
   * stream, whatever the other side still sends: a client that ends its request and then reads
   * slowly for ever, or an apiserver that never ends its answer, cannot hold the pair.
   */
  private void boundHalfClose(Channel self) {
    Duration timeout = tuning.halfCloseTimeout();
    if (timeout.isZero() || halfCloseDeadline != null) {
      return;
    }
    halfCloseDeadline =
        self.eventLoop()
            .schedule(
                () -> {
                  if (self.isOpen() || peer.isOpen()) {
                    tuning.onHalfCloseTimeout().run();
                    log.debug(
                        "closing connection {} <-> {}: half-closed for {}",
                        self.remoteAddress(),
                        peer.remoteAddress(),
                        timeout);
                    self.close();
                    peer.close();
                  }
                },
                timeout.toNanos(),
                TimeUnit.NANOSECONDS);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (halfCloseDeadline != null) {
      halfCloseDeadline.cancel(false);
      halfCloseDeadline = null;
    }
    if (resetWatched) {
      NettySeam.forgetResetWatch(ctx.channel());
    }
    if (peer.isActive()) {
      peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    resetBoth(ctx.channel(), cause);
  }

  private void resetBoth(Channel self, Throwable cause) {
    log.debug(
        "resetting connection {} <-> {}: {}",
        self.remoteAddress(),
        peer.remoteAddress(),
        cause.toString());
    resetAfterTheseEvents(peer, self);
  }

  /**
   * Resets both channels of a pair (on one event loop) once the events at hand are handled: before
   * the channelInactive of a side that Netty closes meanwhile, which would end the other side
   * gracefully instead.
   */
  private static void resetAfterTheseEvents(Channel one, Channel other) {
    NettySeam.afterTheseEvents(
        one,
        () -> {
          reset(one);
          reset(other);
        });
  }

  /** Closes with SO_LINGER 0, so the other end sees a reset rather than a clean end of stream. */
  static void reset(Channel channel) {
    if (channel.isActive()) {
      channel.config().setOption(ChannelOption.SO_LINGER, 0);
    }
    channel.close();
  }
}
