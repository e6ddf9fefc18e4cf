package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The no-cert-reissue hazard, decided as MicroK8s's apiservice-kicker decides it, and the names in
 * csr.conf.template, on a stand-in snap data directory.
 */
class MicroK8sCheckTest {

  static final String TEMPLATE = DoctorLab.TEMPLATE;
  static final String DEFAULT_ARGS = DoctorLab.DEFAULT_ARGS;
  static final String ROUTES =
      "default via 192.0.2.1 dev eth0 proto dhcp\n192.0.2.0/24 dev eth0 proto kernel scope link\n";

  @TempDir Path dir;
  Path data;
  InetAddress vip;
  VipNames names;
  String routes = ROUTES;

  @BeforeEach
  void stockNode() throws IOException {
    data = DoctorLab.microk8sData(dir);
    vip = InetAddress.getByName("192.0.2.100");
    names = new VipNames(vip, Map.of());
  }

  MicroK8sCheck.Node node() {
    return new MicroK8sCheck.Node(
        data,
        dir.resolve("snap"),
        command ->
            command.equals(List.of("ip", "route")) && routes != null
                ? Optional.of(new ShortCommand.Result(0, routes))
                : Optional.empty());
  }

  Finding reissue() {
    return MicroK8sCheck.certificateReissue(node());
  }

  void removeTheLock() throws IOException {
    Files.delete(data.resolve("var/lock/no-cert-reissue"));
  }

  @Test
  void aJoinedNodeWithTheVipInItsTemplateIsFine() {
    assertThat(MicroK8sCheck.check(node(), names))
        .extracting(Finding::severity)
        .containsExactly(Severity.OK, Severity.OK);
  }

  @Test
  void withoutTheLockEveryVipMoveWouldRestartKubeliteAndTheDoctorSaysHowToFixIt()
      throws IOException {
    removeTheLock();
    Finding finding = reissue();
    assertThat(finding.severity()).isEqualTo(Severity.FAIL);
    assertThat(finding.message())
        .contains("no-cert-reissue is missing")
        .contains("restarts kubelite")
        .contains("whenever `hostname -I` changes, which every VIP move does;")
        .endsWith(
            "run sudo touch "
                + data.resolve("var/lock/no-cert-reissue")
                + " (as microk8s join does; microk8s leave removes it) (docs/microk8s.md section"
                + " 4)");
  }

  /** The kicker's own conditions, one by one, as its bash reads them. */
  @Test
  void whatKeepsTheKickerQuietWithoutTheLock() throws IOException {
    removeTheLock();
    Map<String, String> quietArgs =
        Map.of(
            "--advertise-address=192.0.2.11", "an advertise address",
            "--bind-address 0.0.0.0", "a bind address",
            "# --bind-address=0.0.0.0", "a comment: grep -E finds it all the same");
    for (Map.Entry<String, String> arg : quietArgs.entrySet()) {
      Files.writeString(data.resolve("args/kube-apiserver"), DEFAULT_ARGS + arg.getKey() + "\n");
      assertThat(reissue().severity()).as(arg.getValue()).isEqualTo(Severity.OK);
    }
    Files.writeString(data.resolve("args/kube-apiserver"), DEFAULT_ARGS);
    for (String quiet : List.of("clustered.lock", "low-memory-guard.lock")) {
      Path lock = Files.createFile(data.resolve("var/lock").resolve(quiet));
      assertThat(reissue().severity())
          .as(quiet + ": the kicker exits at start")
          .isEqualTo(Severity.OK);
      Files.delete(lock);
    }
    assertThat(reissue().severity()).as("none of them").isEqualTo(Severity.FAIL);
  }

  @Test
  void aMissingArgsFileFixesNoAddressAndAnUnreadableOneIsSaid() throws IOException {
    removeTheLock();
    Files.delete(data.resolve("args/kube-apiserver"));
    assertThat(reissue().severity())
        .as("grep finds nothing in a missing file")
        .isEqualTo(Severity.FAIL);
    Files.createDirectory(data.resolve("args/kube-apiserver"));
    assertThat(reissue())
        .satisfies(
            finding -> {
              assertThat(finding.severity()).isEqualTo(Severity.WARN);
              assertThat(finding.message()).contains("cannot be read").endsWith("run it with sudo");
            });
  }

  @Test
  void withoutADefaultRouteTheKickerWaitsSoItIsAWarning() throws IOException {
    removeTheLock();
    routes = "192.0.2.0/24 dev eth0 proto kernel scope link\n";
    Finding finding = reissue();
    assertThat(finding.severity()).isEqualTo(Severity.WARN);
    assertThat(finding.message())
        .contains("(it waits for a default route, which this node has not now)")
        .contains("run sudo touch ");
    routes = null; // ip did not answer: assume the route is there
    assertThat(reissue().severity()).isEqualTo(Severity.FAIL);
  }

  @Test
  void aTemplateWithoutTheVipFailsWithTheSetupFix() throws IOException {
    Files.writeString(
        data.resolve("certs/csr.conf.template"),
        TEMPLATE.replace("#MOREIPS", "IP.99 = 192.0.2.101\n#MOREIPS"));
    Finding template = MicroK8sCheck.template(data, names);
    assertThat(template.severity()).isEqualTo(Severity.FAIL);
    assertThat(template.message())
        .startsWith(data.resolve("certs/csr.conf.template") + " does not name the VIP 192.0.2.100:")
        .contains(
            "run sudo apivip setup microk8s (it adds the names above #MOREIPS), then sudo apivip"
                + " drain --wait && sudo apivip setup microk8s --refresh-server-cert && sudo"
                + " apivip resume");
  }

  @Test
  void aDnsNameClientsUseMustBeInTheTemplate() throws IOException {
    VipNames withName =
        new VipNames(vip, Map.of("k8s-api.example.internal", "the server of /root/.kube/config"));
    Finding missing = MicroK8sCheck.template(data, withName);
    assertThat(missing.severity()).isEqualTo(Severity.FAIL);
    assertThat(missing.message())
        .contains(
            "does not name k8s-api.example.internal (the server of /root/.kube/config): the next"
                + " certificate")
        .contains("run sudo apivip setup microk8s --dns k8s-api.example.internal (it adds");
    Files.writeString(
        data.resolve("certs/csr.conf.template"),
        TEMPLATE.replace(
            "#MOREIPS", "IP.99 = 192.0.2.100\nDNS.6 = K8s-Api.example.internal\n#MOREIPS"));
    assertThat(MicroK8sCheck.template(data, withName).severity()).isEqualTo(Severity.OK);
  }

  @Test
  void anIpv6VipIsFoundWhateverItsSpelling() throws IOException {
    Files.writeString(
        data.resolve("certs/csr.conf.template"),
        TEMPLATE.replace("#MOREIPS", "IP.99 = 2001:0db8:0:0:0:0:0:0100\n#MOREIPS"));
    VipNames v6 = new VipNames(InetAddress.getByName("2001:db8::100"), Map.of());
    assertThat(MicroK8sCheck.template(data, v6).severity()).isEqualTo(Severity.OK);
  }

  @Test
  void aMachineWithoutMicroK8sHasNothingToCheck() {
    MicroK8sCheck.Node elsewhere =
        new MicroK8sCheck.Node(
            dir.resolve("elsewhere"), dir.resolve("snap"), c -> Optional.empty());
    assertThat(MicroK8sCheck.check(elsewhere, names))
        .singleElement()
        .satisfies(finding -> assertThat(finding.severity()).isEqualTo(Severity.OK));
  }
}
