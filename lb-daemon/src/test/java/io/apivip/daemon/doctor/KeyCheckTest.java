package io.apivip.daemon.doctor;

import static io.apivip.daemon.doctor.DoctorLab.alive;
import static io.apivip.daemon.doctor.DoctorLab.peer;
import static io.apivip.daemon.doctor.DoctorLab.status;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.cli.GenKeyCommand;
import io.apivip.daemon.config.KeyFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyCheckTest {

  static final Path KEY = Path.of("/etc/apivip/cluster.key");
  static final Duration GAP = Duration.ofSeconds(1);

  @TempDir Path dir;

  /** A status whose members sign with these keys (this node first), accepting {@code accepted}. */
  static StatusReport signing(List<String> accepted, String self, String... peers) {
    List<StatusReport.Member> members = new java.util.ArrayList<>();
    members.add(
        new StatusReport.Member(
            "node1", "192.0.2.11", 100, "self", true, false, true, null, null, 0, self));
    for (int i = 0; i < peers.length; i++) {
      members.add(
          new StatusReport.Member(
              "node" + (i + 2),
              "192.0.2.1" + (i + 2),
              100,
              "alive",
              true,
              false,
              false,
              0.05,
              0.0,
              0,
              peers[i]));
    }
    StatusReport base = status();
    return new StatusReport(
        base.node(),
        base.cluster(),
        base.version(),
        base.transport(),
        false,
        base.vip(),
        base.quorum(),
        members,
        List.of(),
        base.drain(),
        accepted);
  }

  /** The three steps of a key change as the doctor sees them from node1. */
  @Test
  void namesTheKeyEachNodeSignsWithAndTheNextStepOfAKeyChange() {
    assertThat(KeyCheck.signingKeys(signing(List.of(), "aaaa", "aaaa", "aaaa")))
        .containsExactly(
            Finding.ok(
                "key", "every node heard signs with key aaaa, and this node accepts no other"));
    assertThat(KeyCheck.signingKeys(signing(List.of("bbbb"), "aaaa", "aaaa", "aaaa")))
        .as("step 1 done here: the new key is accepted, nobody signs with it")
        .singleElement()
        .satisfies(
            finding -> {
              assertThat(finding.severity()).isEqualTo(Severity.WARN);
              assertThat(finding.message())
                  .startsWith(
                      "every node heard signs with key aaaa, and this node also accepts bbbb: in"
                          + " the middle of a key change, go on with its next step");
            });
    assertThat(KeyCheck.signingKeys(signing(List.of("aaaa"), "bbbb", "aaaa", "bbbb")))
        .as("step 2 under way: node2 still signs with the old key")
        .containsExactly(
            Finding.warn(
                "key",
                "node2 signs with key aaaa, this node with bbbb: a key change is under way; finish"
                    + " each step on every node before the next (docs/microk8s.md, \"Changing the"
                    + " cluster key\")"));
    assertThat(KeyCheck.signingKeys(status(alive("node2"))))
        .as("a daemon of a release before key ids names none")
        .isEmpty();
  }

  @Test
  void aPeerWhoseRejectedHeartbeatsGrowHasAnotherKey() {
    StatusReport first = status(peer("node2", "suspected", 4.0, null, 30), alive("node3"));
    StatusReport second = status(peer("node2", "suspected", 5.0, null, 40), alive("node3"));
    List<Finding> findings =
        KeyCheck.peers(first, second, GAP, KEY, Optional.of("0123456789abcdef"));
    assertThat(findings)
        .contains(
            Finding.fail(
                "key",
                "node2's heartbeats fail authentication: its key differs from this node's"
                    + " (fingerprint 0123456789abcdef); copy /etc/apivip/cluster.key from a good"
                    + " node to node2 and run sudo systemctl reload apivip there (10 rejected in"
                    + " 1.0s)"));
    assertThat(findings)
        .contains(
            Finding.ok(
                "key",
                "heartbeats of node3 authenticate: same key as this node's (fingerprint"
                    + " 0123456789abcdef)"));
    assertThat(KeyCheck.mismatched(first, second)).containsExactly("node2");
  }

  @Test
  void whenEveryPeerIsRejectedThisNodeHoldsTheOddKey() {
    StatusReport first =
        status(peer("node2", "suspected", 4.0, null, 1), peer("node3", "suspected", 4.0, null, 1));
    StatusReport second =
        status(peer("node2", "suspected", 5.0, null, 9), peer("node3", "suspected", 5.0, null, 9));
    assertThat(KeyCheck.peers(first, second, GAP, KEY, Optional.of("0123456789abcdef")))
        .containsExactly(
            Finding.fail(
                "key",
                "the heartbeats of every peer (node2, node3) fail authentication: this node's key"
                    + " (fingerprint 0123456789abcdef) differs from theirs; copy"
                    + " /etc/apivip/cluster.key from a good node to this one and run sudo systemctl"
                    + " reload apivip here (docs/microk8s.md section 3)"));
  }

  /**
   * Bad datagrams from the address of a peer whose own heartbeats authenticate: spoofed, its key is
   * fine.
   */
  @Test
  void rejectedDatagramsFromAnAlivePeersAddressArePossiblyForgedAndBlameNoKey() {
    StatusReport first = status(peer("node2", "alive", 0.05, 0.0, 100), alive("node3"));
    StatusReport second = status(peer("node2", "alive", 0.05, 0.0, 50_100), alive("node3"));
    List<Finding> findings =
        KeyCheck.peers(first, second, GAP, KEY, Optional.of("0123456789abcdef"));
    assertThat(findings).noneMatch(finding -> finding.severity() == Severity.FAIL);
    assertThat(findings)
        .anySatisfy(
            finding -> {
              assertThat(finding.severity()).isEqualTo(Severity.WARN);
              assertThat(finding.message())
                  .startsWith(
                      "50000 datagrams from node2's address failed authentication in 1.0s while its"
                          + " own heartbeats authenticate: possibly forged");
            });
    assertThat(KeyCheck.mismatched(first, second)).isEmpty();
  }

  @Test
  void anOldCountThatNoLongerGrowsIsOnlyAWarning() {
    StatusReport report = status(peer("node2", "alive", 0.05, 0.0, 12));
    assertThat(KeyCheck.peers(report, report, GAP, KEY, Optional.empty()))
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.WARN);
              assertThat(f.message())
                  .isEqualTo(
                      "node2 sent 12 heartbeats that failed authentication, but none in the last"
                          + " 1.0s: a key mismatch was fixed, or someone sent forged heartbeats;"
                          + " nothing to do if the count stays put");
            });
  }

  @Test
  void aMissingKeyFailsWithTheCommandThatMakesOne() {
    Path missing = dir.resolve("cluster.key");
    KeyCheck.Local local = KeyCheck.local("cluster.key-file", missing, "apivip");
    assertThat(local.fingerprint()).isEmpty();
    assertThat(local.findings())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.FAIL);
              assertThat(f.message())
                  .isEqualTo(
                      "cluster.key-file "
                          + missing
                          + ": no such file; create it with: apivip gen-key --out "
                          + missing
                          + " (once, on one node; copy it to the others: docs/microk8s.md section"
                          + " 3)");
            });
  }

  @Test
  void aKeyOthersCanReadFailsWithChmod() throws Exception {
    Path key = dir.resolve("cluster.key");
    GenKeyCommand.writeNewKey(key);
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    assertThat(KeyCheck.local("cluster.key-file", key, "apivip").findings())
        .singleElement()
        .satisfies(
            f ->
                assertThat(f.message())
                    .endsWith(
                        "is readable by group or others (mode rw-r--r--); run: chmod 600 " + key));
  }

  @Test
  void aKeyTheServiceUserDoesNotOwnFailsWithChown() throws Exception {
    Path key = dir.resolve("cluster.key");
    GenKeyCommand.writeNewKey(key);
    String owner = Files.getOwner(key).getName();
    // "nobody" exists on every Linux system and owns no test file.
    assertThat(KeyCheck.local("cluster.key-file", key, "nobody").findings())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.FAIL);
              assertThat(f.message())
                  .isEqualTo(
                      "cluster.key-file "
                          + key
                          + " is owned by "
                          + owner
                          + ", but the daemon runs as nobody and cannot read it: run: sudo chown"
                          + " nobody:nobody "
                          + key);
            });
  }

  @Test
  void aGoodKeyShowsItsFingerprintToCompareAcrossNodes() throws Exception {
    Path key = dir.resolve("cluster.key");
    GenKeyCommand.writeNewKey(key);
    String fingerprint = KeyFile.fingerprint(KeyFile.read(key));
    // Without a user named like the service user, ownership cannot be judged and is not.
    KeyCheck.Local local = KeyCheck.local("cluster.key-file", key, "no-such-user-apivip-test");
    assertThat(local.fingerprint()).contains(fingerprint);
    assertThat(local.findings())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.OK);
              assertThat(f.message())
                  .contains(
                      "mode rw-------",
                      "fingerprint " + fingerprint,
                      "apivip doctor on every node must show the same");
            });
  }
}
