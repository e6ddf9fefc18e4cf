package io.apivip.daemon.cli;

import io.apivip.daemon.Daemon;
import io.apivip.daemon.Logging;
import io.apivip.daemon.config.InvalidConfigException;
import io.apivip.daemon.config.ReloadPlan;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.SettingsLoader;
import io.apivip.daemon.systemd.SystemdNotifier;
import io.apivip.daemon.systemd.Watchdog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code apivip run}: the daemon, as systemd starts it. SIGTERM and SIGINT stop it with a planned
 * handoff and exit 0; a configuration problem exits 2 before anything starts. SIGHUP (what {@code
 * systemctl reload apivip} sends) reads the configuration file again and applies what can change at
 * run time ({@link Daemon#reload}); an invalid file changes nothing, and the daemon runs on.
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
        Executors.newSingleThreadScheduledExecutor(daemonThread("apivip-systemd-status"));
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
    // One reload at a time, in the order asked, off the signal's thread.
    ExecutorService reloads = Executors.newSingleThreadExecutor(daemonThread("apivip-reload"));
    Signal.handle(
        new Signal("HUP"),
        signal -> {
          if (!stopping.get()) {
            reloads.execute(() -> reload(daemon, systemd));
          }
        });
    stopped.await();
    reloads.shutdownNow();
    return 0;
  }

  private static ThreadFactory daemonThread(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }

  /**
   * Reads the configuration file again and hands it to the daemon, between RELOADING=1 and READY=1.
   * Logs what changed, what waits for a restart, or why nothing did.
   */
  void reload(Daemon daemon, SystemdNotifier systemd) {
    log.info("reloading {}", config);
    systemd.reloading("reloading " + config);
    try {
      SettingsLoader.Loaded loaded = SettingsLoader.load(config);
      loaded.warnings().forEach(warning -> log.warn("{}", warning));
      ReloadPlan done = daemon.reload(loaded.settings());
      List<String> changes = new ArrayList<>(done.changes());
      if (logLevel == null) {
        Logging.setLevel(done.applied().logLevel());
      } else if (changes.removeIf(change -> change.startsWith("log.level:"))) {
        log.info("log.level is not changed: --log-level {} on the command line wins", logLevel);
      }
      log.info(
          "reloaded {}: {}",
          config,
          changes.isEmpty() ? "nothing changed" : String.join("; ", changes));
      if (!done.restartNeeded().isEmpty()) {
        log.warn(
            "reload: these changes wait for a restart (apivip drain, then systemctl restart"
                + " apivip), the daemon runs on with the values it has: {}",
            String.join("; ", done.restartNeeded()));
      }
    } catch (InvalidConfigException e) {
      log.error(
          "reload refused, nothing changed, the daemon runs on with the configuration it has:"
              + " {}: {}",
          config,
          e.getMessage());
    } catch (IOException | IllegalArgumentException e) {
      log.error(
          "reload refused, nothing changed, the daemon runs on with the configuration it has: {}",
          e.getMessage());
    } catch (ExecutionException | TimeoutException e) {
      log.error(
          "reload failed part way (the cluster took the new configuration, the apiservers or health"
              + " checks may not have): {}; run systemctl reload apivip again",
          e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      systemd.ready(daemon.status().oneLine());
    }
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
