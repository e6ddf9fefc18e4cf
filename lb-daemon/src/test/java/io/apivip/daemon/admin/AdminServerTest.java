package io.apivip.daemon.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cli.CommandLineTest;
import io.apivip.daemon.transport.Transports;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminServerTest {

  /** A daemon stand-in: drain completes after a few status polls, or never. */
  static final class FakeDaemon implements AdminApi {
    volatile boolean maintenance;
    final AtomicInteger pollsUntilDrained = new AtomicInteger(3);
    final AtomicInteger drains = new AtomicInteger();
    volatile List<String> refusal = List.of();

    @Override
    public StatusReport status() {
      boolean complete = maintenance && pollsUntilDrained.getAndDecrement() <= 0;
      String detail =
          !maintenance
              ? ""
              : complete
                  ? "node2 holds the VIP; 2 peers route around this node"
                  : "waiting for node2 to take the VIP";
      return new StatusReport(
          "node1",
          "apivip",
          "test",
          "epoll",
          maintenance,
          new StatusReport.Vip(
              "192.0.2.100",
              "eth0",
              complete || !maintenance ? "node2" : "node1",
              !complete && maintenance,
              false,
              null),
          new StatusReport.Quorum(2, 3, true),
          List.of(
              new StatusReport.Member(
                  "node1",
                  "192.0.2.11",
                  100,
                  "self",
                  true,
                  maintenance,
                  false,
                  null,
                  null,
                  0,
                  null),
              new StatusReport.Member(
                  "node2", "192.0.2.12", 100, "alive", true, false, true, 0.04, -0.002, 0, null)),
          List.of(
              new StatusReport.Apiserver(
                  "node1", "192.0.2.11:16443", "up", "200", !maintenance, 7)),
          new StatusReport.Drain(maintenance, complete, detail),
          List.of());
    }

    @Override
    public CompletableFuture<StatusReport> drain(boolean force) {
      if (!refusal.isEmpty() && !force) {
        return CompletableFuture.failedFuture(new DrainRefused(refusal));
      }
      drains.incrementAndGet();
      maintenance = true;
      return CompletableFuture.completedFuture(status());
    }

    @Override
    public CompletableFuture<StatusReport> resume() {
      maintenance = false;
      return CompletableFuture.completedFuture(status());
    }
  }

  final Transports transports = Transports.nio();
  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  final FakeDaemon daemon = new FakeDaemon();
  final HttpClient http = HttpClient.newHttpClient();

  /**
   * The operators' group of these tests: gid 4242, with alice (uid 1001) a member; not the host's
   * /etc/group.
   */
  static final int OPERATORS_GID = 4242;

  @TempDir Path dir;
  Path socket;
  EventLoopGroup group;
  AdminServer server;

  @BeforeEach
  void start() throws Exception {
    group = transports.newGroup(1, "admin-test");
    registry.counter("apivip.test.events", "kind", "demo").increment(3);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    server = new AdminServer(daemon, registry, operators(dir));
    socket = dir.resolve("admin.sock");
    server.start(
        new InetSocketAddress("127.0.0.1", 0),
        Optional.of(socket),
        Optional.of(new InetSocketAddress("127.0.0.1", 0)),
        group,
        transports);
  }

  static Operators operators(Path dir) throws IOException {
    Path passwd =
        Files.writeString(
            dir.resolve("passwd"),
            "root:x:0:0::/root:/bin/sh\n"
                + "alice:x:1001:1001::/:/bin/sh\n"
                + "nobody:x:65534:65534::/:/bin/false\n");
    Path group =
        Files.writeString(
            dir.resolve("group"),
            "root:x:0:\nops:x:" + OPERATORS_GID + ":alice,bob\nnogroup:x:65534:\n");
    return new Operators("ops", 999, new Operators.Database(passwd, group));
  }

  /**
   * POSTs over the admin socket with curl as the given user and group (setpriv), and answers curl's
   * exit code and output.
   */
  ProcessResult postAs(int uid, int gid, String path) throws Exception {
    Process process =
        new ProcessBuilder(
                "setpriv",
                "--reuid=" + uid,
                "--regid=" + gid,
                "--clear-groups",
                "curl",
                "-s",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                "--max-time",
                "5",
                "-X",
                "POST",
                "--unix-socket",
                socket.toString(),
                "http://localhost" + path)
            .redirectErrorStream(true)
            .start();
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return new ProcessResult(
        process.exitValue(),
        new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  record ProcessResult(int exitCode, String output) {}

  @AfterEach
  void stop() {
    server.close();
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }

  HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(base().resolve(path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> post(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(base().resolve(path))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  URI base() {
    return URI.create("http://127.0.0.1:" + server.adminAddress().getPort());
  }

  @Test
  void servesStatusAsJson() throws Exception {
    HttpResponse<String> response = get("/status");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).contains("application/json");
    StatusReport report = Json.read(response.body(), StatusReport.class);
    assertThat(report.node()).isEqualTo("node1");
    assertThat(report.members())
        .extracting(StatusReport.Member::id)
        .containsExactly("node1", "node2");
    assertThat(report.backends().get(0).activeConnections()).isEqualTo(7);
  }

  @Test
  void servesPrometheusMetrics() throws Exception {
    HttpResponse<String> response = get("/metrics");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).contains("apivip_test_events_total{kind=\"demo\"} 3.0");
  }

  @Test
  void drainAndResumeOverLoopbackTcpAreRefusedAndChangeNothing() throws Exception {
    assertThat(get("/drain").statusCode()).isEqualTo(405);
    HttpResponse<String> drain = post("/drain");
    assertThat(drain.statusCode()).isEqualTo(403);
    assertThat(drain.body()).contains("only on the admin socket").contains(socket.toString());
    assertThat(post("/resume").statusCode()).isEqualTo(403);
    assertThat(daemon.drains).hasValue(0);
    assertThat(daemon.maintenance).isFalse();
    assertThat(get("/nowhere").statusCode()).isEqualTo(404);
    assertThat(get("/healthz").body()).isEqualTo("ok\n");
    assertThat(registry.scrape()).contains("apivip_admin_refused_total 2.0");
  }

  @Test
  void rootDrainsAndResumesThroughTheSocketWithTheCommands() {
    CommandLineTest.Result drain =
        CommandLineTest.apivip(
            "drain",
            "--admin-socket",
            socket.toString(),
            "--admin",
            "127.0.0.1:" + server.adminAddress().getPort());
    assertThat(drain.exitCode()).as(drain.err()).isZero();
    assertThat(daemon.maintenance).isTrue();
    CommandLineTest.Result resume =
        CommandLineTest.apivip(
            "resume",
            "--admin-socket",
            socket.toString(),
            "--admin",
            "127.0.0.1:" + server.adminAddress().getPort());
    assertThat(resume.exitCode()).as(resume.err()).isZero();
    assertThat(daemon.maintenance).isFalse();
  }

  @Test
  void theSocketIsMode0660SoOtherUsersCannotEvenConnect() throws Exception {
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)))
        .isEqualTo("rw-rw----");
    ProcessResult nobody = postAs(65534, 65534, "/drain");
    assertThat(nobody.exitCode()).as(nobody.output()).isNotZero();
    assertThat(daemon.drains).hasValue(0);
  }

  @Test
  void anUnprivilegedUserIsRefusedByTheDaemonEvenWhenTheFileLetsItConnect() throws Exception {
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
    ProcessResult nobody = postAs(65534, 65534, "/drain");
    assertThat(nobody.output())
        .contains("drain refused: uid 65534 (nobody) pid")
        .contains("is neither root nor a member of ops")
        .endsWith("403");
    assertThat(daemon.drains).hasValue(0);
    assertThat(daemon.maintenance).isFalse();
  }

  @Test
  void aMemberOfTheOperatorsGroupMayDrain() throws Exception {
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
    ProcessResult operator = postAs(65534, OPERATORS_GID, "/drain");
    assertThat(operator.output()).as("exit " + operator.exitCode()).endsWith("200");
    assertThat(daemon.maintenance).isTrue();
  }

  @Test
  void metricsListenerServesNoActions() throws Exception {
    URI metrics = URI.create("http://127.0.0.1:" + server.metricsAddress().orElseThrow().getPort());
    HttpResponse<String> drain =
        http.send(
            HttpRequest.newBuilder(metrics.resolve("/drain"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(drain.statusCode()).isEqualTo(404);
    assertThat(daemon.drains).hasValue(0);
    HttpResponse<String> scrape =
        http.send(
            HttpRequest.newBuilder(metrics.resolve("/metrics")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(scrape.body()).contains("apivip_test_events_total");
  }

  @Test
  void statusCommandRendersATable() {
    CommandLineTest.Result result =
        CommandLineTest.apivip("status", "--admin", "127.0.0.1:" + server.adminAddress().getPort());
    assertThat(result.exitCode()).as(result.err()).isZero();
    assertThat(result.out())
        .contains(
            "node node1 of cluster apivip (apivip test, epoll transport): node2 holds the VIP"
                + " 192.0.2.100")
        .contains("quorum: yes, 3 nodes seen, 2 needed")
        .containsPattern(
            "node2\\s+192.0.2.12\\s+100\\s+alive\\s+yes\\s+no\\s+\\*\\s+0.04s\\s+-0.002s")
        .containsPattern("192.0.2.11:16443\\s+node1\\s+up\\s+yes\\s+7\\s+200");
  }

  @Test
  void statusCommandPrintsJson() throws Exception {
    CommandLineTest.Result result =
        CommandLineTest.apivip(
            "status", "--json", "--admin", "127.0.0.1:" + server.adminAddress().getPort());
    assertThat(result.exitCode()).isZero();
    assertThat(Json.read(result.out(), StatusReport.class).node()).isEqualTo("node1");
  }

  @Test
  void drainWaitReturnsWhenDrained() {
    CommandLineTest.Result result =
        CommandLineTest.apivip(
            "drain",
            "--wait",
            "--admin-socket",
            socket.toString(),
            "--admin",
            "127.0.0.1:" + server.adminAddress().getPort());
    assertThat(result.exitCode()).as(result.err()).isZero();
    assertThat(result.out())
        .contains("draining: waiting for node2 to take the VIP")
        .contains("node node1 is drained: node2 holds the VIP");
  }

  @Test
  void drainWaitFailsWithTheReasonAfterTimeout() {
    daemon.pollsUntilDrained.set(Integer.MAX_VALUE);
    CommandLineTest.Result result =
        CommandLineTest.apivip(
            "drain",
            "--wait",
            "--timeout",
            "1",
            "--admin-socket",
            socket.toString(),
            "--admin",
            "127.0.0.1:" + server.adminAddress().getPort());
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err()).contains("not drained after 1s: waiting for node2 to take the VIP");
  }

  @Test
  void aRefusedDrainSaysWhyAndForceGoesAhead() {
    daemon.refusal = List.of("node node3 is down (suspected)");
    String admin = "127.0.0.1:" + server.adminAddress().getPort();
    CommandLineTest.Result refused =
        CommandLineTest.apivip("drain", "--admin-socket", socket.toString(), "--admin", admin);
    assertThat(refused.exitCode()).isEqualTo(1);
    assertThat(refused.err())
        .contains("drain refused: node node3 is down (suspected)")
        .contains("--force");
    assertThat(daemon.drains).hasValue(0);
    CommandLineTest.Result forced =
        CommandLineTest.apivip(
            "drain", "--force", "--admin-socket", socket.toString(), "--admin", admin);
    assertThat(forced.exitCode()).as(forced.err()).isZero();
    assertThat(daemon.drains).hasValue(1);
  }

  @Test
  void commandsSayWhenTheDaemonIsNotRunning() {
    int port = server.adminAddress().getPort();
    server.close();
    CommandLineTest.Result result =
        CommandLineTest.apivip("status", "--admin", "127.0.0.1:" + port);
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err()).contains("cannot reach the apivip daemon").contains("is it running?");
  }
}
