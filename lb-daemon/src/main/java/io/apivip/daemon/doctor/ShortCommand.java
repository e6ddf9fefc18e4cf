package io.apivip.daemon.doctor;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A short command a check asks the system with (systemctl, runuser, snap, ip): its exit code and
 * its standard output, a word or a line. Empty when it could not be started or did not finish
 * within the limit, so a hung command never hangs the doctor; the output is read only once the
 * command has ended, which is why it must stay smaller than a pipe's buffer.
 */
final class ShortCommand {

  static final Duration LIMIT = Duration.ofSeconds(5);

  record Result(int exitCode, String output) {}

  /** Runs short commands: {@link #SYSTEM} on the node, a table of answers in tests. */
  interface Runner {
    Optional<Result> run(List<String> command);

    Runner SYSTEM = ShortCommand::run;
  }

  private ShortCommand() {}

  static Optional<Result> run(List<String> command) {
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!process.waitFor(LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        return Optional.empty();
      }
      String output =
          new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return Optional.of(new Result(process.exitValue(), output));
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }
}
