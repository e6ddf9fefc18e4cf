package io.apivip.daemon.cluster;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A read-only snapshot of the cluster as this node sees it, for /status, `apivip doctor` and the
 * metrics. Taken on the owner thread, at least every heartbeat interval.
 *
 * @param holder the node holding the VIP as this node sees it: itself if it holds, else the highest
 *     ranked live peer announcing it
 * @param quorumPresent this node sees a quorum (see {@link Election}, rule 5)
 * @param acceptedKeys the ids of the keys this node accepts besides the one it signs with (its own
 *     member's {@code key})
 * @param maintenanceUnheard while this node is in maintenance, the live peers whose latest
 *     heartbeat does not yet acknowledge one of ours that said so: they may still route new
 *     connections to this node's apiserver (a peer acknowledges a heartbeat after acting on it)
 */
public record ClusterStatus(
    String nodeId,
    int quorum,
    boolean quorumPresent,
    boolean holding,
    Optional<String> holder,
    List<Member> members,
    Set<String> maintenanceUnheard,
    List<String> acceptedKeys) {

  public ClusterStatus {
    members = List.copyOf(members);
    maintenanceUnheard = Set.copyOf(maintenanceUnheard);
    acceptedKeys = List.copyOf(acceptedKeys);
  }

  public enum Liveness {
    SELF,
    ALIVE,
    SUSPECTED,
    NEVER_HEARD
  }

  /**
   * One node. {@code clockOffset} is the peer's wall clock minus ours when its last heartbeat
   * arrived (network delay included); {@code badMacDatagrams} counts datagrams from its address
   * whose MAC did not match or that named a key this node does not hold, which points at a
   * different key file on that node. {@code key} is the id of the key the node signs with (its
   * fingerprint): this node's own, or the one that signed a peer's latest accepted heartbeat; empty
   * for a peer never heard.
   */
  public record Member(
      String id,
      InetAddress address,
      int priority,
      Liveness liveness,
      boolean eligible,
      boolean maintenance,
      boolean holdsVip,
      Optional<Duration> lastHeardAge,
      Optional<Duration> clockOffset,
      long badMacDatagrams,
      Optional<String> key) {}

  public long peersAlive() {
    return members.stream().filter(member -> member.liveness() == Liveness.ALIVE).count();
  }

  public Set<String> inMaintenance() {
    return members.stream()
        .filter(Member::maintenance)
        .map(Member::id)
        .collect(Collectors.toUnmodifiableSet());
  }
}
