package io.apivip.daemon.vip;

import io.apivip.lab.netns.Host;
import io.apivip.lab.netns.NetnsLab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The test's side of a {@link VipAgent} running in a node's namespace.
 *
 * <p>Why a child JVM under {@code ip netns exec} rather than a thread moved into the namespace with
 * setns(2): the manager is then tested exactly as the daemon runs, one process wholly in one
 * namespace. A thread in another namespace than its process half works: the {@code ip} it spawns
 * would follow it, but {@code /proc/self/net} and {@code /sys/class/net}, which the JDK's
 * NetworkInterface reads to find the interface's index and MAC, still show the process's namespace;
 * {@code ip netns exec} remounts /sys for the child. A child also cannot leak a namespace into the
 * test JVM's other threads, and the lab ends it on close even when a test fails.
 */
final class AgentProcess implements AutoCloseable {

  private static final Duration QUIT_WAIT = Duration.ofSeconds(15);

  private final Host host;
  private final Process process;
  private final Writer commands;
  private final BlockingQueue<String> unread = new LinkedBlockingQueue<>();
  private final List<String> output = new ArrayList<>();

  private AgentProcess(Host host, Process process) {
    this.host = host;
    this.process = process;
    this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread reader = new Thread(this::read, "agent-" + host.name());
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts an agent managing {@code vip} on the host's eth0 (check interval 100 ms, 3 announcements
   * 300 ms apart, no refresh, the daemon's grace for foreign claims), optionally under a wrapper
   * such as setpriv; returns once it is ready.
   */
  static AgentProcess start(NetnsLab lab, Host host, InetAddress vip, List<String> wrapper)
      throws IOException {
    return start(lab, host, vip, wrapper, Duration.ZERO, ForeignClaims.GRACE);
  }

  /** As {@link #start(NetnsLab, Host, InetAddress, List)}, with a refresh and a claim grace. */
  static AgentProcess start(
      NetnsLab lab,
      Host host,
      InetAddress vip,
      List<String> wrapper,
      Duration refreshInterval,
      Duration claimGrace)
      throws IOException {
    List<String> command = new ArrayList<>(wrapper);
    command.addAll(
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx64m",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            System.getProperty("java.class.path"),
            VipAgent.class.getName(),
            vip.getHostAddress(),
            vip instanceof Inet6Address ? "128" : "32",
            host.interfaceName(),
            "3",
            "300",
            "100",
            String.valueOf(refreshInterval.toMillis()),
            String.valueOf(claimGrace.toMillis())));
    AgentProcess agent =
        new AgentProcess(
            host, lab.start(host, new ProcessBuilder(command).redirectErrorStream(true)));
    agent.await(line -> line.equals(VipAgent.PREFIX + "ready"), Duration.ofSeconds(30));
    return agent;
  }

  void send(String command) throws IOException {
    commands.write(command + "\n");
    commands.flush();
  }

  /**
   * Consumes output up to and including the first line that matches, and returns it; fails after
   * {@code timeout}.
   */
  String await(Predicate<String> matching, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        String line = unread.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) {
          throw new AssertionError(
              "agent in "
                  + host.name()
                  + " printed no matching line within "
                  + timeout.toMillis()
                  + " ms; its output:\n"
                  + output());
        }
        if (matching.test(line)) {
          return line;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** Waits for a log line containing {@code text}. */
  String awaitLog(String text) {
    return await(line -> line.contains(text), Duration.ofSeconds(10));
  }

  /** Waits for a status line containing {@code text}, e.g. "machineryWorks=false". */
  String awaitStatus(String text) {
    return await(
        line -> line.startsWith(VipAgent.PREFIX + "status ") && line.contains(text),
        Duration.ofSeconds(10));
  }

  /** The last foreign claimant, "MAC KIND FRAMES", or "none". */
  String claim() throws IOException {
    send("claim");
    String answer =
        await(line -> line.startsWith(VipAgent.PREFIX + "claim "), Duration.ofSeconds(10));
    return answer.substring((VipAgent.PREFIX + "claim ").length());
  }

  double metric(String name, String... tags) throws IOException {
    send("metric " + name + " " + String.join(" ", tags));
    String answer =
        await(line -> line.startsWith(VipAgent.PREFIX + "metric "), Duration.ofSeconds(10));
    return Double.parseDouble(answer.substring((VipAgent.PREFIX + "metric ").length()));
  }

  /** Everything the agent printed so far. */
  String output() {
    synchronized (output) {
      return String.join("\n", output);
    }
  }

  /**
   * Asks the agent to quit, which removes the VIP if it holds it, and waits for it; kills it if it
   * hangs.
   */
  @Override
  public void close() throws InterruptedException {
    try {
      send("quit");
    } catch (IOException alreadyGone) {
      // It exited; nothing to ask.
    }
    if (!process.waitFor(QUIT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor(QUIT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }
    // The manager's one-line events carry the timings from decision to address and announcement.
    output()
        .lines()
        .filter(line -> line.contains(" VIP "))
        .forEach(line -> System.out.println(host.name() + ": " + line));
  }

  private void read() {
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        synchronized (output) {
          output.add(line);
        }
        unread.add(line);
      }
    } catch (IOException ended) {
      // The process is gone; await() reports what it printed.
    }
  }
}
