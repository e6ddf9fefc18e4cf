package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** snapd's refreshes of microk8s and MicroK8s's version, from what snap answers on a node. */
class SnapCheckTest {

  static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  static final String HEADER = "Name      Version  Rev   Tracking     Publisher   Notes\n";
  static final String DEFAULT_TIME =
      "timer: 00:00~24:00/4\nlast: today at 07:52 UTC\nnext: today at 13:05 UTC\n";

  @TempDir Path dir;

  /** snap's answers by command line; any other command is not found. */
  final Map<String, ShortCommand.Result> answers = new HashMap<>();

  void answer(String command, int exit, String output) {
    answers.put(command, new ShortCommand.Result(exit, output.strip()));
  }

  MicroK8sCheck.Node node() {
    return new MicroK8sCheck.Node(
        dir.resolve("data"),
        dir.resolve("snap"),
        command -> Optional.ofNullable(answers.get(String.join(" ", command))));
  }

  void listed(String version, String notes) {
    answer(
        "snap list microk8s",
        0,
        HEADER + "microk8s  " + version + "  7964  1.32/stable  canonical✓  " + notes + "\n");
  }

  Finding refresh() {
    return SnapCheck.check(node(), NOW).get(0);
  }

  Finding version() {
    return SnapCheck.check(node(), NOW).get(1);
  }

  @Test
  void anUnheldMicroK8sOnTheDefaultTimerIsAWarningThatSaysHowToHoldIt() {
    listed("v1.32.3", "classic");
    answer("snap get system refresh.hold", 1, "");
    answer("snap refresh --time", 0, DEFAULT_TIME);
    Finding refresh = refresh();
    assertThat(refresh.severity()).isEqualTo(Severity.WARN);
    assertThat(refresh.message())
        .startsWith("snapd refreshes microk8s on its own (refresh.timer = 00:00~24:00/4)")
        .contains("canonical/microk8s#1022")
        .contains("sudo snap refresh --hold microk8s")
        .contains("sudo snap set system refresh.timer=");
  }

  @Test
  void whatCountsAsHeld() {
    listed("v1.32.3", "classic,held");
    assertThat(refresh().severity()).as("snap refresh --hold microk8s").isEqualTo(Severity.OK);
    assertThat(refresh().message()).contains("(snap list microk8s: held)");

    listed("v1.32.3", "classic");
    answer("snap refresh --time", 0, DEFAULT_TIME);
    Map<String, Severity> systemHolds =
        Map.of(
            "forever", Severity.OK,
            "2026-06-01T00:00:00Z", Severity.OK,
            "2026-06-01T00:00:00+02:00", Severity.OK,
            "2026-02-01T00:00:00Z", Severity.WARN,
            "not a time", Severity.WARN);
    for (Map.Entry<String, Severity> hold : systemHolds.entrySet()) {
      answer("snap get system refresh.hold", 0, hold.getKey());
      assertThat(refresh().severity())
          .as("refresh.hold = " + hold.getKey())
          .isEqualTo(hold.getValue());
    }

    answer("snap get system refresh.hold", 1, "");
    answer("snap refresh --time", 0, "timer: mon,03:00-04:00\nnext: Mon at 03:12 UTC\n");
    assertThat(refresh())
        .as("a window of this node's own")
        .satisfies(
            finding -> {
              assertThat(finding.severity()).isEqualTo(Severity.OK);
              assertThat(finding.message())
                  .contains("(refresh.timer = mon,03:00-04:00)")
                  .contains("each node needs a window of its own");
            });
  }

  @Test
  void withoutAnAnswerFromSnapItSaysSoAndHowToHold() {
    Finding refresh = refresh();
    assertThat(refresh.severity()).isEqualTo(Severity.WARN);
    assertThat(refresh.message())
        .startsWith("snap list microk8s gives no answer")
        .contains("sudo snap refresh --hold microk8s");
  }

  @Test
  void beforeMicroK8s127TheGuideNeedsAnotherStep() {
    Map<String, Severity> versions =
        Map.of(
            "v1.26.15", Severity.WARN,
            "v1.19.0", Severity.WARN,
            "v1.27.0", Severity.INFO,
            "v1.32.3", Severity.INFO,
            "v2.0.0", Severity.INFO,
            "1.28/stable-weird", Severity.INFO);
    for (Map.Entry<String, Severity> version : versions.entrySet()) {
      listed(version.getKey(), "classic,held");
      assertThat(version().severity()).as(version.getKey()).isEqualTo(version.getValue());
    }
    listed("v1.26.15", "classic,held");
    assertThat(version().message())
        .startsWith(
            "MicroK8s v1.26.15 is older than 1.27: its refresh-certs --cert server.crt signs")
        .contains("sudo snap set microk8s apivip-csr=\"$(date +%s)\"")
        .contains("canonical/microk8s PR #3740");
  }

  @Test
  void theVersionComesFromSnapYamlWhenSnapListDoesNotAnswer() throws IOException {
    Files.createDirectories(dir.resolve("snap/meta"));
    Files.writeString(
        dir.resolve("snap/meta/snap.yaml"),
        "name: microk8s\nversion: v1.25.16\nconfinement: classic\n");
    assertThat(version().message()).startsWith("MicroK8s v1.25.16 is older than 1.27");
    Files.delete(dir.resolve("snap/meta/snap.yaml"));
    assertThat(version())
        .satisfies(
            finding -> {
              assertThat(finding.severity()).isEqualTo(Severity.INFO);
              assertThat(finding.message()).startsWith("MicroK8s's version is unknown");
            });
  }

  @Test
  void readsSnapListRows() {
    assertThat(
            SnapCheck.row(
                HEADER + "microk8s  v1.32.3  7964  1.32/stable  canonical✓  classic,held"))
        .contains(new SnapCheck.Row("v1.32.3", List.of("classic", "held")));
    assertThat(SnapCheck.row(HEADER + "core20  20240111  2182  latest/stable  canonical✓  base"))
        .isEmpty();
  }
}
