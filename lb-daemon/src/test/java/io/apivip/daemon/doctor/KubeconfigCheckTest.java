package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.doctor.KubeconfigCheck.Location;
import io.apivip.daemon.doctor.KubeconfigCheck.Server;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KubeconfigCheckTest {

  /** As MicroK8s writes them: the node's own apiserver on 127.0.0.1:16443. */
  static final String MICROK8S =
      """
      apiVersion: v1
      clusters:
      - cluster:
          certificate-authority-data: LS0tLS1CRUdJTi...
          server: https://127.0.0.1:16443
        name: microk8s-cluster
      contexts:
      - context:
          cluster: microk8s-cluster
          user: kubelet
        name: microk8s
      current-context: microk8s
      kind: Config
      users:
      - name: kubelet
        user:
          token: not-a-real-token
      """;

  static String kubeconfig(String... clusters) {
    StringBuilder out = new StringBuilder("apiVersion: v1\nclusters:\n");
    for (int i = 0; i < clusters.length; i += 2) {
      out.append("- name: ")
          .append(clusters[i])
          .append("\n  cluster:\n    insecure-skip-tls-verify: true\n    server: \"")
          .append(clusters[i + 1])
          .append("\"\n");
    }
    return out.append("users: []\n").toString();
  }

  static final KubeconfigCheck.Resolver DNS =
      host ->
          switch (host) {
            case "k8s-api.example.internal" ->
                List.of(InetAddress.getByAddress(host, new byte[] {(byte) 192, 0, 2, 100}));
            case "node2.example.internal" ->
                List.of(InetAddress.getByAddress(host, new byte[] {(byte) 192, 0, 2, 12}));
            default -> throw new UnknownHostException(host);
          };

  @TempDir Path dir;
  Settings settings;
  Path credentials;

  @BeforeEach
  void node() throws Exception {
    // node1's apiserver on its own address, as backends default to.
    settings =
        DoctorLab.settings(
            DoctorLab.config(
                dir,
                List.of(
                    new InetSocketAddress("192.0.2.11", 16443),
                    new InetSocketAddress("192.0.2.12", 16443),
                    new InetSocketAddress("192.0.2.13", 16443)),
                ""));
    credentials = Files.createDirectory(dir.resolve("credentials"));
  }

  List<Finding> check(Location... locations) {
    return KubeconfigCheck.check(List.of(locations), settings, DNS);
  }

  @Test
  void readsEachClustersNameAndServer() {
    assertThat(KubeconfigCheck.servers(MICROK8S))
        .containsExactly(new Server("microk8s-cluster", "https://127.0.0.1:16443"));
    assertThat(
            KubeconfigCheck.servers(
                kubeconfig("a", "https://192.0.2.100:6443", "b", "https://192.0.2.12:16443")))
        .containsExactly(
            new Server("a", "https://192.0.2.100:6443"),
            new Server("b", "https://192.0.2.12:16443"));
    String json =
        "{\"clusters\": [{\"cluster\": {\"server\": \"https://192.0.2.12:16443\"}, \"name\":"
            + " \"x\"}]}";
    assertThat(KubeconfigCheck.servers(json))
        .containsExactly(new Server("", "https://192.0.2.12:16443"));
  }

  @Test
  void aUserKubeconfigOnOneNodeWarnsWithTheKubectlFix() throws Exception {
    Path file =
        Files.writeString(
            dir.resolve("config"), kubeconfig("microk8s-cluster", "https://192.0.2.12:16443"));
    assertThat(check(new Location(file, false)))
        .containsExactly(
            Finding.warn(
                "kubeconfig",
                file
                    + ": cluster microk8s-cluster points at node2 only (https://192.0.2.12:16443):"
                    + " its users lose the API when node2 reboots; run: kubectl --kubeconfig "
                    + file
                    + " config set-cluster microk8s-cluster --server=https://192.0.2.100:6443"));
  }

  @Test
  void aUserKubeconfigOnThisNodesApiserverWarnsToo() throws Exception {
    Path file = Files.writeString(dir.resolve("config"), MICROK8S);
    assertThat(check(new Location(file, false)))
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.WARN);
              assertThat(f.message())
                  .contains("points at this node's apiserver only (https://127.0.0.1:16443)")
                  .endsWith("--server=https://192.0.2.100:6443");
            });
  }

  @Test
  void microK8sOwnCredentialsOnThisNodeAreFineAndElsewhereGetTheNodeLocalFix() throws Exception {
    Files.writeString(credentials.resolve("kubelet.config"), MICROK8S);
    Path proxy =
        Files.writeString(
            credentials.resolve("proxy.config"),
            MICROK8S.replace("127.0.0.1:16443", "192.0.2.13:16443"));
    Files.writeString(
        credentials.resolve("known_tokens.csv"), "server: https://192.0.2.13:16443\n");
    List<Finding> findings = check(new Location(credentials, true));
    assertThat(findings).hasSize(2);
    assertThat(findings.get(0).severity()).isEqualTo(Severity.OK);
    assertThat(findings.get(0).message())
        .contains("kubelet.config: cluster microk8s-cluster uses this node's own apiserver")
        .contains("use https://127.0.0.1:6443 (docs/microk8s.md section 6)");
    assertThat(findings.get(1))
        .isEqualTo(
            Finding.warn(
                "kubeconfig",
                proxy
                    + ": cluster microk8s-cluster points at node3 only (https://192.0.2.13:16443):"
                    + " this node's components lose the API when node3 reboots; run: sudo sed -i"
                    + " 's#server: https://192.0.2.13:16443#server: https://127.0.0.1:6443#' "
                    + proxy
                    + " && sudo snap restart microk8s.daemon-kubelite (docs/microk8s.md section"
                    + " 6)"));
  }

  @Test
  void theVipTheNodeLocalEndpointAndTheVipsDnsNamePass() throws Exception {
    Path file =
        Files.writeString(
            dir.resolve("config"),
            kubeconfig(
                "vip",
                "https://192.0.2.100:6443",
                "local",
                "https://127.0.0.1:6443",
                "dns",
                "https://k8s-api.example.internal:6443"));
    assertThat(check(new Location(file, false)))
        .extracting(Finding::severity)
        .containsOnly(Severity.OK)
        .hasSize(3);
  }

  @Test
  void aNodesDnsNameIsStillOneNodeAndOtherClustersAreLeftAlone() throws Exception {
    Path file =
        Files.writeString(
            dir.resolve("config"),
            kubeconfig(
                "n2",
                "https://node2.example.internal:16443",
                "prod",
                "https://203.0.113.5:6443",
                "gone",
                "https://nowhere.invalid:6443"));
    List<Finding> findings = check(new Location(file, false));
    assertThat(findings)
        .extracting(Finding::severity)
        .containsExactly(Severity.WARN, Severity.OK, Severity.WARN);
    assertThat(findings.get(0).message()).contains("cluster n2 points at node2 only");
    assertThat(findings.get(1).message())
        .endsWith("names https://203.0.113.5:6443, not a node of this cluster: not checked");
    assertThat(findings.get(2).message()).contains("whose host does not resolve here");
  }

  @Test
  void theVipOnTheApiserverPortBypassesTheProxy() throws Exception {
    Path file =
        Files.writeString(dir.resolve("config"), kubeconfig("direct", "https://192.0.2.100:16443"));
    assertThat(check(new Location(file, false)))
        .extracting(Finding::severity)
        .containsExactly(Severity.WARN);
  }

  @Test
  void underSudoTheInvokingUsersKubeconfigIsCheckedTooNotOnlyRoots() {
    Path root = Path.of("/root");
    Path alice = Path.of("/home/alice");
    ShortCommand.Runner getent =
        command ->
            command.equals(List.of("getent", "passwd", "alice"))
                ? Optional.of(
                    new ShortCommand.Result(0, "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash"))
                : Optional.of(new ShortCommand.Result(2, ""));
    Optional<Path> invoking = KubeconfigCheck.invokingUserHome("alice", getent);
    assertThat(invoking).contains(alice);
    assertThat(KubeconfigCheck.onThisNode(root, invoking, null))
        .extracting(Location::path)
        .containsExactly(
            KubeconfigCheck.MICROK8S_CREDENTIALS,
            root.resolve(".kube/config"),
            alice.resolve(".kube/config"));
    assertThat(KubeconfigCheck.invokingUserHome("bob", getent)).as("no such user").isEmpty();
    assertThat(KubeconfigCheck.invokingUserHome("root", getent)).as("sudo as root").isEmpty();
    assertThat(KubeconfigCheck.invokingUserHome(null, getent)).as("not under sudo").isEmpty();
  }

  @Test
  void theHostNamesThatReachApivipAreTheNamesCertificatesMustCarry() throws Exception {
    Path alice =
        Files.writeString(
            dir.resolve("alice.config"),
            kubeconfig(
                "by-name", "https://k8s-api.example.internal:6443",
                "by-address", "https://192.0.2.100:6443",
                "one-node", "https://node2.example.internal:16443",
                "gone", "https://nowhere.invalid:6443"));
    assertThat(KubeconfigCheck.namesOfApivip(List.of(new Location(alice, false)), settings, DNS))
        .containsExactly(java.util.Map.entry("k8s-api.example.internal", alice.toString()));
  }

  @Test
  void missingFilesAreSkippedAndKubeconfigEntriesAreRead() {
    List<Location> locations =
        KubeconfigCheck.onThisNode(dir, Optional.empty(), "/a/config:/b/config::");
    assertThat(locations)
        .extracting(Location::path)
        .containsExactly(
            KubeconfigCheck.MICROK8S_CREDENTIALS,
            dir.resolve(".kube/config"),
            Path.of("/a/config"),
            Path.of("/b/config"));
    assertThat(check(new Location(dir.resolve("absent"), false)))
        .containsExactly(
            Finding.ok("kubeconfig", "no kubeconfig found in [" + dir.resolve("absent") + "]"));
  }
}
