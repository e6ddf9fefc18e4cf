package io.apivip.daemon.admin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Who may change this node's state through the admin socket: root, the daemon's own user, and the
 * members of the operators' group. The peer is known from {@code SO_PEERCRED} (uid, primary gid,
 * pid); supplementary membership comes from the local group database ({@code /etc/group}), because
 * the kernel does not pass a peer's supplementary groups and the unit hides other users' /proc.
 */
public final class Operators {

  /** A process at the other end of the admin socket, as the kernel named it at connect time. */
  public record Peer(int pid, int uid, int gid) {}

  /** The answer, with the words the log and the refused caller see. */
  public record Decision(boolean allowed, String reason) {}

  /** The local user and group databases; a test gives its own files. */
  public record Database(Path passwd, Path group) {
    public static Database system() {
      return new Database(Path.of("/etc/passwd"), Path.of("/etc/group"));
    }
  }

  private final String groupName;
  private final int daemonUid;
  private final Database database;

  public Operators(String groupName, int daemonUid, Database database) {
    this.groupName = groupName;
    this.daemonUid = daemonUid;
    this.database = database;
  }

  public String groupName() {
    return groupName;
  }

  /** Reads the databases afresh, so `usermod -aG` takes effect without a restart or a new login. */
  public Decision decide(Peer peer) {
    if (peer.uid() == 0) {
      return new Decision(true, "root");
    }
    if (peer.uid() == daemonUid) {
      return new Decision(true, "the daemon's own user");
    }
    Optional<GroupEntry> group = entry(database.group(), groupName).map(GroupEntry::of);
    if (group.isEmpty()) {
      return new Decision(
          false, "is not root and the operators' group " + groupName + " does not exist");
    }
    if (peer.gid() == group.get().gid()) {
      return new Decision(true, "primary group " + groupName);
    }
    Optional<String> user = userName(peer.uid());
    if (user.isPresent() && group.get().members().contains(user.get())) {
      return new Decision(true, "member of " + groupName);
    }
    return new Decision(false, "is neither root nor a member of " + groupName);
  }

  /** The user's name for the log; the uid as text when the database does not know it. */
  public String describe(Peer peer) {
    return "uid "
        + peer.uid()
        + userName(peer.uid()).map(name -> " (" + name + ")").orElse("")
        + " pid "
        + peer.pid();
  }

  private Optional<String> userName(int uid) {
    return lines(database.passwd()).stream()
        .map(line -> line.split(":", -1))
        .filter(fields -> fields.length > 2 && fields[2].equals(Integer.toString(uid)))
        .map(fields -> fields[0])
        .findFirst();
  }

  private static Optional<String[]> entry(Path file, String name) {
    return lines(file).stream()
        .map(line -> line.split(":", -1))
        .filter(fields -> fields.length >= 4 && fields[0].equals(name))
        .findFirst();
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return List.of();
    }
  }

  /** The gid of a group by name, for giving the socket to the operators' group. */
  public Optional<Integer> groupId() {
    return entry(database.group(), groupName).map(GroupEntry::of).map(GroupEntry::gid);
  }

  private record GroupEntry(int gid, List<String> members) {
    static GroupEntry of(String[] fields) {
      int gid;
      try {
        gid = Integer.parseInt(fields[2]);
      } catch (NumberFormatException e) {
        gid = -1;
      }
      List<String> members = fields[3].isEmpty() ? List.of() : List.of(fields[3].split(","));
      return new GroupEntry(gid, members);
    }
  }
}
