package io.apivip.daemon.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OperatorsTest {

  @TempDir Path dir;

  @ParameterizedTest(name = "uid {0} gid {1} -> {2}")
  @CsvSource({
    "0,     0,     true,  root",
    "999,   999,   true,  the daemon's own user",
    "1001,  1001,  true,  member of ops",
    "1002,  4242,  true,  primary group ops",
    "1002,  1002,  false, is neither root nor a member of ops",
    "65534, 65534, false, is neither root nor a member of ops",
    "4242,  65534, false, is neither root nor a member of ops",
  })
  void onlyRootTheDaemonAndTheOperatorsGroupMayAct(int uid, int gid, boolean allowed, String reason)
      throws Exception {
    Operators.Decision decision = operators("ops").decide(new Operators.Peer(1234, uid, gid));
    assertThat(decision.allowed()).isEqualTo(allowed);
    assertThat(decision.reason()).isEqualTo(reason);
  }

  @ParameterizedTest
  @CsvSource({"1001, 1001", "1002, 4242"})
  void withoutTheGroupOnlyRootAndTheDaemonMayAct(int uid, int gid) throws Exception {
    Operators.Decision decision = operators("missing").decide(new Operators.Peer(1, uid, gid));
    assertThat(decision.allowed()).isFalse();
    assertThat(decision.reason()).contains("the operators' group missing does not exist");
  }

  @ParameterizedTest
  @CsvSource({"1001, 'uid 1001 (alice) pid 7'", "1234, 'uid 1234 pid 7'"})
  void describesTheCallerForTheLog(int uid, String described) throws Exception {
    assertThat(operators("ops").describe(new Operators.Peer(7, uid, uid))).isEqualTo(described);
  }

  private Operators operators(String group) throws Exception {
    Path passwd =
        Files.writeString(
            dir.resolve("passwd"),
            "root:x:0:0::/root:/bin/sh\n"
                + "alice:x:1001:1001::/:/bin/sh\n"
                + "carol:x:1002:1002::/:/bin/sh\n");
    Path groups =
        Files.writeString(dir.resolve("group"), "root:x:0:\nops:x:4242:alice,bob\ncarol:x:1002:\n");
    return new Operators(group, 999, new Operators.Database(passwd, groups));
  }
}
