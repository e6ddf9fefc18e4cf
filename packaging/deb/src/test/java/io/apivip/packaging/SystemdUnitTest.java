package io.apivip.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * apivip.service: valid for systemd, confined as tightly as a JVM that manages addresses allows.
 */
class SystemdUnitTest {

  /**
   * The exposure systemd-analyze security gives the unit (systemd 252: 2.0); more means hardening
   * was lost.
   */
  private static final double HIGHEST_ACCEPTED_EXPOSURE = 2.5;

  private static final String NETWORK_CAPABILITIES = "CAP_NET_ADMIN CAP_NET_RAW";

  @TempDir static Path dir;
  static Path root;
  static Map<String, List<String>> unit;

  @BeforeAll
  static void install() throws IOException {
    root = DebPackage.unpack(Files.createDirectory(dir.resolve("root")));
    unit = parse(root.resolve("lib/systemd/system/apivip.service"));
  }

  @Test
  void systemdAnalyzeVerifyFindsNothing() {
    Host.require("systemd-analyze", "systemd");
    // The unpacked package plus systemd's own units (the targets apivip.service orders against),
    // so verify also checks that ExecStart= and the man page in Documentation= exist.
    // --no-clobber keeps the package's apivip.service should this machine have one installed.
    Host.output(
        "cp",
        "-a",
        "--no-clobber",
        "/lib/systemd/system/.",
        root.resolve("lib/systemd/system") + "/");
    // And what the package depends on for ExecReload= (procps's kill).
    Host.output("install", "-D", "-m", "0755", "/bin/kill", root.resolve("bin/kill").toString());

    Host.Result result =
        Host.run(
            List.of("systemd-analyze", "verify", "--root=" + root, "apivip.service"),
            Map.of("MANPATH", root.resolve("usr/share/man").toString()),
            null);

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout() + result.stderr()).as(result.describe()).isBlank();
  }

  @Test
  void systemdAnalyzeSecurityRatesTheUnitAsLittleExposed() {
    Host.require("systemd-analyze", "systemd");
    Path file = root.resolve("lib/systemd/system/apivip.service");

    Host.Result result =
        Host.run(
            List.of(
                "systemd-analyze", "security", "--offline=true", "--no-pager", file.toString()));

    Matcher overall =
        Pattern.compile("Overall exposure level for apivip.service: ([0-9.]+)")
            .matcher(result.stdout() + result.stderr());
    assertThat(overall.find()).as(result.describe()).isTrue();
    double exposure = Double.parseDouble(overall.group(1));
    System.out.printf(
        "systemd-analyze security apivip.service: exposure %.1f (0 is best, 10 worst)%n", exposure);
    assertThat(exposure).as(result.describe()).isLessThanOrEqualTo(HIGHEST_ACCEPTED_EXPOSURE);
  }

  @Test
  void theDaemonRunsAsApivipWithOnlyTheThreeNetworkCapabilities() {
    assertThat(unit.get("User")).containsExactly("apivip");
    assertThat(unit.get("AmbientCapabilities")).containsExactly(NETWORK_CAPABILITIES);
    assertThat(unit.get("CapabilityBoundingSet")).containsExactly(NETWORK_CAPABILITIES);
    assertThat(unit.get("NoNewPrivileges")).containsExactly("yes");
    assertThat(unit.get("ExecStart"))
        .containsExactly("/usr/bin/apivip run --config /etc/apivip/apivip.conf");
  }

  @Test
  void theFileSystemIsReadOnlyExceptTheCacheAndTheAddressFamiliesAreTheOnesTheDaemonUses() {
    assertThat(unit.get("ProtectSystem")).containsExactly("strict");
    assertThat(unit.get("ProtectHome")).containsExactly("yes");
    assertThat(unit.get("PrivateTmp")).containsExactly("yes");
    assertThat(unit.get("RestrictAddressFamilies"))
        .containsExactly("AF_INET AF_INET6 AF_NETLINK AF_PACKET AF_UNIX");
    assertThat(unit).doesNotContainKeys("ReadWritePaths", "PrivateNetwork", "PrivateUsers");
  }

  @Test
  void noOptionThatBreaksTheJvmOrTheHostNetworkIsOn() {
    // The JIT writes code it then runs; capabilities in a private user namespace do not reach the
    // host's network namespace; /proc/stat, /proc/meminfo and /proc/sys feed the JVM and Netty.
    for (String breaking :
        List.of("MemoryDenyWriteExecute", "PrivateUsers", "PrivateNetwork", "ProcSubset")) {
      assertThat(unit.getOrDefault(breaking, List.of()))
          .as(breaking)
          .noneMatch(value -> value.equals("yes") || value.equals("pid"));
    }
  }

  @Test
  void itRestartsQuicklyAfterNetworkOnlineButNotForAnInvalidConfiguration() {
    assertThat(unit.get("After")).contains("network-online.target");
    assertThat(unit.get("Wants")).contains("network-online.target");
    assertThat(unit.get("Restart")).containsExactly("always");
    assertThat(duration(unit.get("RestartSec").get(0))).isLessThanOrEqualTo(Duration.ofSeconds(2));
    assertThat(unit.get("RestartPreventExitStatus")).containsExactly("2");
  }

  @Test
  void systemdWaitsLongerThanTheDrainAndHandoffBeforeKillingTheDaemon() {
    Config reference =
        ConfigFactory.parseFile(
            DebPackage.sourceRoot()
                .resolve("lb-daemon/src/main/resources/reference.conf")
                .toFile());
    Duration drain =
        reference
            .getDuration("apivip.proxy.drain-grace")
            .plus(reference.getDuration("apivip.cluster.handoff-timeout"));

    Duration stopTimeout = duration(unit.get("TimeoutStopSec").get(0));

    assertThat(stopTimeout)
        .as("TimeoutStopSec against proxy.drain-grace + cluster.handoff-timeout")
        .isGreaterThan(drain.plusSeconds(5));
  }

  @Test
  void jnaLoadsItsNativeLibraryFromTheUnitsCacheDirectoryWhenNeitherHomeNorTmpCanTakeIt()
      throws IOException {
    String cacheDirectory = "/var/cache/" + unit.get("CacheDirectory").get(0);
    String javaOptions = environment(unit).get("APIVIP_JAVA_OPTS");
    assertThat(javaOptions)
        .contains("-Djna.tmpdir=" + cacheDirectory)
        .contains("-Dio.netty.native.workdir=" + cacheDirectory);
    Path blocked = Files.createFile(dir.resolve("not-a-directory"));
    Path cache = Files.createDirectory(dir.resolve("cache"));
    List<String> jna =
        Host.command(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // What ProtectHome= and a noexec /tmp amount to: the JVM cannot unpack native code there.
    jna.addAll(
        List.of(
            "-Duser.home=" + blocked.resolve("home"),
            "-Djava.io.tmpdir=" + blocked.resolve("tmp")));

    List<String> withoutUnitOptions = new ArrayList<>(jna);
    withoutUnitOptions.addAll(
        List.of(
            "-cp", root.resolve("usr/share/apivip/apivip.jar").toString(), "com.sun.jna.Native"));
    Host.Result without = Host.run(withoutUnitOptions);
    List<String> withUnitOptions = new ArrayList<>(jna);
    withUnitOptions.addAll(
        Arrays.asList(javaOptions.replace(cacheDirectory, cache.toString()).split(" ")));
    withUnitOptions.addAll(
        List.of(
            "-cp", root.resolve("usr/share/apivip/apivip.jar").toString(), "com.sun.jna.Native"));
    Host.Result with = Host.run(withUnitOptions);

    assertThat(without.exitCode())
        .as("control: JNA fails where it cannot unpack; " + without.describe())
        .isNotZero();
    assertThat(with.exitCode()).as(with.describe()).isZero();
    assertThat(with.stdout()).contains("Native:");
  }

  /** The unit's settings, each key with its values in file order (a key may repeat). */
  static Map<String, List<String>> parse(Path file) throws IOException {
    Map<String, List<String>> settings = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file)) {
      String trimmed = line.trim();
      if (trimmed.isEmpty() || trimmed.startsWith("#") || trimmed.startsWith("[")) {
        continue;
      }
      int equals = trimmed.indexOf('=');
      settings
          .computeIfAbsent(trimmed.substring(0, equals), key -> new ArrayList<>())
          .add(trimmed.substring(equals + 1));
    }
    return settings;
  }

  /** Environment= assignments: Environment="NAME=a b" or Environment=NAME=a. */
  private static Map<String, String> environment(Map<String, List<String>> unit) {
    Map<String, String> variables = new LinkedHashMap<>();
    for (String assignment : unit.getOrDefault("Environment", List.of())) {
      String unquoted =
          assignment.startsWith("\"")
              ? assignment.substring(1, assignment.length() - 1)
              : assignment;
      int equals = unquoted.indexOf('=');
      variables.put(unquoted.substring(0, equals), unquoted.substring(equals + 1));
    }
    return variables;
  }

  /** A systemd time span as written in this unit: "45s", "1s", "500ms". */
  private static Duration duration(String span) {
    return ConfigFactory.parseString("span = " + span).getDuration("span");
  }
}
