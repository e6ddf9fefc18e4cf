package io.apivip.daemon.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.apivip.daemon.monitoring.Dashboard;
import io.apivip.daemon.monitoring.Promtool;
import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import io.apivip.lab.cluster.LabProbe;
import io.apivip.lab.netns.Exec;
import io.apivip.lab.netns.Host;
import io.apivip.lab.netns.NetnsSupport;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The shipped alert rules in a real Prometheus (Debian's prometheus binary, in the lab's client
 * namespace) scraping the three nodes of a lab every second: each scenario an operator fears makes
 * the right alerts fire, and they resolve when it is over, as read from Prometheus's HTTP API. It
 * also runs {@code promtool check metrics} on every node's live /metrics and checks that every
 * query of the shipped dashboard names metrics those nodes export, and prints what each returns.
 *
 * <p>The rules are the shipped file with its durations shortened ({@link #LAB_DURATIONS}): every
 * {@code for:} becomes 2 s, the 5-minute and 1-hour windows 20 s and 1 minute, and the thresholds
 * that are days or hours become seconds. The shipped durations themselves are tested by {@code
 * promtool test rules} (PromtoolTest); this test shows the expressions on real metrics.
 */
@Tag("netns")
class MonitoringIT {

  static final Path JAR = Path.of("target/apivip.jar");
  static final int METRICS_PORT = 6491;
  static final Duration FIRE = Duration.ofSeconds(40);
  static final Duration RESOLVE = Duration.ofSeconds(60);
  static final String PROMETHEUS_ADDRESS = "127.0.0.1:9090";

  /**
   * The lab copy of the rules: each literal must occur in the shipped file (else the test fails).
   */
  static final Map<String, String> LAB_DURATIONS = labDurations();

  static final ObjectMapper MAPPER = new ObjectMapper();

  ClusterLab lab;
  Path work;
  final List<String> timeline = new ArrayList<>();
  long startedAt;
  long causeAt;
  long endedAt;

  @RegisterExtension
  final LabLogsOnFailure logsOnFailure =
      new LabLogsOnFailure(
          () -> lab,
          () -> {
            if (lab != null) {
              System.out.println("---- last lines of prometheus.log ----");
              System.out.println(EndToEndIT.tail(work.resolve("prometheus.log"), 30));
              System.out.println("---- alerts now ----");
              System.out.println(alertsSafely());
            }
            timeline.forEach(System.out::println);
          });

  static Map<String, String> labDurations() {
    Map<String, String> substitutions = new LinkedHashMap<>();
    substitutions.put("[1h])) > 3", "[1m])) > 0");
    substitutions.put("[5m]", "[20s]");
    substitutions.put("> 7200", "> 5");
    // The lab's certificates are valid for a year: 400 days shows the expression on real metrics.
    substitutions.put("< 30 * 86400", "< 400 * 86400");
    return substitutions;
  }

  @BeforeAll
  static void namespacesAndPrometheus() {
    NetnsSupport.assumeAvailable();
    Promtool.require("promtool");
    Promtool.require("prometheus");
  }

  @AfterEach
  void closeLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void theShippedAlertsFireAndResolveInARealPrometheus(TestInfo info) throws Exception {
    work = Path.of("target", "e2e", info.getTestMethod().orElseThrow().getName()).toAbsolutePath();
    ClusterLab.deleteRecursively(work);
    lab =
        ClusterLab.start(
            ClusterLab.Options.defaults(JAR.toAbsolutePath(), work)
                .withExtraConfig(
                    EndToEndIT.LAB_HEALTH,
                    "admin.metrics-listen = \"0.0.0.0:" + METRICS_PORT + "\"",
                    "proxy.max-connections = 2"));
    LabNode holder = awaitOneHolder(lab.nodes());
    startPrometheus();
    startedAt = System.nanoTime();
    cause(
        "Prometheus started, scraping n1, n2, n3 every second; " + holder.id() + " holds the VIP");

    // ---- a quiet cluster: only the (lab-threshold) certificate alert, and the live metrics pass
    // promtool
    awaitTargetsUp(3);
    Thread.sleep(5000);
    for (LabNode node : lab.nodes()) {
      awaitFiring("ApivipApiserverCertificateExpiring", Map.of("name", node.id()));
    }
    assertThat(alertNames(a -> !a.name().equals("ApivipApiserverCertificateExpiring")))
        .as("alerts of a quiet cluster besides the lab's certificate one")
        .isEmpty();
    for (LabNode node : lab.nodes()) {
      X509Certificate certificate = certificate(work.resolve(node.id()).resolve("apiserver.crt"));
      for (double seen :
          values("apivip_health_certificate_expiry_timestamp_seconds{name=\"" + node.id() + "\"}")
              .values()) {
        assertThat(seen)
            .as(node.id() + "'s certificate expiry as the health checks see it")
            .isEqualTo(certificate.getNotAfter().getTime() / 1000.0);
      }
    }
    Set<String> exported = new TreeSet<>();
    for (LabNode node : lab.nodes()) {
      String text = node.metrics().orElseThrow();
      Promtool.Result check = Promtool.run(work, text, "check", "metrics");
      assertThat(check.exitCode())
          .as(node.id() + ": promtool check metrics\n" + check.output())
          .isZero();
      assertThat(check.output()).as(node.id() + ": promtool check metrics").isEmpty();
      exported.addAll(Dashboard.exported(text));
    }
    note(
        "promtool check metrics passed on the /metrics of n1, n2 and n3 ("
            + exported.size()
            + " metric names)");
    for (Dashboard.Query query : Dashboard.queries(Promtool.DASHBOARD)) {
      for (String name : Dashboard.metricNames(query.expr())) {
        assertThat(name.equals("up") || exported.contains(name))
            .as(query.panel() + ": " + name + " is exported by a live node")
            .isTrue();
      }
    }

    // ---- forged and garbage heartbeats, "from" a non-holder
    LabNode other = others(holder).get(0);
    cause("20 forged (wrong key) and 20 random heartbeats sent to every node as " + other.id());
    lab.injectHeartbeats(List.of(forgedHeartbeat(other), randomBytes(200)), other, 20);
    ended("the injection is over");
    // Signed with a key no node holds: dropped by its key id, before any MAC is computed.
    awaitFiring("ApivipHeartbeatsDropped", Map.of("reason", "unknown_key"));
    awaitFiring("ApivipHeartbeatsDropped", Map.of("reason", "bad_magic"));
    awaitResolved("ApivipHeartbeatsDropped", Map.of());
    assertThat(awaitOneHolder(lab.nodes()))
        .as("the holder after forged heartbeats")
        .isEqualTo(holder);

    // ---- one apiserver stops, then every apiserver
    LabNode victim = others(holder).get(1);
    cause(victim.id() + "'s apiserver refuses connections");
    victim.apiserver("refuse");
    awaitFiring("ApivipApiserverDown", Map.of("name", victim.id()));
    victim.apiserver("healthy");
    ended(victim.id() + "'s apiserver is healthy again");
    awaitResolved("ApivipApiserverDown", Map.of());
    // The holder keeps the VIP when no node can route anywhere (see Eligibility); the others cannot
    // hold it.
    cause("every apiserver refuses connections");
    lab.nodes().forEach(node -> node.apiserver("refuse"));
    awaitFiring("ApivipApiserverDown", Map.of("name", holder.id()));
    for (LabNode node : others(holder)) {
      awaitFiring("ApivipNodeNotEligible", Map.of("instance", instance(node)));
    }
    lab.nodes().forEach(node -> node.apiserver("healthy"));
    ended("every apiserver is healthy again");
    awaitResolved("ApivipNodeNotEligible", Map.of());
    awaitResolved("ApivipApiserverDown", Map.of());

    // ---- more clients than proxy.max-connections (2) on the VIP
    assertThat(awaitOneHolder(lab.nodes()))
        .as("the holder after every apiserver failed and came back")
        .isEqualTo(holder);
    cause(
        "5 clients connect to the VIP and hold their connections for 3 s (proxy.max-connections ="
            + " 2)");
    Exec.Result clients =
        lab.network()
            .exec(
                lab.network().client(),
                Duration.ofSeconds(20),
                List.of(
                    "bash",
                    "-c",
                    "for i in 1 2 3 4 5; do exec {fd}<>/dev/tcp/"
                        + lab.vip().getHostAddress()
                        + "/"
                        + ClusterLab.PROXY_PORT
                        + "; done; sleep 3"));
    assertThat(clients.ok()).as("clients held connections: " + clients.stderr()).isTrue();
    ended("the clients closed their connections");
    awaitFiring("ApivipProxyLimitReached", Map.of("instance", instance(holder)));
    awaitResolved("ApivipProxyLimitReached", Map.of());

    // ---- the holder dies; then a second node, so the last one has no quorum
    cause("the holder " + holder.id() + " is killed (SIGKILL, link cut)");
    holder.kill();
    List<LabNode> survivors = others(holder);
    LabNode successor = awaitOneHolder(survivors, survivors);
    awaitFiring("ApivipDown", Map.of("instance", instance(holder)));
    awaitFiring("ApivipVipFlapping", Map.of());
    awaitFiring("ApivipApiserverDown", Map.of("name", holder.id()));
    LabNode lonely = survivors.stream().filter(node -> node != successor).findFirst().orElseThrow();
    cause(successor.id() + ", the new holder, is killed too: " + lonely.id() + " is alone");
    successor.kill();
    awaitFiring("ApivipNoQuorum", Map.of("instance", instance(lonely)));
    awaitFiring("ApivipNoHolder", Map.of());
    holder.reboot(lab.vip(), ClusterLab.VIP_PREFIX_LENGTH);
    successor.reboot(lab.vip(), ClusterLab.VIP_PREFIX_LENGTH);
    ended(holder.id() + " and " + successor.id() + " rebooted");
    awaitOneHolder(lab.nodes());
    awaitResolved("ApivipDown", Map.of());
    awaitResolved("ApivipNoQuorum", Map.of());
    awaitResolved("ApivipNoHolder", Map.of());
    awaitResolved("ApivipApiserverDown", Map.of());
    awaitResolved("ApivipVipFlapping", Map.of(), Duration.ofSeconds(150));

    // ---- drain every node: the holder hands over; the others only with --force, since apivip
    // refuses a drain while another node is in maintenance, and the last holder's drain cannot
    // complete (no node may take the VIP): it keeps the VIP, in maintenance
    LabNode first = awaitOneHolder(lab.nodes());
    cause("apivip drain --wait on the holder " + first.id() + ", then on the others");
    Exec.Result drained =
        first.apivipCommand(Duration.ofSeconds(40), "drain", "--wait", "--timeout", "30");
    assertThat(drained.exitCode())
        .as("drain of the holder " + first.id() + ": " + drained.stdout() + drained.stderr())
        .isZero();
    LabNode second = awaitOneHolder(lab.nodes());
    LabNode third =
        lab.nodes().stream()
            .filter(node -> node != second && node != first)
            .findFirst()
            .orElseThrow();
    drained =
        third.apivipCommand(
            Duration.ofSeconds(40), "drain", "--force", "--wait", "--timeout", "30");
    assertThat(drained.exitCode())
        .as("drain of " + third.id() + ": " + drained.stdout() + drained.stderr())
        .isZero();
    drained =
        second.apivipCommand(
            Duration.ofSeconds(20), "drain", "--force", "--wait", "--timeout", "8");
    assertThat(drained.exitCode())
        .as("drain of the last holder " + second.id() + " must fail: " + drained.stdout())
        .isEqualTo(1);
    note(
        "drained "
            + first.id()
            + " (handed over to "
            + second.id()
            + ") and "
            + third.id()
            + "; "
            + second.id()
            + "'s drain failed as it should: "
            + drained.stderr().strip());
    for (LabNode node : lab.nodes()) {
      awaitFiring("ApivipMaintenanceTooLong", Map.of("instance", instance(node)));
    }
    assertThat(
            alertNames(
                a -> a.name().equals("ApivipNoHolder") || a.name().equals("ApivipNodeNotEligible")))
        .as(
            "the last holder keeps the VIP in maintenance, and drained nodes are not reported as"
                + " not eligible")
        .isEmpty();
    for (LabNode node : lab.nodes()) {
      Exec.Result resumed = node.apivipCommand(Duration.ofSeconds(20), "resume");
      assertThat(resumed.exitCode()).as("resume " + node.id() + ": " + resumed.stderr()).isZero();
    }
    ended("apivip resume on every node");
    awaitResolved("ApivipMaintenanceTooLong", Map.of());

    // ---- the dashboard's queries against this Prometheus, after some client traffic through the
    // VIP
    try (LabProbe probe = lab.startProbe(100, 0, Duration.ofSeconds(1))) {
      long start = System.currentTimeMillis();
      Thread.sleep(6000);
      note(
          "a client connected through the VIP for 6 s (max-connections = 2 refuses some:"
              + " outcome=limit): "
              + probe.summary(start, System.currentTimeMillis()));
    }
    Thread.sleep(2000);
    List<String> empty = new ArrayList<>();
    for (Dashboard.Query query : Dashboard.queries(Promtool.DASHBOARD)) {
      Map<String, Double> result = values(query.runnable("1m"));
      System.out.printf(
          "dashboard | %s | %s | %s%n",
          query.panel(), query.expr(), result.isEmpty() ? "(no data)" : render(result));
      if (result.isEmpty()) {
        empty.add(query.panel() + ": " + query.expr());
      }
    }
    assertThat(
            values("sum(apivip_vip_handoff_duration_seconds_count{reason=\"handed_over\"})")
                .values())
        .as("the handoff was measured")
        .containsExactly(1.0);
    assertThat(values("sum(apivip_vip_takeover_duration_seconds_count)").values().iterator().next())
        .as("takeovers were measured")
        .isGreaterThanOrEqualTo(3.0);
    System.out.println("dashboard queries that returned no data: " + empty);
    assertDocumentedMetricsAreExported();
    timeline.forEach(System.out::println);
  }

  /**
   * Every apivip metric that the guide, the README and the alert rules name is one a live node
   * exports, after the run above has made each kind of event happen (a name followed by "*" is a
   * family and left out).
   */
  void assertDocumentedMetricsAreExported() throws IOException {
    Set<String> exported = new TreeSet<>();
    for (LabNode node : lab.nodes()) {
      String text = node.metrics().orElseThrow();
      exported.addAll(Dashboard.exported(text));
      Pattern.compile("(?m)^# TYPE (\\S+) ")
          .matcher(text)
          .results()
          .forEach(m -> exported.add(m.group(1)));
    }
    Path root = Promtool.MONITORING.getParent();
    Pattern named = Pattern.compile("\\b(apivip_[a-z0-9_]*[a-z0-9])\\b(?!\\*)");
    for (Path document :
        List.of(root.resolve("docs/microk8s.md"), root.resolve("README.md"), Promtool.RULES)) {
      Set<String> names = new TreeSet<>();
      named.matcher(Files.readString(document)).results().forEach(m -> names.add(m.group(1)));
      assertThat(names).as(document + " names apivip metrics").isNotEmpty();
      for (String name : names) {
        assertThat(
                Stream.of("", "_total", "_bucket", "_count", "_sum")
                    .anyMatch(suffix -> exported.contains(name + suffix)))
            .as(document + " names " + name + ", which no live node exports")
            .isTrue();
      }
      note(document.getFileName() + ": its " + names.size() + " apivip metric names are exported");
    }
    assertExportedMetricsHaveARow(exported, Files.readString(root.resolve("docs/microk8s.md")));
  }

  /**
   * The other way round: every apivip metric family a live node exports has a row in the guide's
   * table of metrics (section 8), under its name, its name with {@code _total}, or, for a timer's
   * {@code _max} gauge, its timer's name.
   */
  static void assertExportedMetricsHaveARow(Set<String> exported, String guide) {
    Set<String> rows = new TreeSet<>();
    Pattern.compile("(?m)^\\| `(apivip_[a-z0-9_]+)` \\|")
        .matcher(guide)
        .results()
        .forEach(m -> rows.add(m.group(1)));
    List<String> apivip = exported.stream().filter(name -> name.startsWith("apivip_")).toList();
    List<String> missing =
        apivip.stream()
            .map(name -> name.replaceAll("_(total|bucket|count|sum|max)$", ""))
            .distinct()
            .filter(family -> !rows.contains(family) && !rows.contains(family + "_total"))
            .toList();
    assertThat(missing)
        .as("apivip metrics exported but not in the guide's table of metrics")
        .isEmpty();
    System.out.println(
        "docs/microk8s.md: its table of metrics has a row for each of the "
            + apivip.size()
            + " apivip series names the nodes export");
  }

  // ---- Prometheus ------------------------------------------------------------------------------

  void startPrometheus() throws IOException, InterruptedException {
    String rules = Files.readString(Promtool.RULES);
    for (Map.Entry<String, String> change : LAB_DURATIONS.entrySet()) {
      assertThat(rules)
          .as("the shipped rules contain " + change.getKey())
          .contains(change.getKey());
      rules = rules.replace(change.getKey(), change.getValue());
    }
    rules = rules.replaceAll("(?m)^(\\s+)for: \\S+$", "$1for: 2s");
    Files.writeString(work.resolve("lab-alerts.yaml"), rules);
    String targets =
        lab.nodes().stream()
            .map(node -> "\"" + instance(node) + "\"")
            .collect(Collectors.joining(", "));
    Files.writeString(
        work.resolve("prometheus.yml"),
        """
        global:
          scrape_interval: 1s
          scrape_timeout: 900ms
          evaluation_interval: 1s
        rule_files: [lab-alerts.yaml]
        scrape_configs:
          - job_name: apivip
            static_configs:
              - targets: [%s]
        """
            .formatted(targets));
    Promtool.Result check = Promtool.run(work, null, "check", "config", "prometheus.yml");
    assertThat(check.exitCode()).as(check.output()).isZero();
    Host client = lab.network().client();
    lab.network().exec(client, "ip", "link", "set", "lo", "up");
    ProcessBuilder prometheus =
        new ProcessBuilder(
                "prometheus",
                "--config.file=" + work.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + work.resolve("prometheus-data"),
                "--web.listen-address=" + PROMETHEUS_ADDRESS,
                "--log.level=warn")
            .directory(work.toFile())
            .redirectErrorStream(true)
            .redirectOutput(
                ProcessBuilder.Redirect.appendTo(work.resolve("prometheus.log").toFile()));
    lab.network().start(client, prometheus);
    boolean ready = ClusterLab.await(Duration.ofSeconds(30), () -> api("/-/ready").isPresent());
    assertThat(ready)
        .as("Prometheus answers on " + PROMETHEUS_ADDRESS + " in the client namespace")
        .isTrue();
  }

  /** GET on the Prometheus in the client namespace; empty when it does not answer 2xx. */
  Optional<String> api(String path, String... query) {
    List<String> command = new ArrayList<>(List.of("curl", "-sf", "--max-time", "5", "-G"));
    for (String parameter : query) {
      command.addAll(List.of("--data-urlencode", parameter));
    }
    command.add("http://" + PROMETHEUS_ADDRESS + path);
    Exec.Result result =
        lab.network().exec(lab.network().client(), Duration.ofSeconds(10), command);
    return result.ok() ? Optional.of(result.stdout()) : Optional.empty();
  }

  /** An instant query's result: each series's labels rendered, and its value. */
  Map<String, Double> values(String promql) throws IOException {
    String body =
        api("/api/v1/query", "query=" + promql)
            .orElseThrow(() -> new AssertionError("query failed: " + promql));
    JsonNode json = MAPPER.readTree(body);
    assertThat(json.path("status").asText()).as(promql).isEqualTo("success");
    Map<String, Double> values = new TreeMap<>();
    JsonNode result = json.path("data").path("result");
    if (json.path("data").path("resultType").asText().equals("scalar")) {
      values.put("", Double.parseDouble(result.get(1).asText()));
      return values;
    }
    for (JsonNode series : result) {
      values.put(
          series.path("metric").toString(),
          Double.parseDouble(series.path("value").get(1).asText()));
    }
    return values;
  }

  void awaitTargetsUp(int count) throws InterruptedException {
    boolean up =
        ClusterLab.await(
            EndToEndIT.SETTLE,
            () -> {
              try {
                return values("up{job=\"apivip\"} == 1").size() == count;
              } catch (IOException | AssertionError e) {
                return false;
              }
            });
    assertThat(up).as("Prometheus scrapes " + count + " nodes").isTrue();
  }

  /** One alert as /api/v1/alerts lists it. */
  record Alert(String name, Map<String, String> labels, String state, String value) {
    boolean matches(String alertName, Map<String, String> wanted) {
      return name.equals(alertName)
          && wanted.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }

    @Override
    public String toString() {
      return name + labels + " " + state + " value=" + value;
    }
  }

  List<Alert> alerts() throws IOException {
    String body =
        api("/api/v1/alerts")
            .orElseThrow(() -> new AssertionError("Prometheus does not answer /api/v1/alerts"));
    List<Alert> alerts = new ArrayList<>();
    for (JsonNode alert : MAPPER.readTree(body).path("data").path("alerts")) {
      Map<String, String> labels = new TreeMap<>();
      alert
          .path("labels")
          .fields()
          .forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
      alerts.add(
          new Alert(
              labels.remove("alertname"),
              labels,
              alert.path("state").asText(),
              alert.path("value").asText()));
    }
    return alerts;
  }

  String alertsSafely() {
    try {
      return alerts().stream().map(Alert::toString).collect(Collectors.joining("\n"));
    } catch (IOException | RuntimeException | AssertionError e) {
      return "(cannot read alerts: " + e + ")";
    }
  }

  Set<String> alertNames(Predicate<Alert> filter) throws IOException {
    return alerts().stream()
        .filter(filter)
        .map(Alert::toString)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** Waits until {@code name} with {@code labels} fires; notes how long it took. */
  void awaitFiring(String name, Map<String, String> labels) throws Exception {
    long from = causeAt;
    long deadline = System.nanoTime() + FIRE.toNanos();
    while (System.nanoTime() < deadline) {
      Optional<Alert> firing =
          alerts().stream()
              .filter(a -> a.matches(name, labels) && a.state().equals("firing"))
              .findFirst();
      if (firing.isPresent()) {
        note("fired    " + firing.get() + ", " + (now() - from) + " ms after the cause");
        return;
      }
      Thread.sleep(250);
    }
    throw new AssertionError(
        name + labels + " did not fire within " + FIRE.toSeconds() + " s; alerts: " + alerts());
  }

  void awaitResolved(String name, Map<String, String> labels) throws Exception {
    awaitResolved(name, labels, RESOLVE);
  }

  /**
   * Waits until no alert {@code name} with {@code labels} is pending or firing; notes the time
   * since {@code sinceMillis}.
   */
  void awaitResolved(String name, Map<String, String> labels, Duration timeout) throws Exception {
    long sinceMillis = endedAt;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (alerts().stream().noneMatch(a -> a.matches(name, labels))) {
        note(
            "resolved "
                + name
                + labels
                + " "
                + (now() - sinceMillis)
                + " ms after the cause ended");
        return;
      }
      Thread.sleep(250);
    }
    throw new AssertionError(
        name
            + labels
            + " did not resolve within "
            + timeout.toSeconds()
            + " s; alerts: "
            + alerts());
  }

  /** Notes what the test does to the lab; the alerts' times count from here. */
  void cause(String what) {
    note("cause    " + what);
    causeAt = now();
  }

  /** Notes that the cause is over; resolution times count from here. */
  void ended(String what) {
    note("ended    " + what);
    endedAt = now();
  }

  void note(String line) {
    String stamped =
        String.format("monitoring +%6.1f s | %s", (System.nanoTime() - startedAt) / 1e9, line);
    timeline.add(stamped);
    System.out.println(stamped);
  }

  // ---- the lab ---------------------------------------------------------------------------------

  static long now() {
    return System.currentTimeMillis();
  }

  static String instance(LabNode node) {
    return node.host().ipv4().getHostAddress() + ":" + METRICS_PORT;
  }

  List<LabNode> others(LabNode node) {
    return lab.nodes().stream().filter(other -> other != node).toList();
  }

  LabNode awaitOneHolder(List<LabNode> nodes) throws InterruptedException {
    return awaitOneHolder(nodes, nodes);
  }

  LabNode awaitOneHolder(List<LabNode> nodes, List<LabNode> carriers) throws InterruptedException {
    return EndToEndIT.awaitOneHolder(lab, nodes, carriers);
  }

  static byte[] forgedHeartbeat(LabNode as) {
    return EndToEndIT.forgedHeartbeat(as);
  }

  static byte[] randomBytes(int length) {
    byte[] bytes = new byte[length];
    new SecureRandom().nextBytes(bytes);
    return bytes;
  }

  static X509Certificate certificate(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  static String render(Map<String, Double> result) {
    return result.entrySet().stream()
        .map(
            e ->
                e.getKey().replaceAll("\"(__name__|job)\":\"[^\"]*\",?", "")
                    + "="
                    + String.format("%.4g", e.getValue()))
        .collect(Collectors.joining(" "));
  }
}
