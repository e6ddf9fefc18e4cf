package io.apivip.daemon.setup;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The host's commands that setup runs ({@code openssl}, {@code microk8s}), each with a time limit.
 * Tests run the real openssl through it and stand in for {@code microk8s}.
 */
public interface Commands {

  /** What a command printed and how it ended. */
  record Result(int exitCode, byte[] stdout, String stderr) {
    public String stdoutText() {
      return new String(stdout, StandardCharsets.UTF_8);
    }
  }

  /**
   * Runs {@code command} with {@code stdin} as its input; throws when it cannot start, or runs
   * longer than {@code timeout} (then it is killed).
   */
  Result run(List<String> command, byte[] stdin, Duration timeout) throws IOException;

  Commands SYSTEM = Commands::runProcess;

  private static Result runProcess(List<String> command, byte[] stdin, Duration timeout)
      throws IOException {
    Process process = new ProcessBuilder(command).start();
    // Both pipes are read at once, so a command that fills one while we wait on the other cannot
    // stall; the input is small (a certificate request) and written before anything is read.
    CompletableFuture<byte[]> out =
        CompletableFuture.supplyAsync(() -> drain(process.getInputStream()));
    CompletableFuture<byte[]> err =
        CompletableFuture.supplyAsync(() -> drain(process.getErrorStream()));
    try (OutputStream in = process.getOutputStream()) {
      in.write(stdin);
    } catch (IOException e) {
      // The command exited without reading its input; its status and messages tell why.
    }
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IOException(
            String.join(" ", command) + " did not finish within " + timeout.toSeconds() + "s");
      }
      return new Result(
          process.exitValue(),
          out.get(timeout.toMillis(), TimeUnit.MILLISECONDS),
          new String(err.get(timeout.toMillis(), TimeUnit.MILLISECONDS), StandardCharsets.UTF_8)
              .strip());
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + String.join(" ", command), e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      process.destroyForcibly();
      throw new IOException("cannot read the output of " + String.join(" ", command), e);
    }
  }

  private static byte[] drain(InputStream stream) {
    try (stream) {
      return stream.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
