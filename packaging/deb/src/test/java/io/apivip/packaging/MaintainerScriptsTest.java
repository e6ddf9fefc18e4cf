package io.apivip.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.lab.Pki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The package's maintainer scripts, run as dpkg runs them for an install into another root
 * (DPKG_ROOT), with the system tools they call (adduser, dpkg-statoverride, systemctl, ...)
 * replaced by stand-ins that record their calls. The apivip launcher and jar are the real ones.
 */
class MaintainerScriptsTest {

  /**
   * Stand-ins for the tools the scripts call: each records "name arguments" and answers per STUB_*
   * variables.
   */
  private static final String STUB =
      """
      #!/bin/sh
      name=$(basename "$0")
      echo "$name $*" >>"$CALLS"
      case "$name $*" in
        "getent passwd apivip") [ "$STUB_USER_EXISTS" = yes ] ;;
        "getent group apivip-admin") [ "$STUB_GROUP_EXISTS" = yes ] ;;
        "dpkg-statoverride --list /etc/apivip") [ "$STUB_OVERRIDE_EXISTS" = yes ] ;;
        *is-active*) [ "$STUB_ACTIVE" = yes ] ;;
        "apivip drain --wait") exit "${STUB_DRAIN_EXIT:-0}" ;;
        *) exit 0 ;;
      esac
      """;

  private static final List<String> TOOLS =
      List.of(
          "adduser",
          "addgroup",
          "getent",
          "dpkg-statoverride",
          "deb-systemd-helper",
          "deb-systemd-invoke",
          "systemctl");

  @TempDir static Path shared;
  static Path unpacked;
  static Path stubs;

  @TempDir Path root;
  Path calls;
  Map<String, String> environment;

  @BeforeAll
  static void unpackAndMakeStubs() throws IOException {
    unpacked = DebPackage.unpack(Files.createDirectory(shared.resolve("unpacked")));
    stubs = Files.createDirectory(shared.resolve("stubs"));
    for (String tool : TOOLS) {
      writeExecutable(stubs.resolve(tool), STUB);
    }
  }

  /** A node as dpkg leaves it after unpacking: the package's files, systemd running, no key yet. */
  @BeforeEach
  void freshNode() throws IOException {
    Files.createSymbolicLink(root.resolve("usr"), unpacked.resolve("usr"));
    Files.createDirectories(root.resolve("etc/apivip"));
    Files.copy(unpacked.resolve("etc/apivip/apivip.conf"), root.resolve("etc/apivip/apivip.conf"));
    Files.createDirectories(root.resolve("run/systemd/system"));
    calls = root.resolve("calls");
    Files.createFile(calls);
    environment = new HashMap<>();
    environment.put("DPKG_ROOT", root.toString());
    environment.put("PATH", stubs + ":" + System.getenv("PATH"));
    environment.put("CALLS", calls.toString());
  }

  @Test
  void aFirstInstallWithoutAKeyCreatesTheUserAndEnablesButDoesNotStartAndSaysWhatToDo()
      throws IOException {
    Host.Result result = script("postinst", "configure", "");

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(calls())
        .contains(
            "adduser --system --group --home /nonexistent --no-create-home --quiet apivip",
            "addgroup --system --quiet apivip-admin",
            "adduser --quiet apivip apivip-admin",
            "dpkg-statoverride --update --add root apivip 0750 /etc/apivip",
            "deb-systemd-helper enable apivip.service")
        .noneMatch(call -> call.startsWith("deb-systemd-invoke"));
    assertThat(result.stdout())
        .contains(
            "installed and enabled, but not started: this node has no cluster key ("
                + root
                + "/etc/apivip/cluster.key)")
        .contains("apivip setup microk8s")
        .contains("apivip gen-key --out /etc/apivip/cluster.key")
        .contains(
            "chown apivip:apivip /etc/apivip/cluster.key && chmod 600 /etc/apivip/cluster.key")
        .contains("apivip check-config")
        .contains("systemctl start apivip");
    assertThat(root.resolve("etc/apivip/cluster.key"))
        .as("the scripts never make a key")
        .doesNotExist();
  }

  @Test
  void aKeyWithTheShippedExampleConfigurationIsNotStarted() throws IOException {
    writeKey();

    Host.Result result = script("postinst", "configure", "");

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout())
        .contains("not started: " + root + "/etc/apivip/apivip.conf is still the shipped example");
    assertThat(calls()).noneMatch(call -> call.startsWith("deb-systemd-invoke"));
  }

  @Test
  void anInvalidConfigurationIsNotStartedAndItsProblemsAreShown() throws IOException {
    writeKey();
    Files.writeString(root.resolve("etc/apivip/apivip.conf"), "node-id = \"nowhere\"\n");

    Host.Result result = script("postinst", "configure", "");

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout()).contains("apivip.conf is not valid (problems above)");
    assertThat(result.stderr()).contains("cluster.nodes");
    assertThat(calls()).noneMatch(call -> call.startsWith("deb-systemd-invoke"));
  }

  @Test
  void aKeyAndAValidConfigurationStartTheServiceAndTheKeyIsLeftAsItWas() throws IOException {
    Path key = writeKey();
    byte[] keyBefore = Files.readAllBytes(key);
    Path ca = root.resolve("ca.crt");
    Pki microk8s = Pki.newCa("microk8s-test-ca");
    microk8s.writeCa(ca);
    microk8s.issueClient("apivip").write(root.resolve("server.crt"), root.resolve("server.key"));
    Files.writeString(
        root.resolve("etc/apivip/apivip.conf"),
        """
        include file("%s")
        cluster.key-file = "%s"
        health.ca-file = "%s"
        health.client-cert-file = "%s"
        health.client-key-file = "%s"
        """
            .formatted(
                unpacked.resolve("usr/share/doc/apivip/examples/apivip.conf"),
                key,
                ca,
                root.resolve("server.crt"),
                root.resolve("server.key")));
    environment.put("STUB_USER_EXISTS", "yes");
    environment.put("STUB_GROUP_EXISTS", "yes");
    environment.put("STUB_OVERRIDE_EXISTS", "yes");

    Host.Result result = script("postinst", "configure", "");

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(calls())
        .contains(
            "deb-systemd-helper enable apivip.service", "deb-systemd-invoke start apivip.service")
        .noneMatch(
            call -> call.startsWith("adduser") || call.startsWith("dpkg-statoverride --update"));
    assertThat(key).hasBinaryContent(keyBefore);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
        .isEqualTo("rw-------");
    if (!"apivip".equals(Files.getOwner(key).getName())) {
      assertThat(result.stdout())
          .contains("the daemon needs owner apivip and mode 600:")
          .contains("chown apivip:apivip " + key);
    }
  }

  @Test
  void anUpgradeRestartsARunningDaemonAndLeavesAStoppedOneStopped() throws IOException {
    environment.put("STUB_USER_EXISTS", "yes");
    environment.put("STUB_OVERRIDE_EXISTS", "yes");
    environment.put("STUB_ACTIVE", "yes");

    Host.Result running = script("postinst", "configure", "0.0.9");
    assertThat(running.exitCode()).as(running.describe()).isZero();
    assertThat(calls()).contains("deb-systemd-invoke try-restart apivip.service");

    Files.writeString(calls, "");
    environment.put("STUB_ACTIVE", "no");
    Host.Result stopped = script("postinst", "configure", "0.0.9");
    assertThat(stopped.exitCode()).as(stopped.describe()).isZero();
    assertThat(calls()).noneMatch(call -> call.startsWith("deb-systemd-invoke"));
    assertThat(stopped.stdout()).contains("stays stopped; start it with: systemctl start apivip");
  }

  @Test
  void removingARunningDaemonDrainsItBeforeStoppingIt() throws IOException {
    useStubLauncher();
    environment.put("STUB_ACTIVE", "yes");

    Host.Result result = script("prerm", "remove");

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(calls())
        .containsSubsequence(
            "systemctl --quiet is-active apivip.service",
            "apivip drain --wait",
            "deb-systemd-invoke stop apivip.service");
  }

  @Test
  void aFailedDrainDoesNotBlockTheRemoval() throws IOException {
    useStubLauncher();
    environment.put("STUB_ACTIVE", "yes");
    environment.put("STUB_DRAIN_EXIT", "1");

    Host.Result result = script("prerm", "remove");

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout()).contains("the drain did not finish; stopping anyway");
    assertThat(calls())
        .containsSubsequence("apivip drain --wait", "deb-systemd-invoke stop apivip.service");
  }

  @Test
  void aStoppedDaemonIsNeitherDrainedNorStoppedAndAnUpgradeLeavesItRunning() throws IOException {
    useStubLauncher();

    assertThat(script("prerm", "remove").exitCode()).isZero();
    assertThat(calls()).containsExactly("systemctl --quiet is-active apivip.service");

    Files.writeString(calls, "");
    environment.put("STUB_ACTIVE", "yes");
    assertThat(script("prerm", "upgrade", "0.2.0").exitCode()).isZero();
    assertThat(calls()).isEmpty();
  }

  @Test
  void removeKeepsTheConfigurationAndKeyAndPurgeDeletesThem() throws IOException {
    Path key = writeKey();
    Files.createDirectories(root.resolve("var/cache/apivip"));

    assertThat(script("postrm", "remove").exitCode()).isZero();
    assertThat(key).exists();
    assertThat(root.resolve("etc/apivip/apivip.conf")).exists();
    assertThat(calls()).contains("deb-systemd-helper mask apivip.service");

    environment.put("STUB_OVERRIDE_EXISTS", "yes");
    assertThat(script("postrm", "purge").exitCode()).isZero();
    assertThat(root.resolve("etc/apivip")).doesNotExist();
    assertThat(root.resolve("var/cache/apivip")).doesNotExist();
    assertThat(calls())
        .contains(
            "dpkg-statoverride --remove /etc/apivip", "deb-systemd-helper purge apivip.service");
  }

  private Host.Result script(String name, String... arguments) {
    List<String> command = Host.command("sh", unpacked.resolve("DEBIAN").resolve(name).toString());
    command.addAll(List.of(arguments));
    return Host.run(command, environment, null);
  }

  private List<String> calls() throws IOException {
    return Files.readAllLines(calls);
  }

  /** A key as `apivip gen-key` makes it, with the real launcher. */
  private Path writeKey() {
    Path key = root.resolve("etc/apivip/cluster.key");
    Host.Result result =
        Host.run(
            List.of(root.resolve("usr/bin/apivip").toString(), "gen-key", "--out", key.toString()));
    assertThat(result.exitCode()).as(result.describe()).isZero();
    return key;
  }

  /**
   * Replaces this node's launcher with the recording stand-in, to see what prerm asks of the
   * daemon.
   */
  private void useStubLauncher() throws IOException {
    Files.delete(root.resolve("usr"));
    writeExecutable(Files.createDirectories(root.resolve("usr/bin")).resolve("apivip"), STUB);
  }

  private static void writeExecutable(Path file, String content) throws IOException {
    Files.writeString(file, content);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
