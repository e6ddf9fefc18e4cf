package io.apivip.daemon.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.apivip.daemon.cli.GenKeyCommand;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Which changes of the configuration a reload applies and which wait for a restart: one row per
 * kind of change, from the file a running node was started with to the file it reloads.
 */
class ReloadPlanTest {

  @TempDir static Path dir;
  static Path key;
  static Path newKey;

  @BeforeAll
  static void keys() throws IOException {
    key = dir.resolve("cluster.key");
    newKey = dir.resolve("cluster-new.key");
    GenKeyCommand.writeNewKey(key);
    GenKeyCommand.writeNewKey(newKey);
  }

  static String base() {
    return "node-id = \"n1\"\n"
        + nodes("n1 192.0.2.11 150", "n2 192.0.2.12", "n3 192.0.2.13")
        + """
        cluster.key-file = "%s"
        vip.address = "192.0.2.100/24"
        vip.interface = "eth0"
        health.kind = tcp
        """
            .formatted(key);
  }

  static final String FOUR_NODES =
      nodes("n1 192.0.2.11 150", "n2 192.0.2.12", "n3 192.0.2.13", "n4 192.0.2.14");

  /** cluster.nodes from "id address [priority]" entries. */
  static String nodes(String... entries) {
    StringBuilder out = new StringBuilder("cluster.nodes = [\n");
    for (String entry : entries) {
      String[] fields = entry.split(" ");
      out.append("  { id = \"")
          .append(fields[0])
          .append("\", address = \"")
          .append(fields[1])
          .append(fields.length > 2 ? "\", priority = " + fields[2] : "\"")
          .append(" }\n");
    }
    return out.append("]\n").toString();
  }

  static Settings load(String overrides) throws InvalidConfigException {
    return SettingsLoader.load(ConfigFactory.parseString(base() + overrides)).settings();
  }

  static ReloadPlan plan(String overrides) throws InvalidConfigException {
    return ReloadPlan.of(load(""), load(overrides));
  }

  @Test
  void theSameFileChangesNothing() throws Exception {
    ReloadPlan plan = plan("");
    assertThat(plan.changes()).isEmpty();
    assertThat(plan.restartNeeded()).isEmpty();
    assertThat(plan.applied()).isEqualTo(load(""));
    assertThat(plan.changesHealthOrBackends(load(""))).isFalse();
  }

  static Stream<Arguments> applied() {
    return Stream.of(
        Arguments.of(
            "cluster.accept-key-files = [\"%s\"]".formatted(dir.resolve("cluster-new.key")),
            "cluster.accept-key-files: [] -> [" + dir.resolve("cluster-new.key") + "]",
            check(s -> assertThat(s.cluster().acceptKeyFiles()).hasSize(1))),
        Arguments.of(
            "cluster.key-file = \"%s\"".formatted(dir.resolve("cluster-new.key")),
            "cluster.key-file: ",
            check(
                s -> assertThat(s.cluster().keyFile()).isEqualTo(dir.resolve("cluster-new.key")))),
        Arguments.of(
            FOUR_NODES,
            "cluster.nodes: added n4 (192.0.2.14)",
            check(
                s -> {
                  assertThat(s.cluster().nodes()).hasSize(4);
                  assertThat(s.cluster().quorum()).as("a majority of four").isEqualTo(3);
                  assertThat(s.backends()).as("one apiserver per node").hasSize(4);
                })),
        Arguments.of(
            FOUR_NODES,
            "cluster.quorum: 2 -> 3",
            check(
                s ->
                    assertThat(s.cluster().quorum()) //
                        .isEqualTo(3))),
        Arguments.of(
            FOUR_NODES,
            "backends: [n1=192.0.2.11:16443, n2=192.0.2.12:16443, n3=192.0.2.13:16443] -> [n1=",
            check(s -> assertThat(s.backends()).hasSize(4))),
        Arguments.of(
            nodes("n1 192.0.2.11 150", "n2 192.0.2.12"),
            "cluster.nodes: removed n3",
            check(s -> assertThat(s.cluster().nodes()).hasSize(2))),
        Arguments.of(
            nodes("n1 192.0.2.11 150", "n2 192.0.2.12", "n3 192.0.2.23"),
            "cluster.nodes: n3 moved to 192.0.2.23",
            check(
                s -> assertThat(s.cluster().node("n3").orElseThrow().address()).isEqualTo(ip(23)))),
        Arguments.of(
            nodes("n1 192.0.2.11 120", "n2 192.0.2.12", "n3 192.0.2.13"),
            "cluster.nodes: n1 priority 150 -> 120",
            check(s -> assertThat(s.self().priority()).isEqualTo(120))),
        Arguments.of(
            nodes(
                "n1 192.0.2.11 150",
                "n2 192.0.2.12",
                "n3 192.0.2.13",
                "n4 192.0.2.14",
                "n5 192.0.2.15"),
            "cluster.nodes: more than one node added or removed at once",
            check(s -> assertThat(s.cluster().nodes()).hasSize(5))),
        Arguments.of(
            "cluster.preempt = true\ncluster.preempt-delay = 5s",
            "cluster.preempt-delay: 30s -> 5s",
            check(s -> assertThat(s.cluster().preempt()).isTrue())),
        Arguments.of(
            "cluster.handoff-timeout = 5s",
            "cluster.handoff-timeout: 3s -> 5s",
            check(s -> assertThat(s.cluster().handoffTimeout()).hasSeconds(5))),
        Arguments.of(
            "backends.servers = [ { node = \"n2\", address = \"192.0.2.12\" } ]",
            "backends: [n1=192.0.2.11:16443, n2=192.0.2.12:16443, n3=192.0.2.13:16443] ->"
                + " [n2=192.0.2.12:16443]",
            check(s -> assertThat(s.backends()).hasSize(1))),
        Arguments.of(
            "health.interval = 2s",
            "health.interval: 1s -> 2s",
            check(s -> assertThat(s.health().interval()).isEqualTo(Duration.ofSeconds(2)))),
        Arguments.of(
            "health.timeout = 3s\nhealth.rise = 3",
            "health.rise: 2 -> 3",
            check(s -> assertThat(s.health().timeout()).hasSeconds(3))),
        Arguments.of(
            "health.bearer-token-file = \"%s\"".formatted(dir.resolve("cluster.key")),
            "health.bearer-token-file: \"\" -> " + dir.resolve("cluster.key"),
            check(s -> assertThat(s.health().bearerTokenFile()).isPresent())),
        Arguments.of(
            "log.level = debug",
            "log.level: info -> debug",
            check(s -> assertThat(s.logLevel()).isEqualTo("debug"))));
  }

  static Consumer<Settings> check(Consumer<Settings> check) {
    return check;
  }

  static InetAddress ip(int last) {
    try {
      return InetAddress.getByName("192.0.2." + last);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("applied")
  void appliesWhatCanChangeAtRunTime(String overrides, String change, Consumer<Settings> check)
      throws Exception {
    ReloadPlan plan = plan(overrides);
    assertThat(plan.changes()).anySatisfy(line -> assertThat(line).startsWith(change));
    assertThat(plan.restartNeeded()).isEmpty();
    check.accept(plan.applied());
  }

  static Stream<Arguments> restartNeeded() {
    return Stream.of(
        Arguments.of("vip.address = \"192.0.2.101/24\"", "vip.address: 192.0.2.100 -> 192.0.2.101"),
        Arguments.of("vip.interface = \"eth1\"", "vip.interface-name: eth0 -> eth1"),
        Arguments.of("vip.announce-count = 5", "vip.announce-count: 3 -> 5"),
        Arguments.of("heartbeat.interval = 200ms\nheartbeat.failure-timeout = 1s", "heartbeat."),
        Arguments.of("heartbeat.port = 6481", "heartbeat.port: 6480 -> 6481"),
        Arguments.of("proxy.max-connections = 500", "proxy.max-connections: 10000 -> 500"),
        Arguments.of("proxy.port = 7443", "proxy.listeners: "),
        Arguments.of("admin.port = 6499", "admin.listen: 127.0.0.1:6490 -> 127.0.0.1:6499"),
        Arguments.of("transport = nio", "transport: auto -> NIO"),
        Arguments.of("cluster.id = \"other\"", "cluster.id: apivip -> other"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("restartNeeded")
  void saysWhatWaitsForARestartAndKeepsItAsItRuns(String overrides, String restart)
      throws Exception {
    Settings running = load("");
    ReloadPlan plan = ReloadPlan.of(running, load(overrides));
    assertThat(plan.restartNeeded()).anySatisfy(line -> assertThat(line).startsWith(restart));
    assertThat(plan.applied()).as("runs on as it ran").isEqualTo(running);
  }

  @Test
  void thisNodesNewAddressWaitsForARestartWhileTheOtherNodesChange() throws Exception {
    Settings running = load("");
    ReloadPlan plan =
        ReloadPlan.of(
            running,
            load(nodes("n1 192.0.2.21 150", "n2 192.0.2.12", "n3 192.0.2.13", "n4 192.0.2.14")));
    assertThat(plan.restartNeeded())
        .containsExactly(
            "cluster.nodes: this node's address 192.0.2.11 -> 192.0.2.21 (the heartbeat socket is"
                + " bound to it)");
    assertThat(plan.applied().self().address()).isEqualTo(ip(11));
    assertThat(plan.applied().cluster().nodes()).hasSize(4);
    assertThat(plan.changes()).anySatisfy(line -> assertThat(line).contains("added n4"));
  }

  @Test
  void aNewNodeIdWaitsForARestartWithTheNodeListItNeeds() throws Exception {
    Settings running = load("");
    ReloadPlan plan =
        ReloadPlan.of(
            running,
            load(
                """
                node-id = "m1"
                cluster.nodes = [
                  { id = "m1", address = "192.0.2.11" }
                  { id = "n2", address = "192.0.2.12" }
                  { id = "n3", address = "192.0.2.13" }
                ]
                """));
    assertThat(plan.restartNeeded()).first().isEqualTo("node-id: n1 -> m1");
    assertThat(plan.restartNeeded())
        .anySatisfy(line -> assertThat(line).contains("this node (n1) is no longer listed"));
    assertThat(plan.applied().cluster()).isEqualTo(running.cluster());
    assertThat(plan.applied().nodeId()).isEqualTo("n1");
  }

  @Test
  void keysAndHealthChangeTogetherWithAVipChangeWaiting() throws Exception {
    Settings running = load("");
    ReloadPlan plan =
        ReloadPlan.of(
            running,
            load(
                """
                cluster.key-file = "%s"
                cluster.accept-key-files = ["%s"]
                health.interval = 500ms
                vip.address = "192.0.2.101/24"
                """
                    .formatted(newKey, key)));
    assertThat(plan.applied().cluster().keyFile()).isEqualTo(newKey);
    assertThat(plan.applied().cluster().acceptKeyFiles()).containsExactly(key);
    assertThat(plan.applied().health().interval()).isEqualTo(Duration.ofMillis(500));
    assertThat(plan.applied().vip()).isEqualTo(running.vip());
    assertThat(plan.changes()).hasSize(3);
    assertThat(plan.restartNeeded())
        .as("the VIP, and the proxy's listener on it")
        .satisfiesExactly(
            line -> assertThat(line).startsWith("vip.address: "),
            line -> assertThat(line).startsWith("proxy.listeners: "));
    assertThat(plan.changesHealthOrBackends(running)).isTrue();
    assertThat(List.copyOf(plan.changes())).noneSatisfy(line -> assertThat(line).startsWith("vip"));
  }
}
