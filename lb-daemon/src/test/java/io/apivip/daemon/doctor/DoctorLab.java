package io.apivip.daemon.doctor;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.admin.StatusReport.Member;
import io.apivip.daemon.cli.GenKeyCommand;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.SettingsLoader;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A node for the doctor's tests: a three-node configuration (node1 is this node, VIP 192.0.2.100)
 * whose apiservers are on loopback ports, so no test packet leaves the machine, and status reports
 * as the daemon would answer them.
 */
public final class DoctorLab {

  public static final String VIP = "192.0.2.100";

  private DoctorLab() {}

  /**
   * Writes a key and a configuration into {@code dir}; {@code apiservers} are node1, node2,
   * node3's.
   */
  public static Path config(Path dir, List<InetSocketAddress> apiservers, String extra)
      throws IOException {
    Path key = dir.resolve("cluster.key");
    if (!Files.exists(key)) {
      GenKeyCommand.writeNewKey(key);
    }
    List<String> servers = new ArrayList<>();
    for (int i = 0; i < apiservers.size(); i++) {
      servers.add(
          "{ node = \"node"
              + (i + 1)
              + "\", address = \""
              + apiservers.get(i).getAddress().getHostAddress()
              + "\", port = "
              + apiservers.get(i).getPort()
              + " }");
    }
    Path config = dir.resolve("apivip.conf");
    Files.writeString(
        config,
        """
        node-id = "node1"
        cluster.nodes = [
          { id = "node1", address = "192.0.2.11" }
          { id = "node2", address = "192.0.2.12" }
          { id = "node3", address = "192.0.2.13" }
        ]
        cluster.key-file = "%s"
        vip.address = "%s/24"
        vip.interface = "lo"
        backends.servers = [ %s ]
        health.kind = tcp
        %s
        """
            .formatted(key, VIP, servers.stream().collect(Collectors.joining(", ")), extra));
    return config;
  }

  /** MicroK8s's csr.conf.template as the snap ships it, with {@code #MOREIPS} where names go. */
  public static final String TEMPLATE =
      """
      [ alt_names ]
      DNS.1 = kubernetes
      IP.1 = 127.0.0.1
      IP.2 = 10.152.183.1
      #MOREIPS
      """;

  /** MicroK8s's default args/kube-apiserver in part: no bind or advertise address. */
  public static final String DEFAULT_ARGS =
      "--cert-dir=${SNAP_DATA}/certs\n--secure-port=16443\n--authorization-mode=AlwaysAllow\n";

  /**
   * A joined MicroK8s node's $SNAP_DATA below {@code dir}: the lock, the default args, and the
   * template with the VIP added above #MOREIPS.
   */
  public static Path microk8sData(Path dir) throws IOException {
    Path data = dir.resolve("var/snap/microk8s/current");
    Files.createDirectories(data.resolve("var/lock"));
    Files.createDirectories(data.resolve("certs"));
    Files.createDirectories(data.resolve("args"));
    Files.writeString(data.resolve("args/kube-apiserver"), DEFAULT_ARGS);
    Files.writeString(
        data.resolve("certs/csr.conf.template"),
        TEMPLATE.replace("#MOREIPS", "IP.99 = " + VIP + "\n#MOREIPS"));
    Files.createFile(data.resolve("var/lock/no-cert-reissue"));
    return data;
  }

  public static Settings settings(Path config) throws Exception {
    return SettingsLoader.loadWithoutKeyFiles(config).settings();
  }

  public static Member peer(
      String id, String state, Double lastHeard, Double clockOffset, long rejected) {
    return new Member(
        id,
        "192.0.2.1" + id.charAt(id.length() - 1),
        100,
        state,
        true,
        false,
        false,
        lastHeard,
        clockOffset,
        rejected,
        null);
  }

  public static Member alive(String id) {
    return peer(id, "alive", 0.05, 0.002, 0);
  }

  /** node1's status with these peers; quorum as a majority of three would be counted. */
  public static StatusReport status(Member... peers) {
    List<Member> members = new ArrayList<>();
    members.add(
        new Member("node1", "192.0.2.11", 100, "self", true, false, true, null, null, 0, null));
    members.addAll(List.of(peers));
    int seen = 1 + (int) List.of(peers).stream().filter(p -> p.state().equals("alive")).count();
    return new StatusReport(
        "node1",
        "apivip",
        "test",
        "epoll",
        false,
        new StatusReport.Vip(VIP, "lo", "node1", true, true, null),
        new StatusReport.Quorum(2, seen, seen >= 2),
        members,
        List.of(),
        new StatusReport.Drain(false, false, ""),
        List.of());
  }

  /** The message of the only finding of {@code check} with {@code severity}. */
  public static List<String> lines(Diagnosis diagnosis, String check, Severity severity) {
    return diagnosis.findings().stream()
        .filter(f -> f.check().equals(check) && f.severity() == severity)
        .map(Finding::message)
        .toList();
  }
}
