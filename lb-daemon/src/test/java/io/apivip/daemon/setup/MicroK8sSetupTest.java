package io.apivip.daemon.setup;

import static io.apivip.daemon.setup.FakeMicroK8sNode.NO_DAEMON;
import static io.apivip.daemon.setup.FakeMicroK8sNode.daemon;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.apivip.daemon.config.SettingsLoader;
import io.apivip.health.Pem;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code apivip setup microk8s} against a MicroK8s node in a temporary directory whose CA and
 * server certificate the real openssl made; the certificates setup issues are read back and checked
 * as the apiserver would check them.
 */
class MicroK8sSetupTest {

  @TempDir Path dir;
  FakeMicroK8sNode node;

  @BeforeEach
  void makeNode() throws IOException {
    node = new FakeMicroK8sNode(dir);
  }

  String applyPlan(MicroK8sSetup.Plan plan) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    plan.apply(new PrintStream(out, true, StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.UTF_8);
  }

  MicroK8sSetup.Plan plan() throws SetupException {
    return MicroK8sSetup.plan(node.request(), node.host(NO_DAEMON));
  }

  @Test
  void aStockNodeGetsEveryChangeSaidFirstThenMade() throws Exception {
    MicroK8sSetup.Plan plan = plan();

    assertThat(plan.changes()).hasSize(5);
    assertThat(plan.render())
        .contains("VIP 192.0.2.100")
        .contains(
            "change  copy the cluster CA's certificate "
                + node.certs.resolve("ca.crt")
                + " to "
                + node.etc.resolve("microk8s-ca.crt"))
        .contains(
            "change  issue the health check's client certificate " + node.etc.resolve("health.crt"))
        .contains("(CN=apivip-health, no group")
        .contains("change  set health.ca-file = " + node.etc.resolve("microk8s-ca.crt"))
        .contains("(now health.ca-file is /etc/apivip/microk8s-ca.crt")
        .contains("change  create " + node.snapData.resolve("var/lock/no-cert-reissue"))
        .contains("every VIP move changes it")
        .contains("change  add IP.99 = 192.0.2.100 above #MOREIPS");
    assertThat(plan.notes())
        .anySatisfy(
            note ->
                assertThat(note)
                    .contains("server.crt does not name 192.0.2.100 yet")
                    .contains("--refresh-server-cert"));

    String done = applyPlan(plan);

    assertThat(done.lines()).hasSize(5).allMatch(line -> line.startsWith("  done    "));
    assertThat(node.etc.resolve("microk8s-ca.crt"))
        .hasSameBinaryContentAs(node.certs.resolve("ca.crt"));
    assertThat(node.snapData.resolve("var/lock/no-cert-reissue")).exists();
    assertThat(Files.readString(node.certs.resolve("csr.conf.template")))
        .contains("IP.2 = 10.152.183.1\nIP.99 = 192.0.2.100\n#MOREIPS\n");
  }

  @Test
  void theHealthCertificateIsAClientOfTheClusterCaNamedForWhatItIsAndItsKeyIsTheDaemonsAlone()
      throws Exception {
    applyPlan(plan());

    X509Certificate ca = Pem.certificates(node.certs.resolve("ca.crt"))[0];
    X509Certificate health = Pem.certificates(node.etc.resolve("health.crt"))[0];
    health.verify(ca.getPublicKey());
    assertThat(health.getSubjectX500Principal().getName()).isEqualTo("CN=apivip-health");
    assertThat(health.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2"); // clientAuth
    assertThat(health.getBasicConstraints()).isEqualTo(-1);
    assertThat(health.getNotAfter().toInstant()).isAfter(Instant.now().plus(Duration.ofDays(3640)));
    assertThat(HealthIdentity.pairs(Pem.privateKey(node.etc.resolve("health.key")), health))
        .isTrue();

    String me = System.getProperty("user.name");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(node.etc.resolve("health.key"))))
        .isEqualTo("rw-------");
    assertThat(Files.getOwner(node.etc.resolve("health.key")).getName()).isEqualTo(me);
    for (String certificate : List.of("health.crt", "microk8s-ca.crt")) {
      assertThat(
              PosixFilePermissions.toString(
                  Files.getPosixFilePermissions(node.etc.resolve(certificate))))
          .as(certificate)
          .isEqualTo("rw-r--r--");
    }
    try (var leftovers = Files.list(node.etc)) {
      assertThat(leftovers.map(p -> p.getFileName().toString()))
          .as("no temporary file stays behind, and nothing is written beside MicroK8s's CA")
          .containsExactlyInAnyOrder("apivip.conf", "microk8s-ca.crt", "health.crt", "health.key");
    }
    assertThat(node.certs.resolve("ca.srl")).as("written by the fixture's own issue only").exists();
  }

  @Test
  void theConfigurationThenValidatesWithTheNewFilesAndKeepsEveryLineItHad() throws Exception {
    String before = Files.readString(node.config);
    applyPlan(plan());

    String after = Files.readString(node.config);
    assertThat(after).startsWith(before);
    Path key = dir.resolve("cluster.key");
    io.apivip.daemon.cli.GenKeyCommand.writeNewKey(key);
    Files.writeString(
        node.config, after + "cluster.key-file = \"" + key + "\"\n", StandardCharsets.UTF_8);
    var settings = SettingsLoader.load(node.config).settings().health();
    assertThat(settings.caFile()).contains(node.etc.resolve("microk8s-ca.crt"));
    assertThat(settings.clientCertFile()).contains(node.etc.resolve("health.crt"));
    assertThat(settings.clientKeyFile()).contains(node.etc.resolve("health.key"));
  }

  @Test
  void aSecondRunFindsNothingToChangeAndChangesNothing() throws Exception {
    applyPlan(plan());
    Map<String, String> before = node.snapshot();

    MicroK8sSetup.Plan again = plan();

    assertThat(again.changes()).isEmpty();
    assertThat(again.render())
        .contains(
            "ok      " + node.etc.resolve("microk8s-ca.crt") + " is the cluster CA's certificate")
        .contains("CN=apivip-health, valid until")
        .contains("names IP.99 = 192.0.2.100");
    assertThat(node.snapshot()).isEqualTo(before);
  }

  @Test
  void planningChangesNothing() throws Exception {
    Map<String, String> before = node.snapshot();

    assertThat(plan().changes()).isNotEmpty();

    assertThat(node.snapshot()).isEqualTo(before);
  }

  @Test
  void dnsNamesTakeTheIndicesAfterMicroK8ssOwnAndAServerCertificateIssuedFromTheTemplateHasThem()
      throws Exception {
    MicroK8sSetup.Request request =
        node.request("k8s-api.example.internal", "API.example.internal");
    applyPlan(MicroK8sSetup.plan(request, node.host(NO_DAEMON)));

    assertThat(Files.readString(node.certs.resolve("csr.conf.template")))
        .contains(
            "IP.99 = 192.0.2.100\nDNS.6 = k8s-api.example.internal\nDNS.7 = api.example.internal\n"
                + "#MOREIPS");
    // As MicroK8s issues it from the template: the node's address as IP.3, the VIP and names too.
    node.issueServerCertificate();
    assertThat(
            MicroK8sSetup.unnamedBy(
                node.certs.resolve("server.crt"),
                io.netty.util.NetUtil.createInetAddressFromIpAddressString("192.0.2.100"),
                List.of("k8s-api.example.internal", "api.example.internal")))
        .isEmpty();
    assertThat(Pem.certificates(node.certs.resolve("server.crt"))[0].getSubjectAlternativeNames())
        .contains(List.of(7, FakeMicroK8sNode.NODE_ADDRESS));
  }

  @Test
  void aCertificateThatExpiresWithin30DaysIsIssuedAgain() throws Exception {
    applyPlan(plan());
    Clock later = Clock.fixed(Instant.now().plus(Duration.ofDays(3640)), ZoneOffset.UTC);

    MicroK8sSetup.Plan plan = MicroK8sSetup.plan(node.request(), node.host(NO_DAEMON, later));

    assertThat(plan.changes()).hasSize(1);
    assertThat(plan.render()).contains("within 30 days");
  }

  @Test
  void aNewClusterCaMeansANewCopyAndANewCertificate() throws Exception {
    applyPlan(plan());
    byte[] oldCertificate = Files.readAllBytes(node.etc.resolve("health.crt"));
    Files.delete(node.certs.resolve("ca.key"));
    Files.delete(node.certs.resolve("ca.crt"));
    FakeMicroK8sNode.makeCa(node.certs);

    MicroK8sSetup.Plan plan = plan();

    assertThat(plan.render())
        .contains("(the copy there is of another CA)")
        .contains("is not signed by the cluster CA");
    applyPlan(plan);
    X509Certificate ca = Pem.certificates(node.certs.resolve("ca.crt"))[0];
    Pem.certificates(node.etc.resolve("health.crt"))[0].verify(ca.getPublicKey());
    assertThat(Files.readAllBytes(node.etc.resolve("health.crt"))).isNotEqualTo(oldCertificate);
  }

  @Test
  void aKeyOthersMayReadIsGivenBackItsMode() throws Exception {
    applyPlan(plan());
    Path key = node.etc.resolve("health.key");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    byte[] keyBytes = Files.readAllBytes(key);

    MicroK8sSetup.Plan plan = plan();

    assertThat(plan.changes()).hasSize(1);
    assertThat(plan.render())
        .contains("give " + key + " mode and owner 0600")
        .contains("(it is 0644");
    applyPlan(plan);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
        .isEqualTo("rw-------");
    assertThat(key).hasBinaryContent(keyBytes);
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsIssuedAgain() throws Exception {
    applyPlan(plan());
    Files.delete(node.etc.resolve("health.key"));
    FakeMicroK8sNode.openssl("genrsa", "-out", node.etc.resolve("health.key").toString(), "2048");

    assertThat(plan().render()).contains("is not the key of");
  }

  @Test
  void aConfigurationUnderAnApivipRootGetsItsSettingsThere() throws Exception {
    Files.writeString(
        node.config,
        "apivip {\n"
            + "  vip.address = \"192.0.2.100/24\"\n"
            + "  health.ca-file = \"/elsewhere/ca.crt\"\n"
            + "}\n");
    applyPlan(plan());

    assertThat(Files.readString(node.config))
        .contains("apivip.health.ca-file = \"" + node.etc.resolve("microk8s-ca.crt") + "\"");
    assertThat(plan().changes()).isEmpty();
  }

  @Test
  void theVipComesFromTheCommandLineOverTheConfiguration() throws Exception {
    MicroK8sSetup.Request request =
        new MicroK8sSetup.Request(
            node.snapData, node.config, Optional.of("2001:db8::100"), List.of(), false);

    assertThat(MicroK8sSetup.plan(request, node.host(NO_DAEMON)).render())
        .contains("VIP 2001:db8::100")
        .contains("add IP.99 = 2001:db8::100 above #MOREIPS");
  }

  // ---- refresh of the server certificate -------------------------------------------------

  MicroK8sSetup.Request refresh() {
    return new MicroK8sSetup.Request(node.snapData, node.config, Optional.empty(), List.of(), true);
  }

  @Test
  void onADrainedNodeTheRefreshRunsMicroK8sAfterTheTemplateAndThenSaysToResume() throws Exception {
    MicroK8sSetup.Plan plan = MicroK8sSetup.plan(refresh(), node.host(daemon(true, true, false)));

    assertThat(plan.render())
        .contains("change  run microk8s refresh-certs --cert server.crt")
        .contains("it lacks 192.0.2.100")
        .contains("node node1 is drained");
    assertThat(plan.notes()).anySatisfy(note -> assertThat(note).contains("sudo apivip resume"));
    applyPlan(plan);

    assertThat(node.microk8sCalls)
        .containsExactly(List.of("microk8s", "refresh-certs", "--cert", "server.crt"));
    assertThat(
            MicroK8sSetup.unnamedBy(
                node.certs.resolve("server.crt"),
                io.netty.util.NetUtil.createInetAddressFromIpAddressString("192.0.2.100"),
                List.of()))
        .as("the certificate MicroK8s issued from the edited template")
        .isEmpty();
    MicroK8sSetup.Plan again = MicroK8sSetup.plan(refresh(), node.host(daemon(true, true, false)));
    assertThat(again.changes()).isEmpty();
    assertThat(again.render())
        .contains("names the VIP and the DNS names already: no refresh needed");
  }

  @Test
  void aRefreshIsRefusedOnANodeThatIsNotDrainedAndNothingChanges() throws Exception {
    Map<String, String> before = node.snapshot();

    assertThatThrownBy(() -> MicroK8sSetup.plan(refresh(), node.host(daemon(false, false, true))))
        .isInstanceOf(SetupException.class)
        .hasMessageContaining("node node1 is not drained and holds the VIP")
        .hasMessageContaining("sudo apivip drain --wait");
    assertThatThrownBy(() -> MicroK8sSetup.plan(refresh(), node.host(daemon(true, false, false))))
        .hasMessageContaining(
            "the drain of node node1 has not finished (node2 has not acknowledged)");
    assertThatThrownBy(() -> MicroK8sSetup.plan(refresh(), node.host(NO_DAEMON)))
        .hasMessageContaining("cannot say whether it is drained (cannot reach the apivip daemon")
        .hasMessageContaining("sudo microk8s refresh-certs --cert server.crt");

    assertThat(node.snapshot()).isEqualTo(before);
    assertThat(node.microk8sCalls).isEmpty();
  }

  // ---- refusals: a clear reason, and nothing changed --------------------------------------

  void assertRefused(MicroK8sSetup.Request request, MicroK8sSetup.Host host, String reason)
      throws IOException {
    Map<String, String> before = node.snapshot();
    assertThatThrownBy(() -> MicroK8sSetup.plan(request, host))
        .isInstanceOf(SetupException.class)
        .hasMessageContaining(reason);
    assertThat(node.snapshot()).isEqualTo(before);
  }

  MicroK8sSetup.Request withVip(String vip) {
    return new MicroK8sSetup.Request(
        node.snapData, node.config, Optional.of(vip), List.of(), false);
  }

  @Test
  void notRoot() throws IOException {
    MicroK8sSetup.Host host = node.host(NO_DAEMON);
    assertRefused(
        node.request(),
        new MicroK8sSetup.Host(
            false,
            host.serviceUser(),
            host.adminUser(),
            host.commands(),
            NO_DAEMON,
            host.clock(),
            host.microk8s()),
        "run it as root (sudo apivip setup microk8s)");
  }

  @Test
  void noMicroK8s() throws IOException {
    assertRefused(
        new MicroK8sSetup.Request(
            dir.resolve("nowhere"), node.config, Optional.empty(), List.of(), false),
        node.host(NO_DAEMON),
        "no MicroK8s on this node: " + dir.resolve("nowhere") + " does not exist");
  }

  @Test
  void noCaKey() throws IOException {
    Files.delete(node.certs.resolve("ca.key"));
    assertRefused(
        node.request(),
        node.host(NO_DAEMON),
        "no CA key: cannot read " + node.certs.resolve("ca.key"));
  }

  @Test
  void aTemplateWithoutMoreIps() throws IOException {
    Path template = node.certs.resolve("csr.conf.template");
    Files.writeString(template, Files.readString(template).replace("#MOREIPS\n", ""));
    assertRefused(node.request(), node.host(NO_DAEMON), "has no #MOREIPS line");
  }

  @Test
  void badVips() throws IOException {
    assertRefused(
        withVip("k8s-api.example.internal"),
        node.host(NO_DAEMON),
        "--vip k8s-api.example.internal: not an IPv4 or IPv6 address");
    assertRefused(withVip("192.0.2.300"), node.host(NO_DAEMON), "not an IPv4 or IPv6 address");
    assertRefused(withVip("127.0.0.1"), node.host(NO_DAEMON), "not an address clients can reach");
    assertRefused(withVip("::"), node.host(NO_DAEMON), "not an address clients can reach");
    Files.writeString(node.config, "node-id = \"node1\"\n");
    assertRefused(
        node.request(), node.host(NO_DAEMON), "no VIP: set vip.address in " + node.config);
    Files.writeString(node.config, "vip.address = \"api.example/24\"\n");
    assertRefused(
        node.request(),
        node.host(NO_DAEMON),
        "vip.address in " + node.config + " api.example: not an IPv4");
  }

  @Test
  void badDnsNames() throws IOException {
    assertRefused(
        node.request("not a name"), node.host(NO_DAEMON), "--dns not a name: not a DNS name");
    assertRefused(node.request("-x.example"), node.host(NO_DAEMON), "not a DNS name");
    assertRefused(node.request("192.0.2.100"), node.host(NO_DAEMON), "not a DNS name");
  }

  @Test
  void noConfiguration() throws IOException {
    Files.delete(node.config);
    assertRefused(node.request(), node.host(NO_DAEMON), "no configuration file " + node.config);
  }

  @Test
  void noDaemonUser() throws IOException {
    MicroK8sSetup.Host host = node.host(NO_DAEMON);
    assertRefused(
        node.request(),
        new MicroK8sSetup.Host(
            true,
            "apivip-no-such-user",
            host.adminUser(),
            host.commands(),
            NO_DAEMON,
            host.clock(),
            host.microk8s()),
        "no user apivip-no-such-user, which the daemon runs as");
  }

  @Test
  void noOpenssl() throws IOException {
    MicroK8sSetup.Host host = node.host(NO_DAEMON);
    Commands noOpenssl =
        (command, stdin, timeout) -> {
          throw new IOException(
              "Cannot run program \"openssl\": error=2, No such file or directory");
        };
    assertRefused(
        node.request(),
        new MicroK8sSetup.Host(
            true,
            host.serviceUser(),
            host.adminUser(),
            noOpenssl,
            NO_DAEMON,
            host.clock(),
            host.microk8s()),
        "the openssl command, which issues the health certificate, does not run");
  }

  /**
   * Root may hand the key to another user: as root, with the user nobody standing in for apivip.
   */
  @Test
  void asRootTheKeyBelongsToTheDaemonsUserAndTheCertificatesToRoot() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        "root".equals(System.getProperty("user.name")), "needs root to give files away");
    MicroK8sSetup.Host host = node.host(NO_DAEMON);
    applyPlan(
        MicroK8sSetup.plan(
            node.request(),
            new MicroK8sSetup.Host(
                true,
                "nobody",
                "root",
                host.commands(),
                NO_DAEMON,
                host.clock(),
                host.microk8s())));

    assertThat(Files.getOwner(node.etc.resolve("health.key")).getName()).isEqualTo("nobody");
    assertThat(Files.getOwner(node.etc.resolve("health.crt")).getName()).isEqualTo("root");
  }

  static UnaryOperator<String> unused = s -> s;
}
