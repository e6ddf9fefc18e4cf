package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings.Backend;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * The proxy's meters, each name defined here once. Tags are the backend's address and a closed set
 * of outcomes and directions; client addresses never become tags.
 */
final class ProxyMetrics {

  static final String CONNECTIONS = "apivip.proxy.connections";
  static final String ACTIVE = "apivip.proxy.active";
  static final String CLIENTS = "apivip.proxy.clients";
  static final String BYTES = "apivip.proxy.bytes";
  static final String CONNECT_TIME = "apivip.proxy.connect.time";

  static final String OUTCOME_OK = "ok";
  static final String OUTCOME_REFUSED = "refused";
  static final String OUTCOME_NO_BACKEND = "no-backend";
  static final String OUTCOME_LIMIT = "limit";
  static final String OUTCOME_SOURCE_LIMIT = "source-limit";
  static final String OUTCOME_FIRST_BYTE_TIMEOUT = "first-byte-timeout";
  static final String SOURCES_LIMITED = "apivip.proxy.sources.limited";
  static final String RELAY_HELD = "apivip.proxy.relay.held";
  static final String RELAY_PRESSURE = "apivip.proxy.relay.pressure";
  static final String HALF_CLOSE_TIMEOUTS = "apivip.proxy.half.close.timeouts";
  static final String VIP_LEFT_RESETS = "apivip.proxy.vip.left.resets";

  /** The backend tag of client connections closed before any backend was chosen. */
  static final String NO_BACKEND_TAG = "none";

  /** The meters of one apiserver. */
  record BackendMeters(
      Counter ok,
      Counter refused,
      Counter bytesToBackend,
      Counter bytesToClient,
      Timer connectTime) {}

  private final MeterRegistry registry;
  private final Counter noBackend;
  private final Counter overLimit;
  private final Counter sourceLimit;
  private final Counter firstByteTimeout;
  private final Counter halfCloseTimeout;
  private final Counter vipLeftResets;

  ProxyMetrics(MeterRegistry registry, IntSupplier openClients, IntSupplier limitedSources) {
    this.registry = registry;
    this.noBackend = connections(NO_BACKEND_TAG, OUTCOME_NO_BACKEND);
    this.overLimit = connections(NO_BACKEND_TAG, OUTCOME_LIMIT);
    this.sourceLimit = connections(NO_BACKEND_TAG, OUTCOME_SOURCE_LIMIT);
    this.firstByteTimeout = connections(NO_BACKEND_TAG, OUTCOME_FIRST_BYTE_TIMEOUT);
    this.halfCloseTimeout =
        Counter.builder(HALF_CLOSE_TIMEOUTS)
            .description(
                "Proxied connections closed because one side stayed half-closed for"
                    + " proxy.half-close-timeout")
            .register(registry);
    this.vipLeftResets =
        Counter.builder(VIP_LEFT_RESETS)
            .description(
                "VIP client connections reset because the VIP left this node unplanned: those open"
                    + " when it left, and those the kernel had queued that were accepted after")
            .register(registry);
    Gauge.builder(SOURCES_LIMITED, limitedSources::getAsInt)
        .description(
            "Client addresses at proxy.max-connections-per-source that were refused a connection"
                + " since they last went below it")
        .register(registry);
    Gauge.builder(CLIENTS, openClients::getAsInt)
        .description("Client connections open over all listeners, including those still connecting")
        .register(registry);
  }

  static String tag(Backend backend) {
    return ProxyStatus.render(backend.address());
  }

  BackendMeters forBackend(Backend backend, IntSupplier active) {
    String tag = tag(backend);
    Gauge.builder(ACTIVE, active::getAsInt)
        .description("Proxied connections open to the apiserver, including connects in progress")
        .tag("backend", tag)
        .register(registry);
    return new BackendMeters(
        connections(tag, OUTCOME_OK),
        connections(tag, OUTCOME_REFUSED),
        bytes(tag, "to-backend"),
        bytes(tag, "to-client"),
        Timer.builder(CONNECT_TIME)
            .description("Time to establish a TCP connection to the apiserver")
            .tag("backend", tag)
            .publishPercentileHistogram()
            .register(registry));
  }

  /** Unregisters an apiserver's meters (a reload removed it): its series end. */
  void removeBackend(Backend backend) {
    String tag = tag(backend);
    for (String name : List.of(ACTIVE, CONNECTIONS, BYTES, CONNECT_TIME)) {
      registry.find(name).tag("backend", tag).meters().forEach(registry::remove);
    }
  }

  /** A client closed because no apiserver was routable or every attempt failed. */
  void noBackend() {
    noBackend.increment();
  }

  /** A client closed because max-connections were already open. */
  void overLimit() {
    overLimit.increment();
  }

  /** The relay's memory: what it holds now, and whether reads are cut (over proxy.relay.memory). */
  void relayMemory(java.util.function.LongSupplier held, IntSupplier pressure) {
    Gauge.builder(RELAY_HELD, held::getAsLong)
        .description(
            "Bytes the relays hold: read from one side, not yet taken by the other side's socket")
        .baseUnit("bytes")
        .register(registry);
    Gauge.builder(RELAY_PRESSURE, pressure::getAsInt)
        .description("1 while the relays hold more than proxy.relay.memory and reads are cut")
        .register(registry);
  }

  /** A client closed because its address already had max-connections-per-source open. */
  void sourceLimit() {
    sourceLimit.increment();
  }

  /** A client closed because it sent nothing within first-byte-timeout. */
  void firstByteTimeout() {
    firstByteTimeout.increment();
  }

  /** VIP client connections reset because the VIP left this node. */
  void vipLeftResets(int count) {
    vipLeftResets.increment(count);
  }

  /** A connection closed because it stayed half-closed for half-close-timeout. */
  void halfCloseTimeout() {
    halfCloseTimeout.increment();
  }

  private Counter connections(String backend, String outcome) {
    return Counter.builder(CONNECTIONS)
        .description(
            "Client connections by apiserver and outcome; refused counts each failed connect"
                + " (refused or timed out)")
        .tag("backend", backend)
        .tag("outcome", outcome)
        .register(registry);
  }

  private Counter bytes(String backend, String direction) {
    return Counter.builder(BYTES)
        .description("Bytes relayed, by apiserver and direction")
        .baseUnit("bytes")
        .tag("backend", backend)
        .tag("direction", direction)
        .register(registry);
  }
}
