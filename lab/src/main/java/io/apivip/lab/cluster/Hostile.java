package io.apivip.lab.cluster;

import io.apivip.lab.probe.Probe;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * The lab's hostile clients, run in the client namespace; each prints one line of figures.
 *
 * <pre>
 * Hostile idle  --from ADDR --to HOST:PORT --count N --seconds S
 *     N connections that send nothing
 * Hostile slow  --to HOST:PORT --ca FILE --count N --seconds S --rate KIB --read-seconds R
 *     N TLS GET /openapi/v2 that read nothing for S, then KIB KiB/s each for R, then close
 * Hostile flood --to HOST:PORT --rate R --seconds S
 *     UDP datagrams that start like heartbeats
 * </pre>
 */
public final class Hostile {

  private Hostile() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    String from = null;
    InetSocketAddress to = null;
    Path ca = null;
    int count = 0;
    int rate = 0;
    int seconds = 0;
    int readSeconds = 0;
    for (int i = 1; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--from" -> from = args[i + 1];
        case "--to" -> {
          int colon = args[i + 1].lastIndexOf(':');
          to =
              new InetSocketAddress(
                  args[i + 1].substring(0, colon),
                  Integer.parseInt(args[i + 1].substring(colon + 1)));
        }
        case "--ca" -> ca = Path.of(args[i + 1]);
        case "--count" -> count = Integer.parseInt(args[i + 1]);
        case "--rate" -> rate = Integer.parseInt(args[i + 1]);
        case "--seconds" -> seconds = Integer.parseInt(args[i + 1]);
        case "--read-seconds" -> readSeconds = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    switch (mode) {
      case "idle" -> idle(InetAddress.getByName(from), to, count, seconds);
      case "slow" -> slow(to, ca, count, seconds, rate, readSeconds);
      case "flood" -> flood(to, rate, seconds);
      default -> throw new IllegalArgumentException("unknown mode " + mode);
    }
  }

  /**
   * Opens the connections (non-blocking), holds them, and counts those the other side closed, at
   * once or later.
   */
  static void idle(InetAddress from, InetSocketAddress to, int count, int seconds)
      throws IOException {
    int connected = 0;
    int failed = 0;
    int closedAtOnce = 0;
    int closedLater = 0;
    List<SocketChannel> channels = new ArrayList<>();
    try (Selector selector = Selector.open()) {
      for (int i = 0; i < count; i++) {
        SocketChannel channel = SocketChannel.open();
        channel.bind(new InetSocketAddress(from, 0));
        channel.configureBlocking(false);
        channel.connect(to);
        channel.register(selector, SelectionKey.OP_CONNECT);
        channels.add(channel);
      }
      long openedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      long holdUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      ByteBuffer buffer = ByteBuffer.allocate(256);
      while (System.nanoTime() < holdUntil) {
        selector.select(100);
        boolean early = System.nanoTime() < openedBy;
        for (SelectionKey key : selector.selectedKeys()) {
          SocketChannel channel = (SocketChannel) key.channel();
          try {
            if (key.isConnectable()) {
              channel.finishConnect();
              connected++;
              key.interestOps(SelectionKey.OP_READ);
            } else if (key.isReadable()) {
              buffer.clear();
              if (channel.read(buffer) < 0) {
                key.cancel();
                channel.close();
                if (early) {
                  closedAtOnce++;
                } else {
                  closedLater++;
                }
              }
            }
          } catch (IOException e) {
            key.cancel();
            channel.close();
            if (key.isConnectable()) {
              failed++;
            } else if (early) {
              closedAtOnce++;
            } else {
              closedLater++;
            }
          }
        }
        selector.selectedKeys().clear();
      }
    } finally {
      for (SocketChannel channel : channels) {
        channel.close();
      }
    }
    System.out.printf(
        "idle: %d connections from %s: %d connected, %d failed to connect, %d closed by the proxy"
            + " within 5 s, %d later, %d held for %d s%n",
        count,
        from.getHostAddress(),
        connected,
        failed,
        closedAtOnce,
        closedLater,
        connected - closedAtOnce - closedLater,
        seconds);
  }

  /**
   * Asks for a large response on each connection, reads nothing for a while, then reads it at
   * {@code kibPerSecond} for {@code readSeconds} and closes: slow readers, as clients on a poor
   * link or ones that stall on purpose. A reader is "failed" when its connection ends or errs
   * before it has read all or read for that long. (Read at full speed, 300 of them are a 2.4 GiB
   * TLS download storm, which on a 2-core lab starves the stand-in apiservers that share the cores
   * with everything else: not a test of the proxy.)
   */
  static void slow(
      InetSocketAddress to, Path ca, int count, int seconds, int kibPerSecond, int readSeconds)
      throws Exception {
    if (kibPerSecond <= 0 || readSeconds <= 0) {
      throw new IllegalArgumentException(
          "slow needs --rate KIB and --read-seconds R: each client reads KIB KiB/s for R seconds");
    }
    AtomicInteger reading = new AtomicInteger();
    SSLContext tls = Probe.trusting(ca);
    AtomicInteger complete = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicLong bytes = new AtomicLong();
    CountDownLatch asked = new CountDownLatch(count);
    CountDownLatch read = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Thread thread =
          new Thread(
              () -> {
                try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket()) {
                  socket.setReceiveBufferSize(16 << 10);
                  socket.connect(to, 10_000);
                  socket.setSoTimeout(60_000);
                  socket
                      .getOutputStream()
                      .write(
                          ("GET /openapi/v2 HTTP/1.1\r\nHost: kubernetes\r\n"
                                  + "Connection: close\r\n\r\n")
                              .getBytes(StandardCharsets.US_ASCII));
                  socket.getOutputStream().flush();
                  asked.countDown();
                  read.await();
                  InputStream in = socket.getInputStream();
                  byte[] buffer = new byte[16 << 10];
                  long total = 0;
                  long started = System.nanoTime();
                  long end = started + TimeUnit.SECONDS.toNanos(readSeconds);
                  boolean ended = false;
                  while (System.nanoTime() < end) {
                    int n = in.read(buffer);
                    if (n < 0) {
                      ended = true;
                      break;
                    }
                    total += n;
                    long due = started + total * 1_000_000_000L / (kibPerSecond * 1024L);
                    long ahead = due - System.nanoTime();
                    if (ahead > 0) {
                      TimeUnit.NANOSECONDS.sleep(ahead);
                    }
                  }
                  bytes.addAndGet(total);
                  if (total >= 8 << 20) {
                    complete.incrementAndGet();
                  } else if (!ended) {
                    reading.incrementAndGet();
                  } else {
                    failed.incrementAndGet();
                  }
                } catch (Exception e) {
                  asked.countDown();
                  failed.incrementAndGet();
                }
              },
              "slow-" + i);
      thread.setDaemon(true);
      thread.start();
      threads.add(thread);
    }
    asked.await(60, TimeUnit.SECONDS);
    Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
    read.countDown();
    for (Thread thread : threads) {
      thread.join(120_000);
    }
    System.out.printf(
        "slow: %d clients read nothing of /openapi/v2 (8 MiB) for %d s, then %d KiB/s each for %d"
            + " s: %d read all of it, %d were still reading, %d failed, %d MiB relayed%n",
        count,
        seconds,
        kibPerSecond,
        readSeconds,
        complete.get(),
        reading.get(),
        failed.get(),
        bytes.get() >> 20);
  }

  /**
   * Sends datagrams that start with the heartbeat's magic and version, at about {@code rate} a
   * second.
   */
  static void flood(InetSocketAddress to, int rate, int seconds) throws Exception {
    byte[] datagram = new byte[128];
    System.arraycopy("AVIP".getBytes(StandardCharsets.US_ASCII), 0, datagram, 0, 4);
    datagram[4] = 1;
    long sent = 0;
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    try (DatagramSocket socket = new DatagramSocket()) {
      DatagramPacket packet = new DatagramPacket(datagram, datagram.length, to);
      for (long now = start; now < end; now = System.nanoTime()) {
        long due = (now - start) * rate / 1_000_000_000L;
        while (sent < due) {
          datagram[10] = (byte) sent;
          socket.send(packet);
          sent++;
        }
        if (sent >= due) {
          Thread.onSpinWait();
        }
      }
    }
    double took = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "flood: %d datagrams to %s in %.1f s: %.0f a second%n", sent, to, took, sent / took);
  }
}
