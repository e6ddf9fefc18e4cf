package io.apivip.daemon.doctor;

import static io.apivip.daemon.doctor.DoctorLab.alive;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.admin.StatusReport.Apiserver;
import io.apivip.daemon.admin.StatusReport.Member;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The daemon's own view: apiservers' health, this node's eligibility, the VIP's holder. */
class ServingCheckTest {

  static Apiserver up(String node) {
    return new Apiserver(
        node, "192.0.2.1" + node.charAt(node.length() - 1) + ":16443", "up", "HTTP 200", true, 0);
  }

  static Apiserver down(String node, String reason) {
    return new Apiserver(
        node, "192.0.2.1" + node.charAt(node.length() - 1) + ":16443", "down", reason, false, 0);
  }

  /** node1's report with these apiservers, eligibility and VIP. */
  static StatusReport report(
      List<Apiserver> backends, boolean eligible, boolean maintenance, StatusReport.Vip vip) {
    StatusReport base = DoctorLab.status(alive("node2"), alive("node3"));
    List<Member> members = new ArrayList<>(base.members());
    Member self = members.get(0);
    members.set(
        0,
        new Member(
            self.id(),
            self.address(),
            self.priority(),
            self.state(),
            eligible,
            maintenance,
            vip.heldHere(),
            null,
            null,
            0,
            self.key()));
    return new StatusReport(
        base.node(),
        base.cluster(),
        base.version(),
        base.transport(),
        maintenance,
        vip,
        base.quorum(),
        members,
        backends,
        base.drain(),
        base.acceptedKeys());
  }

  static final StatusReport.Vip HELD_HERE =
      new StatusReport.Vip(DoctorLab.VIP, "eth0", "node1", true, true);

  @Test
  void aHealthyNodeHoldingTheVip() {
    List<Finding> findings =
        ServingCheck.fromStatus(
            report(List.of(up("node1"), up("node2"), up("node3")), true, false, HELD_HERE));
    assertThat(findings)
        .containsExactly(
            Finding.ok(
                "apiservers",
                "up as this node's health checks see them: node1 192.0.2.11:16443, node2"
                    + " 192.0.2.12:16443, node3 192.0.2.13:16443 (3 of 3)"),
            Finding.ok("vip", "this node is eligible to hold the VIP (its proxy can serve)"),
            Finding.info("vip", "this node holds the VIP 192.0.2.100 on eth0"));
  }

  @Test
  void aDownApiserverIsAWarningWithItsLikelyCause() {
    record Case(String reason, String cause) {}
    List<Case> cases =
        List.of(
            new Case("HTTP 401: Unauthorized", "refuses apivip's health credentials"),
            new Case(
                "SSLHandshakeException: PKIX path building failed: ...",
                "is not signed by health.ca-file"),
            new Case(
                "SSLHandshakeException: No subject alternative names matching IP address"
                    + " 192.0.2.13 found",
                "does not name the address apivip checks"),
            new Case(
                "ConnectException: Connection refused: /192.0.2.13:16443",
                "is MicroK8s running on node3 (microk8s status)?"),
            new Case("timeout after 2s in TLS handshake", "check it on node3"));
    for (Case c : cases) {
      List<Finding> findings =
          ServingCheck.apiservers(List.of(up("node1"), up("node2"), down("node3", c.reason())));
      assertThat(findings.get(0).severity()).isEqualTo(Severity.OK);
      assertThat(findings.get(1).severity()).as(c.reason()).isEqualTo(Severity.WARN);
      assertThat(findings.get(1).message())
          .startsWith(
              "the apiserver node3 192.0.2.13:16443 fails this node's health checks ("
                  + c.reason()
                  + "): ")
          .contains(c.cause());
    }
  }

  @Test
  void noHealthyApiserverFails() {
    List<Finding> findings =
        ServingCheck.apiservers(
            List.of(
                down("node1", "HTTP 401: Unauthorized"), down("node2", "HTTP 401: Unauthorized")));
    assertThat(findings)
        .extracting(Finding::severity)
        .containsExactly(Severity.FAIL, Severity.WARN, Severity.WARN);
    assertThat(findings.get(0).message())
        .startsWith("no apiserver passes this node's health checks");
  }

  @Test
  void anIneligibleNodeFailsUnlessItIsInMaintenance() {
    List<Apiserver> backends = List.of(down("node1", "refused"));
    StatusReport.Vip elsewhere = new StatusReport.Vip(DoctorLab.VIP, "eth0", "node2", false, false);
    assertThat(ServingCheck.eligibility(report(backends, false, false, elsewhere)))
        .satisfies(
            finding -> {
              assertThat(finding.severity()).isEqualTo(Severity.FAIL);
              assertThat(finding.message()).startsWith("this node is not eligible to hold the VIP");
            });
    assertThat(ServingCheck.eligibility(report(backends, false, true, elsewhere)).severity())
        .isEqualTo(Severity.INFO);
  }

  /** The holder line of node1's report, eligible, with this VIP state. */
  static Finding holderLine(String holder, boolean heldHere, boolean onInterface) {
    StatusReport.Vip vip =
        new StatusReport.Vip(DoctorLab.VIP, "eth0", holder, heldHere, onInterface);
    return ServingCheck.holder(report(List.of(up("node1")), true, false, vip));
  }

  @Test
  void whoHoldsTheVip() {
    assertThat(holderLine("node2", false, false))
        .isEqualTo(Finding.info("vip", "node2 holds the VIP 192.0.2.100"));
    assertThat(holderLine("node1", true, false).severity())
        .as("held but not on the interface")
        .isEqualTo(Severity.WARN);
    Finding none = holderLine(null, false, false);
    assertThat(none.severity()).isEqualTo(Severity.FAIL);
    assertThat(none.message()).startsWith("no node holds the VIP 192.0.2.100, so clients");
  }
}
