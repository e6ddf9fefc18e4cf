package io.apivip.daemon.doctor;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.admin.StatusReport.Member;
import io.apivip.daemon.config.KeyFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The cluster key: present here with a safe mode and owner, and the same on every peer. The daemon
 * never shows a peer's key, only its id (the fingerprint): the one each node signs with, as its
 * heartbeats name it, and those this node also accepts; and it counts the datagrams from the peer's
 * address that fail authentication. A count that grows while we watch means that peer signs with a
 * key this node does not hold, unless the peer's own heartbeats authenticate meanwhile (it is
 * alive): then someone forges datagrams with its address, and its key is not to blame.
 */
final class KeyCheck {

  static final String CHECK = "key";
  private static final String GUIDE = "docs/microk8s.md section 3";
  private static final String CHANGE = "docs/microk8s.md, \"Changing the cluster key\"";

  /** The findings about the key file, and its fingerprint when it could be read. */
  record Local(List<Finding> findings, Optional<String> fingerprint) {}

  private KeyCheck() {}

  /**
   * Checks one key file. {@code serviceUser} is the user the daemon runs as; the file must be owned
   * by it when that user exists on this machine.
   */
  static Local local(String key, Path file, String serviceUser) {
    if (Files.exists(file) && !Files.isReadable(file)) {
      return new Local(
          List.of(
              Finding.warn(
                  CHECK,
                  key
                      + " "
                      + file
                      + " cannot be read by user "
                      + System.getProperty("user.name")
                      + ": run sudo apivip doctor to check it")),
          Optional.empty());
    }
    Optional<String> problem = KeyFile.problem(file);
    if (problem.isPresent()) {
      String hint =
          Files.exists(file) ? "" : " (once, on one node; copy it to the others: " + GUIDE + ")";
      return new Local(
          List.of(Finding.fail(CHECK, key + " " + file + ": " + problem.get() + hint)),
          Optional.empty());
    }
    String fingerprint;
    String owner;
    String mode;
    try {
      fingerprint = KeyFile.fingerprint(KeyFile.read(file));
      owner = Files.getOwner(file).getName();
      mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    } catch (IOException e) {
      return new Local(
          List.of(Finding.fail(CHECK, key + " " + file + " cannot be read: " + e.getMessage())),
          Optional.empty());
    }
    Finding finding =
        !owner.equals(serviceUser) && userExists(file, serviceUser)
            ? Finding.fail(
                CHECK,
                key
                    + " "
                    + file
                    + " is owned by "
                    + owner
                    + ", but the daemon runs as "
                    + serviceUser
                    + " and cannot read it: run: sudo chown "
                    + serviceUser
                    + ":"
                    + serviceUser
                    + " "
                    + file)
            : Finding.ok(
                CHECK,
                key
                    + " "
                    + file
                    + ": mode "
                    + mode
                    + ", owner "
                    + owner
                    + ", fingerprint "
                    + fingerprint
                    + " (apivip doctor on every node must show the same)");
    return new Local(List.of(finding), Optional.of(fingerprint));
  }

  private static boolean userExists(Path file, String user) {
    try {
      return file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(user)
          != null;
    } catch (IOException | UnsupportedOperationException e) {
      // UserPrincipalNotFoundException included: no such user, so ownership cannot be judged.
      return false;
    }
  }

  /**
   * Compares two status reports taken {@code gap} apart: a peer whose rejected heartbeats grew in
   * between signs with another key. {@code fingerprint} is this node's, when known.
   */
  static List<Finding> peers(
      StatusReport first,
      StatusReport second,
      Duration gap,
      Path keyFile,
      Optional<String> fingerprint) {
    Map<String, Long> growth = rejectedGrowth(first, second);
    List<Member> peers =
        second.members().stream().filter(member -> !member.state().equals(PeerCheck.SELF)).toList();
    List<Member> failing =
        peers.stream()
            .filter(member -> growth.get(member.id()) > 0 && !authenticates(member))
            .toList();
    List<Member> forged =
        peers.stream()
            .filter(member -> growth.get(member.id()) > 0 && authenticates(member))
            .toList();
    String ours =
        "this node's (fingerprint " + fingerprint.orElse("unknown: run as root to read it") + ")";
    String seconds = PeerCheck.seconds(gap.toMillis() / 1000.0);
    List<Finding> findings = new ArrayList<>();
    if (failing.size() >= 2 && failing.size() == peers.size()) {
      findings.add(
          Finding.fail(
              CHECK,
              "the heartbeats of every peer ("
                  + ids(failing)
                  + ") fail authentication: this node's key "
                  + fingerprint.map(f -> "(fingerprint " + f + ") ").orElse("")
                  + "differs from theirs; copy "
                  + keyFile
                  + " from a good node to this one and run sudo systemctl reload apivip here ("
                  + GUIDE
                  + ")"));
    } else {
      for (Member member : failing) {
        findings.add(
            Finding.fail(
                CHECK,
                member.id()
                    + "'s heartbeats fail authentication: its key differs from "
                    + ours
                    + "; copy "
                    + keyFile
                    + " from a good node to "
                    + member.id()
                    + " and run sudo systemctl reload apivip there ("
                    + growth.get(member.id())
                    + " rejected in "
                    + seconds
                    + ")"));
      }
    }
    for (Member member : forged) {
      findings.add(
          Finding.warn(
              CHECK,
              growth.get(member.id())
                  + " datagrams from "
                  + member.id()
                  + "'s address failed authentication in "
                  + seconds
                  + " while its own heartbeats authenticate: possibly forged (a spoofed source"
                  + " address), not a key mismatch; look for the sender on the network (nftables"
                  + " can drop the heartbeat port from anything but the nodes)"));
    }
    for (Member member : peers) {
      if (member.rejectedDatagrams() > 0 && growth.get(member.id()) == 0) {
        findings.add(
            Finding.warn(
                CHECK,
                member.id()
                    + " sent "
                    + member.rejectedDatagrams()
                    + " heartbeats that failed authentication, but none in the last "
                    + seconds
                    + ": a key mismatch was fixed, or someone sent forged heartbeats; nothing to do"
                    + " if the count stays put"));
      }
    }
    findings.addAll(signingKeys(second));
    List<Member> agreeing =
        peers.stream()
            .filter(
                member -> member.state().equals(PeerCheck.ALIVE) && member.rejectedDatagrams() == 0)
            .toList();
    if (!agreeing.isEmpty()) {
      findings.add(
          Finding.ok(
              CHECK, "heartbeats of " + ids(agreeing) + " authenticate: same key as " + ours));
    }
    return findings;
  }

  /**
   * Which key each node signs with, from the key ids of the daemon's view: all the same, and no
   * other key accepted, is a finished state; anything else is a key change under way, which the
   * findings name, with its next step (docs/microk8s.md, "Changing the cluster key").
   */
  static List<Finding> signingKeys(StatusReport status) {
    Optional<Member> self =
        status.members().stream().filter(m -> m.state().equals(PeerCheck.SELF)).findFirst();
    if (self.isEmpty() || self.get().key() == null) {
      return List.of();
    }
    String ours = self.get().key();
    List<Finding> findings = new ArrayList<>();
    List<Member> others =
        status.members().stream()
            .filter(m -> m.state().equals(PeerCheck.ALIVE) && m.key() != null)
            .filter(m -> !m.key().equals(ours))
            .toList();
    for (Member member : others) {
      findings.add(
          Finding.warn(
              CHECK,
              member.id()
                  + " signs with key "
                  + member.key()
                  + ", this node with "
                  + ours
                  + ": a key change is under way; finish each step on every node before the next"
                  + " ("
                  + CHANGE
                  + ")"));
    }
    if (others.isEmpty() && !status.acceptedKeys().isEmpty()) {
      findings.add(
          Finding.warn(
              CHECK,
              "every node heard signs with key "
                  + ours
                  + ", and this node also accepts "
                  + String.join(", ", status.acceptedKeys())
                  + ": in the middle of a key change, go on with its next step; once it is over,"
                  + " remove them from cluster.accept-key-files and reload ("
                  + CHANGE
                  + ")"));
    } else if (others.isEmpty()) {
      findings.add(
          Finding.ok(
              CHECK,
              "every node heard signs with key " + ours + ", and this node accepts no other"));
    }
    return findings;
  }

  /**
   * Peers whose heartbeats failed authentication while we watched and none of whose heartbeats
   * authenticate: they sign with another key. Bad datagrams from an alive peer's address are
   * possibly forged and blame no key.
   */
  static Set<String> mismatched(StatusReport first, StatusReport second) {
    Set<String> alive = new TreeSet<>();
    second.members().stream()
        .filter(KeyCheck::authenticates)
        .forEach(member -> alive.add(member.id()));
    Set<String> ids = new TreeSet<>();
    rejectedGrowth(first, second)
        .forEach(
            (id, growth) -> {
              if (growth > 0 && !alive.contains(id)) {
                ids.add(id);
              }
            });
    return ids;
  }

  /**
   * Whether the peer's own heartbeats are accepted now: it is alive, which needs authenticated
   * datagrams.
   */
  private static boolean authenticates(Member member) {
    return member.state().equals(PeerCheck.ALIVE);
  }

  /**
   * By member id, how many more heartbeats were rejected in the second report than in the first.
   */
  private static Map<String, Long> rejectedGrowth(StatusReport first, StatusReport second) {
    Map<String, Long> before = new HashMap<>();
    first.members().forEach(member -> before.put(member.id(), member.rejectedDatagrams()));
    Map<String, Long> growth = new HashMap<>();
    second
        .members()
        .forEach(
            member ->
                growth.put(
                    member.id(),
                    member.rejectedDatagrams()
                        - before.getOrDefault(member.id(), member.rejectedDatagrams())));
    return growth;
  }

  static String ids(List<Member> members) {
    return members.stream().map(Member::id).collect(Collectors.joining(", "));
  }
}
