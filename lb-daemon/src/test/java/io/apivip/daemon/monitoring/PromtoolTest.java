package io.apivip.daemon.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.Metrics;
import io.apivip.daemon.cluster.ClusterMetrics;
import io.apivip.daemon.cluster.Election;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.vip.VipManager;
import io.apivip.health.Backend;
import io.apivip.health.CheckResult;
import io.apivip.health.HealthMonitor;
import io.apivip.health.Schedule;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shipped alert rules and apivip's metrics pass Prometheus's own checks: {@code promtool check
 * rules}, {@code promtool test rules} (a unit test of every rule,
 * monitoring/apivip-alerts.test.yaml) and {@code promtool check metrics} on the meters the daemon
 * registers. MonitoringIT checks the whole /metrics of live nodes and the rules in a running
 * Prometheus.
 */
class PromtoolTest {

  @BeforeAll
  static void promtool() {
    Promtool.require("promtool");
  }

  @Test
  void theAlertRulesAreValid() {
    Promtool.Result result =
        Promtool.run(
            Promtool.MONITORING, null, "check", "rules", Promtool.RULES.getFileName().toString());
    assertThat(result.exitCode()).as(result.output()).isZero();
    assertThat(result.output()).contains("SUCCESS: 12 rules found");
  }

  @Test
  void everyAlertRulePassesItsUnitTests() {
    Promtool.Result result =
        Promtool.run(
            Promtool.MONITORING,
            null,
            "test",
            "rules",
            Promtool.RULE_TESTS.getFileName().toString());
    assertThat(result.exitCode()).as(result.output()).isZero();
    assertThat(result.output()).contains("SUCCESS");
  }

  @Test
  void everyAlertRuleHasATestThatShowsItFiring() throws Exception {
    String rules = java.nio.file.Files.readString(Promtool.RULES);
    String tests = java.nio.file.Files.readString(Promtool.RULE_TESTS);
    var alerts =
        java.util.regex.Pattern.compile("- alert: (\\w+)")
            .matcher(rules)
            .results()
            .map(m -> m.group(1))
            .toList();
    assertThat(alerts).hasSize(12);
    for (String alert : alerts) {
      assertThat(tests)
          .as("a test that expects " + alert + " to fire")
          .containsPattern("alertname: " + alert + "\\n\\s+exp_alerts:\\n\\s+- exp_labels");
      assertThat(rules)
          .as(alert + " says what to run")
          .containsPattern("(?s)- alert: " + alert + "\\b.*?apivip status.*?apivip doctor");
    }
  }

  @Test
  void theDaemonsMetricsPassPromtoolCheckMetrics() throws Exception {
    try (Metrics metrics = new Metrics("n1")) {
      ClusterMetrics cluster =
          ClusterMetrics.micrometer(metrics.registry(), List.of("n2", "n3"), () -> null);
      cluster.tookOver(Election.Reason.ELECTED, 250_000_000);
      cluster.handedOver(Election.Reason.HANDED_OVER, 1_500_000_000);
      cluster.maintenance(true, System.currentTimeMillis());
      Backend backend = new Backend("n1", new InetSocketAddress("192.0.2.11", 16443));
      HealthMonitor health =
          new HealthMonitor(
              List.of(backend),
              b ->
                  CompletableFuture.completedFuture(
                      new CheckResult(CheckResult.Outcome.HEALTHY, "ok", Duration.ofMillis(3))),
              new Schedule(Duration.ofSeconds(1), 1, 1),
              metrics.registry());
      health.close();
      new VipManager(
              new Settings.Vip(
                  InetAddress.getByName("192.0.2.100"),
                  32,
                  "eth0",
                  3,
                  Duration.ofMillis(300),
                  Duration.ofSeconds(10),
                  Duration.ofSeconds(1)),
              metrics.registry())
          .close();
      String text = metrics.registry().scrape();
      assertThat(text)
          .contains(
              "apivip_vip_takeover_duration_seconds_bucket",
              "apivip_health_check_duration_seconds_bucket",
              "apivip_health_certificate_expiry_timestamp_seconds",
              "apivip_cluster_maintenance_start_timestamp_seconds",
              "apivip_vip_foreign_claims_total{kind=\"arp-reply\"",
              "apivip_vip_foreign_claim_last_seen_timestamp_seconds",
              "apivip_vip_claim_probes_total",
              "process_cpu_seconds_total",
              "system_cpu_processors");
      Promtool.Result result = Promtool.run(Promtool.MONITORING, text, "check", "metrics");
      assertThat(result.exitCode()).as(result.output()).isZero();
      assertThat(result.output()).isEmpty();
    }
  }

  @Test
  void theDashboardQueriesNameMetricsOnly() throws Exception {
    List<Dashboard.Query> queries = Dashboard.queries(Promtool.DASHBOARD);
    assertThat(queries).hasSizeGreaterThan(20);
    for (Dashboard.Query query : queries) {
      Set<String> names = Dashboard.metricNames(query.expr());
      assertThat(names)
          .as(query.toString())
          .isNotEmpty()
          .allSatisfy(name -> assertThat(name).matches("apivip_\\w+|process_\\w+|jvm_\\w+|up"));
    }
    assertThat(
            Dashboard.metricNames(
                "histogram_quantile(0.99, sum by (le, name) (rate(a_bucket{job=\"x\","
                    + " le=~\"1|b\"}[5m]))) / on (name) group_left b_total * 1e9"))
        .containsExactly("a_bucket", "b_total");
  }
}
