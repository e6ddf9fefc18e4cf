package io.apivip.daemon.proxy;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VIP's side of the proxy when the VIP moves: holds new VIP connections back and ends the open
 * ones gracefully for a planned handoff ({@link #quiesce}), resets them when the VIP left unplanned
 * ({@link #lost}), and lets new ones in again ({@link #reopen}). Keeps the VIP listeners' client
 * connections for that. Any thread.
 */
final class VipGate {

  /** Under TcpProxy's name, as the proxy's other lines for operators. */
  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  /**
   * How long an apiserver gets to end a connection gracefully during a handoff before it is closed.
   */
  private static final Duration GRACEFUL_END = Duration.ofSeconds(1);

  /** A connection open this long is a stream (a watch), not a request in flight. */
  private static final Duration LONG_LIVED = Duration.ofSeconds(5);

  private static final AttributeKey<Long> OPENED_AT = AttributeKey.valueOf("apivip.openedAt");

  private final EventLoopGroup loops;
  private final Listeners listeners;
  private final ProxyMetrics metrics;
  private final ChannelGroup vipClients =
      new DefaultChannelGroup("apivip-proxy-vip-clients", GlobalEventExecutor.INSTANCE);
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * From {@link #lost} until {@link #reopen}: the VIP left, so a VIP connection accepted meanwhile
   * is one the kernel queued before (while the daemon was paused, say) and is reset at once;
   * served, its answers would leave after the address, which the kernel then drops, and its client
   * would hang until a timeout.
   */
  private volatile boolean gone;

  /** Whether {@link #admit} has logged a reset since the VIP left: once per loss. */
  private final AtomicBoolean resetLogged = new AtomicBoolean();

  VipGate(EventLoopGroup loops, Listeners listeners, ProxyMetrics metrics) {
    this.loops = loops;
    this.listeners = listeners;
    this.metrics = metrics;
  }

  /**
   * A client connection accepted on a VIP listener, on its event loop: true when it is to be
   * served, false when the VIP has left this node and the caller is to reset it.
   */
  boolean admit(Channel client) {
    client.attr(OPENED_AT).set(System.nanoTime());
    // Added before gone is read, as lost() sets gone before it resets the group: a connection
    // accepted while the VIP leaves is reset by one or the other.
    vipClients.add(client);
    if (!gone) {
      return true;
    }
    metrics.vipLeftResets(1);
    if (resetLogged.compareAndSet(false, true)) {
      log.info(
          "the VIP left this node: resetting VIP connections that the kernel accepted before (was"
              + " this process paused?), so that their clients reconnect to the new holder"
              + " (apivip_proxy_vip_left_resets_total)");
    }
    return false;
  }

  /**
   * Prepares a planned handoff of the VIP: new connections to the VIP listeners are dropped
   * silently (clients send their SYN again a second later, by when the new holder answers; see
   * {@link NettySeam#holdSynsBack}); connections open for longer than {@link #LONG_LIVED} (watches,
   * streams) are ended gracefully at once, so their clients reconnect to the new holder; younger
   * ones (requests in flight) get up to {@code wait} to finish before they are ended too. The
   * future completes when every VIP connection is closed or has been told to end, so the VIP may
   * move; those still open {@link #GRACEFUL_END} after that are closed. {@link #reopen} undoes it.
   */
  CompletableFuture<Void> quiesce(Duration wait) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!closed.compareAndSet(false, true)) {
      done.complete(null);
      return done;
    }
    for (Channel socket : listeners.vipSockets()) {
      NettySeam.holdSynsBack(socket)
          .ifPresent(
              problem ->
                  log.warn(
                      "cannot hold new VIP connections back during the handoff ({}); some may be"
                          + " reset",
                      problem));
    }
    long now = System.nanoTime();
    long youngSince = now - LONG_LIVED.toNanos();
    Handoff handoff = new Handoff(now, wait, done);
    int inFlight = 0;
    for (Channel client : vipClients) {
      if (openedAt(client) < youngSince) {
        handoff.end(client);
      } else {
        inFlight++;
      }
    }
    log.info(
        "handing the VIP over: new VIP connections wait for the new holder; ended {} long-lived"
            + " connections so their clients reconnect there; {} in flight may finish within {} ms",
        handoff.ended.size(),
        inFlight,
        wait.toMillis());
    handoff.poll();
    return done;
  }

  /**
   * The rest of one {@link #quiesce}: every 10 ms on one event loop, until the VIP connections are
   * gone. First it waits for the requests in flight (every VIP connection not yet told to end,
   * including any the kernel had accepted when the SYNs began to be dropped) until none is left or
   * the deadline passes, then tells the rest to end and completes {@code done}; {@link
   * #GRACEFUL_END} later it closes what is still open.
   */
  private final class Handoff implements Runnable {
    private static final Duration POLL = Duration.ofMillis(10);

    private final Duration wait;
    private final long deadline;
    private final CompletableFuture<Void> done;
    private final EventLoop loop = loops.next();

    /** Connections told to end; filled by quiesce's thread first, then only by the loop. */
    private final Set<Channel> ended = Collections.newSetFromMap(new ConcurrentHashMap<>());

    /** When leftovers are closed; 0 while requests in flight may still finish. */
    private long closeBy;

    Handoff(long start, Duration wait, CompletableFuture<Void> done) {
      this.wait = wait;
      this.deadline = start + wait.toNanos();
      this.done = done;
    }

    void end(Channel client) {
      ended.add(client);
      client.pipeline().fireUserEventTriggered(Relay.END_GRACEFULLY);
    }

    void poll() {
      loop.schedule(this, POLL.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void run() {
      if (vipClients.isEmpty()) {
        done.complete(null);
        return;
      }
      long now = System.nanoTime();
      if (closeBy == 0) {
        List<Channel> inFlight =
            vipClients.stream().filter(client -> !ended.contains(client)).toList();
        if (inFlight.isEmpty() || now >= deadline) {
          if (!inFlight.isEmpty()) {
            log.info(
                "handing the VIP over: ending {} VIP connections still in flight after {} ms",
                inFlight.size(),
                wait.toMillis());
            inFlight.forEach(this::end);
          }
          closeBy = now + GRACEFUL_END.toNanos();
          // The cluster may move the VIP now: what is left is ending.
          done.complete(null);
        }
      } else if (now >= closeBy) {
        log.info(
            "handing the VIP over: closing {} VIP connections that did not end within {} ms",
            vipClients.size(),
            GRACEFUL_END.toMillis());
        vipClients.close();
        return;
      }
      poll();
    }
  }

  private static long openedAt(Channel client) {
    Long opened = client.attr(OPENED_AT).get();
    return opened == null ? System.nanoTime() : opened;
  }

  /** See {@link TcpProxy#vipLost}. */
  void lost() {
    resetLogged.set(false);
    gone = true;
    if (closed.get()) {
      return;
    }
    int open = vipClients.size();
    if (open > 0) {
      log.info(
          "the VIP left this node: resetting {} VIP connections so that their clients reconnect to"
              + " the new holder (apivip_proxy_vip_left_resets_total)",
          open);
      metrics.vipLeftResets(open);
      vipClients.forEach(Relay::reset);
    }
  }

  /** See {@link TcpProxy#reopenVip}. */
  void reopen() {
    gone = false;
    if (closed.compareAndSet(true, false)) {
      listeners.vipSockets().forEach(NettySeam::letSynsIn);
      log.info("accepting new VIP connections again");
    }
  }
}
