package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Policy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
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
  void readsGrowToReadMaxAndShrinkUnderPressureAndStopBeyondTwiceTheBudget() {
    RelayMemory memory = new RelayMemory(256 << 10, 1 << 20);
    RecvByteBufAllocator.Handle reads = memory.reads().newHandle();
    assertThat(reads.guess()).isLessThanOrEqualTo(2048);
    for (int i = 0; i < 20; i++) {
      reads.reset(
          new io.netty.channel.DefaultChannelConfig(
              new io.netty.channel.embedded.EmbeddedChannel()));
      reads.attemptedBytesRead(reads.guess());
      reads.lastBytesRead(reads.guess());
      reads.incMessagesRead(1);
      reads.readComplete();
    }
    assertThat(reads.guess()).isEqualTo(256 << 10);
    memory.hold((1 << 20) + 1);
    assertThat(reads.guess()).isEqualTo(RelayMemory.SQUEEZED_READ);
    ByteBuf buffer = reads.allocate(UnpooledByteBufAllocator.DEFAULT);
    assertThat(buffer.capacity()).isEqualTo(RelayMemory.SQUEEZED_READ);
    buffer.release();
    assertThat(memory.mayRead()).isTrue();
    memory.hold(1 << 20);
    assertThat(memory.mayRead()).isFalse();
    memory.release((2 << 20) + 1);
    assertThat(memory.mayRead()).isTrue();
    assertThat(reads.guess()).isEqualTo(256 << 10);
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
  void clientsThatStopReadingALargeResponseHoldLittleAndGetAllOfItWhenTheyRead() throws Exception {
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
    // Twice the budget, plus one cut read per connection and the reads already under way.
    assertThat(most.get())
        .isLessThanOrEqualTo(2L * budget + clients * RelayMemory.SQUEEZED_READ + 2 * (256 << 10));
    assertThat(most.get()).as("the clients did fill the budget").isGreaterThan(budget);

    for (Socket socket : slow) {
      InputStream in = socket.getInputStream();
      long total = 0;
      byte[] buffer = new byte[256 << 10];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        total += n;
      }
      assertThat(total).isEqualTo(RESPONSE);
    }
    awaitTrue(() -> registry.get(ProxyMetrics.RELAY_HELD).gauge().value() == 0, "nothing held");
  }
}
