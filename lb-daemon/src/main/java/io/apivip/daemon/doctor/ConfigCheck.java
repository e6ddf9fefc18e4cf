package io.apivip.daemon.doctor;

import io.apivip.daemon.config.ConfigProblem;
import io.apivip.daemon.config.InvalidConfigException;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.SettingsLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Is the configuration valid? The key files are left to {@link KeyCheck}, so that a missing key
 * does not hide every other finding: the settings come back whenever the rest is valid.
 */
final class ConfigCheck {

  static final String CHECK = "config";

  /** The findings, and the settings when the configuration (key files aside) is valid. */
  record Result(List<Finding> findings, Optional<Settings> settings) {}

  private ConfigCheck() {}

  static Result check(Path file) {
    List<Finding> findings = new ArrayList<>();
    SettingsLoader.Loaded loaded;
    try {
      loaded = SettingsLoader.loadWithoutKeyFiles(file);
    } catch (InvalidConfigException e) {
      for (ConfigProblem problem : e.problems()) {
        findings.add(
            Finding.fail(
                CHECK,
                problem.key().equals("--config")
                    ? problem
                        + "; name the configuration with --config (an example:"
                        + " /usr/share/doc/apivip/examples/apivip.conf)"
                    : file + ": " + problem));
      }
      return new Result(findings, Optional.empty());
    }
    Settings settings = loaded.settings();
    findings.add(
        Finding.ok(
            CHECK,
            file
                + " is valid: node "
                + settings.nodeId()
                + " of "
                + settings.cluster().nodes().size()
                + " in cluster "
                + settings.cluster().id()
                + ", VIP "
                + settings.vip().address().getHostAddress()
                + " on "
                + settings.vip().interfaceName()));
    for (String warning : loaded.warnings()) {
      findings.add(Finding.warn(CHECK, file + ": " + warning));
    }
    return new Result(findings, Optional.of(settings));
  }
}
