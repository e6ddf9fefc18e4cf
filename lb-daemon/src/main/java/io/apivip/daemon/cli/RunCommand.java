package io.apivip.daemon.cli;

import io.apivip.daemon.Daemon;
import io.apivip.daemon.Logging;
import io.apivip.daemon.config.InvalidConfigException;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.SettingsLoader;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code apivip run}: the daemon, as systemd starts it. SIGTERM and SIGINT stop it with a planned
 * handoff and exit 0; a configuration problem exits 2 before anything starts.
 */
@Command(name = "run", description = "Run the daemon on this node (systemd runs this).")
public final class RunCommand implements Callable<Integer> {

  public static final String DEFAULT_CONFIG = "/etc/apivip/apivip.conf";
  private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

  @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = DEFAULT_CONFIG, description = "Configuration file (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(names = "--log-level", paramLabel = "LEVEL", description = "error, warn, info, debug or trace; overrides log.level.")
  String logLevel;

  @Override
  public Integer call() throws InterruptedException {
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

    Daemon daemon;
    try {
      daemon = Daemon.start(settings);
    } catch (Exception e) {
      log.error("cannot start: {}", e.toString(), e);
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean stopping = new AtomicBoolean();
    Runnable stop = () -> {
      if (stopping.compareAndSet(false, true)) {
        Thread stopper = new Thread(() -> {
          log.info("stopping: handing over the VIP and draining connections");
          daemon.stop();
          stopped.countDown();
        }, "apivip-stop");
        stopper.start();
      } else {
        log.info("already stopping");
      }
    };
    // Handled here rather than by shutdown hooks, so that a planned stop exits 0, as systemd expects.
    Signal.handle(new Signal("TERM"), signal -> stop.run());
    Signal.handle(new Signal("INT"), signal -> stop.run());
    stopped.await();
    return 0;
  }
}
