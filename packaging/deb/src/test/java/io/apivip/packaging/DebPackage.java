package io.apivip.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** The .deb this module built, as dpkg-deb sees it: its listing, its fields, its unpacked files. */
final class DebPackage {

  /**
   * One line of {@code dpkg-deb --contents}: "-rwxr-xr-x root/root 3311 2025-11-25 00:00
   * ./usr/bin/apivip".
   */
  record Entry(String mode, String owner, String path) {
    static Entry parse(String line) {
      String[] fields = line.trim().split("\\s+", 6);
      String path = fields[5].startsWith("./") ? fields[5].substring(1) : fields[5];
      return new Entry(fields[0], fields[1], path);
    }
  }

  private DebPackage() {}

  static Path file() {
    Path deb = Path.of(System.getProperty("apivip.deb", "target/apivip.deb"));
    assertThat(deb).as("the .deb built by mvn package").isRegularFile();
    return deb;
  }

  /** The Debian version the build derived from the Maven version. */
  static String version() {
    return System.getProperty("apivip.deb.version");
  }

  /** The source tree's root, for the files the package is made from. */
  static Path sourceRoot() {
    return Path.of(System.getProperty("apivip.root.dir", "../.."));
  }

  static List<Entry> contents() {
    Host.require("dpkg-deb", "dpkg");
    return Arrays.stream(Host.output("dpkg-deb", "--contents", file().toString()).split("\n"))
        .filter(line -> !line.isBlank())
        .map(Entry::parse)
        .toList();
  }

  static String field(String name) {
    Host.require("dpkg-deb", "dpkg");
    return Host.output("dpkg-deb", "--field", file().toString(), name).trim();
  }

  /**
   * Unpacks the package under {@code root} as dpkg would install it, without running its maintainer
   * scripts, and its control files (maintainer scripts, conffiles) under root/DEBIAN.
   */
  static Path unpack(Path root) {
    Host.require("dpkg-deb", "dpkg");
    Host.output("dpkg-deb", "--extract", file().toString(), root.toString());
    Host.output("dpkg-deb", "--control", file().toString(), root.resolve("DEBIAN").toString());
    return root;
  }

  static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
