package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Policy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The relay's memory stays bounded when clients stop reading large responses, with backpressure,
 * not errors.
 */
class RelayMemoryTest extends ProxyFixture {

  static final int RESPONSE = 8 << 20;

  @Test
  void eachReadIsAShareOfWhatIsLeftOfTheBudgetBetweenMinReadAndReadMax() {
    int readMax = 256 << 10;
    RelayMemory memory = new RelayMemory(readMax, 1 << 20);
    RecvByteBufAllocator.Handle reads = memory.reads().newHandle();
    memory.opened();
    assertThat(reads.guess()).isEqualTo(RelayMemory.MIN_READ);
    for (int i = 0; i < 20; i++) {
      reads.reset(
          new io.netty.channel.DefaultChannelConfig(
              new io.netty.channel.embedded.EmbeddedChannel()));
      reads.attemptedBytesRead(reads.guess());
      reads.lastBytesRead(reads.guess());
      reads.incMessagesRead(1);
      reads.readComplete();
    }
    assertThat(reads.guess()).as("one relay: read-max").isEqualTo(readMax);
    for (int i = 1; i < 16; i++) {
      memory.opened();
    }
    assertThat(reads.guess()).as("16 relays: 1 MiB / 16").isEqualTo(64 << 10);
    memory.hold(512 << 10);
    assertThat(reads.guess()).as("half of the budget left: 512 KiB / 16").isEqualTo(32 << 10);
    memory.hold((512 << 10) + 1);
    assertThat(reads.guess()).as("the budget spent").isEqualTo(RelayMemory.MIN_READ);
    ByteBuf buffer = reads.allocate(UnpooledByteBufAllocator.DEFAULT);
    assertThat(buffer.capacity()).isEqualTo(RelayMemory.MIN_READ);
    buffer.release();
    memory.release((1 << 20) + 1);
    for (int i = 1; i < 16; i++) {
      memory.closed();
    }
    assertThat(reads.guess()).isEqualTo(readMax);
    assertThat(memory.held()).isZero();
  }

  /** Answers a request (any bytes) with {@link #RESPONSE} bytes, then ends its side. */
  static final TestBackend.Session LARGE_RESPONSE =
      socket -> {
        socket.getInputStream().read(new byte[64]);
        byte[] chunk = new byte[64 << 10];
        for (int sent = 0; sent < RESPONSE; sent += chunk.length) {
          socket.getOutputStream().write(chunk);
        }
        socket.shutdownOutput();
        socket.getInputStream().read(new byte[64]);
      };

  @Test
  void clientsThatStopReadingALargeResponseHoldTheirShareWhileOthersGetTheirs() throws Exception {
    TestBackend apiserver = backend("n1", LARGE_RESPONSE);
    int budget = 1 << 20;
    Settings.Limits limits =
        new Settings.Limits(
            0,
            0,
            Duration.ZERO,
            Duration.ZERO,
            Duration.ofSeconds(60),
            Duration.ofSeconds(15),
            4,
            256 << 10,
            budget);
    start(
        new Settings.Proxy(
            List.of(listener(Policy.LEAST_CONNECTIONS)),
            Duration.ofSeconds(1),
            3,
            100,
            Duration.ZERO,
            Duration.ZERO,
            limits),
        "n1",
        apiserver.backend());

    int clients = 16;
    List<Socket> slow = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      Socket socket = connect(0);
      socket.setReceiveBufferSize(64 << 10);
      resources.push(socket);
      socket.getOutputStream().write("GET /openapi/v2\r\n".getBytes());
      slow.add(socket);
    }
    AtomicLong most = new AtomicLong();
    long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (System.nanoTime() < until) {
      most.accumulateAndGet(
          (long) registry.get(ProxyMetrics.RELAY_HELD).gauge().value(), Math::max);
      Thread.sleep(10);
    }
    System.out.printf(
        "%d clients not reading an 8 MiB response: the relay held at most %d KiB (budget %d KiB)%n",
        clients, most.get() >> 10, budget >> 10);
    // The budget, one smallest read per relay, and what epoll read from an apiserver socket once
    // the apiserver had closed (its receive buffer, which the kernel doubles for its bookkeeping).
    assertThat(most.get())
        .isLessThanOrEqualTo(
            budget
                + 2L * clients * RelayMemory.MIN_READ
                + clients * 2L * Connector.APISERVER_RECEIVE_BUFFER);
    assertThat(most.get()).as("the clients did take much of the budget").isGreaterThan(budget / 4);

    // Another client reads the same answer in full meanwhile: nobody waits for what others hold
    // (each read of 5 s at most, the fixture's timeout).
    try (Socket other = connect(0)) {
      other.getOutputStream().write("GET /openapi/v2\r\n".getBytes());
      assertThat(readToEnd(other)).isEqualTo(RESPONSE);
    }

    for (Socket socket : slow) {
      assertThat(readToEnd(socket)).isEqualTo(RESPONSE);
    }
    awaitTrue(() -> registry.get(ProxyMetrics.RELAY_HELD).gauge().value() == 0, "nothing held");
  }

  static long readToEnd(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    long total = 0;
    byte[] buffer = new byte[256 << 10];
    for (int n; (n = in.read(buffer)) >= 0; ) {
      total += n;
    }
    return total;
  }
}
