package io.apivip.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar the .deb installs, which systemd runs with CAP_NET_ADMIN and CAP_NET_RAW, carries the
 * product and its libraries only: no lab (stand-ins, probes, a forged-heartbeat sender), no demo or
 * benchmark, no test framework and no class of any module's tests.
 */
class ShippedJarTest {

  /** Packages that belong beside the product, never in it. */
  private static final List<String> FORBIDDEN_PACKAGES =
      List.of(
          "io/apivip/lab/",
          "io/apivip/demo/",
          "io/apivip/bench/",
          "org/junit/",
          "org/opentest4j/",
          "org/apiguardian/",
          "org/assertj/",
          "com/tngtech/archunit/");

  @TempDir static Path dir;
  static List<String> entries;

  @BeforeAll
  static void listTheInstalledJar() throws IOException {
    Path jar = DebPackage.unpack(dir).resolve("usr/share/apivip/apivip.jar");
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      entries = Collections.list(zip.entries()).stream().map(ZipEntry::getName).toList();
    }
  }

  @Test
  void theJarHoldsTheDaemon() {
    assertThat(entries)
        .contains("io/apivip/daemon/Main.class", "io/apivip/health/HealthMonitor.class");
  }

  @Test
  void noLabDemoBenchmarkOrTestFrameworkIsInTheJar() {
    assertThat(entries)
        .as("entries of the shipped apivip.jar")
        .noneMatch(entry -> FORBIDDEN_PACKAGES.stream().anyMatch(entry::startsWith));
  }

  @Test
  void noTestClassOfAnyModuleIsInTheJar() throws IOException {
    List<String> testClasses = testClassPrefixes(DebPackage.sourceRoot());
    assertThat(testClasses)
        .as("test classes found in the source tree")
        .contains("io/apivip/daemon/vip/FakeKernel");
    assertThat(entries)
        .as("entries of the shipped apivip.jar")
        .noneMatch(
            entry ->
                testClasses.stream()
                    .anyMatch(
                        test -> entry.equals(test + ".class") || entry.startsWith(test + "$")));
  }

  /** "io/apivip/daemon/vip/FakeKernel" for every source file under some module's src/test/java. */
  private static List<String> testClassPrefixes(Path root) throws IOException {
    List<String> classes = new ArrayList<>();
    try (Stream<Path> testRoots =
        Files.find(
            root,
            5,
            (path, attributes) -> attributes.isDirectory() && path.endsWith("src/test/java"))) {
      for (Path testRoot :
          testRoots.filter(path -> !path.toString().contains("/target/")).toList()) {
        try (Stream<Path> sources = Files.walk(testRoot)) {
          sources
              .filter(path -> path.toString().endsWith(".java"))
              .map(path -> testRoot.relativize(path).toString().replaceFirst("\\.java$", ""))
              .forEach(classes::add);
        }
      }
    }
    return classes;
  }
}
