package io.apivip.daemon.cli;

import io.apivip.daemon.Logging;
import io.apivip.daemon.config.InvalidConfigException;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.SettingsLoader;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code apivip run}: the daemon, as systemd starts it. */
@Command(name = "run", description = "Run the daemon on this node (systemd runs this).")
public final class RunCommand implements Callable<Integer> {

  public static final String DEFAULT_CONFIG = "/etc/apivip/apivip.conf";

  @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = DEFAULT_CONFIG, description = "Configuration file (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(names = "--log-level", paramLabel = "LEVEL", description = "error, warn, info, debug or trace; overrides log.level.")
  String logLevel;

  @Override
  public Integer call() {
    Logger log = LoggerFactory.getLogger(RunCommand.class);
    SettingsLoader.Loaded loaded;
    try {
      loaded = SettingsLoader.load(config);
    } catch (InvalidConfigException e) {
      log.error("{}: {}", config, e.getMessage());
      return 2;
    }
    Settings settings = loaded.settings();
    try {
      Logging.setLevel(logLevel != null ? logLevel : settings.logLevel());
    } catch (IllegalArgumentException e) {
      log.error("--log-level: {}", e.getMessage());
      return 2;
    }
    loaded.warnings().forEach(warning -> log.warn("{}", warning));
    log.info(
        "configuration valid: node {} of cluster {} ({} nodes, quorum {}), VIP {} on {}; the daemon is not wired yet",
        settings.nodeId(),
        settings.cluster().id(),
        settings.cluster().nodes().size(),
        settings.cluster().quorum(),
        settings.vip().address().getHostAddress(),
        settings.vip().interfaceName());
    return 0;
  }
}
