package io.apivip.daemon.doctor;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.admin.StatusReport.Apiserver;
import io.apivip.daemon.admin.StatusReport.Member;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the running daemon says about serving the VIP: every apiserver's health as this node's
 * checks see it (with the likely cause of a failure), whether this node may hold the VIP, and who
 * holds it. Read from {@code /status}, the same report {@code apivip status} prints.
 */
final class ServingCheck {

  static final String APISERVERS = "apiservers";
  static final String VIP = "vip";

  private ServingCheck() {}

  static List<Finding> fromStatus(StatusReport status) {
    List<Finding> findings = new ArrayList<>();
    findings.addAll(apiservers(status.backends()));
    findings.add(eligibility(status));
    findings.add(holder(status));
    return findings;
  }

  static List<Finding> apiservers(List<Apiserver> backends) {
    List<Finding> findings = new ArrayList<>();
    List<String> up = new ArrayList<>();
    for (Apiserver backend : backends) {
      String who = (backend.node().isEmpty() ? "" : backend.node() + " ") + backend.address();
      switch (backend.health()) {
        case "up" -> up.add(who);
        case "down" ->
            findings.add(
                Finding.warn(
                    APISERVERS,
                    "the apiserver "
                        + who
                        + " fails this node's health checks ("
                        + backend.reason()
                        + "): "
                        + cause(backend)));
        default ->
            findings.add(
                Finding.warn(
                    APISERVERS,
                    "the apiserver "
                        + who
                        + " has not been checked yet ("
                        + backend.reason()
                        + "): run apivip doctor again in a few seconds"));
      }
    }
    if (!backends.isEmpty() && up.isEmpty()) {
      findings.add(
          0,
          Finding.fail(
              APISERVERS,
              "no apiserver passes this node's health checks, so every connection through this"
                  + " node fails: see the lines below"));
    } else if (!up.isEmpty()) {
      findings.add(
          0,
          Finding.ok(
              APISERVERS,
              "up as this node's health checks see them: "
                  + String.join(", ", up)
                  + " ("
                  + up.size()
                  + " of "
                  + backends.size()
                  + ")"));
    }
    return findings;
  }

  /** The likely cause of a failing health check, from its reason, with what to do. */
  static String cause(Apiserver backend) {
    String reason = String.valueOf(backend.reason());
    String node = backend.node().isEmpty() ? "its node" : backend.node();
    if (reason.startsWith("HTTP 401") || reason.startsWith("HTTP 403")) {
      return "the apiserver refuses apivip's health credentials; health.client-cert-file and"
          + " health.client-key-file must be a client certificate of the cluster's CA, which "
          + MicroK8sFixes.SETUP
          + " issues";
    }
    if (reason.contains("PKIX") || reason.contains("certificate_unknown")) {
      return "its certificate is not signed by health.ca-file; health.ca-file must be the"
          + " cluster's CA, which "
          + MicroK8sFixes.SETUP
          + " copies";
    }
    if (reason.contains("subject alternative")) {
      return "its certificate does not name the address apivip checks; see the certificate lines"
          + " below";
    }
    if (reason.contains("Connection refused")) {
      return "nothing listens there: is MicroK8s running on " + node + " (microk8s status)?";
    }
    return "check it on "
        + node
        + " (microk8s status; journalctl -u snap.microk8s.daemon-kubelite) and the network between";
  }

  static Finding eligibility(StatusReport status) {
    Optional<Member> self =
        status.members().stream().filter(member -> member.id().equals(status.node())).findFirst();
    if (self.isEmpty()) {
      return Finding.warn(VIP, "the daemon's report does not list this node among the members");
    }
    if (self.get().eligible()) {
      return Finding.ok(VIP, "this node is eligible to hold the VIP (its proxy can serve)");
    }
    if (status.maintenance()) {
      return Finding.info(VIP, "this node does not offer to hold the VIP while in maintenance");
    }
    return Finding.fail(
        VIP,
        "this node is not eligible to hold the VIP: its proxy can route to no apiserver or its VIP"
            + " part failed (interface down, no permission to add the address); see the apiservers"
            + " lines and journalctl -u apivip -e");
  }

  static Finding holder(StatusReport status) {
    StatusReport.Vip vip = status.vip();
    if (vip.heldHere()) {
      return vip.onInterface()
          ? Finding.info(
              VIP, "this node holds the VIP " + vip.address() + " on " + vip.interfaceName())
          : Finding.warn(
              VIP,
              "this node holds the VIP "
                  + vip.address()
                  + " but it is not on "
                  + vip.interfaceName()
                  + " (yet?): ip addr show "
                  + vip.interfaceName()
                  + "; journalctl -u apivip -e");
    }
    if (vip.holder() != null) {
      return Finding.info(VIP, vip.holder() + " holds the VIP " + vip.address());
    }
    return Finding.fail(
        VIP,
        "no node holds the VIP "
            + vip.address()
            + ", so clients of the VIP reach no apiserver: see the peers, apiservers and vip lines"
            + " above, here and on the other nodes");
  }
}
