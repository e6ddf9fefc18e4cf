package io.apivip.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ApivipStatusTest {

  private static String status(
      boolean maintenance, boolean quorum, String thirdState, String thirdHealth) {
    return """
    {"node":"n1","cluster":"apivip","version":"0.1.0","maintenance":%s,
     "vip":{"address":"192.0.2.100","interfaceName":"eth0","holder":"n1","heldHere":true,
            "onInterface":true},
     "quorum":{"required":2,"seen":3,"present":%s},
     "members":[
       {"id":"n1","address":"192.0.2.11","priority":100,"state":"self","eligible":true,
        "maintenance":false,"holdsVip":true},
       {"id":"n2","address":"192.0.2.12","priority":100,"state":"alive","eligible":true,
        "maintenance":false,"holdsVip":false},
       {"id":"n3","address":"192.0.2.13","priority":100,"state":"%s","eligible":true,
        "maintenance":false,"holdsVip":false}],
     "backends":[
       {"node":"n1","address":"192.0.2.11:16443","health":"up","routable":true,
        "activeConnections":0},
       {"node":"n2","address":"192.0.2.12:16443","health":"up","routable":true,
        "activeConnections":0},
       {"node":"n3","address":"192.0.2.13:16443","health":"%s","routable":true,
        "activeConnections":0}],
     "drain":{"requested":false,"complete":false,"detail":""}}
    """
        .formatted(maintenance, quorum, thirdState, thirdHealth);
  }

  @Test
  void healthyWhenEveryMemberIsAliveAndEveryBackendUp() {
    assertThat(ApivipStatus.wholeClusterHealthy(status(false, true, "alive", "up"), 3)).isTrue();
  }

  @Test
  void notHealthyWhileAMemberIsSuspectedOrABackendDown() {
    assertThat(ApivipStatus.wholeClusterHealthy(status(false, true, "suspected", "up"), 3))
        .isFalse();
    assertThat(ApivipStatus.wholeClusterHealthy(status(false, true, "alive", "down"), 3)).isFalse();
  }

  @Test
  void notHealthyInMaintenanceOrWithoutQuorum() {
    assertThat(ApivipStatus.wholeClusterHealthy(status(true, true, "alive", "up"), 3)).isFalse();
    assertThat(ApivipStatus.wholeClusterHealthy(status(false, false, "alive", "up"), 3)).isFalse();
  }

  @Test
  void notHealthyWhenTheReportIsShortOfNodesOrNotJson() {
    assertThat(ApivipStatus.wholeClusterHealthy(status(false, true, "alive", "up"), 4)).isFalse();
    assertThat(ApivipStatus.wholeClusterHealthy("not json", 3)).isFalse();
  }
}
