package io.apivip.daemon.setup;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.StatusReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A MicroK8s node in a temporary directory, made with the real openssl as MicroK8s makes it: a CA
 * ({@code produce_certs}: 2048-bit RSA, CN=10.152.183.1), MicroK8s's {@code csr.conf.template} byte
 * for byte (from the lab's fixture), a server certificate issued from it with the node's address as
 * IP.3, {@code var/lock/}, and apivip's shipped example configuration in {@code etc/}.
 */
public final class FakeMicroK8sNode {

  static final Path TEMPLATE =
      Path.of("../lab/microk8s/snap/certs/csr.conf.template").toAbsolutePath().normalize();
  static final Path EXAMPLE_CONFIG = Path.of("../config/apivip.conf").toAbsolutePath().normalize();
  static final String NODE_ADDRESS = "192.0.2.11";

  final Path root;
  public final Path snapData;
  final Path certs;
  final Path etc;
  public final Path config;
  final List<List<String>> microk8sCalls = new ArrayList<>();

  public FakeMicroK8sNode(Path root) throws IOException {
    this.root = root;
    this.snapData = root.resolve("var/snap/microk8s/current");
    this.certs = snapData.resolve("certs");
    this.etc = root.resolve("etc/apivip");
    this.config = etc.resolve("apivip.conf");
    Files.createDirectories(certs);
    Files.createDirectories(snapData.resolve("var/lock"));
    Files.createDirectories(etc);
    makeCa(certs);
    Files.copy(TEMPLATE, certs.resolve("csr.conf.template"));
    issueServerCertificate();
    Files.copy(EXAMPLE_CONFIG, config);
  }

  /** A new CA in {@code dir}, as MicroK8s's produce_certs makes the cluster's. */
  static void makeCa(Path dir) throws IOException {
    openssl("genrsa", "-out", dir.resolve("ca.key").toString(), "2048");
    openssl(
        "req",
        "-x509",
        "-new",
        "-sha256",
        "-nodes",
        "-days",
        "3650",
        "-key",
        dir.resolve("ca.key").toString(),
        "-subj",
        "/CN=10.152.183.1",
        "-out",
        dir.resolve("ca.crt").toString());
  }

  /**
   * certs/server.crt as MicroK8s issues it (gen_server_cert) from the template rendered with this
   * node's address as IP.3 in place of #MOREIPS, as render_csr_conf does.
   */
  void issueServerCertificate() throws IOException {
    String rendered =
        Files.readString(certs.resolve("csr.conf.template"))
            .replace("#MOREIPS", "IP.3 = " + NODE_ADDRESS);
    Path csrConf = certs.resolve("csr.conf");
    Files.writeString(csrConf, rendered);
    Path key = certs.resolve("server.key");
    if (!Files.exists(key)) {
      openssl("genrsa", "-out", key.toString(), "2048");
    }
    openssl(
        "req",
        "-new",
        "-sha256",
        "-key",
        key.toString(),
        "-out",
        certs.resolve("server.csr").toString(),
        "-config",
        csrConf.toString());
    openssl(
        "x509",
        "-req",
        "-sha256",
        "-in",
        certs.resolve("server.csr").toString(),
        "-CA",
        certs.resolve("ca.crt").toString(),
        "-CAkey",
        certs.resolve("ca.key").toString(),
        "-CAcreateserial",
        "-out",
        certs.resolve("server.crt").toString(),
        "-days",
        "365",
        "-extensions",
        "v3_ext",
        "-extfile",
        csrConf.toString());
  }

  static void openssl(String... arguments) throws IOException {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(arguments));
    Commands.Result result = Commands.SYSTEM.run(command, new byte[0], Duration.ofSeconds(60));
    assertThat(result.exitCode()).as(String.join(" ", command) + ": " + result.stderr()).isZero();
  }

  /**
   * This process as root, the owners being this process's user, the real openssl, a {@code
   * microk8s} that issues the server certificate again from the template as refresh-certs does, and
   * the daemon's answer.
   */
  MicroK8sSetup.Host host(MicroK8sSetup.DaemonStatus daemon, Clock clock) {
    String me = System.getProperty("user.name");
    Commands commands =
        (command, stdin, timeout) -> {
          if (command.get(0).equals("microk8s")) {
            microk8sCalls.add(command);
            // refresh_certs.py since PR #3740: refresh_csr_conf, then gen_server_cert.
            issueServerCertificate();
            return new Commands.Result(0, new byte[0], "");
          }
          return Commands.SYSTEM.run(command, stdin, timeout);
        };
    return new MicroK8sSetup.Host(true, me, me, commands, daemon, clock, List.of("microk8s"));
  }

  /** As {@link #host(MicroK8sSetup.DaemonStatus, Clock)}, with no daemon running. */
  public MicroK8sSetup.Host host() {
    return host(NO_DAEMON, Clock.systemUTC());
  }

  MicroK8sSetup.Host host(MicroK8sSetup.DaemonStatus daemon) {
    return host(daemon, Clock.systemUTC());
  }

  static final MicroK8sSetup.DaemonStatus NO_DAEMON =
      () -> {
        throw new IOException("cannot reach the apivip daemon at http://127.0.0.1:6490");
      };

  static MicroK8sSetup.DaemonStatus daemon(boolean maintenance, boolean complete, boolean holds) {
    StatusReport status =
        new StatusReport(
            "node1",
            "apivip",
            "test",
            "nio",
            maintenance,
            new StatusReport.Vip(
                "192.0.2.100", "eth0", holds ? "node1" : "node2", holds, holds, null),
            new StatusReport.Quorum(2, 3, true),
            List.of(),
            List.of(),
            new StatusReport.Drain(
                maintenance, complete, complete ? "drained" : "node2 has not acknowledged"),
            List.of());
    return () -> status;
  }

  MicroK8sSetup.Request request(String... dnsNames) {
    return new MicroK8sSetup.Request(
        snapData, config, java.util.Optional.empty(), List.of(dnsNames), false);
  }

  /** Every file below the root with its bytes, mode, owner and modification time. */
  public Map<String, String> snapshot() throws IOException {
    Map<String, String> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path path : walk.toList()) {
        String state =
            PosixFilePermissions.toString(Files.getPosixFilePermissions(path))
                + " "
                + Files.getOwner(path).getName()
                + " "
                + Files.getLastModifiedTime(path).toMillis()
                + (Files.isRegularFile(path)
                    ? " " + new String(Files.readAllBytes(path), StandardCharsets.ISO_8859_1)
                    : "");
        files.put(root.relativize(path).toString(), state);
      }
    }
    return files;
  }
}
