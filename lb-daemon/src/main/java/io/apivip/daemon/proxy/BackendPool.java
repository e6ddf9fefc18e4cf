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
 * is {@link Routing}'s answer. Shared by every event loop: counts are atomic, and the set of
 * apiservers is replaced whole by a reload ({@link #setBackends}).
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

  /** Replaced whole, never changed: each connection reads the set once. */
  private volatile Map<Backend, Slot> slots;

  private final int listeners;
  private final ProxyMetrics metrics;
  private final Routing routing;
  private final String localNodeId;
  private final AtomicLong[] tickets;

  BackendPool(
      List<Backend> backends,
      int listeners,
      String localNodeId,
      Routing routing,
      ProxyMetrics metrics) {
    this.listeners = listeners;
    this.metrics = metrics;
    Map<Backend, Slot> initial = new LinkedHashMap<>();
    for (Backend backend : backends) {
      initial.put(backend, new Slot(backend, listeners, metrics));
    }
    this.slots = initial;
    this.routing = routing;
    this.localNodeId = localNodeId;
    this.tickets = new AtomicLong[listeners];
    for (int i = 0; i < listeners; i++) {
      tickets[i] = new AtomicLong();
    }
  }

  /**
   * A reload: new connections go to {@code backends} from now on. An apiserver that stays keeps its
   * counts; one removed gets no new connection, and those open to it run on until they end; its
   * meters go. One caller at a time (the daemon's reload).
   */
  synchronized void setBackends(List<Backend> backends) {
    Map<Backend, Slot> before = slots;
    Map<Backend, Slot> next = new LinkedHashMap<>();
    for (Map.Entry<Backend, Slot> slot : before.entrySet()) {
      if (!backends.contains(slot.getKey())) {
        metrics.removeBackend(slot.getKey());
      }
    }
    for (Backend backend : backends) {
      Slot kept = before.get(backend);
      next.put(backend, kept != null ? kept : new Slot(backend, listeners, metrics));
    }
    slots = next;
  }

  /** The slots a new connection on this listener tries, best first; empty when none is routable. */
  List<Slot> choose(int listener, Policy policy, int attempts) {
    Map<Backend, Slot> slots = this.slots;
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
    Map<Backend, Slot> slots = this.slots;
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
