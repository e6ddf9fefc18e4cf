package io.apivip.daemon;

import io.apivip.daemon.cli.CheckConfigCommand;
import io.apivip.daemon.cli.DoctorCommand;
import io.apivip.daemon.cli.DrainCommand;
import io.apivip.daemon.cli.GenKeyCommand;
import io.apivip.daemon.cli.ResumeCommand;
import io.apivip.daemon.cli.RunCommand;
import io.apivip.daemon.cli.SetupCommand;
import io.apivip.daemon.cli.StatusCommand;
import io.apivip.daemon.cli.VersionCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code apivip} command line: one executable for the daemon and the operator's commands. */
@Command(
    name = "apivip",
    mixinStandardHelpOptions = true,
    versionProvider = VersionCommand.Provider.class,
    description = "Keeps the Kubernetes API reachable on a floating virtual IP.",
    subcommands = {
      RunCommand.class,
      StatusCommand.class,
      DrainCommand.class,
      ResumeCommand.class,
      CheckConfigCommand.class,
      DoctorCommand.class,
      SetupCommand.class,
      GenKeyCommand.class,
      VersionCommand.class,
      CommandLine.HelpCommand.class
    },
    footer = {"", "Exit status: 0 success, 1 failure, 2 invalid arguments or configuration."})
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    Logging.chooseFormat();
    System.exit(commandLine().execute(args));
  }

  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
    // Every command answers --help (and --version) as Unix users expect.
    for (CommandLine sub : commandLine.getSubcommands().values()) {
      sub.getCommandSpec()
          .mixinStandardHelpOptions(true)
          .versionProvider(new VersionCommand.Provider());
    }
    return commandLine;
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }
}
