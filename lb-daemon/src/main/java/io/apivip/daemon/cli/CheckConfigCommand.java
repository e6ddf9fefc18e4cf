package io.apivip.daemon.cli;

import io.apivip.daemon.config.InvalidConfigException;
import io.apivip.daemon.config.SettingsLoader;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code apivip check-config}: validates a configuration file and prints the effective settings.
 */
@Command(
    name = "check-config",
    description = {
      "Validate the configuration and print the effective settings (defaults merged in).",
      "Secrets are never printed: keys and tokens are named by file only.",
      "Exit 0 when valid, 2 with every problem listed otherwise."
    })
public final class CheckConfigCommand implements Callable<Integer> {

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      defaultValue = RunCommand.DEFAULT_CONFIG,
      description = "Configuration file (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(
      names = {"-q", "--quiet"},
      description = "Print only problems and warnings.")
  boolean quiet;

  @Override
  public Integer call() {
    SettingsLoader.Loaded loaded;
    try {
      loaded = SettingsLoader.load(config);
    } catch (InvalidConfigException e) {
      System.err.println(config + ": " + e.getMessage());
      return 2;
    }
    loaded.warnings().forEach(warning -> System.err.println("warning: " + warning));
    if (!quiet) {
      System.out.print(SettingsLoader.render(loaded.effective()));
    }
    System.err.println(config + ": valid");
    return 0;
  }
}
