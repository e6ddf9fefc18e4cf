package io.apivip.daemon.cli;

import io.apivip.daemon.version.Version;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;

/** {@code apivip version}: the version of this build and of the Java runtime it runs on. */
@Command(name = "version", description = "Print the version and exit.")
public final class VersionCommand implements Runnable {

  @Override
  public void run() {
    System.out.println("apivip " + Version.current() + " (Java " + Runtime.version() + ")");
  }

  /** Serves {@code apivip --version}. */
  public static final class Provider implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"apivip " + Version.current()};
    }
  }
}
