package io.apivip.daemon.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that talk to the local daemon. */
final class AdminOptions {

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      defaultValue = RunCommand.DEFAULT_CONFIG,
      description = "Configuration file, read for the admin address (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(
      names = "--admin",
      paramLabel = "HOST:PORT",
      description = "Admin API address; overrides the one in the configuration.")
  String admin;

  @Option(
      names = "--admin-socket",
      paramLabel = "PATH",
      description = "Admin socket for drain and resume; overrides the one in the configuration.")
  Path adminSocket;

  AdminClient client() {
    return AdminClient.forConfig(config, admin, adminSocket);
  }
}
