package io.apivip.daemon.doctor;

import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a MicroK8s node needs so that moving the VIP costs nothing: the no-cert-reissue lock, and
 * the VIP and DNS names in the template MicroK8s makes the API server's certificate from.
 *
 * <p>MicroK8s's apiservice-kicker (microk8s-resources/wrappers/apiservice-kicker @0401e064) does
 * not run at all on a node with {@code var/lock/clustered.lock} (a worker) or {@code
 * var/lock/low-memory-guard.lock}; elsewhere, every 5 s, when there is no {@code
 * var/lock/no-cert-reissue}, {@code grep -E "(--advertise-address|--bind-address)"
 * args/kube-apiserver} finds nothing (a missing file included, a comment counts) and {@code ip
 * route | grep default} finds a default route, it renders {@code csr.conf} again from {@code
 * hostname -I} and, when that changed, re-issues the server certificate and restarts kubelite (in
 * recent versions containerd and every pod too: canonical/microk8s#3575, #4317). Adding or removing
 * the VIP changes {@code hostname -I}: every VIP move would restart the API server of both nodes.
 * {@code microk8s join} creates the lock; {@code microk8s leave} removes it. The checks here read
 * files, and ask {@code ip route} as the kicker does.
 */
final class MicroK8sCheck {

  static final String CHECK = "microk8s";

  /** The snap's data directory on a node ($SNAP_DATA). */
  static final Path SNAP_DATA = Path.of("/var/snap/microk8s/current");

  /** The snap's own files on a node ($SNAP). */
  static final Path SNAP = Path.of("/snap/microk8s/current");

  private static final Pattern ENTRY = Pattern.compile("^\\s*(IP|DNS)\\.\\d+\\s*=\\s*(\\S+)\\s*$");

  /** Where a MicroK8s node keeps what the checks read, and how they ask it (ip, snap). */
  record Node(Path snapData, Path snap, ShortCommand.Runner commands) {
    static final Node THIS = new Node(SNAP_DATA, SNAP, ShortCommand.Runner.SYSTEM);

    boolean present() {
      return Files.isDirectory(snapData);
    }
  }

  private MicroK8sCheck() {}

  static List<Finding> check(Node node, VipNames names) {
    if (!node.present()) {
      return List.of(
          Finding.ok(
              CHECK, node.snapData() + " does not exist: not a MicroK8s node, nothing to check"));
    }
    List<Finding> findings = new ArrayList<>();
    findings.add(certificateReissue(node));
    findings.add(template(node.snapData(), names));
    return findings;
  }

  /** Would the apiservice-kicker re-issue the certificate when the VIP comes or goes? */
  static Finding certificateReissue(Node node) {
    Path locks = node.snapData().resolve("var/lock");
    for (String quiet : List.of("clustered.lock", "low-memory-guard.lock")) {
      if (Files.exists(locks.resolve(quiet))) {
        return Finding.ok(
            CHECK,
            locks.resolve(quiet)
                + " is there: MicroK8s's apiservice-kicker does not run on this node, so it"
                + " re-issues no certificate when the VIP comes or goes");
      }
    }
    Path lock = locks.resolve("no-cert-reissue");
    if (Files.exists(lock)) {
      return Finding.ok(
          CHECK,
          lock
              + " is there: MicroK8s does not re-issue the API server certificate when the VIP"
              + " comes or goes");
    }
    Path args = node.snapData().resolve("args/kube-apiserver");
    String text;
    try {
      text = Files.readString(args);
    } catch (NoSuchFileException e) {
      text = ""; // grep finds nothing in a missing file either
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
    if (text.contains("--advertise-address") || text.contains("--bind-address")) {
      return Finding.ok(
          CHECK,
          args
              + " names --bind-address or --advertise-address, so MicroK8s's apiservice-kicker"
              + " does not re-issue its certificate when the VIP comes or goes (although "
              + lock
              + " is missing)");
    }
    // The kicker's third condition: `ip route | grep default`. Without the answer, assume a route.
    Optional<ShortCommand.Result> routes = node.commands().run(List.of("ip", "route"));
    boolean noDefaultRoute =
        routes.isPresent()
            && routes.get().exitCode() == 0
            && !routes.get().output().contains("default");
    String message =
        lock
            + " is missing and "
            + args
            + " sets neither --bind-address nor --advertise-address: MicroK8s's apiservice-kicker"
            + " then re-issues the API server certificate and restarts kubelite (in recent versions"
            + " containerd and every pod too) whenever `hostname -I` changes, which every VIP move"
            + " does"
            + (noDefaultRoute ? " (it waits for a default route, which this node has not now)" : "")
            + "; run sudo touch "
            + lock
            + " (as microk8s join does; microk8s leave removes it) (docs/microk8s.md section 4)";
    return noDefaultRoute ? Finding.warn(CHECK, message) : Finding.fail(CHECK, message);
  }

  /** Does the template MicroK8s issues the next certificate from carry every name? */
  static Finding template(Path snapData, VipNames names) {
    Path template = snapData.resolve("certs/csr.conf.template");
    String text;
    try {
      text = Files.readString(template);
    } catch (IOException e) {
      return Finding.warn(
          CHECK, template + " cannot be read (" + e.getMessage() + "): run this check with sudo");
    }
    Set<InetAddress> ips = new HashSet<>();
    Set<String> dns = new TreeSet<>();
    for (String line : text.lines().toList()) {
      Matcher entry = ENTRY.matcher(line);
      if (!entry.matches()) {
        continue;
      }
      if (entry.group(1).equals("IP")) {
        InetAddress address = NetUtil.createInetAddressFromIpAddressString(entry.group(2));
        if (address != null) {
          ips.add(address);
        }
      } else {
        dns.add(entry.group(2).toLowerCase(Locale.ROOT));
      }
    }
    List<String> missing = new ArrayList<>();
    List<String> missingDns = new ArrayList<>();
    if (!ips.contains(names.vip())) {
      missing.add("the VIP " + names.vip().getHostAddress());
    }
    for (Map.Entry<String, String> name : names.dnsNames().entrySet()) {
      if (!dns.contains(name.getKey())) {
        missingDns.add(name.getKey());
        missing.add(name.getKey() + " (" + name.getValue() + ")");
      }
    }
    if (missing.isEmpty()) {
      return Finding.ok(
          CHECK, template + " names " + names.describe() + ", so a refreshed certificate keeps it");
    }
    return Finding.fail(
        CHECK,
        template
            + " does not name "
            + String.join(", ", missing)
            + ": the next certificate MicroK8s issues (refresh-certs, or a re-issue) leaves it out"
            + " and clients that connect by that name reject it; run "
            + MicroK8sFixes.setup(missingDns)
            + " (it adds the names above #MOREIPS), then "
            + MicroK8sFixes.REFRESH_SERVER_CERT
            + " (docs/microk8s.md section 4)");
  }
}
