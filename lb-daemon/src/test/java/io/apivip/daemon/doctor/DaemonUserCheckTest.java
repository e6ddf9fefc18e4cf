package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.SettingsLoader;
import io.apivip.lab.Pki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files the daemon needs, read as its user rather than as the root that runs the doctor. */
class DaemonUserCheckTest {

  @TempDir Path dir;

  Settings settings(Path key, Path ca, Path cert, Path clientKey) throws Exception {
    Pki pki = Pki.newCa("daemon-user-check-ca");
    pki.writeCa(ca);
    pki.issueClient("apivip-health").write(cert, clientKey);
    Path config = dir.resolve("apivip.conf");
    Files.writeString(
        config,
        """
        node-id = "n1"
        cluster.nodes = [{ id = "n1", address = "192.0.2.11" }]
        cluster.key-file = "%s"
        vip { address = "192.0.2.100/24", interface = "eth0" }
        health { ca-file = "%s", client-cert-file = "%s", client-key-file = "%s" }
        """
            .formatted(key, ca, cert, clientKey));
    return SettingsLoader.loadWithoutKeyFiles(config).settings();
  }

  @Test
  void namesEachFileTheUserCannotRead() throws Exception {
    Settings settings =
        settings(
            dir.resolve("cluster.key"),
            dir.resolve("ca.crt"),
            dir.resolve("health.crt"),
            dir.resolve("health.key"));
    Set<Path> unreadable = Set.of(dir.resolve("ca.crt"), dir.resolve("health.key"));

    Finding finding =
        DaemonUserCheck.check(
                settings, "apivip", (user, file) -> Optional.of(!unreadable.contains(file)))
            .get(0);

    assertThat(finding.severity()).isEqualTo(Severity.FAIL);
    assertThat(finding.message())
        .contains("health.ca-file = " + dir.resolve("ca.crt"))
        .contains("health.client-key-file = " + dir.resolve("health.key"))
        .doesNotContain("cluster.key-file");
  }

  @Test
  void allReadableIsFineAndNotKnowingIsSaid() throws Exception {
    Settings settings =
        settings(
            dir.resolve("cluster.key"),
            dir.resolve("ca.crt"),
            dir.resolve("health.crt"),
            dir.resolve("health.key"));
    assertThat(
            DaemonUserCheck.check(settings, "apivip", (user, file) -> Optional.of(true))
                .get(0)
                .severity())
        .isEqualTo(Severity.OK);
    assertThat(
            DaemonUserCheck.check(settings, "apivip", (user, file) -> Optional.empty())
                .get(0)
                .severity())
        .isEqualTo(Severity.WARN);
  }

  @Test
  void asRootTheKernelIsAskedAsTheUser() throws IOException {
    assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "asks the kernel as another user, which only root may");
    Path open = Files.writeString(dir.resolve("open"), "x");
    Path closed = Files.writeString(dir.resolve("closed"), "x");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
    Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rw-------"));

    assertThat(DaemonUserCheck.Access.SYSTEM.canRead("nobody", open)).contains(true);
    assertThat(DaemonUserCheck.Access.SYSTEM.canRead("nobody", closed)).contains(false);
  }
}
