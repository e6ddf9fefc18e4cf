package io.apivip.daemon.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's memory ({@code proxy.relay.memory}): counts the bytes that relays hold, read from one
 * side and not yet taken by the other side's socket, and sizes each read so that a crowd of
 * connections cannot take the memory of the others.
 *
 * <p>A relay holds one read at a time (it asks for the next only once the peer's socket has taken
 * the last), so what all relays hold is bounded by the sizes of their reads. Each read is at most
 * an equal share of what is left of the budget, {@code (budget - held) / open relays}, and between
 * {@link #MIN_READ} and {@code proxy.relay.read-max}. Clients that stop reading a large answer each
 * keep the one read they have, while every other connection goes on reading: nobody waits for
 * memory that others hold. Once the budget is spent every read is {@link #MIN_READ}, so all relays
 * together hold at most the budget plus {@link #MIN_READ} each, and what epoll reads from an
 * apiserver socket whose apiserver has closed ({@link Connector} bounds its receive buffer). Every
 * event loop uses it; the counts are atomic.
 */
final class RelayMemory {

  /** Under TcpProxy's name, as the proxy's other lines for operators. */
  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  /** The smallest read, once the budget is spent: connections go on, in small steps. */
  static final int MIN_READ = 2 << 10;

  private final int readMax;
  private final long budget;
  private final AtomicLong held = new AtomicLong();
  private final AtomicInteger relays = new AtomicInteger();
  private final AtomicBoolean pressed = new AtomicBoolean();

  RelayMemory(int readMax, long budget) {
    this.readMax = readMax;
    this.budget = budget;
  }

  /** The read sizes of relayed channels: adaptive up to read-max, each within its share. */
  RecvByteBufAllocator reads() {
    return new Reads();
  }

  /** A relay (one direction of a connection) starts: the budget is shared with one more. */
  void opened() {
    relays.incrementAndGet();
  }

  /** A relay ended. */
  void closed() {
    relays.decrementAndGet();
  }

  /** A relay took {@code bytes} in, which it holds until the peer's socket has them. */
  void hold(int bytes) {
    long now = held.addAndGet(bytes);
    if (now > budget && !pressed.get() && pressed.compareAndSet(false, true)) {
      log.warn(
          "relayed connections hold {} MiB, over proxy.relay.memory ({} MiB): reads cut to {} KiB"
              + " until clients take what they were sent (gauge apivip_proxy_relay_held_bytes)",
          now >> 20,
          budget >> 20,
          MIN_READ >> 10);
    }
  }

  /** The peer's socket took them, or the connection ended. */
  void release(int bytes) {
    long now = held.addAndGet(-bytes);
    if (now <= budget / 2 && pressed.get() && pressed.compareAndSet(true, false)) {
      log.info(
          "relayed connections hold {} MiB, under half of proxy.relay.memory again: full reads",
          now >> 20);
    }
  }

  /** Bytes held now, for the gauge. */
  long held() {
    return held.get();
  }

  /** 1 while the budget is spent, for the gauge. */
  int pressure() {
    return held.get() > budget ? 1 : 0;
  }

  /** The largest read a relay may make now: its share of what is left of the budget. */
  int readLimit() {
    long share = (budget - held.get()) / Math.max(1, relays.get());
    return (int) Math.max(MIN_READ, Math.min(readMax, share));
  }

  /** Netty's adaptive sizes, capped by the share at each read. */
  private final class Reads extends AdaptiveRecvByteBufAllocator {
    Reads() {
      super(64, Math.min(MIN_READ, readMax), readMax);
    }

    @Override
    public Handle newHandle() {
      return new CappedHandle((ExtendedHandle) super.newHandle());
    }
  }

  /** Delegates everything, but allocates no more than the share allows now. */
  private final class CappedHandle implements RecvByteBufAllocator.ExtendedHandle {
    private final RecvByteBufAllocator.ExtendedHandle adaptive;

    CappedHandle(RecvByteBufAllocator.ExtendedHandle adaptive) {
      this.adaptive = adaptive;
    }

    @Override
    public ByteBuf allocate(ByteBufAllocator allocator) {
      return allocator.ioBuffer(guess());
    }

    @Override
    public int guess() {
      return Math.min(adaptive.guess(), readLimit());
    }

    @Override
    public void reset(ChannelConfig config) {
      adaptive.reset(config);
    }

    @Override
    public void incMessagesRead(int numMessages) {
      adaptive.incMessagesRead(numMessages);
    }

    @Override
    public void lastBytesRead(int bytes) {
      adaptive.lastBytesRead(bytes);
    }

    @Override
    public int lastBytesRead() {
      return adaptive.lastBytesRead();
    }

    @Override
    public void attemptedBytesRead(int bytes) {
      adaptive.attemptedBytesRead(bytes);
    }

    @Override
    public int attemptedBytesRead() {
      return adaptive.attemptedBytesRead();
    }

    @Override
    public boolean continueReading() {
      return adaptive.continueReading();
    }

    @Override
    public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
      return adaptive.continueReading(maybeMoreDataSupplier);
    }

    @Override
    public void readComplete() {
      adaptive.readComplete();
    }
  }
}
