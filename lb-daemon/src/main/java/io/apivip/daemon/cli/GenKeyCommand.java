package io.apivip.daemon.cli;

import io.apivip.daemon.config.KeyFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code apivip gen-key}: writes a new cluster key, readable by its owner only. */
@Command(
    name = "gen-key",
    description = {
      "Write a new random 256-bit cluster key (mode 0600). Copy the same file to every node.",
      "Refuses to overwrite an existing file."
    })
public final class GenKeyCommand implements Callable<Integer> {

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Where to write the key, e.g. /etc/apivip/cluster.key.")
  Path out;

  @Override
  public Integer call() {
    try {
      writeNewKey(out);
    } catch (FileAlreadyExistsException e) {
      System.err.println(
          "apivip gen-key: "
              + out
              + " exists; refusing to overwrite a key (remove it first if you mean to replace it)");
      return 1;
    } catch (IOException e) {
      System.err.println("apivip gen-key: cannot write " + out + ": " + e);
      return 1;
    }
    System.out.println(
        "wrote a new key to " + out + " (mode 0600); copy it to every node of the cluster");
    return 0;
  }

  /** Writes a new random key readable by its owner only; never overwrites an existing file. */
  public static void writeNewKey(Path out) throws IOException {
    Path created;
    try {
      // Created with its mode, so the key is never readable by others, not even for a moment.
      created =
          Files.createFile(
              out,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (FileAlreadyExistsException e) {
      throw new FileAlreadyExistsException(
          out.toString(), null, "refusing to overwrite an existing key");
    }
    Files.writeString(created, KeyFile.newKey(), StandardCharsets.US_ASCII);
  }
}
