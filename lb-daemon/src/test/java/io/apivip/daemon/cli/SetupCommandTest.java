package io.apivip.daemon.cli;

import static io.apivip.daemon.cli.CommandLineTest.apivip;
import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.setup.FakeMicroK8sNode;
import io.apivip.daemon.setup.MicroK8sSetup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code apivip setup microk8s} as the operator types it, on a MicroK8s node in a directory. */
class SetupCommandTest {

  @TempDir Path dir;

  /** The command with {@code host} standing in for this node. */
  static CommandLineTest.Result setup(MicroK8sSetup.Host host, String... args) {
    return CommandLineTest.run(
        () ->
            new CommandLine(new SetupCommand(config -> host))
                .setCaseInsensitiveEnumValuesAllowed(true),
        args);
  }

  @Test
  void aDryRunPrintsThePlanAndChangesNothingThenARunMakesItThenASecondRunHasNothingToDo()
      throws IOException {
    FakeMicroK8sNode node = new FakeMicroK8sNode(dir);
    String[] args = {
      "microk8s",
      "--snap-data",
      node.snapData.toString(),
      "-c",
      node.config.toString(),
      // --dns-name, as the doctor's fixes write it, is --dns, as the guide writes it.
      "--dns-name",
      "k8s-api.example.internal"
    };
    Map<String, String> before = node.snapshot();

    CommandLineTest.Result dry = setup(node.host(), append(args, "--dry-run"));

    assertThat(dry.exitCode()).as(dry.err()).isZero();
    assertThat(dry.out())
        .contains(
            "change  add IP.99 = 192.0.2.100, DNS.6 = k8s-api.example.internal above #MOREIPS")
        .contains("dry run: nothing changed; without --dry-run this makes the 5 changes above")
        .doesNotContain("done");
    assertThat(node.snapshot()).isEqualTo(before);

    CommandLineTest.Result run = setup(node.host(), args);

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("making 5 changes:")
        .contains("  done    issued " + node.config.resolveSibling("health.crt"))
        .contains("done: 5 changes made")
        .contains(
            "note: "
                + node.snapData.resolve("certs/server.crt")
                + " does not name 192.0.2.100, k8s-api.example.internal yet");
    assertThat(run.out().indexOf("change  ")).isLessThan(run.out().indexOf("  done    "));

    Map<String, String> after = node.snapshot();
    CommandLineTest.Result again = setup(node.host(), args);

    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(again.out())
        .contains("nothing to change: this node is ready for apivip")
        .doesNotContain("change  ");
    assertThat(node.snapshot()).isEqualTo(after);
  }

  @Test
  void aRefusalSaysWhyExits2AndChangesNothing() throws IOException {
    FakeMicroK8sNode node = new FakeMicroK8sNode(dir);
    Files.delete(node.snapData.resolve("certs/ca.key"));
    Map<String, String> before = node.snapshot();

    CommandLineTest.Result run =
        setup(
            node.host(),
            "microk8s",
            "--snap-data",
            node.snapData.toString(),
            "-c",
            node.config.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).startsWith("apivip setup: no CA key").endsWith("; nothing changed\n");
    assertThat(run.out()).isEmpty();
    assertThat(node.snapshot()).isEqualTo(before);
  }

  @Test
  void theRealCommandRefusesWithoutMicroK8sOrRoot() {
    CommandLineTest.Result result =
        apivip(
            "setup",
            "microk8s",
            "--snap-data",
            dir.resolve("none").toString(),
            "-c",
            dir.resolve("apivip.conf").toString());

    assertThat(result.exitCode()).isEqualTo(2);
    // As root the missing MicroK8s is named; as anyone else, root is asked for first.
    assertThat(result.err())
        .containsAnyOf("no MicroK8s on this node", "run it as root")
        .contains("nothing changed");
  }

  @Test
  void onlyMicroK8sIsATarget() {
    CommandLineTest.Result result = apivip("setup", "k3s");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("k3s").contains("MICROK8S");
  }

  @Test
  void helpNamesEveryOption() {
    CommandLineTest.Result result = apivip("help", "setup");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out())
        .contains("microk8s")
        .contains("--vip")
        .contains("--dns")
        .contains("--dns-name")
        .contains("--refresh-server-cert")
        .contains("--dry-run")
        .contains("--config")
        .contains("--snap-data")
        .contains("/var/snap/microk8s/current");
  }

  private static String[] append(String[] args, String extra) {
    String[] all = java.util.Arrays.copyOf(args, args.length + 1);
    all[args.length] = extra;
    return all;
  }
}
