package io.apivip.daemon.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;

/**
 * The cluster's shared secret. The key is the file's content without trailing white space, so a
 * generated key (64 hex digits) survives being copied between nodes as text. Reads key files and
 * writes none: {@code apivip gen-key} writes them.
 */
public final class KeyFile {

  public static final int MIN_BYTES = 32;
  private static final int GENERATED_BITS = 256;

  private KeyFile() {}

  /** A new random key as the text of a key file: 64 hex digits and a newline. */
  public static String newKey() {
    byte[] secret = new byte[GENERATED_BITS / 8];
    new SecureRandom().nextBytes(secret);
    return HexFormat.of().formatHex(secret) + "\n";
  }

  /** What is wrong with the key file, if anything, as the "expected" part of a config problem. */
  public static Optional<String> problem(Path path) {
    if (!Files.exists(path)) {
      return Optional.of("no such file; create it with: apivip gen-key --out " + path);
    }
    if (!Files.isRegularFile(path)) {
      return Optional.of("must be a regular file");
    }
    try {
      Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(path);
      if (permissions.contains(PosixFilePermission.GROUP_READ)
          || permissions.contains(PosixFilePermission.OTHERS_READ)) {
        return Optional.of(
            "is readable by group or others (mode "
                + PosixFilePermissions.toString(permissions)
                + "); run: chmod 600 "
                + path);
      }
    } catch (UnsupportedOperationException | IOException e) {
      return Optional.of("cannot read its permissions: " + e.getMessage());
    }
    try {
      int length = read(path).length;
      if (length < MIN_BYTES) {
        return Optional.of("holds " + length + " bytes, must hold at least " + MIN_BYTES);
      }
    } catch (IOException e) {
      return Optional.of("cannot be read: " + e.getMessage());
    }
    return Optional.empty();
  }

  /** The key material: the file's bytes without trailing white space. */
  public static byte[] read(Path path) throws IOException {
    byte[] content = Files.readAllBytes(path);
    int end = content.length;
    while (end > 0 && Character.isWhitespace(content[end - 1])) {
      end--;
    }
    return Arrays.copyOf(content, end);
  }

  /**
   * The key's id: the first 8 bytes of its SHA-256, big-endian. Heartbeats carry it to say which
   * key signed them; {@link #fingerprint} is the same number in hex, what operators compare. It
   * tells whether two nodes hold the same key without revealing it.
   */
  public static long id(byte[] key) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(key);
      long id = 0;
      for (int i = 0; i < Long.BYTES; i++) {
        id = (id << 8) | (digest[i] & 0xff);
      }
      return id;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
    }
  }

  /** The key's id ({@link #id}) as 16 hex digits, as status, logs and the doctor show it. */
  public static String fingerprint(byte[] key) {
    return fingerprint(id(key));
  }

  public static String fingerprint(long id) {
    return HexFormat.of().toHexDigits(id);
  }
}
