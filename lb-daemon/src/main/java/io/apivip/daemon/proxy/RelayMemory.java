package io.apivip.daemon.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's memory budget ({@code proxy.relay.memory}): counts the bytes that relays hold, read
 * from one side and not yet taken by the other side's socket. Under the budget reads grow to {@code
 * proxy.relay.read-max}; over it they are cut to {@link #SQUEEZED_READ}, so clients that stop
 * reading cannot make the proxy hold much more; over twice the budget no connection reads again
 * until memory is freed ({@link #mayRead}). Every event loop uses it; the counts are atomic.
 */
final class RelayMemory {

  /** Under TcpProxy's name, as the proxy's other lines for operators. */
  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  /** The read size under memory pressure: still a full TLS record, far below read-max. */
  static final int SQUEEZED_READ = 16 << 10;

  private static final int FIRST_READ = 2048;

  private final int readMax;
  private final long budget;
  private final AtomicLong held = new AtomicLong();
  private final AtomicBoolean pressed = new AtomicBoolean();

  RelayMemory(int readMax, long budget) {
    this.readMax = readMax;
    this.budget = budget;
  }

  /** The read sizes of relayed channels: adaptive up to read-max, cut under pressure. */
  RecvByteBufAllocator reads() {
    return new Reads();
  }

  /** A relay took {@code bytes} in, which it holds until the peer's socket has them. */
  void hold(int bytes) {
    long now = held.addAndGet(bytes);
    if (now > budget && !pressed.get() && pressed.compareAndSet(false, true)) {
      log.warn(
          "relayed connections hold {} MiB, over proxy.relay.memory ({} MiB): reads cut to {} KiB,"
              + " and stopped beyond twice the budget, until clients take what they were sent"
              + " (gauge apivip_proxy_relay_held_bytes)",
          now >> 20,
          budget >> 20,
          SQUEEZED_READ >> 10);
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

  /** Whether a relay may ask for its next read now; else it asks again a little later. */
  boolean mayRead() {
    return held.get() <= 2 * budget;
  }

  /** Bytes held now, for the gauge. */
  long held() {
    return held.get();
  }

  /** 1 while reads are cut, for the gauge. */
  int pressure() {
    return held.get() > budget ? 1 : 0;
  }

  private int readLimit() {
    return held.get() > budget ? SQUEEZED_READ : readMax;
  }

  /** Netty's adaptive sizes, capped by the budget at each read. */
  private final class Reads extends AdaptiveRecvByteBufAllocator {
    Reads() {
      super(64, Math.min(FIRST_READ, readMax), readMax);
    }

    @Override
    public Handle newHandle() {
      return new CappedHandle((ExtendedHandle) super.newHandle());
    }
  }

  /** Delegates everything, but allocates no more than the budget allows now. */
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
