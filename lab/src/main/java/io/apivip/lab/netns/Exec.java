package io.apivip.lab.netns;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short command to completion with a time limit and captures what it printed. Output goes
 * through temporary files rather than pipes so a chatty command can never block on a full pipe.
 */
public final class Exec {

  /** What a finished command printed, and how it exited. */
  public record Result(List<String> command, int exitCode, String stdout, String stderr) {

    public Result {
      command = List.copyOf(command);
    }

    public boolean ok() {
      return exitCode == 0;
    }

    /**
     * This result when the command succeeded; otherwise an exception naming the command and its
     * error.
     */
    public Result orThrow() {
      if (!ok()) {
        throw new IllegalStateException(
            String.join(" ", command)
                + " exited with "
                + exitCode
                + ": "
                + (stderr.isBlank() ? stdout : stderr).strip());
      }
      return this;
    }
  }

  private Exec() {}

  /**
   * Runs {@code command}; a command still running after {@code timeout} is killed and reported as
   * exit code -1.
   */
  public static Result run(Duration timeout, List<String> command) {
    File out = null;
    File err = null;
    try {
      out = File.createTempFile("apivip-exec", ".out");
      err = File.createTempFile("apivip-exec", ".err");
      Process process =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectOutput(out)
              .redirectError(err)
              .start();
      int exitCode;
      if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        exitCode = process.exitValue();
      } else {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        exitCode = -1;
      }
      String stderr = Files.readString(err.toPath(), StandardCharsets.UTF_8);
      if (exitCode == -1) {
        stderr = stderr + "\n(killed after " + timeout.toMillis() + " ms)";
      }
      return new Result(
          command, exitCode, Files.readString(out.toPath(), StandardCharsets.UTF_8), stderr);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + String.join(" ", command), e);
    } finally {
      delete(out);
      delete(err);
    }
  }

  private static void delete(File file) {
    if (file != null && !file.delete()) {
      file.deleteOnExit();
    }
  }
}
