package io.apivip.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.lab.apiserver.Mode;
import io.apivip.lab.apiserver.StandInApiServer;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of checks against servers that hang and refuse: none blocks the (single) event loop and
 * none leaves a socket behind, as the JVM's open file descriptors show.
 */
class ProbeResourcesTest {

  static final Duration TIMEOUT = Duration.ofMillis(500);
  static final int CHECKS_PER_KIND = 2000;
  static final int WAVE = 100;

  /**
   * The JVM opens a few descriptors of its own at any time (a jar read by the class loader, a
   * selector or wakeup pipe for a thread that starts late, such as GlobalEventExecutor's); a leak
   * of checks would be counted in hundreds.
   */
  static final int TOLERANCE = 10;

  @TempDir Path dir;

  static long openFileDescriptors() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  /** Runs checks in waves of {@link #WAVE} at once; every one must end with {@code expected}. */
  static Duration runWaves(
      Prober prober, Backend backend, CheckResult.Outcome expected, String reasonPrefix)
      throws Exception {
    Duration slowestWave = Duration.ZERO;
    for (int done = 0; done < CHECKS_PER_KIND; done += WAVE) {
      long started = System.nanoTime();
      List<CompletableFuture<CheckResult>> wave = new ArrayList<>();
      for (int i = 0; i < WAVE; i++) {
        wave.add(prober.probe(backend));
      }
      for (CompletableFuture<CheckResult> check : wave) {
        CheckResult result = check.get(30, TimeUnit.SECONDS);
        assertThat(result.outcome()).as(result.reason()).isEqualTo(expected);
        assertThat(result.reason()).startsWith(reasonPrefix);
      }
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      slowestWave = took.compareTo(slowestWave) > 0 ? took : slowestWave;
    }
    return slowestWave;
  }

  @Test
  void thousandsOfHangingAndRefusedChecksLeaveNoDescriptorBehind() throws Exception {
    Lab lab = new Lab(dir);
    EventLoopGroup group = Lab.newGroup(1);
    try (StandInApiServer hanging = lab.server("hang");
        StandInApiServer refusing = lab.server("refuse")) {
      hanging.mode(Mode.HANG);
      refusing.mode(Mode.REFUSE);
      Prober https = Lab.prober(group, lab.readyz(TIMEOUT));
      Prober tcp = Lab.prober(group, new CheckSpec.Tcp(TIMEOUT));
      // Warm up: classes loaded, TLS context built, event loop threads started.
      https.probe(Lab.backend(hanging)).get(5, TimeUnit.SECONDS);
      https.probe(Lab.backend(refusing)).get(5, TimeUnit.SECONDS);
      tcp.probe(Lab.backend(refusing)).get(5, TimeUnit.SECONDS);
      awaitClosed(hanging);
      long before = openFileDescriptors();

      Duration slowestHangingWave =
          runWaves(https, Lab.backend(hanging), CheckResult.Outcome.TIMEOUT, "timeout after 500ms");
      runWaves(
          https,
          Lab.backend(refusing),
          CheckResult.Outcome.FAILED,
          "ConnectException: Connection refused");
      runWaves(
          tcp,
          Lab.backend(refusing),
          CheckResult.Outcome.FAILED,
          "ConnectException: Connection refused");

      // A check that blocked the one event loop thread until its timeout would make a wave of 250
      // take 250 timeouts (50s); non-blocking, a wave takes one timeout plus the CPU time of 250
      // TLS client hellos (seconds under the paranoid leak detector on a shared machine).
      assertThat(slowestHangingWave).isLessThan(TIMEOUT.multipliedBy(WAVE / 4));

      awaitClosed(hanging);
      long after = before;
      for (int i = 0; i < 100; i++) {
        after = openFileDescriptors();
        if (after <= before + TOLERANCE) {
          break;
        }
        Thread.sleep(50);
      }
      System.out.printf(
          "%d hanging https, %d refused https, %d refused tcp checks: open descriptors %d before,"
              + " %d after; slowest wave of %d hanging checks %d ms%n",
          CHECKS_PER_KIND,
          CHECKS_PER_KIND,
          CHECKS_PER_KIND,
          before,
          after,
          WAVE,
          slowestHangingWave.toMillis());
      assertThat(after).isLessThanOrEqualTo(before + TOLERANCE);
    } finally {
      Lab.shutdown(group);
    }
  }

  /** The server side of a check's connection closes once it reads the client's close. */
  private static void awaitClosed(StandInApiServer server) throws InterruptedException {
    for (int i = 0; i < 100 && server.openConnections() > 0; i++) {
      Thread.sleep(50);
    }
    assertThat(server.openConnections()).as("connections the server still holds").isZero();
  }
}
