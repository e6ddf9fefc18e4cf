package io.apivip.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code apt install ./apivip_*.deb} puts on a node: every path, its owner and mode, and the
 * control data.
 */
class PackageContentsTest {

  /** Every path in the package and its mode; all belong to root/root. */
  private static final Map<String, String> EXPECTED = expected();

  private static Map<String, String> expected() {
    Map<String, String> paths = new LinkedHashMap<>();
    for (String dir :
        List.of(
            "/etc/",
            "/etc/apivip/",
            "/lib/",
            "/lib/systemd/",
            "/lib/systemd/system/",
            "/usr/",
            "/usr/bin/",
            "/usr/lib/",
            "/usr/lib/apivip/",
            "/usr/share/",
            "/usr/share/apivip/",
            "/usr/share/apivip/prometheus/",
            "/usr/share/apivip/grafana/",
            "/usr/share/doc/",
            "/usr/share/doc/apivip/",
            "/usr/share/doc/apivip/examples/",
            "/usr/share/lintian/",
            "/usr/share/lintian/overrides/",
            "/usr/share/man/",
            "/usr/share/man/man1/")) {
      paths.put(dir, "drwxr-xr-x");
    }
    paths.put("/usr/bin/apivip", "-rwxr-xr-x");
    paths.put("/usr/lib/apivip/release-vip", "-rwxr-xr-x");
    for (String file :
        List.of(
            "/etc/apivip/apivip.conf",
            "/lib/systemd/system/apivip.service",
            "/usr/share/apivip/apivip.jar",
            "/usr/share/apivip/prometheus/apivip-alerts.yaml",
            "/usr/share/apivip/grafana/apivip-dashboard.json",
            "/usr/share/doc/apivip/changelog.gz",
            "/usr/share/doc/apivip/copyright",
            "/usr/share/doc/apivip/microk8s.md",
            "/usr/share/doc/apivip/examples/apivip.conf",
            "/usr/share/lintian/overrides/apivip",
            "/usr/share/man/man1/apivip.1.gz")) {
      paths.put(file, "-rw-r--r--");
    }
    return paths;
  }

  @Test
  void everyPathHasTheExpectedModeAndBelongsToRoot() {
    List<DebPackage.Entry> contents = DebPackage.contents();

    Map<String, String> modes =
        contents.stream()
            .collect(
                Collectors.toMap(
                    DebPackage.Entry::path,
                    DebPackage.Entry::mode,
                    (a, b) -> a,
                    LinkedHashMap::new));
    assertThat(modes)
        .as("paths and modes in the package")
        .containsExactlyInAnyOrderEntriesOf(EXPECTED);
    assertThat(contents)
        .allSatisfy(entry -> assertThat(entry.owner()).as(entry.path()).isEqualTo("root/root"));
  }

  @Test
  void controlFieldsDescribeAnArchitectureIndependentPackageAndWhatItRuns() {
    assertThat(DebPackage.field("Package")).isEqualTo("apivip");
    assertThat(DebPackage.field("Architecture")).isEqualTo("all");
    assertThat(DebPackage.field("Version")).isEqualTo(DebPackage.version());
    assertThat(DebPackage.field("Depends"))
        .contains("openjdk-17-jre-headless | java17-runtime-headless")
        .contains("iproute2")
        .contains("adduser")
        // apivip setup microk8s issues the health certificate with it.
        .contains("openssl")
        // The unit's ExecReload=/bin/kill -HUP.
        .contains("procps");
    assertThat(DebPackage.field("Description")).startsWith("floating virtual IP");
  }

  @Test
  void aSnapshotVersionSortsBeforeItsRelease() {
    Host.require("dpkg", "dpkg");
    String version = DebPackage.version();
    assertThat(version).matches("[0-9][A-Za-z0-9.+~]*");
    String release = version.replaceFirst("~.*", "");
    Host.Result compared = Host.run(List.of("dpkg", "--compare-versions", version, "le", release));
    assertThat(compared.exitCode()).as(version + " <= " + release).isZero();
    if (version.contains("~")) {
      assertThat(Host.run(List.of("dpkg", "--compare-versions", version, "lt", release)).exitCode())
          .isZero();
    }
  }

  @Test
  void theConfigurationIsAConffileAndTheMaintainerScriptsAreExecutable(@TempDir Path dir)
      throws IOException {
    Path root = DebPackage.unpack(dir);
    Path control = root.resolve("DEBIAN");

    assertThat(Files.readAllLines(control.resolve("conffiles")))
        .containsExactly("/etc/apivip/apivip.conf");
    for (String script : List.of("postinst", "prerm", "postrm")) {
      Path file = control.resolve(script);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
          .as(script)
          .isEqualTo("rwxr-xr-x");
      assertThat(Files.readAllLines(file).get(0)).as(script).isEqualTo("#!/bin/sh");
    }
    assertThat(control.resolve("md5sums")).isRegularFile();
  }

  @Test
  void theShippedFilesAreTheOnesInTheSourceTree(@TempDir Path dir) throws IOException {
    Path root = DebPackage.unpack(dir);
    Path source = DebPackage.sourceRoot();

    assertThat(root.resolve("etc/apivip/apivip.conf"))
        .hasSameBinaryContentAs(source.resolve("config/apivip.conf"));
    assertThat(root.resolve("usr/share/doc/apivip/examples/apivip.conf"))
        .hasSameBinaryContentAs(source.resolve("config/apivip.conf"));
    assertThat(root.resolve("lib/systemd/system/apivip.service"))
        .hasSameBinaryContentAs(source.resolve("systemd/apivip.service"));
    assertThat(root.resolve("usr/share/doc/apivip/microk8s.md"))
        .hasSameBinaryContentAs(source.resolve("docs/microk8s.md"));
    assertThat(root.resolve("usr/share/apivip/apivip.jar"))
        .hasSameBinaryContentAs(source.resolve("lb-daemon/target/apivip.jar"));
    assertThat(root.resolve("usr/share/apivip/prometheus/apivip-alerts.yaml"))
        .hasSameBinaryContentAs(source.resolve("monitoring/apivip-alerts.yaml"));
    assertThat(root.resolve("usr/share/apivip/grafana/apivip-dashboard.json"))
        .hasSameBinaryContentAs(source.resolve("monitoring/apivip-dashboard.json"));
    assertThat(root.resolve("etc/apivip/cluster.key")).as("a key is never shipped").doesNotExist();
  }
}
