package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Policy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which apiservers a new client connection tries, and in what order: a pure function of the
 * listener's policy and a snapshot of the pool, so every policy is tested without sockets.
 */
final class BackendChooser {

  /**
   * One apiserver as the chooser sees it. {@code routable} is "health says up and its node is not
   * in maintenance"; {@code active} counts its open and connecting proxied connections over all
   * listeners.
   */
  record Candidate(Backend backend, boolean routable, int active) {}

  private BackendChooser() {}

  /**
   * The backends to try, best first, at most {@code attempts} of them, each at most once; empty
   * when none is routable. {@code ticket} is a per-listener connection counter: round robin starts
   * at it, and least connections breaks ties with it so that equally loaded backends take turns.
   */
  static List<Backend> order(
      Policy policy, List<Candidate> pool, String localNodeId, long ticket, int attempts) {
    List<Candidate> routable = new ArrayList<>();
    for (Candidate candidate : pool) {
      if (candidate.routable()) {
        routable.add(candidate);
      }
    }
    if (routable.isEmpty()) {
      return List.of();
    }
    List<Candidate> rotated = rotate(routable, ticket);
    List<Candidate> ordered =
        switch (policy) {
          case ROUND_ROBIN -> rotated;
          case LEAST_CONNECTIONS -> byActive(rotated);
          case LOCAL_FIRST -> localFirst(byActive(rotated), localNodeId);
        };
    return ordered.stream().limit(attempts).map(Candidate::backend).toList();
  }

  private static List<Candidate> rotate(List<Candidate> candidates, long ticket) {
    int start = (int) Math.floorMod(ticket, (long) candidates.size());
    List<Candidate> rotated = new ArrayList<>(candidates.subList(start, candidates.size()));
    rotated.addAll(candidates.subList(0, start));
    return rotated;
  }

  /** Stable sort, so the rotation decides among backends with the same count. */
  private static List<Candidate> byActive(List<Candidate> candidates) {
    List<Candidate> sorted = new ArrayList<>(candidates);
    sorted.sort(Comparator.comparingInt(Candidate::active));
    return sorted;
  }

  private static List<Candidate> localFirst(List<Candidate> candidates, String localNodeId) {
    List<Candidate> ordered = new ArrayList<>(candidates.size());
    for (Candidate candidate : candidates) {
      if (isLocal(candidate, localNodeId)) {
        ordered.add(candidate);
      }
    }
    for (Candidate candidate : candidates) {
      if (!isLocal(candidate, localNodeId)) {
        ordered.add(candidate);
      }
    }
    return ordered;
  }

  private static boolean isLocal(Candidate candidate, String localNodeId) {
    return !localNodeId.isEmpty() && candidate.backend().nodeId().equals(localNodeId);
  }
}
