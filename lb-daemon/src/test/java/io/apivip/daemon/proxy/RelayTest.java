package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Policy;
import io.apivip.daemon.transport.Transports;
import io.netty.channel.ChannelException;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Connector} and {@link Relay}: choosing and retrying apiservers, and relaying bytes intact
 * on every transport through half-closes, resets and slow readers.
 */
class RelayTest extends ProxyFixture {

  static final int PAYLOAD = 32 * 1024 * 1024;

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void relaysLargeRandomPayloadsIntactBothWays(Relaying relaying) throws Exception {
    CompletableFuture<byte[]> receivedByApiserver = new CompletableFuture<>();
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              Thread sender = sendInBackground(socket, 2);
              receivedByApiserver.complete(digestUntilEnd(socket.getInputStream()));
              join(sender);
            });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      Thread sender = sendInBackground(client, 1);
      byte[] receivedByClient = digestUntilEnd(client.getInputStream());
      join(sender);
      assertThat(receivedByClient).as("what the client received").isEqualTo(digestOfPayload(2));
      assertThat(receivedByApiserver.get(SOON.toSeconds(), TimeUnit.SECONDS))
          .as("what the apiserver received")
          .isEqualTo(digestOfPayload(1));
    }
    String tag = ProxyMetrics.tag(apiserver.backend());
    assertThat(
            registry
                .get(ProxyMetrics.BYTES)
                .tags("backend", tag, "direction", "to-backend")
                .counter()
                .count())
        .isEqualTo(PAYLOAD);
    assertThat(
            registry
                .get(ProxyMetrics.BYTES)
                .tags("backend", tag, "direction", "to-client")
                .counter()
                .count())
        .isEqualTo(PAYLOAD);
    assertThat(registry.get(ProxyMetrics.CONNECT_TIME).timer().count()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void clientHalfCloseReachesTheApiserverWhichCanStillAnswer(Relaying relaying) throws Exception {
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              String request =
                  new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
              socket.getOutputStream().write(("got " + request).getBytes(StandardCharsets.UTF_8));
            });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      client.getOutputStream().write("request".getBytes(StandardCharsets.UTF_8));
      client.shutdownOutput();
      assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
          .isEqualTo("got request");
    }
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void relaysLargeRandomPayloadsIntactWhileTheStreamIsOpen(Relaying relaying) throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      Thread sender = sendInBackground(client, 4, false);
      byte[] echoed = digestOf(client.getInputStream(), PAYLOAD);
      join(sender);
      assertThat(echoed).isEqualTo(digestOfPayload(4));
    }
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void aLargeAnswerReachesAClientThatHasEndedItsSide(Relaying relaying) throws Exception {
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              socket.getInputStream().readAllBytes();
              join(sendInBackground(socket, 3));
            });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      client.getOutputStream().write("LIST /api/v1/pods".getBytes(StandardCharsets.UTF_8));
      client.shutdownOutput();
      Thread.sleep(200); // let the proxy's buffers toward the client fill while nobody reads
      assertThat(digestUntilEnd(client.getInputStream())).isEqualTo(digestOfPayload(3));
    }
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void apiserverHalfCloseReachesTheClientWhichCanStillSend(Relaying relaying) throws Exception {
    CompletableFuture<String> heardAfterItsEnd = new CompletableFuture<>();
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              socket.getOutputStream().write("banner".getBytes(StandardCharsets.UTF_8));
              socket.shutdownOutput();
              heardAfterItsEnd.complete(
                  new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
          .isEqualTo("banner");
      client.getOutputStream().write("still talking".getBytes(StandardCharsets.UTF_8));
      client.shutdownOutput();
      assertThat(heardAfterItsEnd.get(SOON.toSeconds(), TimeUnit.SECONDS))
          .isEqualTo("still talking");
    }
    awaitTrue(
        () -> proxy.status().clients() == 0, "the connection closed once both directions ended");
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void apiserverResetClosesTheClient(Relaying relaying) throws Exception {
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              socket.getInputStream().read();
              closeWithReset(socket);
            });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      client.getOutputStream().write('x');
      assertClosedAtOnce(client);
    }
    awaitBothSidesClosed();
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void clientResetClosesTheApiserverConnection(Relaying relaying) throws Exception {
    CompletableFuture<Void> readStarted = new CompletableFuture<>();
    CompletableFuture<Void> apiserverSawTheEnd = new CompletableFuture<>();
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              InputStream in = socket.getInputStream();
              in.read();
              readStarted.complete(null);
              try {
                while (in.read() >= 0) {
                  // keep reading until the proxy ends or resets the connection
                }
              } finally {
                apiserverSawTheEnd.complete(null);
              }
            });
    startRelaying(relaying, apiserver);

    Socket client = connect(0);
    client.getOutputStream().write('x');
    readStarted.get(SOON.toSeconds(), TimeUnit.SECONDS);
    closeWithReset(client);

    apiserverSawTheEnd.get(SOON.toSeconds(), TimeUnit.SECONDS);
    awaitTrue(() -> proxy.status().clients() == 0, "the proxy let go of the client");
  }

  /**
   * Both ends go away at once, each sending its end of stream and then a reset, as a TLS client and
   * server do when their close_notify alerts cross. The proxy reads both ends of stream in one go,
   * and shutting down the other side's output fails (the socket is no longer connected): it must
   * still close both sides. Found by the benchmark's TLS rows, where such connections stayed open
   * and kept their event loop busy on the sockets' errors.
   */
  @ParameterizedTest
  @EnumSource(Relaying.class)
  void bothEndsEndingAndResettingAtOnceCloseTheConnection(Relaying relaying) throws Exception {
    CompletableFuture<Void> endNow = new CompletableFuture<>();
    CompletableFuture<Void> apiserverEnded = new CompletableFuture<>();
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              try {
                socket.getInputStream().read();
                socket.getOutputStream().write('y');
                endNow.get(SOON.toSeconds(), TimeUnit.SECONDS);
                endThenReset(socket);
              } catch (InterruptedException | ExecutionException | TimeoutException e) {
                throw new IOException(e);
              } finally {
                apiserverEnded.complete(null);
              }
            });
    startRelaying(relaying, apiserver);

    Socket client = connect(0);
    client.getOutputStream().write('x');
    assertThat(client.getInputStream().read()).isEqualTo('y');
    try (Paused loops = pause(LOOPS.get(relaying.transport))) {
      endThenReset(client);
      endNow.complete(null);
      apiserverEnded.get(SOON.toSeconds(), TimeUnit.SECONDS);
    }
    awaitBothSidesClosed();
  }

  /**
   * A client that has ended its side and then resets, while the apiserver has nothing to send (a
   * quiet watch): Netty's epoll channels do not report a reset on a socket whose input has ended,
   * and the kernel's EPOLLERR|EPOLLHUP then woke the event loop without end until the apiserver
   * wrote again. The proxy must let go of both sides without waiting for that. Not over NIO, which
   * cannot ask a socket for its error: there the proxy learns of the reset at the next write, as
   * before.
   */
  @ParameterizedTest
  @EnumSource(
      value = Relaying.class,
      names = {"COPY", "IO_URING"})
  void aClientThatEndsItsSideAndThenResetsIsLetGoWhileTheApiserverIsQuiet(Relaying relaying)
      throws Exception {
    CompletableFuture<Void> endSeen = new CompletableFuture<>();
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              InputStream in = socket.getInputStream();
              while (in.read() >= 0) {
                // the request, up to the client's end of stream
              }
              endSeen.complete(null);
              try {
                Thread.sleep(SOON.toMillis() * 2); // quiet, with its side still open
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    startRelaying(relaying, apiserver);

    Socket client = connect(0);
    client.getOutputStream().write('x');
    client.shutdownOutput();
    endSeen.get(SOON.toSeconds(), TimeUnit.SECONDS);
    closeWithReset(client);

    awaitBothSidesClosed();
  }

  /** Waits until the proxy holds neither the client nor its connection to the one apiserver. */
  private void awaitBothSidesClosed() throws InterruptedException {
    awaitTrue(() -> proxy.status().clients() == 0, "the proxy let go of the client");
    awaitTrue(
        () -> activeByNode(proxy.status().listeners().get(0)).equals(List.of(0)),
        "no connection to the apiserver");
  }

  /** Sends the end of stream, then closes with a reset. */
  static void endThenReset(Socket socket) throws IOException {
    socket.shutdownOutput();
    closeWithReset(socket);
  }

  /** Closes with SO_LINGER 0: the peer sees a reset, not an end of stream. */
  static void closeWithReset(Socket socket) throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  interface Paused extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Holds every event loop of the group on a task until closed, so that what the sockets meanwhile
   * receive waits and is then handled in one go. A loop is held for at most twice {@link #SOON}.
   */
  static Paused pause(EventLoopGroup loops) throws InterruptedException {
    List<EventExecutor> executors = new ArrayList<>();
    loops.forEach(executors::add);
    CountDownLatch held = new CountDownLatch(executors.size());
    CountDownLatch released = new CountDownLatch(1);
    for (EventExecutor loop : executors) {
      loop.execute(
          () -> {
            held.countDown();
            try {
              released.await(SOON.toSeconds() * 2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
    }
    assertThat(held.await(SOON.toSeconds(), TimeUnit.SECONDS)).as("every event loop held").isTrue();
    return released::countDown;
  }

  // A reader that stops reading must stop the writer on the other side, not fill the proxy's
  // memory:
  // the writer gets out only what the sockets' kernel buffers hold plus a few of the proxy's
  // buffers,
  // and once the reader reads again every byte arrives.

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void aClientThatStopsReadingStopsTheApiserverInsteadOfFillingTheProxy(Relaying relaying)
      throws Exception {
    AtomicLong written = new AtomicLong();
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              socket.getInputStream().read();
              writeCounting(socket, 5, written);
            });
    startRelaying(relaying, apiserver);

    try (Socket client = connect(0)) {
      client.getOutputStream().write('w');
      assertThat(awaitStalled(written))
          .as("bytes the apiserver wrote while the client read nothing")
          .isLessThanOrEqualTo(heldBySockets() + PROXY_MAY_HOLD);
      assertThat(digestUntilEnd(client.getInputStream())).isEqualTo(digestOfPayload(5, STREAM));
    }
  }

  @ParameterizedTest
  @EnumSource(Relaying.class)
  void anApiserverThatStopsReadingStopsTheClientInsteadOfFillingTheProxy(Relaying relaying)
      throws Exception {
    CompletableFuture<Void> readAgain = new CompletableFuture<>();
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    TestBackend apiserver =
        backend(
            "n1",
            socket -> {
              try {
                readAgain.get(SOON.toSeconds() * 4, TimeUnit.SECONDS);
                received.complete(digestUntilEnd(socket.getInputStream()));
              } catch (Exception e) {
                received.completeExceptionally(e);
              }
            });
    startRelaying(relaying, apiserver);

    AtomicLong written = new AtomicLong();
    try (Socket client = connect(0)) {
      Thread writer =
          new Thread(
              () -> {
                try {
                  writeCounting(client, 6, written);
                } catch (IOException e) {
                  throw new IllegalStateException(e);
                }
              },
              "client-writer");
      writer.start();
      assertThat(awaitStalled(written))
          .as("bytes the client wrote while the apiserver read nothing")
          .isLessThanOrEqualTo(heldBySockets() + PROXY_MAY_HOLD);
      readAgain.complete(null);
      join(writer);
      assertThat(received.get(SOON.toSeconds() * 4, TimeUnit.SECONDS))
          .isEqualTo(digestOfPayload(6, STREAM));
    }
  }

  @Test
  void retriesTheNextApiserverWhenTheFirstRefusesAndTheClientSeesSuccess() throws Exception {
    Backend dead = TestBackend.refusing("n1");
    TestBackend alive = backend("n2", TestBackend.ECHO);
    // Round robin starts at the first backend for the first connection: the dead one.
    start(settings(List.of(listener(Policy.ROUND_ROBIN))), "n1", dead, alive.backend());

    try (Socket client = connect(0)) {
      assertEcho(client, "get pods");
    }
    assertThat(health.connectFailures).containsExactly(dead);
    assertThat(connections(dead, "refused")).isEqualTo(1);
    assertThat(connections(alive.backend(), "ok")).isEqualTo(1);
  }

  @Test
  void closesTheClientAtOnceWhenNoApiserverIsUp() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    health.markDown(apiserver.backend());
    start(settings(List.of(listener(Policy.LEAST_CONNECTIONS))), "n1", apiserver.backend());

    try (Socket client = connect(0)) {
      assertClosedAtOnce(client);
    }
    assertThat(apiserver.accepted()).isZero();
    assertThat(
            registry
                .get(ProxyMetrics.CONNECTIONS)
                .tags("backend", "none", "outcome", "no-backend")
                .counter()
                .count())
        .isEqualTo(1);
  }

  @Test
  void closesTheClientWhenEveryApiserverRefuses() throws Exception {
    Backend first = TestBackend.refusing("n1");
    Backend second = TestBackend.refusing("n2");
    start(settings(List.of(listener(Policy.LEAST_CONNECTIONS))), "n1", first, second);

    try (Socket client = connect(0)) {
      assertClosedAtOnce(client);
    }
    assertThat(health.connectFailures).containsExactlyInAnyOrder(first, second);
    assertThat(
            registry
                .get(ProxyMetrics.CONNECTIONS)
                .tags("backend", "none", "outcome", "no-backend")
                .counter()
                .count())
        .isEqualTo(1);
  }

  /**
   * Out of descriptors, the node cannot make a socket to any apiserver: that is not the apiserver's
   * failure, and taking every apiserver down through health's passive signal would move the VIP
   * too.
   */
  @Test
  void aSocketTheNodeCannotMakeClosesTheClientWithoutBlamingTheApiserver() throws Exception {
    TestBackend apiserver = backend("n1", TestBackend.ECHO);
    TestBackend other = backend("n2", TestBackend.ECHO);
    proxy =
        newProxy(
            settings(List.of(listener(Policy.LEAST_CONNECTIONS))),
            "n1",
            Transports.best(),
            bestLoops,
            apiserver.backend(),
            other.backend());
    AtomicBoolean outOfDescriptors = new AtomicBoolean(true);
    proxy.useBackendSockets(
        address -> {
          if (outOfDescriptors.get()) {
            throw new ChannelException("Too many open files");
          }
          return Transports.best().newSocketChannel(address);
        });
    proxy.start();

    try (Socket client = connect(0)) {
      assertClosedAtOnce(client);
    }
    assertThat(health.connectFailures).isEmpty();
    assertThat(apiserver.accepted() + other.accepted()).isZero();
    assertThat(
            registry
                .get(ProxyMetrics.CONNECTIONS)
                .tags("backend", "none", "outcome", "no-backend")
                .counter()
                .count())
        .isEqualTo(1);

    outOfDescriptors.set(false);
    exchangeOnce(2);
    assertThat(apiserver.accepted() + other.accepted()).isEqualTo(2);
  }

  @Test
  void leakWatchReportsALeakedBuffer() throws Exception {
    io.netty.buffer.ByteBuf leaked = io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer(64);
    leaked.writeLong(42);
    leaked = null;
    try (LeakWatch watch = new LeakWatch()) {
      assertThat(watch.reports()).isNotEmpty();
    }
    // This test's own leak is expected (its LEAK report shows in the build log); the check after it
    // must not count it.
    leaks.close();
    leaks = new LeakWatch();
  }

  /** Bytes of the stream the backpressure tests send: well above what every socket buffer holds. */
  static final int STREAM = 160 * 1024 * 1024;

  /**
   * What the proxy may hold of one direction on top of its sockets' buffers: a few read buffers.
   */
  static final long PROXY_MAY_HOLD = 4 * 1024 * 1024;

  /**
   * At most what the kernel holds between a writer and a reader through the proxy: two sending and
   * two receiving sockets on the way, each grown at most to the largest buffer the kernel allows.
   */
  static long heldBySockets() throws IOException {
    return 2 * (largestBuffer("tcp_rmem") + largestBuffer("tcp_wmem"));
  }

  /**
   * The third of the kernel's "min default max" (readString would stop early: procfs reports size
   * 0).
   */
  static long largestBuffer(String sysctl) throws IOException {
    return Long.parseLong(
        Files.readAllLines(Path.of("/proc/sys/net/ipv4", sysctl)).get(0).trim().split("\\s+")[2]);
  }

  /** Writes the STREAM bytes of a seed, counting what the socket took, then ends its side. */
  static void writeCounting(Socket socket, long seed, AtomicLong written) throws IOException {
    OutputStream out = socket.getOutputStream();
    forEachPayloadChunk(
        seed,
        STREAM,
        (chunk, offset, length) -> {
          out.write(chunk, offset, length);
          written.addAndGet(length);
        });
    socket.shutdownOutput();
  }

  /**
   * Waits until the count has not moved for half a second and returns it; fails when it never
   * stops.
   */
  static long awaitStalled(AtomicLong count) throws InterruptedException {
    long deadline = System.nanoTime() + SOON.toNanos() * 4;
    long last = -1;
    while (System.nanoTime() < deadline) {
      long now = count.get();
      if (now == last && now > 0) {
        return now;
      }
      last = now;
      Thread.sleep(500);
    }
    return fail("the writer never stopped: it wrote " + count.get() + " bytes nobody read");
  }

  /** Sends PAYLOAD seeded random bytes, then ends its side of the stream. */
  static Thread sendInBackground(Socket socket, long seed) {
    return sendInBackground(socket, seed, true);
  }

  static Thread sendInBackground(Socket socket, long seed, boolean thenEnd) {
    Thread sender =
        new Thread(
            () -> {
              try {
                OutputStream out = socket.getOutputStream();
                forEachPayloadChunk(seed, out::write);
                if (thenEnd) {
                  socket.shutdownOutput();
                }
              } catch (IOException e) {
                throw new IllegalStateException(e);
              }
            },
            "sender-" + seed);
    sender.start();
    return sender;
  }

  static byte[] digestOfPayload(long seed) throws NoSuchAlgorithmException, IOException {
    return digestOfPayload(seed, PAYLOAD);
  }

  static byte[] digestOfPayload(long seed, int length)
      throws NoSuchAlgorithmException, IOException {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    forEachPayloadChunk(seed, length, sha::update);
    return sha.digest();
  }

  interface ChunkSink {
    void accept(byte[] chunk, int offset, int length) throws IOException;
  }

  static void forEachPayloadChunk(long seed, ChunkSink sink) throws IOException {
    forEachPayloadChunk(seed, PAYLOAD, sink);
  }

  /**
   * The first bytes of a seed's stream, in chunks of an odd size so they straddle the proxy's
   * buffers.
   */
  static void forEachPayloadChunk(long seed, int length, ChunkSink sink) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] chunk = new byte[48 * 1024 + 7];
    for (int done = 0; done < length; ) {
      int n = Math.min(chunk.length, length - done);
      for (int i = 0; i < n; i++) {
        chunk[i] = (byte) random.nextInt();
      }
      sink.accept(chunk, 0, n);
      done += n;
    }
  }

  static byte[] digestOf(InputStream in, int length) throws IOException {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[64 * 1024];
      for (int read = 0, n; read < length; read += n) {
        n = in.read(buffer, 0, Math.min(buffer.length, length - read));
        if (n < 0) {
          fail("the stream ended after " + read + " of " + length + " bytes");
        }
        sha.update(buffer, 0, n);
      }
      return sha.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] digestUntilEnd(InputStream in) throws IOException {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[64 * 1024];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        sha.update(buffer, 0, n);
      }
      return sha.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
