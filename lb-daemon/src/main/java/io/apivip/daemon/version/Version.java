package io.apivip.daemon.version;

import java.util.Optional;

/**
 * This build's version, from the jar's manifest. A package of its own so that what reports it (the
 * daemon's status and metrics, {@code apivip version}) can import it, while no part imports the
 * CLI.
 */
public final class Version {

  private Version() {}

  /** "0.1.0-SNAPSHOT" from the built jar; "dev" when run from classes, which carry no manifest. */
  public static String current() {
    return Optional.ofNullable(Version.class.getPackage().getImplementationVersion()).orElse("dev");
  }
}
