package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings.Backend;
import io.apivip.daemon.config.Settings.Policy;
import io.apivip.daemon.proxy.BackendChooser.Candidate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The apiservers with their live connection counts and meters; which of them take new connections
 * is {@link Routing}'s answer. Shared by every event loop: counts are atomic.
 */
final class BackendPool {

  /** One apiserver and the proxied connections open to it, per listener. */
  static final class Slot {
    final Backend backend;
    final ProxyMetrics.BackendMeters meters;
    private final AtomicInteger[] activeByListener;
    private final AtomicInteger active = new AtomicInteger();

    private Slot(Backend backend, int listeners, ProxyMetrics metrics) {
      this.backend = backend;
      this.activeByListener = new AtomicInteger[listeners];
      for (int i = 0; i < listeners; i++) {
        activeByListener[i] = new AtomicInteger();
      }
      this.meters = metrics.forBackend(backend, active::get);
    }

    void opened(int listener) {
      activeByListener[listener].incrementAndGet();
      active.incrementAndGet();
    }

    void closed(int listener) {
      activeByListener[listener].decrementAndGet();
      active.decrementAndGet();
    }
  }

  private final Map<Backend, Slot> slots = new LinkedHashMap<>();
  private final Routing routing;
  private final String localNodeId;
  private final AtomicLong[] tickets;

  BackendPool(
      List<Backend> backends,
      int listeners,
      String localNodeId,
      Routing routing,
      ProxyMetrics metrics) {
    for (Backend backend : backends) {
      slots.put(backend, new Slot(backend, listeners, metrics));
    }
    this.routing = routing;
    this.localNodeId = localNodeId;
    this.tickets = new AtomicLong[listeners];
    for (int i = 0; i < listeners; i++) {
      tickets[i] = new AtomicLong();
    }
  }

  /** The slots a new connection on this listener tries, best first; empty when none is routable. */
  List<Slot> choose(int listener, Policy policy, int attempts) {
    List<Candidate> candidates = new ArrayList<>(slots.size());
    for (Slot slot : slots.values()) {
      candidates.add(
          new Candidate(slot.backend, routing.routable(slot.backend), slot.active.get()));
    }
    long ticket = tickets[listener].getAndIncrement();
    return BackendChooser.order(policy, candidates, localNodeId, ticket, attempts).stream()
        .map(slots::get)
        .toList();
  }

  int size() {
    return slots.size();
  }

  BackendHealth health() {
    return routing.health();
  }

  List<ProxyStatus.Connections> status(int listener) {
    Set<String> inMaintenance = routing.maintenance();
    BackendHealth health = routing.health();
    List<ProxyStatus.Connections> status = new ArrayList<>(slots.size());
    for (Slot slot : slots.values()) {
      status.add(
          new ProxyStatus.Connections(
              slot.backend.nodeId(),
              ProxyMetrics.tag(slot.backend),
              health.isUp(slot.backend),
              inMaintenance.contains(slot.backend.nodeId()),
              slot.activeByListener[listener].get()));
    }
    return status;
  }
}
