package io.apivip.bench.failover;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the lab benchmarks' commands (failover, faults) share: checking a number argument, the
 * console, stopping on a signal, the load average and writing their section of bench/README.md.
 */
public final class BenchCommand {

  private BenchCommand() {}

  /** {@code value} as a positive whole number, or an error naming {@code flag}. */
  public static int positive(String flag, String value) {
    try {
      int number = Integer.parseInt(value);
      if (number > 0) {
        return number;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new IllegalArgumentException(flag + " " + value + ": expected a positive whole number");
  }

  /** Standard output in UTF-8, flushed at every line. */
  public static PrintStream console() {
    return new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
  }

  /**
   * A flag that turns true, with the calling thread interrupted, when the JVM is asked to stop
   * (SIGTERM, Ctrl-C): the labs' own hooks end their processes then, and the run must stop with
   * them rather than go on against a dead lab and write a table of nothing into the README.
   */
  public static AtomicBoolean stopOnSignal(String hookName) {
    AtomicBoolean stopping = new AtomicBoolean();
    Thread main = Thread.currentThread();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stopping.set(true);
                  main.interrupt();
                },
                hookName));
    return stopping;
  }

  /** The 1-minute load average, which tells how busy the machine was besides the benchmark. */
  public static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII).split(" ")[0];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  /** Replaces (or appends) the section under {@code heading} of {@code readme}. */
  public static void writeSection(Path readme, String heading, String section) throws IOException {
    String existing = Files.exists(readme) ? Files.readString(readme, StandardCharsets.UTF_8) : "";
    Files.writeString(
        readme, ReadmeSection.update(existing, heading, section), StandardCharsets.UTF_8);
  }
}
