package io.apivip.lab.cluster;

import io.apivip.lab.netns.NetnsLab;
import io.apivip.lab.probe.Probe;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Probe} process in the lab's client namespace, and what it saw: every connection attempt
 * to the VIP with its outcome, from which tests and the demo compute failure windows.
 */
public final class LabProbe implements AutoCloseable {

  /**
   * One new connection to the VIP: when it started (wall clock), whether it worked, how long it
   * took.
   */
  public record Attempt(long startMillis, boolean ok, long millis, String detail) {}

  /**
   * What the client saw between two instants: attempts, failed ones, and the longest failure window
   * (from the start of a failed attempt to the start of the next successful one).
   */
  public record Summary(
      int attempts, int failures, long longestFailureWindowMillis, List<Attempt> failed) {
    @Override
    public String toString() {
      return attempts
          + " connections, "
          + failures
          + " failed, longest failure window "
          + longestFailureWindowMillis
          + " ms";
    }
  }

  private final Process process;
  private final PrintStream commands;
  private final List<Attempt> attempts = new ArrayList<>();
  private final BlockingQueue<String> reports = new LinkedBlockingQueue<>();
  private final CountDownLatch started = new CountDownLatch(1);
  private final PrintStream transcript;
  private final Thread reader;

  private LabProbe(Process process, Path transcript) throws IOException {
    this.process = process;
    this.transcript =
        new PrintStream(
            java.nio.file.Files.newOutputStream(transcript), true, StandardCharsets.UTF_8);
    this.commands = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
    this.reader = new Thread(this::readLines, "lab-probe-reader");
    reader.setDaemon(true);
  }

  static LabProbe start(
      NetnsLab network,
      String classPath,
      List<String> javaOptions,
      InetAddress vip,
      int port,
      Path ca,
      long intervalMillis,
      int watchers,
      Duration connectTimeout)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(javaOptions);
    command.addAll(
        List.of(
            "-Xmx256m",
            "-cp",
            classPath,
            Probe.class.getName(),
            "--target",
            vip.getHostAddress() + ":" + port,
            "--ca",
            ca.toString(),
            "--interval-ms",
            Long.toString(intervalMillis),
            "--watchers",
            Integer.toString(watchers),
            "--connect-timeout-ms",
            Long.toString(connectTimeout.toMillis())));
    Path log = ca.resolveSibling("probe.log");
    Process process =
        network.start(
            network.client(),
            new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())));
    LabProbe probe = new LabProbe(process, ca.resolveSibling("probe-" + process.pid() + ".out"));
    probe.reader.start();
    try {
      if (!probe.started.await(30, TimeUnit.SECONDS)) {
        probe.close();
        throw new IOException("the probe did not start within 30 s; see " + log);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      probe.close();
      throw new IOException("interrupted while starting the probe", e);
    }
    return probe;
  }

  private void readLines() {
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        transcript.println(line);
        String[] fields = line.split(" ", 5);
        if (fields[0].equals("attempt") && fields.length >= 4) {
          Attempt attempt =
              new Attempt(
                  Long.parseLong(fields[1]),
                  fields[2].equals("ok"),
                  Long.parseLong(fields[3]),
                  fields.length > 4 ? fields[4] : "");
          synchronized (attempts) {
            attempts.add(attempt);
          }
        } else if (fields[0].equals("watchers")) {
          reports.add(line);
        } else if (line.startsWith("probe started")) {
          started.countDown();
        }
      }
    } catch (IOException | RuntimeException e) {
      // The probe ended; what it printed so far is kept.
    }
  }

  public List<Attempt> attempts() {
    synchronized (attempts) {
      return List.copyOf(attempts);
    }
  }

  /**
   * Waits, at most {@code timeout}, for a connection started from now on to succeed; answers
   * whether one did.
   */
  public boolean awaitSuccess(Duration timeout) throws InterruptedException {
    long started = System.currentTimeMillis();
    return ClusterLab.await(
        timeout,
        () ->
            attempts().stream()
                .anyMatch(attempt -> attempt.ok() && attempt.startMillis() >= started));
  }

  /**
   * Waits until attempts started up to {@code untilMillis} have most likely completed, then
   * summarizes.
   */
  public Summary summary(long fromMillis, long untilMillis) {
    List<Attempt> window =
        attempts().stream()
            .filter(a -> a.startMillis() >= fromMillis && a.startMillis() <= untilMillis)
            .sorted(Comparator.comparingLong(Attempt::startMillis))
            .toList();
    return summarize(window);
  }

  static Summary summarize(List<Attempt> sorted) {
    long longest = 0;
    long openedAt = -1;
    List<Attempt> failed = new ArrayList<>();
    for (Attempt attempt : sorted) {
      if (!attempt.ok()) {
        failed.add(attempt);
        if (openedAt < 0) {
          openedAt = attempt.startMillis();
        }
      } else if (openedAt >= 0) {
        longest = Math.max(longest, attempt.startMillis() - openedAt);
        openedAt = -1;
      }
    }
    if (openedAt >= 0 && !sorted.isEmpty()) {
      longest = Math.max(longest, sorted.get(sorted.size() - 1).startMillis() - openedAt + 1);
    }
    return new Summary(sorted.size(), failed.size(), longest, failed);
  }

  /**
   * The watchers' counters: {@code watchers open=.. events=.. clean-closes=.. errors=..
   * reconnects=.. reconnect-failures=..}.
   */
  public String watchReport() throws InterruptedException {
    reports.clear();
    commands.println("report");
    String report = reports.poll(10, TimeUnit.SECONDS);
    if (report == null) {
      throw new IllegalStateException("the probe did not report its watchers");
    }
    return report;
  }

  /** Stops the probe and waits for its last lines. */
  @Override
  public void close() {
    commands.println("stop");
    commands.close();
    try {
      if (!process.waitFor(Duration.ofSeconds(10).toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
      }
      reader.join(2000);
      transcript.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
