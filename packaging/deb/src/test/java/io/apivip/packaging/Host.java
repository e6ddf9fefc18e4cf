package io.apivip.packaging;

import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The machine the package tests run on: which Debian tools it has, and running commands on it with
 * a time limit. In CI (apivip.netns.required=true) a missing tool fails the test, since nothing may
 * be skipped there; elsewhere the test is skipped with the command that installs the tool.
 */
final class Host {

  private static final long COMMAND_LIMIT_SECONDS = 120;

  /** What a finished command did. */
  record Result(int exitCode, String stdout, String stderr) {
    String describe() {
      return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
  }

  private Host() {}

  /** Skips (or in CI fails) the calling test unless {@code command} is on PATH. */
  static void require(String command, String debianPackage) {
    if (onPath(command)) {
      return;
    }
    String why = command + " is missing; install it with: apt-get install " + debianPackage;
    if (Boolean.getBoolean("apivip.netns.required")) {
      fail(why + " (CI runs every test, so it must be there; ./dev installs it)");
    }
    assumeTrue(false, why);
  }

  static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }

  static Result run(List<String> command) {
    return run(command, Map.of(), null);
  }

  /** Runs a command with extra environment variables and an optional working directory. */
  static Result run(List<String> command, Map<String, String> environment, Path workingDirectory) {
    try {
      Path out = Files.createTempFile("apivip-test", ".out");
      Path err = Files.createTempFile("apivip-test", ".err");
      try {
        ProcessBuilder builder =
            new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        builder.environment().putAll(environment);
        if (workingDirectory != null) {
          builder.directory(workingDirectory.toFile());
        }
        Process process = builder.start();
        if (!process.waitFor(COMMAND_LIMIT_SECONDS, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          fail(command + " did not finish within " + COMMAND_LIMIT_SECONDS + "s");
        }
        return new Result(
            process.exitValue(),
            Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Runs a command that must succeed and returns its standard output. */
  static String output(String... command) {
    Result result = run(List.of(command));
    if (result.exitCode() != 0) {
      fail(String.join(" ", command) + " failed: " + result.describe());
    }
    return result.stdout();
  }

  static List<String> command(String... parts) {
    return new ArrayList<>(List.of(parts));
  }
}
