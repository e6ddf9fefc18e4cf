package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The no-cert-reissue hazard and the VIP in csr.conf.template, on a stand-in snap data directory.
 */
class MicroK8sCheckTest {

  static final String TEMPLATE =
      """
      [ alt_names ]
      DNS.1 = kubernetes
      IP.1 = 127.0.0.1
      IP.2 = 10.152.183.1
      #MOREIPS
      """;
  static final String DEFAULT_ARGS =
      "--cert-dir=${SNAP_DATA}/certs\n--secure-port=16443\n--authorization-mode=AlwaysAllow\n";

  @TempDir Path dir;
  Path data;
  InetAddress vip;

  @BeforeEach
  void stockNode() throws IOException {
    data = dir.resolve("var/snap/microk8s/current");
    Files.createDirectories(data.resolve("var/lock"));
    Files.createDirectories(data.resolve("certs"));
    Files.createDirectories(data.resolve("args"));
    Files.writeString(data.resolve("args/kube-apiserver"), DEFAULT_ARGS);
    Files.writeString(
        data.resolve("certs/csr.conf.template"),
        TEMPLATE.replace("#MOREIPS", "IP.99 = 192.0.2.100\n#MOREIPS"));
    Files.createFile(data.resolve("var/lock/no-cert-reissue"));
    vip = InetAddress.getByName("192.0.2.100");
  }

  List<Severity> severities() {
    return MicroK8sCheck.check(data, vip).stream().map(Finding::severity).toList();
  }

  @Test
  void aJoinedNodeWithTheVipInItsTemplateIsFine() {
    assertThat(severities()).containsExactly(Severity.OK, Severity.OK);
  }

  @Test
  void withoutTheLockEveryVipMoveWouldRestartKubeliteAndTheDoctorSaysHowToFixIt()
      throws IOException {
    Files.delete(data.resolve("var/lock/no-cert-reissue"));

    List<Finding> findings = MicroK8sCheck.check(data, vip);

    assertThat(findings.get(0).severity()).isEqualTo(Severity.FAIL);
    assertThat(findings.get(0).message())
        .contains("restarts kubelite")
        .contains("sudo touch " + data.resolve("var/lock/no-cert-reissue"));
  }

  @Test
  void aFixedApiserverAddressKeepsTheKickerQuietWithoutTheLock() throws IOException {
    Files.delete(data.resolve("var/lock/no-cert-reissue"));
    for (String arg : List.of("--advertise-address=192.0.2.11", "--bind-address 0.0.0.0")) {
      Files.writeString(data.resolve("args/kube-apiserver"), DEFAULT_ARGS + arg + "\n");
      assertThat(severities()).as(arg).containsExactly(Severity.OK, Severity.OK);
    }
  }

  @Test
  void aTemplateWithoutTheVipFailsNamingTheLineToAdd() throws IOException {
    Files.writeString(
        data.resolve("certs/csr.conf.template"),
        TEMPLATE.replace("#MOREIPS", "IP.99 = 192.0.2.101\n#MOREIPS"));

    Finding template = MicroK8sCheck.check(data, vip).get(1);

    assertThat(template.severity()).isEqualTo(Severity.FAIL);
    assertThat(template.message()).contains("\"IP.99 = 192.0.2.100\"");
  }

  @Test
  void aMachineWithoutMicroK8sHasNothingToCheck() {
    assertThat(MicroK8sCheck.check(dir.resolve("elsewhere"), vip))
        .singleElement()
        .satisfies(finding -> assertThat(finding.severity()).isEqualTo(Severity.OK));
  }
}
