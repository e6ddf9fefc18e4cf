package io.apivip.daemon.cli;

import static io.apivip.daemon.doctor.DoctorLab.alive;
import static io.apivip.daemon.doctor.DoctorLab.peer;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.AdminApi;
import io.apivip.daemon.admin.AdminServer;
import io.apivip.daemon.admin.Json;
import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.config.KeyFile;
import io.apivip.daemon.doctor.DoctorLab;
import io.apivip.daemon.transport.Transports;
import io.apivip.lab.Pki;
import io.apivip.lab.apiserver.StandInApiServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code apivip doctor} end to end: the real command against stand-in apiservers and a real admin
 * server whose daemon is faked, all on loopback.
 */
class DoctorCommandTest {

  static final Pki CA = Pki.newCa("microk8s-ca");
  static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);

  /** A daemon whose status is whatever the test says, asked afresh on every request. */
  static final class FakeDaemon implements AdminApi {
    volatile Supplier<StatusReport> status = () -> DoctorLab.status(alive("node2"), alive("node3"));

    @Override
    public StatusReport status() {
      return status.get();
    }

    @Override
    public CompletableFuture<StatusReport> drain(boolean force) {
      throw new UnsupportedOperationException("the doctor never drains");
    }

    @Override
    public CompletableFuture<StatusReport> resume() {
      throw new UnsupportedOperationException("the doctor never resumes");
    }
  }

  @TempDir Path dir;
  final Transports transports = Transports.nio();
  final FakeDaemon daemon = new FakeDaemon();
  final List<StandInApiServer> apiservers = new ArrayList<>();
  EventLoopGroup group;
  AdminServer admin;

  @BeforeEach
  void start() throws Exception {
    group = transports.newGroup(1, "doctor-test");
    admin =
        new AdminServer(
            daemon,
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
            new io.apivip.daemon.admin.Operators(
                "apivip-admin", -1, io.apivip.daemon.admin.Operators.Database.system()));
    admin.start(ANY_PORT, Optional.empty(), Optional.empty(), group, transports);
  }

  @AfterEach
  void stop() {
    apiservers.forEach(StandInApiServer::close);
    admin.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Three apiservers; node1's certificate names the VIP only when {@code node1NamesVip}. */
  Path node(boolean node1NamesVip) throws Exception {
    List<InetSocketAddress> addresses = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      List<String> names =
          i == 1 && !node1NamesVip
              ? List.of("kubernetes", "127.0.0.1", "10.152.183.1", "192.0.2.11")
              : List.of("kubernetes", "127.0.0.1", "10.152.183.1", "192.0.2.1" + i, DoctorLab.VIP);
      StandInApiServer server =
          StandInApiServer.start("node" + i, ANY_PORT, CA.issueServer(names), Optional.empty());
      apiservers.add(server);
      addresses.add(server.address());
    }
    return DoctorLab.config(dir, addresses, "");
  }

  CommandLineTest.Result doctor(Path config, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "doctor",
                "--config",
                config.toString(),
                "--admin",
                "127.0.0.1:" + admin.adminAddress().getPort()));
    args.addAll(List.of(more));
    return CommandLineTest.apivip(args.toArray(String[]::new));
  }

  @Test
  void aHealthyNodeExitsZero() throws Exception {
    CommandLineTest.Result result = doctor(node(true));
    assertThat(result.exitCode()).as(result.out()).isZero();
    assertThat(result.out())
        .containsPattern("ok {4}daemon {8}the daemon of node node1 is running")
        .contains(
            "node2, node3 alive; this node sees 3 nodes (itself included), 2 needed for quorum")
        .contains("clocks of 2 peers within 0.002s of this node's")
        .contains(
            "node1's apiserver at 127.0.0.1:"
                + apiservers.get(0).address().getPort()
                + " presents a certificate that names the VIP 192.0.2.100")
        .doesNotContain("FAIL  ")
        .contains("0 FAIL, ");
  }

  @Test
  void aCertificateWithoutTheVipFails() throws Exception {
    CommandLineTest.Result result = doctor(node(false));
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.out())
        .containsPattern(
            "FAIL  certificate   node1's apiserver at 127.0.0.1:\\d+ presents a certificate without"
                + " the VIP 192.0.2.100 \\(its IP names: 127.0.0.1, 10.152.183.1, 192.0.2.11; its"
                + " DNS names: kubernetes\\), so clients that connect by that name reject it: on"
                + " node1 run sudo apivip setup microk8s \\(it adds the names to"
                + " csr.conf.template\\), then sudo apivip drain --wait && sudo apivip setup"
                + " microk8s --refresh-server-cert && sudo apivip resume");
    assertThat(result.out())
        .containsPattern("ok {4}certificate {3}node2's apiserver .* names the VIP");
  }

  @Test
  void aPeerWithAnotherKeyFails() throws Exception {
    Path config = node(true);
    String fingerprint = KeyFile.fingerprint(KeyFile.read(dir.resolve("cluster.key")));
    AtomicLong rejected = new AtomicLong();
    daemon.status =
        () ->
            DoctorLab.status(
                alive("node2"), peer("node3", "suspected", 30.0, null, rejected.addAndGet(10)));
    CommandLineTest.Result result = doctor(config);
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.out())
        .contains(
            "FAIL  key           node3's heartbeats fail authentication: its key differs from this"
                + " node's (fingerprint "
                + fingerprint
                + "); copy "
                + dir.resolve("cluster.key")
                + " from a good node to node3 and run sudo systemctl reload apivip there");
  }

  @Test
  void aSkewedClockFails() throws Exception {
    Path config = node(true);
    daemon.status = () -> DoctorLab.status(alive("node2"), peer("node3", "alive", 0.1, 25.0, 0));
    CommandLineTest.Result result = doctor(config);
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.out())
        .contains(
            "FAIL  clock         node3's clock differs from this node's by 25.0s, beyond"
                + " heartbeat.replay-window (10.0s): its heartbeats are dropped as replays; run NTP"
                + " on every node");
  }

  @Test
  @SuppressWarnings("unchecked")
  void jsonListsTheFindingsForScripts() throws Exception {
    CommandLineTest.Result result = doctor(node(false), "--json");
    assertThat(result.exitCode()).isEqualTo(1);
    Map<String, Object> json = Json.read(result.out(), Map.class);
    assertThat(json).containsEntry("healthy", false);
    List<Map<String, Object>> findings = (List<Map<String, Object>>) json.get("findings");
    assertThat(findings)
        .anySatisfy(
            finding ->
                assertThat(finding)
                    .containsEntry("check", "certificate")
                    .containsEntry("severity", "FAIL"));
  }

  @Test
  void badArgumentsExitTwo() {
    assertThat(CommandLineTest.apivip("doctor", "--no-such-option").exitCode()).isEqualTo(2);
  }
}
