package io.apivip.daemon.doctor;

import static io.apivip.daemon.doctor.DoctorLab.alive;
import static io.apivip.daemon.doctor.DoctorLab.lines;
import static io.apivip.daemon.doctor.DoctorLab.status;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.Json;
import io.apivip.daemon.admin.StatusReport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DoctorTest {

  /** Nothing listens on port 1 of loopback: every apiserver refuses. */
  static final List<InetSocketAddress> NO_APISERVERS =
      List.of(
          new InetSocketAddress("127.0.0.1", 1),
          new InetSocketAddress("127.0.0.1", 2),
          new InetSocketAddress("127.0.0.1", 3));

  @TempDir Path dir;

  Doctor.Inputs inputs(Path config, Doctor.StatusSource daemon) throws IOException {
    return inputs(
        config,
        daemon,
        new MicroK8sCheck.Node(
            dir.resolve("no-microk8s"), dir.resolve("no-snap"), command -> Optional.empty()),
        host -> List.of());
  }

  Doctor.Inputs inputs(
      Path config,
      Doctor.StatusSource daemon,
      MicroK8sCheck.Node microk8s,
      KubeconfigCheck.Resolver resolver)
      throws IOException {
    Path proc = Files.createDirectories(dir.resolve("proc/self"));
    Files.writeString(proc.resolve("status"), "CapEff:\t0000000000003000\n");
    // Every interface name is known and holds the VIP's subnet: the host's own are not this test's.
    List<InterfaceCheck.Subnet> subnets =
        List.of(new InterfaceCheck.Subnet(InetAddress.getByName("192.0.2.11"), 24));
    return new Doctor.Inputs(
        config,
        daemon,
        Duration.ofMillis(10),
        Duration.ofSeconds(1),
        List.of(new KubeconfigCheck.Location(dir.resolve("kubeconfigs"), false)),
        resolver,
        new CapabilityCheck.Sources(
            Optional::empty,
            List.of(dir.resolve("none")),
            dir.resolve("proc"),
            List.of(),
            List.of()),
        name -> Optional.of(subnets),
        microk8s,
        (user, file) -> Optional.of(true));
  }

  /** A joined MicroK8s node below dir, with a default route, whose snap holds microk8s. */
  MicroK8sCheck.Node microk8sNode() throws IOException {
    Path data = DoctorLab.microk8sData(dir);
    Map<List<String>, ShortCommand.Result> answers =
        Map.of(
            List.of("ip", "route"),
            new ShortCommand.Result(0, "default via 192.0.2.1 dev eth0"),
            List.of("snap", "list", "microk8s"),
            new ShortCommand.Result(
                0,
                "Name Version Rev Tracking Publisher Notes\n"
                    + "microk8s v1.32.3 7964 1.32/stable canonical✓ classic,held"));
    return new MicroK8sCheck.Node(
        data, dir.resolve("snap"), command -> Optional.ofNullable(answers.get(command)));
  }

  @Test
  void onAMicroK8sNodeWithoutTheLockItFailsNamingTheHazardAndItsFix() throws Exception {
    MicroK8sCheck.Node node = microk8sNode();
    Path lock = node.snapData().resolve("var/lock/no-cert-reissue");
    Path config = DoctorLab.config(dir, NO_APISERVERS, "");
    Doctor.StatusSource daemon = () -> status(alive("node2"), alive("node3"));

    Diagnosis prepared = Doctor.examine(inputs(config, daemon, node, host -> List.of()));
    assertThat(lines(prepared, "microk8s", Severity.OK)).hasSize(2);
    assertThat(lines(prepared, "snap", Severity.OK))
        .containsExactly(
            "snapd holds microk8s's refreshes (snap list microk8s: held): refresh it yourself, one"
                + " drained node at a time");
    assertThat(lines(prepared, "vip", Severity.INFO))
        .containsExactly("this node holds the VIP 192.0.2.100 on lo");

    Files.delete(lock);
    Diagnosis unlocked = Doctor.examine(inputs(config, daemon, node, host -> List.of()));
    assertThat(lines(unlocked, "microk8s", Severity.FAIL))
        .singleElement()
        .asString()
        .startsWith(lock + " is missing and ")
        .contains("re-issues the API server certificate and restarts kubelite")
        .contains("run sudo touch " + lock);
    assertThat(unlocked.exitCode()).isEqualTo(1);
  }

  @Test
  void aDnsNameOfAKubeconfigThatReachesApivipMustBeInTheTemplate() throws Exception {
    MicroK8sCheck.Node node = microk8sNode();
    Path kubeconfig =
        Files.writeString(
            dir.resolve("kubeconfigs"),
            "apiVersion: v1\nclusters:\n- cluster:\n    server:"
                + " https://k8s-api.example.internal:6443\n  name: prod\n");
    KubeconfigCheck.Resolver dns =
        host ->
            host.equals("k8s-api.example.internal")
                ? List.of(InetAddress.getByName(DoctorLab.VIP))
                : List.of();

    Diagnosis diagnosis =
        Doctor.examine(inputs(DoctorLab.config(dir, NO_APISERVERS, ""), down(), node, dns));

    assertThat(lines(diagnosis, "kubeconfig", Severity.OK))
        .containsExactly(
            kubeconfig + ": cluster prod uses https://k8s-api.example.internal:6443 (apivip)");
    assertThat(lines(diagnosis, "microk8s", Severity.FAIL))
        .singleElement()
        .asString()
        .contains("does not name k8s-api.example.internal (the server of " + kubeconfig + ")")
        .contains("sudo apivip setup microk8s --dns k8s-api.example.internal");
  }

  @Test
  void rendersInfoLinesAndCountsThemApart() {
    Diagnosis diagnosis =
        new Diagnosis(List.of(Finding.info("vip", "node2 holds the VIP"), Finding.ok("x", "y")));
    assertThat(diagnosis.render())
        .isEqualTo(
            """
            info  vip           node2 holds the VIP
            ok    x             y

            0 FAIL, 0 warn, 1 ok, 1 info: nothing to fix
            """);
  }

  static Doctor.StatusSource down() {
    return () -> {
      throw new IOException(
          "cannot reach the apivip daemon at http://127.0.0.1:6490 (connection refused): is it"
              + " running?");
    };
  }

  @Test
  void anInvalidConfigurationFailsNamesEachProblemAndSaysWhatWasSkipped() throws Exception {
    Path config =
        DoctorLab.config(
            dir, NO_APISERVERS, "heartbeat.intervall = 200ms\nvip.address = \"not-an-ip\"");
    Diagnosis diagnosis = Doctor.examine(inputs(config, down()));
    assertThat(lines(diagnosis, "config", Severity.FAIL))
        .containsExactly(
            config + ": heartbeat.intervall = 200ms: unknown key; did you mean heartbeat.interval?",
            config
                + ": vip.address = not-an-ip: must be an IPv4 or IPv6 address with an optional"
                + " prefix, e.g. 192.0.2.100/24");
    assertThat(lines(diagnosis, "config", Severity.WARN))
        .containsExactly(
            "skipped without a valid configuration: the key, the VIP's interface, apiserver"
                + " certificates, MicroK8s, kubeconfigs and peers");
    assertThat(diagnosis.exitCode()).isEqualTo(1);
  }

  @Test
  void aMissingConfigurationPointsAtTheExample() throws Exception {
    Diagnosis diagnosis = Doctor.examine(inputs(dir.resolve("absent.conf"), down()));
    assertThat(lines(diagnosis, "config", Severity.FAIL))
        .containsExactly(
            "--config = "
                + dir.resolve("absent.conf")
                + ": no such file; name the configuration with --config (an example:"
                + " /usr/share/doc/apivip/examples/apivip.conf)");
  }

  @Test
  void aMissingKeyFailsButTheOtherChecksStillRun() throws Exception {
    Path config = DoctorLab.config(dir, NO_APISERVERS, "");
    Files.delete(dir.resolve("cluster.key"));
    Diagnosis diagnosis = Doctor.examine(inputs(config, down()));
    assertThat(lines(diagnosis, "key", Severity.FAIL))
        .singleElement()
        .asString()
        .contains("no such file; create it with: apivip gen-key");
    assertThat(lines(diagnosis, "config", Severity.OK))
        .singleElement()
        .asString()
        .endsWith("is valid: node node1 of 3 in cluster apivip, VIP 192.0.2.100 on lo");
    assertThat(lines(diagnosis, "certificate", Severity.WARN)).hasSize(3);
  }

  @Test
  void withoutTheDaemonItSaysWhatItSkippedAndTriesPeersByTcp() throws Exception {
    Diagnosis diagnosis = Doctor.examine(inputs(DoctorLab.config(dir, NO_APISERVERS, ""), down()));
    assertThat(lines(diagnosis, "daemon", Severity.WARN))
        .containsExactly(
            "cannot reach the apivip daemon at http://127.0.0.1:6490 (connection refused): is it"
                + " running?; skipped what only the daemon knows: key agreement between the nodes,"
                + " peers' heartbeats, the apiservers' health, who holds the VIP and clock skew"
                + " (peers checked by TCP instead)");
    assertThat(lines(diagnosis, "peers", Severity.WARN))
        .hasSize(2)
        .allSatisfy(line -> assertThat(line).contains("refuses TCP"));
    assertThat(diagnosis.findings()).extracting(Finding::check).doesNotContain("clock");
    assertThat(diagnosis.exitCode()).isZero();
  }

  @Test
  void aGrowingCountOfRejectedHeartbeatsIsSampledTwice() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Doctor.StatusSource daemon =
        () ->
            status(
                DoctorLab.peer("node2", "suspected", 2.0, null, 10L * calls.incrementAndGet()),
                alive("node3"));
    Diagnosis diagnosis = Doctor.examine(inputs(DoctorLab.config(dir, NO_APISERVERS, ""), daemon));
    assertThat(calls).hasValue(2);
    assertThat(lines(diagnosis, "key", Severity.FAIL))
        .singleElement()
        .asString()
        .startsWith(
            "node2's heartbeats fail authentication: its key differs from this node's"
                + " (fingerprint ");
    // The key line explains node2's silence; the peers check does not add a firewall hint for it.
    assertThat(lines(diagnosis, "peers", Severity.FAIL)).isEmpty();
    assertThat(diagnosis.exitCode()).isEqualTo(1);
  }

  @Test
  void aDaemonOfAnotherNodeIsNamed() throws Exception {
    StatusReport other = status(alive("node2"), alive("node3"));
    StatusReport renamed =
        new StatusReport(
            "node2",
            other.cluster(),
            other.version(),
            other.transport(),
            false,
            other.vip(),
            other.quorum(),
            other.members(),
            other.backends(),
            other.drain(),
            List.of());
    Diagnosis diagnosis =
        Doctor.examine(inputs(DoctorLab.config(dir, NO_APISERVERS, ""), () -> renamed));
    assertThat(lines(diagnosis, "daemon", Severity.WARN))
        .singleElement()
        .asString()
        .startsWith("the daemon answering is node node2 but ")
        .endsWith(" says node node1: pass --admin or --config for the same node");
  }

  @Test
  void rendersOneLinePerFindingAndASummary() {
    Diagnosis diagnosis =
        new Diagnosis(
            List.of(
                Finding.ok("config", "fine"),
                Finding.warn("kubeconfig", "hmm"),
                Finding.fail("certificate", "broken: fix it")));
    assertThat(diagnosis.render())
        .isEqualTo(
            """
            ok    config        fine
            warn  kubeconfig    hmm
            FAIL  certificate   broken: fix it

            1 FAIL, 1 warn, 1 ok: fix the FAIL lines above, then run apivip doctor again
            """);
    assertThat(new Diagnosis(List.of(Finding.warn("x", "y"))).exitCode()).isZero();
  }

  @Test
  void rendersJsonForScripts() throws Exception {
    Diagnosis diagnosis =
        new Diagnosis(List.of(Finding.ok("config", "fine"), Finding.fail("clock", "skewed")));
    @SuppressWarnings("unchecked")
    Map<String, Object> json = Json.read(Json.write(diagnosis), Map.class);
    assertThat(json).containsEntry("healthy", false);
    assertThat(json.get("findings"))
        .asList()
        .containsExactly(
            Map.of("check", "config", "severity", "ok", "message", "fine"),
            Map.of("check", "clock", "severity", "FAIL", "message", "skewed"));
  }
}
