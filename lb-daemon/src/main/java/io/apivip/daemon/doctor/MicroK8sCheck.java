package io.apivip.daemon.doctor;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What a MicroK8s node needs so that moving the VIP costs nothing: the no-cert-reissue lock, and
 * the VIP in the template MicroK8s makes the API server's certificate from.
 *
 * <p>Without {@code var/lock/no-cert-reissue}, and without {@code --bind-address} or {@code
 * --advertise-address} in {@code args/kube-apiserver}, MicroK8s's apiservice-kicker
 * (microk8s-resources/wrappers/apiservice-kicker) re-renders {@code csr.conf} from {@code hostname
 * -I} every few seconds and, when it changed, re-issues the server certificate and restarts
 * kubelite (canonical/microk8s#3575, #4317). Adding or removing the VIP changes {@code hostname
 * -I}: every VIP move would restart the API server of both nodes. {@code microk8s join} creates the
 * lock; {@code microk8s leave} removes it. Nothing here runs anything; it reads files.
 */
final class MicroK8sCheck {

  static final String CHECK = "microk8s";

  /** The snap's data directory on a node ($SNAP_DATA). */
  static final Path SNAP_DATA = Path.of("/var/snap/microk8s/current");

  private static final Pattern FIXED_ADDRESS =
      Pattern.compile("(?m)^\\s*--(bind-address|advertise-address)[=\\s]");

  private MicroK8sCheck() {}

  static List<Finding> check(Path snapData, InetAddress vip) {
    if (!Files.isDirectory(snapData)) {
      return List.of(
          Finding.ok(CHECK, snapData + " does not exist: not a MicroK8s node, nothing to check"));
    }
    List<Finding> findings = new ArrayList<>();
    findings.add(lock(snapData));
    findings.add(template(snapData, vip));
    return findings;
  }

  private static Finding lock(Path snapData) {
    Path lock = snapData.resolve("var/lock/no-cert-reissue");
    if (Files.exists(lock)) {
      return Finding.ok(
          CHECK,
          lock
              + " is there: MicroK8s does not re-issue the API server certificate when the VIP"
              + " comes or goes");
    }
    Path args = snapData.resolve("args/kube-apiserver");
    String text;
    try {
      text = Files.readString(args);
    } catch (IOException e) {
      return Finding.warn(
          CHECK,
          lock
              + " is missing and "
              + args
              + " cannot be read ("
              + e.getMessage()
              + "), so this check cannot tell whether MicroK8s re-issues the API server certificate"
              + " on every VIP move: run it with sudo");
    }
    if (FIXED_ADDRESS.matcher(text).find()) {
      return Finding.ok(
          CHECK,
          args
              + " fixes the API server's address (--bind-address or --advertise-address), so"
              + " MicroK8s does not re-issue its certificate when the VIP comes or goes (although "
              + lock
              + " is missing)");
    }
    return Finding.fail(
        CHECK,
        lock
            + " is missing and "
            + args
            + " sets neither --bind-address nor --advertise-address: MicroK8s's apiservice-kicker"
            + " then re-issues the API server certificate and restarts kubelite (in recent versions"
            + " containerd and every pod too) whenever `hostname -I` changes, which every VIP move"
            + " does; run sudo touch "
            + lock
            + " (as microk8s join does; microk8s leave removes it) (docs/microk8s.md section 4)");
  }

  private static Finding template(Path snapData, InetAddress vip) {
    Path template = snapData.resolve("certs/csr.conf.template");
    String text;
    try {
      text = Files.readString(template);
    } catch (IOException e) {
      return Finding.warn(
          CHECK, template + " cannot be read (" + e.getMessage() + "): run this check with sudo");
    }
    Pattern vipLine =
        Pattern.compile(
            "(?m)^\\s*IP\\.\\d+\\s*=\\s*" + Pattern.quote(vip.getHostAddress()) + "\\s*$");
    if (vipLine.matcher(text).find()) {
      return Finding.ok(
          CHECK,
          template
              + " names the VIP "
              + vip.getHostAddress()
              + ", so a refreshed certificate keeps it");
    }
    return Finding.fail(
        CHECK,
        template
            + " does not name the VIP "
            + vip.getHostAddress()
            + ": the next certificate MicroK8s issues (refresh-certs, or a re-issue) leaves it out"
            + " and clients of the VIP reject it; add a line \"IP.99 = "
            + vip.getHostAddress()
            + "\" (any unused index) above #MOREIPS (docs/microk8s.md section 4)");
  }
}
