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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * /usr/bin/apivip from the unpacked package: it finds a Java 17+ runtime and starts the jar with
 * suitable flags.
 */
class LauncherTest {

  @TempDir static Path dir;
  static Path root;
  static Path launcher;

  @BeforeAll
  static void unpack() throws IOException {
    root = DebPackage.unpack(Files.createDirectory(dir.resolve("root")));
    launcher = root.resolve("usr/bin/apivip");
  }

  @Test
  void versionPrintsTheBuildVersionAndTheJavaRuntime() {
    Host.Result result = Host.run(List.of(launcher.toString(), "version"));

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout())
        .matches(
            "apivip "
                + System.getProperty("apivip.maven.version").replace(".", "\\.")
                + " \\(Java \\d+.*\\)\\s*");
  }

  @Test
  void checkConfigAcceptsTheShippedConfigurationOnceThereIsAKeyAndTheClusterCa()
      throws IOException {
    Path work = Files.createDirectories(dir.resolve("check-config"));
    Path key = work.resolve("cluster.key");
    Host.Result genKey = Host.run(List.of(launcher.toString(), "gen-key", "--out", key.toString()));
    assertThat(genKey.exitCode()).as(genKey.describe()).isZero();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
        .isEqualTo("rw-------");
    Path ca = work.resolve("ca.crt");
    Pki microk8s = Pki.newCa("microk8s-test-ca");
    microk8s.writeCa(ca);
    // As on a MicroK8s node: the apiserver's certificate doubles as the health check's client
    // certificate.
    microk8s.issueClient("apivip").write(work.resolve("server.crt"), work.resolve("server.key"));
    Path config = work.resolve("apivip.conf");
    Files.writeString(
        config,
        """
        include file("%s")
        cluster.key-file = "%s"
        health.ca-file = "%s"
        health.client-cert-file = "%s"
        health.client-key-file = "%s"
        """
            .formatted(
                root.resolve("etc/apivip/apivip.conf"),
                key,
                ca,
                work.resolve("server.crt"),
                work.resolve("server.key")));

    Host.Result result =
        Host.run(List.of(launcher.toString(), "check-config", "--config", config.toString()));

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stderr()).contains(config + ": valid");
    assertThat(result.stdout()).contains("node1").contains("192.0.2.100");
  }

  @Test
  void checkConfigOfTheShippedConfigurationAloneSaysHowToMakeTheKey() throws IOException {
    Path config = Files.createDirectories(dir.resolve("no-key")).resolve("apivip.conf");
    Files.writeString(
        config,
        "include file(\"%s\")\ncluster.key-file = \"%s\"\n"
            .formatted(
                root.resolve("etc/apivip/apivip.conf"), config.resolveSibling("cluster.key")));

    Host.Result result =
        Host.run(List.of(launcher.toString(), "check-config", "--config", config.toString()));

    assertThat(result.exitCode()).as(result.describe()).isEqualTo(2);
    assertThat(result.stderr()).contains("cluster.key-file").contains("apivip gen-key --out");
  }

  @Test
  void theDaemonGetsABoundedHeapALowPauseCollectorAndExitsOnOutOfMemory() throws IOException {
    List<String> arguments =
        argumentsSeenBy(
            fakeJava("17.0.15", true), Map.of(), "run", "--config", "/etc/apivip/apivip.conf");

    assertThat(arguments)
        .contains(
            "-Xms64m",
            "-Xmx256m",
            "-XX:MaxDirectMemorySize=192m",
            "-XX:+UseG1GC",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:+UseContainerSupport");
    assertThat(arguments).doesNotContain("-XX:TieredStopAtLevel=1");
    assertThat(arguments.subList(arguments.indexOf("-jar"), arguments.size()))
        .containsExactly(
            "-jar",
            root.resolve("usr/share/apivip/apivip.jar").toRealPath().toString(),
            "run",
            "--config",
            "/etc/apivip/apivip.conf");
  }

  @Test
  void otherCommandsStartFastWithoutTheDaemonsHeap() throws IOException {
    List<String> arguments =
        argumentsSeenBy(fakeJava("17.0.15", true), Map.of(), "status", "--json");

    assertThat(arguments).contains("-XX:TieredStopAtLevel=1").doesNotContain("-Xmx256m");
    assertThat(arguments.subList(arguments.indexOf("-jar") + 2, arguments.size()))
        .containsExactly("status", "--json");
  }

  @Test
  void optionsFromTheEnvironmentComeAfterOursSoTheyWin() throws IOException {
    List<String> arguments =
        argumentsSeenBy(
            fakeJava("21.0.2", true),
            Map.of("APIVIP_JAVA_OPTS", "-Xmx512m -Djna.tmpdir=/var/cache/apivip"),
            "run");

    assertThat(arguments.indexOf("-Xmx512m")).isGreaterThan(arguments.indexOf("-Xmx256m"));
    assertThat(arguments.indexOf("-Djna.tmpdir=/var/cache/apivip"))
        .isLessThan(arguments.indexOf("-jar"));
  }

  @Test
  void aJavaHomeWithoutAReleaseFileIsJudgedByJavaVersion() throws IOException {
    List<String> arguments = argumentsSeenBy(fakeJava("21.0.1", false), Map.of(), "version");

    assertThat(arguments).contains("-jar");
  }

  @Test
  void aJavaHomeOlderThan17IsIgnoredAndAnotherRuntimeIsUsed() throws IOException {
    for (String old : List.of("11.0.2", "1.8.0_372")) {
      Path javaHome = fakeJava(old, !old.startsWith("1."));

      Host.Result result =
          Host.run(
              List.of(launcher.toString(), "version"),
              Map.of("JAVA_HOME", javaHome.toString()),
              null);

      assertThat(result.stderr())
          .as(old)
          .contains("ignoring JAVA_HOME=" + javaHome + ": no Java 17 or newer there");
      assertThat(result.exitCode()).as(result.describe()).isZero();
      assertThat(result.stdout()).as("a real runtime ran, not the fake").startsWith("apivip ");
    }
  }

  /**
   * The arguments the launcher passes to the java executable of {@code javaHome}, which echoes
   * them.
   */
  private static List<String> argumentsSeenBy(
      Path javaHome, Map<String, String> environment, String... command) {
    List<String> line = Host.command(launcher.toString());
    line.addAll(List.of(command));
    Map<String, String> env = new HashMap<>(environment);
    env.put("JAVA_HOME", javaHome.toString());
    Host.Result result = Host.run(line, env, null);
    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout()).as("the launcher used JAVA_HOME").startsWith("fake-java\n");
    List<String> lines = List.of(result.stdout().split("\n"));
    return lines.subList(1, lines.size());
  }

  /**
   * A stand-in Java runtime that prints "fake-java" and then its arguments, one a line. Its version
   * is in a release file, as real runtimes have, or only in the output of {@code java -version}.
   */
  private static Path fakeJava(String version, boolean withReleaseFile) throws IOException {
    Path home = Files.createTempDirectory(dir, "java-" + version + "-");
    Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
    Files.writeString(
        java,
        """
        #!/bin/sh
        if [ "$1" = -version ]; then
          echo 'openjdk version "%s" 2024-01-16' >&2
          exit 0
        fi
        echo fake-java
        for argument in "$@"; do echo "$argument"; done
        """
            .formatted(version));
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    if (withReleaseFile) {
      Files.writeString(
          home.resolve("release"),
          "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"%s\"\n".formatted(version));
    }
    return home;
  }
}
