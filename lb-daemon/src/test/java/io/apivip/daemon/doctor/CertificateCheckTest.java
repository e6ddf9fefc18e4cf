package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.daemon.config.Settings.Backend;
import io.apivip.lab.Pki;
import io.apivip.lab.apiserver.Mode;
import io.apivip.lab.apiserver.StandInApiServer;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The names in, and the dates of, the certificate each apiserver serves, read over TLS. */
class CertificateCheckTest {

  static final Pki CA = Pki.newCa("microk8s-ca");
  static final InetAddress VIP = NetUtil.createInetAddressFromIpAddressString(DoctorLab.VIP);
  static final VipNames JUST_THE_VIP = new VipNames(VIP, Map.of());
  static final VipNames WITH_A_NAME =
      new VipNames(VIP, Map.of("k8s.example.internal", "the server of /home/alice/.kube/config"));
  static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);
  static final Duration TIMEOUT = Duration.ofSeconds(2);

  StandInApiServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  Backend backend(String node, StandInApiServer apiserver) {
    return new Backend(node, apiserver.address());
  }

  StandInApiServer serving(String node, List<String> names) {
    server = StandInApiServer.start(node, ANY_PORT, CA.issueServer(names), Optional.empty());
    return server;
  }

  @Test
  void aCertificateWithoutTheVipFailsWithTheSetupFix() {
    serving("node2", List.of("kubernetes", "127.0.0.1", "192.0.2.12"));
    List<Finding> findings =
        CertificateCheck.check(
            List.of(backend("node2", server)), JUST_THE_VIP, TIMEOUT, Instant.now());
    assertThat(findings.get(0))
        .isEqualTo(
            Finding.fail(
                "certificate",
                "node2's apiserver at 127.0.0.1:"
                    + server.address().getPort()
                    + " presents a certificate without the VIP 192.0.2.100 (its IP names:"
                    + " 127.0.0.1, 192.0.2.12; its DNS names: kubernetes), so clients that connect"
                    + " by that name reject it: on node2 run sudo apivip setup microk8s (it adds"
                    + " the names to csr.conf.template), then sudo apivip drain --wait && sudo"
                    + " apivip setup microk8s --refresh-server-cert && sudo apivip resume"
                    + " (docs/microk8s.md section 4)"));
  }

  @Test
  void aCertificateThatNamesTheVipPassesAndSaysWhenItEnds() {
    serving("node1", List.of("127.0.0.1", DoctorLab.VIP));
    List<Finding> findings =
        CertificateCheck.check(
            List.of(backend("node1", server)), JUST_THE_VIP, TIMEOUT, Instant.now());
    assertThat(findings)
        .extracting(Finding::check, Finding::severity)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("certificate", Severity.OK),
            org.assertj.core.groups.Tuple.tuple("expiry", Severity.OK));
    assertThat(findings.get(0).message())
        .isEqualTo(
            "node1's apiserver at 127.0.0.1:"
                + server.address().getPort()
                + " presents a certificate that names the VIP 192.0.2.100");
    assertThat(findings.get(1).message())
        .startsWith(
            "the certificate of node1's apiserver at 127.0.0.1:"
                + server.address().getPort()
                + " is valid until ");
  }

  @Test
  void aDnsNameClientsUseMustBeInEveryCertificate() {
    Pki.Issued withoutName = CA.issueServer(List.of("kubernetes", DoctorLab.VIP));
    Finding missing =
        CertificateCheck.judge(
            withoutName.certificate(), WITH_A_NAME, "node3's apiserver", "node3");
    assertThat(missing.severity()).isEqualTo(Severity.FAIL);
    assertThat(missing.message())
        .startsWith(
            "node3's apiserver presents a certificate without k8s.example.internal (the server of"
                + " /home/alice/.kube/config) (its IP names: 192.0.2.100; its DNS names:"
                + " kubernetes)")
        .contains(
            "on node3 run sudo apivip setup microk8s --dns k8s.example.internal (it adds the"
                + " names to csr.conf.template)");

    Pki.Issued withName = CA.issueServer(List.of("K8S.example.internal", DoctorLab.VIP));
    assertThat(
            CertificateCheck.judge(withName.certificate(), WITH_A_NAME, "node3's apiserver", "n3"))
        .isEqualTo(
            Finding.ok(
                "certificate",
                "node3's apiserver presents a certificate that names the VIP 192.0.2.100 and"
                    + " k8s.example.internal (the server of /home/alice/.kube/config)"));
  }

  @Test
  void theCertificateIsReadEvenWhenTheServerDemandsAClientCertificate() throws IOException {
    server =
        StandInApiServer.start(
            "node1",
            ANY_PORT,
            CA.issueServer(List.of(DoctorLab.VIP)),
            Optional.of(CA.caCertificate()));
    assertThat(CertificateCheck.ipNames(CertificateCheck.fetch(server.address(), TIMEOUT)))
        .containsExactly(DoctorLab.VIP);
  }

  @Test
  void anIpv6VipIsMatchedWhateverItsSpelling() {
    InetAddress vip6 = NetUtil.createInetAddressFromIpAddressString("2001:db8::100");
    Finding finding =
        CertificateCheck.judge(
            CA.issueServer(List.of("2001:0db8:0:0:0:0:0:0100")).certificate(),
            new VipNames(vip6, Map.of()),
            "who",
            "node1");
    assertThat(finding.severity()).isEqualTo(Severity.OK);
  }

  @Test
  void anExpiredServedCertificateFailsWithTheRefreshOnADrainedNode() {
    Instant now = Instant.now();
    server =
        StandInApiServer.start(
            "node3",
            ANY_PORT,
            CA.issueServer(
                List.of(DoctorLab.VIP),
                now.minus(Duration.ofDays(400)),
                now.minus(Duration.ofDays(35))),
            Optional.empty());
    Finding expiry =
        CertificateCheck.check(List.of(backend("node3", server)), JUST_THE_VIP, TIMEOUT, now)
            .get(1);
    assertThat(expiry.severity()).isEqualTo(Severity.FAIL);
    assertThat(expiry.message())
        .startsWith(
            "the certificate of node3's apiserver at 127.0.0.1:"
                + server.address().getPort()
                + " expired on ")
        .endsWith(
            ", so TLS peers reject it: on node3: sudo apivip drain --wait && sudo microk8s"
                + " refresh-certs --cert server.crt && sudo apivip resume");
  }

  @Test
  void anApiserverThatIsDownIsAWarningNamingTheNode() {
    serving("node3", List.of(DoctorLab.VIP));
    server.mode(Mode.REFUSE);
    List<Finding> findings =
        CertificateCheck.check(
            List.of(backend("node3", server)), JUST_THE_VIP, TIMEOUT, Instant.now());
    assertThat(findings)
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.WARN);
              assertThat(f.message())
                  .startsWith(
                      "cannot read the certificate of node3's apiserver at 127.0.0.1:"
                          + server.address().getPort())
                  .endsWith("is it running? (microk8s status on node3)");
            });
  }

  @Test
  void aHangingApiserverTimesOut() {
    serving("node3", List.of(DoctorLab.VIP));
    server.mode(Mode.HANG);
    assertThatThrownBy(() -> CertificateCheck.fetch(server.address(), Duration.ofMillis(300)))
        .isInstanceOf(IOException.class);
  }
}
