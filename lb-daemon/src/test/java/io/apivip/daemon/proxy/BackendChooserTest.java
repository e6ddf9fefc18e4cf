package io.apivip.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Policy;
import io.apivip.daemon.proxy.BackendChooser.Candidate;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class BackendChooserTest {

  static final Backend N1 = backend("n1", 11);
  static final Backend N2 = backend("n2", 12);
  static final Backend N3 = backend("n3", 13);

  static Backend backend(String nodeId, int host) {
    return new Backend(nodeId, new InetSocketAddress("192.0.2." + host, 16443));
  }

  static Candidate up(Backend backend, int active) {
    return new Candidate(backend, true, active);
  }

  static Candidate down(Backend backend, int active) {
    return new Candidate(backend, false, active);
  }

  static List<Backend> order(Policy policy, long ticket, int attempts, Candidate... pool) {
    return BackendChooser.order(policy, List.of(pool), "n1", ticket, attempts);
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        // policy, ticket, attempts, pool, expected order
        Arguments.of(
            Policy.ROUND_ROBIN,
            0,
            3,
            List.of(up(N1, 0), up(N2, 0), up(N3, 0)),
            List.of(N1, N2, N3)),
        Arguments.of(
            Policy.ROUND_ROBIN,
            1,
            3,
            List.of(up(N1, 0), up(N2, 0), up(N3, 0)),
            List.of(N2, N3, N1)),
        Arguments.of(
            Policy.ROUND_ROBIN,
            5,
            3,
            List.of(up(N1, 0), up(N2, 0), up(N3, 0)),
            List.of(N3, N1, N2)),
        Arguments.of(
            Policy.ROUND_ROBIN,
            0,
            3,
            List.of(up(N1, 9), up(N2, 0), up(N3, 0)),
            List.of(N1, N2, N3)),
        Arguments.of(
            Policy.ROUND_ROBIN, 1, 3, List.of(up(N1, 0), down(N2, 0), up(N3, 0)), List.of(N3, N1)),
        Arguments.of(
            Policy.ROUND_ROBIN, 0, 1, List.of(up(N1, 0), up(N2, 0), up(N3, 0)), List.of(N1)),
        Arguments.of(
            Policy.LEAST_CONNECTIONS,
            0,
            3,
            List.of(up(N1, 5), up(N2, 1), up(N3, 3)),
            List.of(N2, N3, N1)),
        Arguments.of(
            Policy.LEAST_CONNECTIONS,
            7,
            3,
            List.of(up(N1, 5), up(N2, 1), up(N3, 3)),
            List.of(N2, N3, N1)),
        Arguments.of(
            Policy.LEAST_CONNECTIONS,
            0,
            3,
            List.of(up(N1, 2), up(N2, 2), up(N3, 2)),
            List.of(N1, N2, N3)),
        Arguments.of(
            Policy.LEAST_CONNECTIONS,
            1,
            3,
            List.of(up(N1, 2), up(N2, 2), up(N3, 2)),
            List.of(N2, N3, N1)),
        Arguments.of(
            Policy.LEAST_CONNECTIONS,
            2,
            3,
            List.of(up(N1, 2), up(N2, 2), up(N3, 9)),
            List.of(N1, N2, N3)),
        Arguments.of(
            Policy.LEAST_CONNECTIONS,
            0,
            2,
            List.of(down(N1, 0), up(N2, 4), up(N3, 3)),
            List.of(N3, N2)),
        Arguments.of(
            Policy.LEAST_CONNECTIONS, 0, 1, List.of(up(N1, 5), up(N2, 1), up(N3, 3)), List.of(N2)),
        // local-first: n1 is this node's; it leads while routable, however loaded, the rest by
        // least connections
        Arguments.of(
            Policy.LOCAL_FIRST,
            0,
            3,
            List.of(up(N1, 50), up(N2, 1), up(N3, 0)),
            List.of(N1, N3, N2)),
        Arguments.of(
            Policy.LOCAL_FIRST,
            1,
            3,
            List.of(up(N2, 1), up(N3, 0), up(N1, 50)),
            List.of(N1, N3, N2)),
        Arguments.of(
            Policy.LOCAL_FIRST, 0, 3, List.of(down(N1, 0), up(N2, 1), up(N3, 0)), List.of(N3, N2)),
        Arguments.of(
            Policy.LOCAL_FIRST, 0, 1, List.of(down(N1, 0), up(N2, 1), up(N3, 0)), List.of(N3)),
        Arguments.of(Policy.LOCAL_FIRST, 0, 1, List.of(up(N1, 9), up(N2, 0)), List.of(N1)));
  }

  @ParameterizedTest(name = "{0} ticket {1} attempts {2}: {3} -> {4}")
  @MethodSource("cases")
  void ordersTheRoutableBackends(
      Policy policy, long ticket, int attempts, List<Candidate> pool, List<Backend> expected) {
    assertThat(BackendChooser.order(policy, pool, "n1", ticket, attempts)).isEqualTo(expected);
  }

  @ParameterizedTest
  @EnumSource(Policy.class)
  void choosesNothingWhenNoneIsRoutable(Policy policy) {
    assertThat(order(policy, 0, 3, down(N1, 0), down(N2, 0))).isEmpty();
    assertThat(BackendChooser.order(policy, List.of(), "n1", 0, 3)).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Policy.class)
  void triesEveryRoutableBackendAtMostOnce(Policy policy) {
    for (long ticket = -3; ticket < 10; ticket++) {
      List<Backend> order = order(policy, ticket, 16, up(N1, 1), up(N2, 0), down(N3, 0));
      assertThat(order).containsExactlyInAnyOrder(N1, N2);
    }
  }

  @Test
  void localFirstWithoutALocalApiserverIsLeastConnections() {
    List<Candidate> pool = List.of(up(N2, 3), up(N3, 1));
    assertThat(BackendChooser.order(Policy.LOCAL_FIRST, pool, "n1", 0, 3)).containsExactly(N3, N2);
    assertThat(BackendChooser.order(Policy.LOCAL_FIRST, pool, "", 0, 3)).containsExactly(N3, N2);
  }

  @Test
  void anApiserverOnNoNodeIsNeverLocal() {
    Backend external = new Backend("", new InetSocketAddress("192.0.2.50", 16443));
    List<Candidate> pool = List.of(up(N2, 0), up(external, 5));
    assertThat(BackendChooser.order(Policy.LOCAL_FIRST, pool, "", 0, 3))
        .containsExactly(N2, external);
  }

  @Test
  void roundRobinSpreadsEvenlyOverTickets() {
    List<Candidate> pool = List.of(up(N1, 0), up(N2, 0), up(N3, 0));
    List<Backend> first = new ArrayList<>();
    for (long ticket = 0; ticket < 300; ticket++) {
      first.add(BackendChooser.order(Policy.ROUND_ROBIN, pool, "n1", ticket, 1).get(0));
    }
    assertThat(first.stream().filter(N1::equals).count()).isEqualTo(100);
    assertThat(first.stream().filter(N2::equals).count()).isEqualTo(100);
    assertThat(first.stream().filter(N3::equals).count()).isEqualTo(100);
  }
}
