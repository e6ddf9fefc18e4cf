package io.apivip.daemon.doctor;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.admin.StatusReport.Member;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Node;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Can this node reach its peers? With the daemon running, its membership view answers (a peer is
 * alive when its signed heartbeats arrive); without it, a TCP connect to each peer's apiserver at
 * least tells a host that is down or firewalled from one that is up.
 */
final class PeerCheck {

  static final String CHECK = "peers";
  static final String SELF = "self";
  static final String ALIVE = "alive";
  private static final String TROUBLESHOOTING = "docs/microk8s.md section 9";
  private static final String REFUSED = "connection refused";

  private PeerCheck() {}

  /**
   * From the daemon's status. Peers in {@code explained} are left out: their heartbeats arrive but
   * fail authentication, which {@link KeyCheck} reports.
   */
  static List<Finding> fromStatus(StatusReport status, int heartbeatPort, Set<String> explained) {
    List<Finding> findings = new ArrayList<>();
    List<Member> alive = new ArrayList<>();
    for (Member member : status.members()) {
      if (member.state().equals(SELF) || explained.contains(member.id())) {
        continue;
      }
      String who = member.id() + " (" + member.address() + ")";
      if (member.state().equals(ALIVE)) {
        alive.add(member);
      } else if (member.lastHeardSeconds() == null) {
        findings.add(
            Finding.fail(
                CHECK,
                who
                    + " has never been heard from: check that apivip runs there (systemctl status"
                    + " apivip) and that UDP "
                    + heartbeatPort
                    + " passes between the nodes both ways ("
                    + TROUBLESHOOTING
                    + ")"));
      } else if (member.maintenance()) {
        findings.add(
            Finding.warn(
                CHECK,
                who
                    + " is in maintenance and silent for "
                    + seconds(member.lastHeardSeconds())
                    + " (rebooting?): it rejoins when apivip starts there; do not take another node"
                    + " down meanwhile"));
      } else {
        findings.add(
            Finding.fail(
                CHECK,
                who
                    + " is silent for "
                    + seconds(member.lastHeardSeconds())
                    + ": is it up and is apivip running there (systemctl status apivip)? is UDP "
                    + heartbeatPort
                    + " blocked between the nodes ("
                    + TROUBLESHOOTING
                    + ")?"));
      }
    }
    StatusReport.Quorum quorum = status.quorum();
    String quorumText =
        quorum.seen()
            + (quorum.seen() == 1 ? " node" : " nodes")
            + " (itself included), "
            + quorum.required()
            + " needed for quorum";
    if (!quorum.present()) {
      findings.add(
          Finding.fail(
              CHECK,
              "this node sees "
                  + quorumText
                  + ": it will not hold the VIP until more peers are heard"));
    } else {
      findings.add(
          Finding.ok(
              CHECK,
              (alive.isEmpty() ? "" : KeyCheck.ids(alive) + " alive; ")
                  + "this node sees "
                  + quorumText));
    }
    if (status.maintenance()) {
      findings.add(
          Finding.warn(
              CHECK,
              "this node is in maintenance (apivip drain): it does not hold the VIP or get new"
                  + " connections; run apivip resume when done"));
    }
    return findings;
  }

  /** Without the daemon: a TCP connect to each peer's apiserver, {@code timeout} at most each. */
  static List<Finding> byTcp(Settings settings, Duration timeout) {
    List<Finding> findings = new ArrayList<>();
    for (Node node : settings.cluster().nodes()) {
      if (node.id().equals(settings.nodeId())) {
        continue;
      }
      Optional<Backend> backend =
          settings.backends().stream().filter(b -> b.nodeId().equals(node.id())).findFirst();
      String who = node.id() + " (" + node.address().getHostAddress() + ")";
      String heartbeat = "UDP " + settings.heartbeat().port();
      if (backend.isEmpty()) {
        findings.add(
            Finding.warn(
                CHECK,
                who
                    + " runs no configured apiserver to test by TCP; "
                    + heartbeat
                    + " is tested only while the daemon runs"));
        continue;
      }
      InetSocketAddress address = backend.get().address();
      String port = "TCP " + address.getPort();
      Optional<String> problem = connect(address, timeout);
      if (problem.isEmpty()) {
        findings.add(
            Finding.ok(
                CHECK,
                who
                    + " answers on "
                    + port
                    + " (its apiserver); "
                    + heartbeat
                    + " is tested only while the daemon runs"));
      } else if (problem.get().equals(REFUSED)) {
        findings.add(
            Finding.warn(
                CHECK,
                who
                    + " refuses "
                    + port
                    + ": the host is up but its apiserver is not listening"
                    + " (microk8s status on "
                    + node.id()
                    + ")"));
      } else {
        findings.add(
            Finding.fail(
                CHECK,
                who
                    + " does not answer on "
                    + port
                    + " ("
                    + problem.get()
                    + "): is it up? does a"
                    + " firewall drop traffic between the nodes? "
                    + heartbeat
                    + " must pass too ("
                    + TROUBLESHOOTING
                    + ")"));
      }
    }
    return findings;
  }

  /** Empty when a TCP connection opens within {@code timeout}, else why not. */
  static Optional<String> connect(InetSocketAddress address, Duration timeout) {
    try (Socket socket = new Socket()) {
      socket.connect(address, (int) timeout.toMillis());
      return Optional.empty();
    } catch (ConnectException e) {
      return Optional.of(
          e.getMessage() != null && e.getMessage().toLowerCase(Locale.ROOT).contains("refused")
              ? REFUSED
              : String.valueOf(e.getMessage()));
    } catch (SocketTimeoutException e) {
      return Optional.of("no answer within " + seconds(timeout.toMillis() / 1000.0));
    } catch (IOException e) {
      return Optional.of(e.getMessage());
    }
  }

  static String seconds(double value) {
    return String.format(Locale.ROOT, "%.1fs", value);
  }
}
