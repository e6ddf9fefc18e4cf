package io.apivip.daemon.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.cluster.ClusterStatus;
import io.apivip.daemon.cluster.ClusterStatus.Liveness;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every obstacle to a drain of n1, one cluster view at a time (issue 23: never two of three out).
 */
class DrainGuardTest {

  private static ClusterStatus.Member member(
      String id, Liveness liveness, boolean eligible, boolean maintenance) {
    return new ClusterStatus.Member(
        id,
        InetAddress.getLoopbackAddress(),
        100,
        liveness,
        eligible,
        maintenance,
        false,
        Optional.empty(),
        Optional.empty(),
        0,
        Optional.empty());
  }

  private static final ClusterStatus.Member SELF = member("n1", Liveness.SELF, true, false);
  private static final ClusterStatus.Member N2 = member("n2", Liveness.ALIVE, true, false);
  private static final ClusterStatus.Member N3 = member("n3", Liveness.ALIVE, true, false);

  static Stream<Arguments> views() {
    String last = "no other node could hold the VIP: this node is the last one that can";
    return Stream.of(
        Arguments.of("all up and ready: no obstacle", List.of(SELF, N2, N3), Set.of(), List.of()),
        Arguments.of(
            "a peer suspected",
            List.of(SELF, N2, member("n3", Liveness.SUSPECTED, true, false)),
            Set.of(),
            List.of("node n3 is down (suspected)")),
        Arguments.of(
            "a peer never heard",
            List.of(SELF, N2, member("n3", Liveness.NEVER_HEARD, false, false)),
            Set.of(),
            List.of("node n3 is down (never heard)")),
        Arguments.of(
            "a peer in maintenance",
            List.of(SELF, N2, member("n3", Liveness.ALIVE, true, true)),
            Set.of(),
            List.of("node n3 is in maintenance")),
        Arguments.of(
            "a peer's apiserver not ready",
            List.of(SELF, N2, N3),
            Set.of("n2"),
            List.of("the apiserver on node n2 is not ready")),
        Arguments.of(
            "no other eligible node",
            List.of(
                SELF,
                member("n2", Liveness.ALIVE, false, false),
                member("n3", Liveness.ALIVE, false, false)),
            Set.of(),
            List.of(last)),
        Arguments.of("alone", List.of(SELF), Set.of(), List.of(last)),
        Arguments.of(
            "both others out",
            List.of(
                SELF,
                member("n2", Liveness.SUSPECTED, true, false),
                member("n3", Liveness.ALIVE, true, true)),
            Set.of(),
            List.of(last, "node n2 is down (suspected)", "node n3 is in maintenance")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("views")
  void obstacles(
      String view,
      List<ClusterStatus.Member> members,
      Set<String> notReady,
      List<String> expected) {
    assertThat(DrainGuard.obstacles(members, id -> !notReady.contains(id))).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("views")
  void forceNamesACostForEveryObstacle(
      String view,
      List<ClusterStatus.Member> members,
      Set<String> notReady,
      List<String> expected) {
    String cost = DrainGuard.cost(DrainGuard.obstacles(members, id -> !notReady.contains(id)));
    assertThat(cost.isEmpty()).isEqualTo(expected.isEmpty());
    if (expected.stream().anyMatch(o -> o.startsWith("node") || o.startsWith("the apiserver"))) {
      assertThat(cost).contains("dqlite");
    }
    if (expected.stream().anyMatch(o -> o.startsWith("no other node"))) {
      assertThat(cost).contains("clients through the VIP fail");
    }
  }
}
