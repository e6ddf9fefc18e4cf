package io.apivip.daemon.e2e;

import static io.apivip.daemon.e2e.EndToEndIT.JAR;
import static io.apivip.daemon.e2e.EndToEndIT.LAB_HEALTH;
import static io.apivip.daemon.e2e.EndToEndIT.awaitSteadyTraffic;
import static io.apivip.daemon.e2e.EndToEndIT.parse;
import static io.apivip.daemon.e2e.EndToEndIT.settledSummary;
import static io.apivip.daemon.e2e.EndToEndIT.status;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.cli.GenKeyCommand;
import io.apivip.daemon.config.KeyFile;
import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import io.apivip.lab.cluster.LabProbe;
import io.apivip.lab.netns.NetnsSupport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reloads of a running cluster of real apivip processes in network namespaces, with a client in its
 * own namespace opening a new TLS connection to VIP:6443 every 50 ms: the cluster key changed in
 * the three documented rounds of reloads (docs/microk8s.md, "Changing the cluster key") on three
 * and on four nodes, and a fourth node added to three by a reload. Each asserts what a user would
 * notice: no failed call, the VIP where it was (no take or release on any node), the same processes
 * (no restart). Each prints its figures.
 */
@Tag("netns")
class ReloadIT {

  static final long PROBE_INTERVAL_MILLIS = 50;
  static final Duration STEP_TIMEOUT = Duration.ofSeconds(15);
  static final Pattern TRANSITIONS =
      Pattern.compile("^apivip_vip_transitions_total\\{[^}]*} (\\S+)$", Pattern.MULTILINE);

  ClusterLab lab;

  @RegisterExtension final LabLogsOnFailure logsOnFailure = new LabLogsOnFailure(() -> lab);

  @BeforeAll
  static void namespaces() {
    NetnsSupport.assumeAvailable();
  }

  @AfterEach
  void closeLab() {
    if (lab != null) {
      lab.close();
    }
  }

  /** The scenario's work directory under target/e2e, emptied first. */
  static Path work(String name) throws IOException {
    Path work = Path.of("target", "e2e", name).toAbsolutePath();
    ClusterLab.deleteRecursively(work);
    return work;
  }

  @ParameterizedTest(name = "{0} nodes")
  @ValueSource(ints = {3, 4})
  void aKeyChangeInThreeRoundsOfReloadsCostsNoCallAndMovesNoVip(int size) throws Exception {
    Path work = work("reload-key-" + size);
    lab =
        ClusterLab.start(
            ClusterLab.Options.defaults(JAR.toAbsolutePath(), work)
                .withNodes(size)
                .withExtraConfig(LAB_HEALTH));
    List<LabNode> nodes = lab.nodes();
    LabNode holder = EndToEndIT.awaitOneHolder(lab, nodes, nodes);
    Path oldKey = work.resolve("cluster.key");
    Path newKey = work.resolve("cluster-new.key");
    GenKeyCommand.writeNewKey(newKey);
    String oldId = KeyFile.fingerprint(KeyFile.read(oldKey));
    String newId = KeyFile.fingerprint(KeyFile.read(newKey));
    Map<LabNode, Long> pids = pids(nodes);
    double transitions = transitions(nodes);

    try (LabProbe probe = lab.startProbe(PROBE_INTERVAL_MILLIS, 0, Duration.ofSeconds(1))) {
      awaitSteadyTraffic(probe);
      long start = System.currentTimeMillis();
      long[] rounds = new long[3];
      rounds[0] =
          round(
              nodes,
              "cluster.accept-key-files = [\"" + newKey + "\"]",
              s -> self(s).key().equals(oldId) && s.acceptedKeys().equals(List.of(newId)));
      rounds[1] =
          round(
              nodes,
              "cluster.key-file = \""
                  + newKey
                  + "\"\ncluster.accept-key-files = [\""
                  + oldKey
                  + "\"]",
              s -> self(s).key().equals(newId) && s.acceptedKeys().equals(List.of(oldId)));
      rounds[2] =
          round(
              nodes,
              "cluster.accept-key-files = []",
              s -> self(s).key().equals(newId) && s.acceptedKeys().isEmpty());
      for (LabNode node : nodes) {
        assertThat(
                ClusterLab.awaitStatus(
                    node, STEP_TIMEOUT, json -> everyoneSignsWith(parse(json), newId, size)))
            .as(node.id() + " hears every node sign with the new key")
            .isPresent();
      }
      Thread.sleep(2000);
      long end = System.currentTimeMillis();
      LabProbe.Summary summary = settledSummary(probe, start, end, Duration.ofSeconds(1));
      double moves = transitions(nodes) - transitions;
      System.out.printf(
          "key change on %d nodes: rounds of reloads took %d, %d and %d ms; %s; VIP transitions"
              + " %.0f; holder %s; restarts %d%n",
          size, rounds[0], rounds[1], rounds[2], summary, moves, holder.id(), restarts(pids));
      assertThat(summary.failures()).as(summary.failed().toString()).isZero();
      assertThat(moves).as("VIP takes and releases on every node during the change").isZero();
      assertThat(lab.nodesWithVip()).containsExactly(holder);
      assertThat(restarts(pids)).as("restarted processes").isZero();
      assertThat(rejectedDatagrams(nodes)).as("heartbeats rejected during the change").isZero();
    }
  }

  @Test
  void aReloadAddsAFourthNodeToThreeWithoutAFailedCallOrAVipMove() throws Exception {
    Path work = work("reload-node");
    String three = nodeList(3);
    lab =
        ClusterLab.startApiserversOnly(
            ClusterLab.Options.defaults(JAR.toAbsolutePath(), work)
                .withNodes(4)
                .withExtraConfig(LAB_HEALTH)
                .withNodeConfig("n1", three)
                .withNodeConfig("n2", three)
                .withNodeConfig("n3", three));
    List<LabNode> first = lab.nodes().subList(0, 3);
    LabNode fourth = lab.node(4);
    for (LabNode node : first) {
      node.startApivip();
    }
    LabNode holder = EndToEndIT.awaitOneHolder(lab, first, lab.nodes());
    Map<LabNode, Long> pids = pids(first);
    double transitions = transitions(first);

    try (LabProbe probe = lab.startProbe(PROBE_INTERVAL_MILLIS, 0, Duration.ofSeconds(1))) {
      awaitSteadyTraffic(probe);
      long start = System.currentTimeMillis();
      // The guide's order: the new node first, with the four-node list. Until the others list it,
      // they drop its heartbeats and it sees no quorum, so it takes nothing; each of them, once
      // reloaded, counts it at once, so no reloaded node needs all three others while the fourth
      // is still starting.
      fourth.startApivip();
      assertThat(
              ClusterLab.awaitStatus(
                  fourth, EndToEndIT.SETTLE, json -> parse(json).members().size() == 4))
          .as("n4 runs")
          .isPresent();
      long started = System.currentTimeMillis();
      long reloads =
          round(
              first,
              nodeList(4),
              s -> s.members().size() == 4 && s.quorum().required() == 3 && s.quorum().seen() == 4);
      for (LabNode node : lab.nodes()) {
        assertThat(
                ClusterLab.awaitStatus(
                    node,
                    EndToEndIT.SETTLE,
                    json -> {
                      StatusReport status = parse(json);
                      return status.quorum().seen() == 4
                          && holder.id().equals(status.vip().holder())
                          && status.backends().stream().allMatch(b -> b.health().equals("up"));
                    }))
            .as(node.id() + " sees four nodes, " + holder.id() + " holding, four apiservers up")
            .isPresent();
      }
      long joined = System.currentTimeMillis();
      Thread.sleep(2000);
      LabProbe.Summary summary =
          settledSummary(probe, start, System.currentTimeMillis(), Duration.ofSeconds(1));
      double moves = transitions(lab.nodes()) - transitions;
      System.out.printf(
          "fourth node added: n4 ran %d ms after the test began, the reloads of n1-n3 took %d ms,"
              + " every node agreed %d ms after n4 ran; %s; VIP transitions %.0f; holder %s;"
              + " restarts %d%n",
          started - start, reloads, joined - started, summary, moves, holder.id(), restarts(pids));
      assertThat(summary.failures()).as(summary.failed().toString()).isZero();
      assertThat(moves).as("VIP takes and releases on every node").isZero();
      assertThat(lab.nodesWithVip()).containsExactly(holder);
      assertThat(restarts(pids)).as("restarted processes").isZero();
    }
  }

  /**
   * One round of reloads: on each node in turn, {@code lines} appended to its configuration (later
   * lines override earlier ones), SIGHUP, and a wait until its status shows {@code done}; answers
   * how long the round took.
   */
  long round(List<LabNode> nodes, String lines, Predicate<StatusReport> done) throws Exception {
    long start = System.currentTimeMillis();
    for (LabNode node : nodes) {
      Files.writeString(
          node.config(),
          "\n# reloaded by ReloadIT\n" + lines + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.APPEND);
      node.reload();
      assertThat(ClusterLab.awaitStatus(node, STEP_TIMEOUT, json -> done.test(parse(json))))
          .as(node.id() + " reloaded: " + lines)
          .isPresent();
      // A heartbeat interval or two, so that the peers hear this node's change before the next.
      Thread.sleep(300);
    }
    return System.currentTimeMillis() - start;
  }

  /**
   * cluster.nodes of the lab's first {@code count} nodes, as ClusterLab lists them (node i is ni at
   * 192.0.2.(10+i), see NetnsLab).
   */
  static String nodeList(int count) {
    return "cluster.nodes = [\n"
        + java.util.stream.IntStream.rangeClosed(1, count)
            .mapToObj(
                i ->
                    "  { id = \"n"
                        + i
                        + "\", address = \"192.0.2."
                        + (10 + i)
                        + "\", priority = 100 }")
            .collect(Collectors.joining("\n"))
        + "\n]";
  }

  static StatusReport.Member self(StatusReport status) {
    return status.members().stream()
        .filter(m -> m.state().equals("self"))
        .findFirst()
        .orElseThrow();
  }

  static boolean everyoneSignsWith(StatusReport status, String key, int size) {
    return status.members().size() == size
        && status.members().stream()
            .allMatch(m -> key.equals(m.key()) && List.of("self", "alive").contains(m.state()));
  }

  static Map<LabNode, Long> pids(List<LabNode> nodes) {
    Map<LabNode, Long> pids = new LinkedHashMap<>();
    nodes.forEach(node -> pids.put(node, node.apivipPid()));
    return pids;
  }

  static long restarts(Map<LabNode, Long> pids) {
    return pids.entrySet().stream()
        .filter(e -> !e.getKey().running() || e.getKey().apivipPid() != e.getValue())
        .count();
  }

  /** The sum of apivip_vip_transitions_total over the nodes: every take and release. */
  static double transitions(List<LabNode> nodes) {
    double sum = 0;
    for (LabNode node : nodes) {
      String metrics =
          node.metrics().orElseThrow(() -> new AssertionError(node.id() + " has no metrics"));
      Matcher matcher = TRANSITIONS.matcher(metrics);
      while (matcher.find()) {
        sum += Double.parseDouble(matcher.group(1));
      }
    }
    return sum;
  }

  /** Datagrams from members rejected for their key or MAC, over every node's view. */
  static long rejectedDatagrams(List<LabNode> nodes) {
    return nodes.stream()
        .mapToLong(
            node ->
                status(node).members().stream()
                    .mapToLong(StatusReport.Member::rejectedDatagrams)
                    .sum())
        .sum();
  }
}
