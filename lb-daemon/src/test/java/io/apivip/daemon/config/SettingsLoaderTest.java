package io.apivip.daemon.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.apivip.daemon.cli.GenKeyCommand;
import io.apivip.daemon.config.Settings.CheckKind;
import io.apivip.daemon.config.Settings.Policy;
import io.apivip.daemon.transport.Transports;
import io.apivip.lab.Pki;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SettingsLoaderTest {

  @TempDir static Path dir;
  static Path key;
  static Path ca;
  static Path clientCert;
  static Path clientKey;
  static Path token;

  @BeforeAll
  static void files() throws IOException {
    key = dir.resolve("cluster.key");
    GenKeyCommand.writeNewKey(key);
    Pki pki = Pki.newCa("test-ca");
    ca = dir.resolve("ca.crt");
    pki.writeCa(ca);
    clientCert = dir.resolve("client.crt");
    clientKey = dir.resolve("client.key");
    pki.issueClient("apivip").write(clientCert, clientKey);
    token = dir.resolve("token");
    Files.writeString(token, "secret-token\n");
  }

  /** A valid three-node configuration; each case appends lines that override it. */
  static String base() {
    return """
    node-id = "n1"
    cluster.nodes = [
      { id = "n1", address = "192.0.2.11", priority = 150 }
      { id = "n2", address = "192.0.2.12" }
      { id = "n3", address = "192.0.2.13" }
    ]
    cluster.key-file = "%s"
    vip.address = "192.0.2.100/24"
    vip.interface = "lo"
    health.ca-file = "%s"
    health.client-cert-file = "%s"
    health.client-key-file = "%s"
    """
        .formatted(key, ca, clientCert, clientKey);
  }

  static Settings load(String overrides) throws InvalidConfigException {
    return SettingsLoader.load(ConfigFactory.parseString(base() + "\n" + overrides)).settings();
  }

  static List<String> problems(String overrides) {
    try {
      load(overrides);
    } catch (InvalidConfigException e) {
      return e.problems().stream().map(ConfigProblem::toString).toList();
    }
    return List.of();
  }

  @Test
  void readsDefaultsAndDerivedValues() throws Exception {
    Settings settings = load("");
    assertThat(settings.nodeId()).isEqualTo("n1");
    assertThat(settings.transport()).isEmpty();
    assertThat(settings.self().priority()).isEqualTo(150);
    assertThat(settings.cluster().nodes()).hasSize(3);
    assertThat(settings.cluster().nodes().get(1).priority()).isEqualTo(100);
    assertThat(settings.cluster().quorum()).isEqualTo(2);
    assertThat(settings.cluster().preempt()).isFalse();
    assertThat(settings.heartbeat().interval()).isEqualTo(Duration.ofMillis(100));
    assertThat(settings.heartbeat().failureTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(settings.heartbeat().replayWindow()).isEqualTo(Duration.ofSeconds(10));
    assertThat(settings.vip().address()).isEqualTo(InetAddress.getByName("192.0.2.100"));
    assertThat(settings.vip().prefixLength()).isEqualTo(24);
    assertThat(settings.proxy().listeners())
        .extracting(
            l ->
                l.address().getAddress().getHostAddress()
                    + ":"
                    + l.address().getPort()
                    + " "
                    + l.onVip()
                    + " "
                    + l.policy())
        .containsExactly(
            "192.0.2.100:6443 true LEAST_CONNECTIONS", "127.0.0.1:6443 false LOCAL_FIRST");
    assertThat(settings.backends())
        .extracting(
            b ->
                b.nodeId()
                    + "@"
                    + b.address().getAddress().getHostAddress()
                    + ":"
                    + b.address().getPort())
        .containsExactly("n1@192.0.2.11:16443", "n2@192.0.2.12:16443", "n3@192.0.2.13:16443");
    assertThat(settings.health().kind()).isEqualTo(CheckKind.HTTPS);
    assertThat(settings.health().path()).isEqualTo("/readyz");
    assertThat(settings.health().statuses()).containsExactly(200);
    assertThat(settings.health().clientCertFile()).contains(clientCert);
    assertThat(settings.health().rise()).isEqualTo(2);
    assertThat(settings.health().fall()).isEqualTo(2);
    assertThat(settings.admin().listen()).isEqualTo(new InetSocketAddress("127.0.0.1", 6490));
    assertThat(settings.admin().metricsListen()).isEmpty();
    assertThat(settings.admin().socket()).contains(java.nio.file.Path.of("/run/apivip/admin.sock"));
    assertThat(settings.admin().operatorsGroup()).isEqualTo("apivip-admin");
    assertThat(settings.proxy().limits())
        .isEqualTo(
            new Settings.Limits(
                1000,
                1000,
                java.time.Duration.ofSeconds(10),
                java.time.Duration.ofMinutes(5),
                java.time.Duration.ofSeconds(60),
                java.time.Duration.ofSeconds(15),
                4,
                256 << 10,
                64L << 20));
    assertThat(settings.proxy().idleTimeout()).isZero();
  }

  @Test
  void acceptsFileWrappedInApivipBlock() throws Exception {
    Settings settings =
        SettingsLoader.load(ConfigFactory.parseString("apivip { " + base() + " }")).settings();
    assertThat(settings.nodeId()).isEqualTo("n1");
  }

  @Test
  void readsExplicitValues() throws Exception {
    Settings settings =
        load(
            """
            vip.address = "2001:db8::100"
            cluster.quorum = 3
            cluster.accept-key-files = [ "%s" ]
            proxy.listeners = [ { address = "vip", policy = round-robin, port = 7443 } ]
            backends.servers = [
              { node = "n2", address = "192.0.2.12", port = 6444 }, { address = "192.0.2.50" }
            ]
            health.client-cert-file = "%s"
            health.client-key-file = "%s"
            health.bearer-token-file = "%s"
            admin.metrics-listen = "[::]:6491"
            """
                .formatted(otherKey(), clientCert, clientKey, token));
    assertThat(settings.vip().prefixLength()).isEqualTo(128);
    assertThat(settings.cluster().quorum()).isEqualTo(3);
    assertThat(settings.cluster().acceptKeyFiles()).containsExactly(otherKey());
    assertThat(settings.proxy().listeners())
        .singleElement()
        .satisfies(
            l -> {
              assertThat(l.policy()).isEqualTo(Policy.ROUND_ROBIN);
              assertThat(l.address().getPort()).isEqualTo(7443);
            });
    assertThat(settings.backends()).extracting(Settings.Backend::nodeId).containsExactly("n2", "");
    assertThat(settings.admin().metricsListen()).contains(new InetSocketAddress("::", 6491));
  }

  static Path otherKey() {
    Path other = dir.resolve("cluster-other.key");
    try {
      if (!Files.exists(other)) {
        GenKeyCommand.writeNewKey(other);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return other;
  }

  /**
   * A configuration written for a release before key ids still loads after the package upgrade (a
   * refusal would stop the node), as one more accepted key, and says what to write instead.
   */
  @Test
  void previousKeyFileIsReadAsAnAcceptedKeyWithAWarning() throws Exception {
    SettingsLoader.Loaded loaded =
        SettingsLoader.load(
            ConfigFactory.parseString(
                base()
                    + "cluster.accept-key-files = [\"%s\"]\ncluster.previous-key-file = \"%s\"\n"
                        .formatted(otherKey(), dir.resolve("cluster.key"))));
    assertThat(loaded.settings().cluster().acceptKeyFiles())
        .as("the signing key is accepted anyway, and listed once")
        .containsExactly(otherKey());
    SettingsLoader.Loaded previous =
        SettingsLoader.load(
            ConfigFactory.parseString(
                base() + "cluster.previous-key-file = \"%s\"\n".formatted(otherKey())));
    assertThat(previous.settings().cluster().acceptKeyFiles()).containsExactly(otherKey());
    assertThat(previous.warnings())
        .anySatisfy(
            warning ->
                assertThat(warning)
                    .startsWith("cluster.previous-key-file is deprecated")
                    .contains("cluster.accept-key-files = [\"" + otherKey() + "\"]"));
    assertThat(loaded.settings().cluster().keyFile()).isEqualTo(key);
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of(
            "heartbeat.failure-timout = 1s",
            "heartbeat.failure-timout = 1s: unknown key; did you mean heartbeat.failure-timeout?"),
        Arguments.of(
            "cluster.nodes = [ { id = n1, address = \"192.0.2.11\", priorty = 5 } ]",
            "cluster.nodes[0].priorty = 5: unknown key; expected one of"),
        Arguments.of("node-id = \"\"", "node-id = : is required and must not be empty"),
        Arguments.of(
            "cluster.accept-key-files = [\"/nonexistent/new.key\"]",
            "cluster.accept-key-files = /nonexistent/new.key: no such file; create it with: apivip"
                + " gen-key --out /nonexistent/new.key"),
        Arguments.of(
            "cluster.accept-key-files = \"/etc/apivip/new.key\"",
            "cluster.accept-key-files = /etc/apivip/new.key: must be a list of strings"),
        Arguments.of(
            "cluster.previous-key-file = \"/nonexistent/old.key\"",
            "cluster.accept-key-files = /nonexistent/old.key: no such file"),
        Arguments.of(
            "node-id = n9", "node-id = n9: must be the id of one of cluster.nodes [n1, n2, n3]"),
        Arguments.of("cluster.nodes = []", "cluster.nodes = []: is required"),
        Arguments.of(
            "cluster.nodes = [ { id = n1, address = \"192.0.2.11\" }, { id = n1, address ="
                + " \"192.0.2.12\" } ]",
            "cluster.nodes[1].id = n1: is used by another node"),
        Arguments.of(
            "cluster.nodes = [ { id = n1, address = \"192.0.2.11\" }, { id = n2, address ="
                + " \"192.0.2.11\" } ]",
            "cluster.nodes[1].address = 192.0.2.11: is used by another node"),
        Arguments.of(
            "cluster.nodes = [ { id = \"n 1\", address = \"192.0.2.11\" } ]",
            "cluster.nodes[0].id = n 1: must be 1 to 32 letters"),
        Arguments.of(
            "cluster.nodes = [ { id = n1, address = \"node1.example\" } ]",
            "cluster.nodes[0].address = node1.example: must be an IPv4 or IPv6 address"),
        Arguments.of(
            "cluster.nodes = [ { id = n1, address = \"192.0.2.11\", priority = 300 } ]",
            "cluster.nodes[0].priority = 300: must be between 1 and 255"),
        Arguments.of("cluster.quorum = 4", "cluster.quorum = 4: must be between 0 and 3"),
        Arguments.of("cluster.preempt = maybe", "cluster.preempt = maybe: must be true or false"),
        Arguments.of(
            "cluster.preempt-delay = -1s", "cluster.preempt-delay = -1s: must not be negative"),
        Arguments.of(
            "cluster.handoff-timeout = 0s",
            "cluster.handoff-timeout = 0s: must be a positive duration"),
        Arguments.of(
            "cluster.key-file = \"/nonexistent/cluster.key\"",
            "cluster.key-file = /nonexistent/cluster.key: no such file; create it with: apivip"
                + " gen-key"),
        Arguments.of(
            "heartbeat.port = 70000", "heartbeat.port = 70000: must be between 1 and 65535"),
        Arguments.of("heartbeat.interval = soon", "heartbeat.interval = soon: must be a duration"),
        Arguments.of(
            "heartbeat.failure-timeout = 150ms",
            "heartbeat.failure-timeout = 150ms: must be at least 3 x heartbeat.interval (100ms)"),
        Arguments.of(
            "heartbeat.replay-window = 100ms",
            "heartbeat.replay-window = 100ms: must be at least 1s"),
        Arguments.of("vip.address = \"\"", "vip.address = : is required"),
        Arguments.of(
            "vip.address = \"192.0.2.300\"",
            "vip.address = 192.0.2.300: must be an IPv4 or IPv6 address"),
        Arguments.of(
            "vip.address = \"192.0.2.100/33\"",
            "vip.address = 192.0.2.100/33: prefix must be between 1 and 32"),
        Arguments.of(
            "vip.address = \"192.0.2.12\"", "vip.address = 192.0.2.12: is the address of node n2"),
        Arguments.of("vip.interface = \"\"", "vip.interface = : is required"),
        Arguments.of(
            "vip.announce-count = 1000", "vip.announce-count = 1000: must be between 0 and 100"),
        Arguments.of(
            "proxy.listeners = []", "proxy.listeners = []: must name at least one listener"),
        Arguments.of(
            "proxy.listeners = [ { address = \"somewhere\" } ]",
            "proxy.listeners[0].address = somewhere: must be \"vip\" or an IP address"),
        Arguments.of(
            "proxy.listeners = [ { address = vip, policy = random } ]",
            "proxy.listeners[0].policy = random: must be least-connections, round-robin or"
                + " local-first"),
        Arguments.of(
            "proxy.listeners = [ { address = vip }, { address = \"192.0.2.100\" } ]",
            "proxy.listeners[1].address = 192.0.2.100: listens on the same address and port"),
        Arguments.of(
            "proxy.connect-attempts = 0", "proxy.connect-attempts = 0: must be between 1 and 16"),
        Arguments.of(
            "proxy.port = 16443",
            "backends.port = 16443: must differ from the port of proxy.listeners"),
        Arguments.of(
            "admin.port = 6443", "admin.port = 6443: must differ from the port of proxy.listeners"),
        Arguments.of(
            "admin.metrics-listen = \"6491\"", "admin.metrics-listen = 6491: must be address:port"),
        Arguments.of(
            "admin.metrics-listen = \"0.0.0.0:6490\"",
            "admin.metrics-listen = 6490: must differ from the port of admin.port"),
        Arguments.of(
            "admin.address = localhost",
            "admin.address = localhost: must be an IPv4 or IPv6 address"),
        Arguments.of(
            "proxy.keepalive.idle = 1500ms",
            "proxy.keepalive.idle = 1500ms: must be whole seconds between 1s and 32767s"),
        Arguments.of(
            "proxy.relay.read-max = 1KiB",
            "proxy.relay.read-max = 1KiB: must be between 16384 and 4194304 bytes"),
        Arguments.of(
            "proxy.relay.memory = lots",
            "proxy.relay.memory = lots: must be a size, e.g. 256KiB or 64MiB"),
        Arguments.of(
            "proxy.keepalive.count = 0", "proxy.keepalive.count = 0: must be between 1 and 127"),
        Arguments.of(
            "proxy.max-connections-per-source = -1",
            "proxy.max-connections-per-source = -1: must be between 0 and 1000000"),
        Arguments.of(
            "admin.address = \"0.0.0.0\"", "admin.address = 0.0.0.0: must be a loopback address"),
        Arguments.of(
            "admin.address = \"192.0.2.11\"",
            "admin.address = 192.0.2.11: must be a loopback address"),
        Arguments.of(
            "admin.socket = \"admin.sock\"", "admin.socket = admin.sock: must be an absolute path"),
        Arguments.of(
            "admin.socket = \"/" + "x".repeat(110) + "\"",
            "admin.socket = /" + "x".repeat(110) + ": must be at most 107 bytes long"),
        Arguments.of(
            "admin.operators-group = \"Bad Group\"",
            "admin.operators-group = Bad Group: must be the name of a local group"),
        Arguments.of(
            "backends.servers = [ { node = n7, address = \"192.0.2.70\" } ]",
            "backends.servers[0].node = n7: must be the id of one of cluster.nodes"),
        Arguments.of(
            "backends.servers = [ { address = \"192.0.2.70\" }, { address = \"192.0.2.70\" } ]",
            "backends.servers[1].address = 192.0.2.70: is listed twice"),
        Arguments.of("health.kind = ping", "health.kind = ping: must be tcp, tls or https"),
        Arguments.of("health.path = readyz", "health.path = readyz: must start with /"),
        Arguments.of(
            "health.statuses = [700]",
            "health.statuses = [700]: must be a non-empty list of HTTP statuses"),
        Arguments.of(
            "health.ca-file = \"/nonexistent/ca.crt\"",
            "health.ca-file = /nonexistent/ca.crt: no such file, or not readable"),
        Arguments.of(
            "health.client-cert-file = \"/x.crt\"\nhealth.client-key-file = \"\"",
            "health.client-key-file = : must be set together with"),
        Arguments.of("health.rise = 0", "health.rise = 0: must be between 1 and 100"),
        Arguments.of(
            "health.fall = many", "health.fall = many: must be a whole number between 1 and 100"),
        Arguments.of("health.timeout = 0ms", "health.timeout = 0ms: must be a positive duration"),
        Arguments.of(
            "health.bearer-token-file = \"/nonexistent/token\"",
            "health.bearer-token-file = /nonexistent/token: no such file"),
        Arguments.of(
            "transport = uring", "transport = uring: must be auto, io_uring, epoll or nio"),
        Arguments.of(
            "log.level = loud",
            "log.level = loud: must be one of error, warn, info, debug, trace"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void reportsProblemWithKeyValueAndExpectation(String override, String message) {
    assertThat(problems(override)).anySatisfy(problem -> assertThat(problem).startsWith(message));
  }

  @Test
  void readsANamedTransport() throws Exception {
    assertThat(load("transport = io_uring").transport()).contains(Transports.Kind.IO_URING);
    assertThat(load("transport = nio").transport()).contains(Transports.Kind.NIO);
  }

  @Test
  void reportsAllProblemsTogether() {
    assertThat(problems("heartbeat.port = 0\nhealth.rise = 0\nlog.level = loud")).hasSize(3);
  }

  @Test
  void keyFileMustBeLongEnoughAndPrivate() throws IOException {
    Path shortKey = dir.resolve("short.key");
    Files.writeString(shortKey, "too short\n");
    Files.setPosixFilePermissions(shortKey, PosixFilePermissions.fromString("rw-------"));
    assertThat(problems("cluster.key-file = \"" + shortKey + "\""))
        .anySatisfy(p -> assertThat(p).endsWith("holds 9 bytes, must hold at least 32"));

    Path openKey = dir.resolve("open.key");
    Files.writeString(openKey, "x".repeat(64));
    Files.setPosixFilePermissions(openKey, PosixFilePermissions.fromString("rw-r--r--"));
    assertThat(problems("cluster.key-file = \"" + openKey + "\""))
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains("is readable by group or others (mode rw-r--r--); run: chmod 600"));
  }

  @Test
  void doctorLoadsTheRestWhenTheKeyIsMissing() throws IOException {
    Path config = dir.resolve("no-key.conf");
    Files.writeString(
        config, base() + "cluster.key-file = \"" + dir.resolve("absent.key") + "\"\n");
    assertThatThrownBy(() -> SettingsLoader.load(config)).hasMessageContaining("cluster.key-file");
    try {
      assertThat(SettingsLoader.loadWithoutKeyFiles(config).settings().nodeId()).isEqualTo("n1");
    } catch (InvalidConfigException e) {
      throw new AssertionError(e.getMessage(), e);
    }
    Files.writeString(
        config,
        base() + "cluster.key-file = \"" + dir.resolve("absent.key") + "\"\nheartbeat.port = 0\n");
    assertThatThrownBy(() -> SettingsLoader.loadWithoutKeyFiles(config))
        .hasMessageContaining("heartbeat.port")
        .hasMessageNotContaining("cluster.key-file");
  }

  @Test
  void tlsFilesMustParse() throws IOException {
    Path garbage = dir.resolve("garbage.pem");
    Files.writeString(
        garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    assertThat(problems("health.ca-file = \"" + garbage + "\""))
        .anySatisfy(
            p ->
                assertThat(p)
                    .startsWith("health.ca-file = " + garbage + ": is not a PEM certificate file"));
    assertThat(
            problems(
                "health.client-cert-file = \""
                    + clientCert
                    + "\"\nhealth.client-key-file = \""
                    + garbage
                    + "\""))
        .anySatisfy(
            p ->
                assertThat(p)
                    .startsWith(
                        "health.client-key-file = " + garbage + ": is not a PEM private key"));
    assertThat(
            problems(
                "health.client-cert-file = \""
                    + clientCert
                    + "\"\nhealth.client-key-file = \""
                    + clientKey
                    + "\""))
        .isEmpty();
  }

  @Test
  void tlsFilesAreNotNeededForTcpChecks() {
    assertThat(problems("health.kind = tcp\nhealth.ca-file = \"/nonexistent/ca.crt\"")).isEmpty();
  }

  @Test
  void validationLooksAtNoInterfaceOfThisMachine() throws Exception {
    // Whether the interface exists here and holds the VIP's subnet is apivip doctor's finding.
    assertThat(
            SettingsLoader.load(ConfigFactory.parseString(base() + "vip.interface = nosuch0"))
                .warnings())
        .isEmpty();
    assertThat(SettingsLoader.load(ConfigFactory.parseString(base())).warnings()).isEmpty();
  }

  @Test
  void aClientKeyInTheTraditionalFormMicroK8sWritesIsValid() throws Exception {
    // MicroK8s's client keys are RSA in PKCS#1 ("BEGIN RSA PRIVATE KEY"), not PKCS#8: what the
    // health checks read must pass validation too.
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    KeyPair pair = generator.generateKeyPair();
    X500Name name = new X500Name("CN=apivip");
    Instant now = Instant.now();
    X509Certificate certificate =
        new JcaX509CertificateConverter()
            .getCertificate(
                new JcaX509v3CertificateBuilder(
                        name,
                        BigInteger.ONE,
                        Date.from(now),
                        Date.from(now.plusSeconds(3600)),
                        name,
                        pair.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withRSA").build(pair.getPrivate())));
    Path cert = dir.resolve("rsa.crt");
    Path rsaKey = dir.resolve("rsa.key");
    Files.writeString(cert, Pki.pem(certificate));
    try (JcaPEMWriter writer = new JcaPEMWriter(Files.newBufferedWriter(rsaKey))) {
      writer.writeObject(pair.getPrivate());
    }
    assertThat(Files.readString(rsaKey)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
    assertThat(
            problems(
                "health.client-cert-file = \""
                    + cert
                    + "\"\nhealth.client-key-file = \""
                    + rsaKey
                    + "\""))
        .isEmpty();
  }

  @Test
  void aClientKeyOfAnotherCertificateIsRejected() throws IOException {
    Path otherKey = dir.resolve("other-client.key");
    Pki.newCa("other-ca").issueClient("apivip").write(dir.resolve("other-client.crt"), otherKey);
    assertThat(problems("health.client-key-file = \"" + otherKey + "\""))
        .containsExactly(
            "health.client-key-file = "
                + otherKey
                + ": is not the private key of the certificate in health.client-cert-file");
  }

  @Test
  void warnsWhenQuorumIsLessThanMajority() throws Exception {
    assertThat(
            SettingsLoader.load(ConfigFactory.parseString(base() + "cluster.quorum = 1"))
                .warnings())
        .anySatisfy(
            w ->
                assertThat(w)
                    .contains("cluster.quorum = 1 is less than a majority of 3 nodes (2)"));
  }

  @Test
  void warnsWhenHealthChecksDoNotVerifyCertificates() throws Exception {
    assertThat(
            SettingsLoader.load(ConfigFactory.parseString(base() + "health.verify = false"))
                .warnings())
        .anySatisfy(
            w ->
                assertThat(w)
                    .startsWith("health.verify = false: the health checks trust any certificate"));
    assertThat(
            SettingsLoader.load(
                    ConfigFactory.parseString(base() + "health.verify = false\nhealth.kind = tcp"))
                .warnings())
        .noneSatisfy(w -> assertThat(w).contains("health.verify"));
  }

  @Test
  void twoNodeClusterMayRunWithQuorumOne() throws Exception {
    Settings settings =
        load(
            "cluster.nodes = [ { id = n1, address = \"192.0.2.11\" }, { id = n2, address ="
                + " \"192.0.2.12\" } ]\n"
                + "cluster.quorum = 1");
    assertThat(settings.cluster().quorum()).isEqualTo(1);
  }

  @Test
  void missingFileIsAProblem() {
    assertThatThrownBy(() -> SettingsLoader.load(dir.resolve("absent.conf")))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("--config = " + dir.resolve("absent.conf") + ": no such file");
  }

  @Test
  void syntaxErrorIsAProblem() throws IOException {
    Path broken = dir.resolve("broken.conf");
    Files.writeString(broken, "node-id = {");
    assertThatThrownBy(() -> SettingsLoader.load(broken))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("cannot be parsed");
  }
}
