package io.apivip.daemon.systemd;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.transport.Transports;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watchdog pings systemd's socket only while every event loop runs its probes. */
class WatchdogTest {

  @TempDir Path dir;
  final SystemdNotifierTest socket = new SystemdNotifierTest();
  EventLoopGroup group;
  final CountDownLatch release = new CountDownLatch(1);

  @BeforeEach
  void open() {
    socket.open();
    group = Transports.nio().newGroup(2, "watchdog-test");
  }

  @AfterEach
  void close() {
    release.countDown();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    socket.close();
  }

  @Test
  void pingsWhileEveryLoopAnswersAndStopsWhileOneHangs() throws Exception {
    String path = dir.resolve("notify").toString();
    socket.bind(path.getBytes(StandardCharsets.UTF_8), false);
    List<EventExecutor> loops = new ArrayList<>();
    group.forEach(loops::add);
    Watchdog watchdog = new Watchdog(SystemdNotifier.forSocket(path), loops, System::nanoTime);

    watchdog.round();
    assertThat(socket.received()).as("the first round only probes").isEqualTo("(nothing)");
    Thread.sleep(100);
    watchdog.round();
    assertThat(socket.received()).isEqualTo("WATCHDOG=1");

    loops
        .get(1)
        .execute(
            () -> {
              try {
                release.await(10, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    Thread.sleep(100);
    watchdog
        .round(); // the probe of the round before ran: a ping, and a probe stuck behind the hang
    assertThat(socket.received()).isEqualTo("WATCHDOG=1");
    Thread.sleep(100);
    watchdog.round();
    assertThat(socket.received()).as("no ping while a loop hangs").isEqualTo("(nothing)");
    Thread.sleep(100);
    watchdog.round();
    assertThat(socket.received()).as("still none").isEqualTo("(nothing)");

    release.countDown();
    Thread.sleep(100);
    watchdog.round();
    assertThat(socket.received()).as("pings again once the loop answers").isEqualTo("WATCHDOG=1");
    watchdog.close();
  }

  @Test
  void feedsOnlyWhenSystemdAskedThisProcess() {
    assertThat(Watchdog.interval("10000000", null, 42)).contains(Duration.ofSeconds(10));
    assertThat(Watchdog.interval("10000000", "42", 42)).contains(Duration.ofSeconds(10));
    assertThat(Watchdog.interval("10000000", "43", 42)).isEqualTo(Optional.empty());
    assertThat(Watchdog.interval(null, null, 42)).isEmpty();
    assertThat(Watchdog.interval("0", null, 42)).isEmpty();
    assertThat(Watchdog.interval("soon", null, 42)).isEmpty();
  }
}
