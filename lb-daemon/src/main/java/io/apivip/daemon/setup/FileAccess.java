package io.apivip.daemon.setup;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Optional;
import java.util.Set;

/**
 * The mode and owner a file setup makes must have ({@code 0600 apivip} for the health key, {@code
 * 0644 root} for certificates), and the one way setup writes a file: whole, with that mode from its
 * first byte, moved into place at once, so no reader ever sees half a file or a key readable by
 * others.
 */
record FileAccess(Set<PosixFilePermission> mode, String owner, String group) {

  /** {@code mode} as {@code ls -l} writes it; the group is the owner's own, where it has one. */
  static FileAccess of(String mode, String owner) {
    return new FileAccess(PosixFilePermissions.fromString(mode), owner, owner);
  }

  /** The mode, owner and group {@code file} has now. */
  static FileAccess of(Path file) throws IOException {
    PosixFileAttributes attributes =
        Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    return new FileAccess(
        attributes.permissions(), attributes.owner().getName(), attributes.group().getName());
  }

  /** "0644 root", as the plan says it. */
  String describe() {
    return octal(mode) + " " + owner;
  }

  /** What is wrong with {@code file}'s mode or owner ("it is 0640 root"), or empty when right. */
  Optional<String> mismatch(Path file) throws IOException {
    PosixFileAttributes attributes =
        Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    String actualOwner = attributes.owner().getName();
    if (attributes.permissions().equals(mode) && actualOwner.equals(owner)) {
      return Optional.empty();
    }
    return Optional.of("it is " + octal(attributes.permissions()) + " " + actualOwner);
  }

  /** Gives {@code file} this mode, owner and group (when the host has that group). */
  void apply(Path file) throws IOException {
    PosixFileAttributeView view =
        Files.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    UserPrincipalLookupService users = file.getFileSystem().getUserPrincipalLookupService();
    view.setOwner(users.lookupPrincipalByName(owner));
    try {
      GroupPrincipal principal = users.lookupPrincipalByGroupName(group);
      view.setGroup(principal);
    } catch (UserPrincipalNotFoundException e) {
      // A user without a group of its name (nobody): the mode alone decides who reads.
    }
    view.setPermissions(mode);
  }

  /** Writes {@code content} to {@code target} with this mode and owner, replacing it at once. */
  void write(Path target, byte[] content) throws IOException {
    Path temporary =
        Files.createTempFile(
            target.toAbsolutePath().getParent(),
            "." + target.getFileName() + ".",
            ".tmp",
            PosixFilePermissions.asFileAttribute(mode));
    try {
      Files.write(temporary, content);
      apply(temporary);
      moveIntoPlace(temporary, target);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  /** Whether {@code user} exists on this host. */
  static boolean userExists(String user) {
    try {
      UserPrincipal found =
          Path.of("/").getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(user);
      return found != null;
    } catch (IOException e) {
      return false;
    }
  }

  static void moveIntoPlace(Path source, Path target) throws IOException {
    try {
      Files.move(
          source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static String octal(Set<PosixFilePermission> permissions) {
    int bits = 0;
    for (PosixFilePermission permission : permissions) {
      bits |= 1 << (8 - permission.ordinal());
    }
    return String.format("%04o", bits);
  }
}
