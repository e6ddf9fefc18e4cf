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
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CertificateCheckTest {

  static final Pki CA = Pki.newCa("microk8s-ca");
  static final InetAddress VIP = NetUtil.createInetAddressFromIpAddressString(DoctorLab.VIP);
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

  @Test
  void aCertificateWithoutTheVipFailsWithTheMicroK8sFix() {
    server =
        StandInApiServer.start(
            "node2",
            ANY_PORT,
            CA.issueServer(List.of("kubernetes", "127.0.0.1", "192.0.2.12")),
            Optional.empty());
    List<Finding> findings =
        CertificateCheck.check(List.of(backend("node2", server)), VIP, TIMEOUT);
    assertThat(findings)
        .containsExactly(
            Finding.fail(
                "certificate",
                "node2's apiserver at 127.0.0.1:"
                    + server.address().getPort()
                    + " presents a certificate without the VIP 192.0.2.100 (its IP names:"
                    + " 127.0.0.1, 192.0.2.12), so clients of the VIP reject it: on node2 add the"
                    + " line \"IP.99 = 192.0.2.100\" (any unused index) above #MOREIPS in"
                    + " /var/snap/microk8s/current/certs/csr.conf.template, then run sudo microk8s"
                    + " refresh-certs --cert server.crt (docs/microk8s.md section 4)"));
  }

  @Test
  void aCertificateThatNamesTheVipPasses() {
    server =
        StandInApiServer.start(
            "node1",
            ANY_PORT,
            CA.issueServer(List.of("127.0.0.1", DoctorLab.VIP)),
            Optional.empty());
    assertThat(CertificateCheck.check(List.of(backend("node1", server)), VIP, TIMEOUT))
        .containsExactly(
            Finding.ok(
                "certificate",
                "node1's apiserver at 127.0.0.1:"
                    + server.address().getPort()
                    + " presents a certificate that names the VIP 192.0.2.100"));
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
            vip6,
            "who",
            "node1");
    assertThat(finding.severity()).isEqualTo(Severity.OK);
  }

  @Test
  void anExpiredCertificateFailsWithRefreshCerts() {
    Instant now = Instant.now();
    Pki.Issued expired =
        CA.issueServer(
            List.of(DoctorLab.VIP),
            now.minus(Duration.ofDays(400)),
            now.minus(Duration.ofDays(35)));
    Finding finding =
        CertificateCheck.judge(
            expired.certificate(), VIP, "node3's apiserver at 192.0.2.13:16443", "node3");
    assertThat(finding.severity()).isEqualTo(Severity.FAIL);
    assertThat(finding.message())
        .startsWith("node3's apiserver at 192.0.2.13:16443 presents a certificate valid only from ")
        .endsWith(
            ": on node3 run sudo microk8s refresh-certs --cert server.crt (and check its clock)");
  }

  @Test
  void anApiserverThatIsDownIsAWarningNamingTheNode() {
    server =
        StandInApiServer.start(
            "node3", ANY_PORT, CA.issueServer(List.of(DoctorLab.VIP)), Optional.empty());
    server.mode(Mode.REFUSE);
    List<Finding> findings =
        CertificateCheck.check(List.of(backend("node3", server)), VIP, TIMEOUT);
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
    server =
        StandInApiServer.start(
            "node3", ANY_PORT, CA.issueServer(List.of(DoctorLab.VIP)), Optional.empty());
    server.mode(Mode.HANG);
    assertThatThrownBy(() -> CertificateCheck.fetch(server.address(), Duration.ofMillis(300)))
        .isInstanceOf(IOException.class);
  }
}
