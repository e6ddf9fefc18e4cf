package io.apivip.daemon.cli;

import io.apivip.daemon.Daemon;
import io.apivip.daemon.Logging;
import io.apivip.daemon.config.InvalidConfigException;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.SettingsLoader;
import io.apivip.daemon.systemd.SystemdNotifier;
import io.apivip.daemon.systemd.Watchdog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
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

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      defaultValue = DEFAULT_CONFIG,
      description = "Configuration file (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(
      names = "--log-level",
      paramLabel = "LEVEL",
      description = "error, warn, info, debug or trace; overrides log.level.")
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

    recordVipForCleanup(settings);
    Daemon daemon;
    try {
      daemon = Daemon.start(settings);
    } catch (Exception e) {
      log.error("cannot start: {}", e.toString(), e);
      return 1;
    }
    SystemdNotifier systemd = SystemdNotifier.fromEnvironment();
    ScheduledExecutorService statusTicker =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "apivip-systemd-status");
              thread.setDaemon(true);
              return thread;
            });
    // Outside systemd (by hand, in the labs) nobody reads the status: no look each second then.
    if (systemd.listening()) {
      // systemctl start returns now (Type=notify), so the next command of a script finds it
      // serving; systemctl status shows the node's role as it changes: one look each second, sent
      // when it differs.
      systemd.ready(daemon.status().oneLine());
      AtomicReference<String> lastStatus = new AtomicReference<>("");
      statusTicker.scheduleWithFixedDelay(
          () -> {
            try {
              String line = daemon.status().oneLine();
              if (!line.equals(lastStatus.getAndSet(line))) {
                systemd.status(line);
              }
            } catch (RuntimeException e) {
              log.debug("no status for systemd: {}", e.toString());
            }
          },
          1,
          1,
          TimeUnit.SECONDS);
    }
    // Fed only while every event loop answers: a hung daemon is restarted by systemd
    // (WatchdogSec=).
    Optional<Watchdog> watchdog = Watchdog.fromEnvironment(systemd, daemon.eventLoops());
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean stopping = new AtomicBoolean();
    Runnable stop =
        () -> {
          if (stopping.compareAndSet(false, true)) {
            Thread stopper =
                new Thread(
                    () -> {
                      log.info("stopping: handing over the VIP and draining connections");
                      statusTicker.shutdownNow();
                      systemd.stopping(
                          "stopping: handing the VIP over and letting connections finish");
                      daemon.stop();
                      watchdog.ifPresent(Watchdog::close);
                      stopped.countDown();
                    },
                    "apivip-stop");
            stopper.start();
          } else {
            log.info("already stopping");
          }
        };
    // Handled here rather than by shutdown hooks, so that a planned stop exits 0, as systemd
    // expects.
    Signal.handle(new Signal("TERM"), signal -> stop.run());
    Signal.handle(new Signal("INT"), signal -> stop.run());
    stopped.await();
    return 0;
  }

  /**
   * Under systemd, writes "ADDRESS/PREFIX INTERFACE" to the runtime directory, where the unit's
   * ExecStopPost (/usr/lib/apivip/release-vip) finds the VIP to remove after any exit.
   */
  private static void recordVipForCleanup(Settings settings) {
    String directory = System.getenv("RUNTIME_DIRECTORY");
    if (directory == null || directory.isEmpty()) {
      return;
    }
    Settings.Vip vip = settings.vip();
    String record =
        vip.address().getHostAddress()
            + "/"
            + vip.prefixLength()
            + " "
            + vip.interfaceName()
            + "\n";
    try {
      Files.writeString(Path.of(directory.split(":")[0], "vip"), record);
    } catch (IOException e) {
      log.warn(
          "cannot record the VIP in {} for the cleanup after an exit: {}", directory, e.toString());
    }
  }
}
