package io.apivip.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The .deb on three booted Debian 12 nodes under systemd, each a faithful MicroK8s node: the guide
 * (docs/microk8s.md) from {@code apt install} to a held VIP and a clean {@code apivip doctor}, then
 * the scenarios of lab/nodes/scenarios.sh (the service's user and capabilities, {@code kill -9} of
 * the daemon, stop/start/restart, a rolling OS patch with no failed kubectl call, a DNS name added
 * to every API server certificate by {@code apivip setup microk8s --refresh-server-cert}). The lab
 * is a script, {@code lab/nodes/cluster test}; this test runs it and fails with its log. Needs
 * root, systemd-nspawn and debootstrap; in CI a missing one fails.
 */
class BootedNodesTest {

  /** The lab's own steps are bounded; this is the backstop (a cold root file system included). */
  private static final long LIMIT_MINUTES = 40;

  @Test
  void theGuideAndEveryScenarioPassOnBootedNodes() throws IOException, InterruptedException {
    requireRoot();
    Host.require("systemd-nspawn", "systemd-container");
    Host.require("debootstrap", "debootstrap");
    Host.require("kubectl", "kubernetes-client");
    Path root = DebPackage.sourceRoot().toAbsolutePath().normalize();
    Path standin =
        Path.of(System.getProperty("apivip.standin.dir", "target/standin")).toAbsolutePath();
    assertThat(standin).as("the stand-in kube-apiserver's jars").isDirectory();
    Path log = Files.createTempFile("apivip-booted-nodes", ".log");
    Process lab =
        new ProcessBuilder(
                List.of(
                    root.resolve("lab/nodes/cluster").toString(),
                    "test",
                    "--deb",
                    DebPackage.file().toAbsolutePath().toString(),
                    "--standin",
                    standin.toString()))
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    boolean finished = lab.waitFor(LIMIT_MINUTES, TimeUnit.MINUTES);
    if (!finished) {
      // The script's EXIT trap powers the nodes off and removes the namespaces.
      lab.destroy();
      lab.waitFor(2, TimeUnit.MINUTES);
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    System.out.println(output);
    if (!finished) {
      fail("the booted-node lab did not finish within " + LIMIT_MINUTES + " minutes");
    }
    assertThat(lab.exitValue()).as("lab/nodes/cluster test (its log is above)").isZero();
    assertThat(output)
        .contains(
            "rolling-patch: ",
            "kill-daemon: ",
            "stop-start: ",
            "service: ",
            "refresh-server-cert: ");
  }

  private static void requireRoot() throws IOException {
    boolean root =
        "0"
            .equals(
                Files.readString(Path.of("/proc/self/status"))
                    .lines()
                    .filter(line -> line.startsWith("Uid:"))
                    .map(line -> line.split("\\s+")[1])
                    .findFirst()
                    .orElse(""));
    if (root) {
      return;
    }
    String why = "the booted-node lab needs root (systemd-nspawn, network namespaces)";
    if (Boolean.getBoolean("apivip.netns.required")) {
      fail(why + "; CI runs as root");
    }
    assumeTrue(false, why);
  }
}
