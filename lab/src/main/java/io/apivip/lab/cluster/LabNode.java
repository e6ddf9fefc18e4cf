package io.apivip.lab.cluster;

import io.apivip.lab.netns.Exec;
import io.apivip.lab.netns.Host;
import io.apivip.lab.netns.NetnsLab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One node of a {@link ClusterLab}: a namespace running a stand-in kube-apiserver and a real apivip
 * process (the built jar), which a test can kill, stop, restart, cut off and break.
 */
public final class LabNode {

  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);

  private final NetnsLab network;
  private final Host host;
  private final Path directory;
  private final Path adminSocket;
  private final Path jar;
  private final String labClassPath;
  private final List<String> javaOptions;
  private Process apivip;
  private Process apiserver;
  private PrintStream apiserverCommands;
  private BufferedReader apiserverReplies;

  LabNode(
      NetnsLab network,
      Host host,
      Path directory,
      Path adminSocket,
      Path jar,
      String labClassPath,
      List<String> javaOptions) {
    this.network = network;
    this.host = host;
    this.directory = directory;
    this.adminSocket = adminSocket;
    this.jar = jar;
    this.labClassPath = labClassPath;
    this.javaOptions = List.copyOf(javaOptions);
  }

  /** The node id, also its namespace's short name: n1, n2, ... */
  public String id() {
    return host.name();
  }

  public Host host() {
    return host;
  }

  public Path config() {
    return directory.resolve("apivip.conf");
  }

  /** Where apivip serves its admin socket ({@code admin.socket}). */
  public Path adminSocket() {
    return adminSocket;
  }

  /** apivip's log (stdout and stderr), appended across restarts. */
  public Path log() {
    return directory.resolve("apivip.log");
  }

  synchronized void startApiserver() throws IOException {
    ProcessBuilder builder =
        // The stand-in does the lab's heavy lifting (every TLS handshake and watch stream ends
        // here),
        // so it gets the full JIT and room, as a real apiserver would.
        new ProcessBuilder(
                fullJava(
                    "-Xmx256m",
                    "-cp",
                    labClassPath,
                    "io.apivip.lab.apiserver.StandInApiServerMain",
                    "--listen",
                    host.ipv4().getHostAddress() + ":" + ClusterLab.APISERVER_PORT,
                    "--name",
                    id(),
                    "--cert",
                    directory.resolve("apiserver.crt").toString(),
                    "--key",
                    directory.resolve("apiserver.key").toString()))
            .redirectError(
                ProcessBuilder.Redirect.appendTo(directory.resolve("apiserver.log").toFile()));
    apiserver = network.start(host, builder);
    apiserverCommands = new PrintStream(apiserver.getOutputStream(), true, StandardCharsets.UTF_8);
    apiserverReplies =
        new BufferedReader(
            new InputStreamReader(apiserver.getInputStream(), StandardCharsets.UTF_8));
    String first = readLine(apiserverReplies, START_TIMEOUT);
    if (first == null || !first.startsWith("listening")) {
      throw new IllegalStateException("stand-in apiserver on " + id() + " did not start: " + first);
    }
  }

  /** Switches the node's stand-in apiserver: healthy, fail-readyz, hang, refuse or "slow MS". */
  public synchronized void apiserver(String command) {
    apiserverCommands.println(command);
    String reply = readLine(apiserverReplies, COMMAND_TIMEOUT);
    if (reply == null || !reply.startsWith("ok")) {
      throw new IllegalStateException(
          "stand-in apiserver on " + id() + " refused '" + command + "': " + reply);
    }
  }

  /** Starts apivip on this node; returns at once (see {@link ClusterLab#awaitStatus}). */
  public synchronized void startApivip() throws IOException {
    if (apivip != null && apivip.isAlive()) {
      throw new IllegalStateException("apivip already runs on " + id());
    }
    ProcessBuilder builder =
        new ProcessBuilder(
                java("-Xmx128m", "-jar", jar.toString(), "run", "--config", config().toString()))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
    apivip = network.start(host, builder);
  }

  public synchronized boolean running() {
    return apivip != null && apivip.isAlive();
  }

  /** The apivip process's id (the one `ip netns exec` became), to tell a restart from a reload. */
  public synchronized long apivipPid() {
    if (apivip == null) {
      throw new IllegalStateException("apivip does not run on " + id());
    }
    return apivip.pid();
  }

  /**
   * SIGHUP, as {@code systemctl reload apivip} sends it: the daemon reads its configuration file
   * ({@link #config()}) again. Returns at once; the daemon logs what it changed.
   */
  public void reload() {
    Exec.run(COMMAND_TIMEOUT, List.of("kill", "-HUP", Long.toString(apivipPid()))).orThrow();
  }

  /** SIGKILL, then the cable is pulled: the node vanishes without a word, as in a power loss. */
  public void kill() throws InterruptedException {
    network.cutLink(host);
    crash();
  }

  /**
   * SIGKILL of apivip alone, its link left up: what it had configured stays, the VIP included, as
   * after a crash with no service manager to clean up.
   */
  public void crash() throws InterruptedException {
    Process process;
    synchronized (this) {
      process = apivip;
    }
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * SIGTERM, as systemd stops the service; answers the exit status, or empty if it did not exit in
   * time.
   */
  public Optional<Integer> stop(Duration timeout) throws InterruptedException {
    Process process;
    synchronized (this) {
      process = apivip;
    }
    if (process == null) {
      return Optional.empty();
    }
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      return Optional.empty();
    }
    return Optional.of(process.exitValue());
  }

  /**
   * Brings a killed node back as a reboot would: the addresses apivip had added are gone (a reboot
   * clears them; a crash alone leaves them), apivip starts, then the cable goes back in.
   */
  public void reboot(java.net.InetAddress vip, int prefixLength) throws IOException {
    network.exec(
        host,
        "ip",
        "addr",
        "del",
        vip.getHostAddress() + "/" + prefixLength,
        "dev",
        host.interfaceName());
    startApivip();
    network.restoreLink(host);
  }

  public void cutLink() {
    network.cutLink(host);
  }

  public void restoreLink() {
    network.restoreLink(host);
  }

  /** The daemon's {@code /status} JSON, or empty when it does not answer. */
  public Optional<String> statusJson() {
    Exec.Result result =
        network.exec(
            host,
            "curl",
            "-sf",
            "--max-time",
            "2",
            "http://127.0.0.1:" + ClusterLab.ADMIN_PORT + "/status");
    return result.ok() ? Optional.of(result.stdout()) : Optional.empty();
  }

  /** The daemon's Prometheus metrics text, or empty when it does not answer. */
  public Optional<String> metrics() {
    Exec.Result result =
        network.exec(
            host,
            "curl",
            "-sf",
            "--max-time",
            "2",
            "http://127.0.0.1:" + ClusterLab.ADMIN_PORT + "/metrics");
    return result.ok() ? Optional.of(result.stdout()) : Optional.empty();
  }

  /** Runs an apivip command on this node, as an operator would: {@code apivip drain --wait}. */
  public Exec.Result apivipCommand(Duration timeout, String... arguments) {
    List<String> command = java("-Xmx64m", "-XX:TieredStopAtLevel=1", "-jar", jar.toString());
    command.addAll(List.of(arguments));
    command.addAll(List.of("--config", config().toString()));
    return network.exec(host, timeout, command);
  }

  /** Whether the VIP is on this node's interface. */
  public boolean hasVip(java.net.InetAddress vip) {
    return network.hasAddress(host, vip);
  }

  private static List<String> fullJava(String... arguments) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of(arguments));
    return command;
  }

  private List<String> java(String... arguments) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(javaOptions);
    command.addAll(List.of(arguments));
    return command;
  }

  private static String readLine(BufferedReader reader, Duration timeout) {
    CompletableFuture<String> line =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return reader.readLine();
              } catch (IOException e) {
                return null;
              }
            });
    try {
      return line.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (Exception e) {
      return null;
    }
  }

  @Override
  public String toString() {
    return id() + " (" + host.ipv4().getHostAddress() + ")";
  }
}
