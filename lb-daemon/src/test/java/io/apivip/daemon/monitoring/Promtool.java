package io.apivip.daemon.monitoring;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Prometheus's {@code promtool} (Debian package prometheus, which {@code ./dev test} installs) and
 * the monitoring files the package ships. Where promtool is missing a test is skipped, except when
 * {@value #REQUIRED_PROPERTY} is true, as in CI, where that is a failure.
 */
public final class Promtool {

  public static final String REQUIRED_PROPERTY = "apivip.netns.required";

  /**
   * The repository's monitoring directory, seen from a module's directory (Maven's working
   * directory).
   */
  public static final Path MONITORING = Path.of("..", "monitoring").toAbsolutePath().normalize();

  public static final Path RULES = MONITORING.resolve("apivip-alerts.yaml");
  public static final Path RULE_TESTS = MONITORING.resolve("apivip-alerts.test.yaml");
  public static final Path DASHBOARD = MONITORING.resolve("apivip-dashboard.json");

  private Promtool() {}

  /** Returns when {@code command} is on the PATH; otherwise skips the test, or fails it in CI. */
  public static void require(String command) {
    if (onPath(command)) {
      return;
    }
    String message =
        command + " is not installed (Debian package prometheus; ./dev test installs it)";
    if (Boolean.getBoolean(REQUIRED_PROPERTY)) {
      Assertions.fail(
          message + " (" + REQUIRED_PROPERTY + "=true, so this is a failure, not a skip)");
    }
    Assumptions.abort(message + "; skipped");
  }

  static boolean onPath(String command) {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String directory : path.split(":")) {
      if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, command))) {
        return true;
      }
    }
    return false;
  }

  /** What a run printed (stdout and stderr together) and its exit status. */
  public record Result(int exitCode, String output) {}

  /**
   * Runs {@code promtool arguments...} in {@code directory} with {@code stdin} as its input (may be
   * null).
   */
  public static Result run(Path directory, String stdin, String... arguments) {
    List<String> command = new ArrayList<>(List.of("promtool"));
    command.addAll(List.of(arguments));
    try {
      Process process =
          new ProcessBuilder(command)
              .directory(directory.toFile())
              .redirectErrorStream(true)
              .start();
      try (var in = process.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      byte[] output = process.getInputStream().readAllBytes();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(
            "promtool " + String.join(" ", arguments) + " did not end within 60 s");
      }
      return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
