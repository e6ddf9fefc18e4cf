package io.apivip.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.Main;
import io.apivip.lab.Pki;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

public class CommandLineTest {

  static final Path EXAMPLE = Path.of("../config/apivip.conf").toAbsolutePath().normalize();

  @TempDir Path dir;

  public record Result(int exitCode, String out, String err) {}

  public static Result apivip(String... args) {
    return run(Main::commandLine, args);
  }

  /**
   * Runs the command line with {@code args}, catching what it prints; made after System.out is
   * swapped, since picocli prints help to the stream it found when made.
   */
  public static Result run(Supplier<CommandLine> commandLine, String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = commandLine.get().execute(args);
      return new Result(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  /**
   * The shipped example, with this machine's key, CA and client certificate in place of /etc/apivip
   * and MicroK8s's.
   */
  Path exampleWithLocalFiles(String extra) throws IOException {
    Path key = dir.resolve("cluster.key");
    if (!Files.exists(key)) {
      assertThat(apivip("gen-key", "--out", key.toString()).exitCode()).isZero();
      Pki ca = Pki.newCa("ca");
      ca.writeCa(dir.resolve("ca.crt"));
      ca.issueClient("apivip").write(dir.resolve("client.crt"), dir.resolve("client.key"));
    }
    Path config = dir.resolve("apivip.conf");
    Files.writeString(
        config,
        """
        include file("%s")
        cluster.key-file = "%s"
        health.ca-file = "%s"
        health.client-cert-file = "%s"
        health.client-key-file = "%s"
        %s
        """
            .formatted(
                EXAMPLE,
                key,
                dir.resolve("ca.crt"),
                dir.resolve("client.crt"),
                dir.resolve("client.key"),
                extra));
    return config;
  }

  @Test
  void checkConfigAcceptsTheShippedExample() throws IOException {
    Result result = apivip("check-config", "--config", exampleWithLocalFiles("").toString());
    assertThat(result.exitCode()).as(result.err()).isZero();
    assertThat(result.out()).contains("node-id=node1").contains("interval=\"100ms\"");
    assertThat(result.err()).contains(": valid");
  }

  @Test
  void checkConfigNamesATypoedKeyAndExitsTwo() throws IOException {
    Result result =
        apivip(
            "check-config",
            "--config",
            exampleWithLocalFiles("heartbeat.intervall = 200ms").toString());
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err())
        .contains("heartbeat.intervall = 200ms: unknown key; did you mean heartbeat.interval?");
    assertThat(result.out()).isEmpty();
  }

  @Test
  void runRefusesInvalidConfig() throws IOException {
    Result result =
        apivip("run", "--config", exampleWithLocalFiles("vip.address = \"not-an-ip\"").toString());
    assertThat(result.exitCode()).isEqualTo(2);
  }

  @Test
  void genKeyWritesAPrivateKeyAndNeverOverwrites() throws IOException {
    Path key = dir.resolve("new.key");
    assertThat(apivip("gen-key", "--out", key.toString()).exitCode()).isZero();
    assertThat(Files.getPosixFilePermissions(key))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    String content = Files.readString(key);
    assertThat(content).matches("[0-9a-f]{64}\n");

    Result again = apivip("gen-key", "--out", key.toString());
    assertThat(again.exitCode()).isEqualTo(1);
    assertThat(again.err()).contains("refusing to overwrite");
    assertThat(Files.readString(key)).isEqualTo(content);
  }

  @Test
  void usageErrorsExitTwo() {
    assertThat(apivip().exitCode()).isEqualTo(2);
    assertThat(apivip("no-such-command").exitCode()).isEqualTo(2);
    assertThat(apivip("gen-key").exitCode()).isEqualTo(2);
    assertThat(apivip("--help").exitCode()).isZero();
    Result runHelp = apivip("run", "--help");
    assertThat(runHelp.exitCode()).isZero();
    assertThat(runHelp.out()).contains("--config");
  }

  @Test
  void versionPrintsTheVersion() {
    Result result = apivip("version");
    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).startsWith("apivip ");
  }
}
