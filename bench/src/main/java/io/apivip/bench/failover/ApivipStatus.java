package io.apivip.bench.failover;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * Reads one node's {@code /status} JSON (the daemon's StatusReport) for what the benchmark waits
 * on.
 */
final class ApivipStatus {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ApivipStatus() {}

  /**
   * Whether the node sees the whole cluster healthy: not in maintenance, quorum present, every one
   * of {@code nodes} members itself or alive and out of maintenance, and every one of its {@code
   * nodes} backends up and routable. A malformed report is not healthy.
   */
  static boolean wholeClusterHealthy(String statusJson, int nodes) {
    JsonNode status;
    try {
      status = JSON.readTree(statusJson);
    } catch (IOException e) {
      return false;
    }
    if (status == null
        || status.path("maintenance").asBoolean(true)
        || !status.path("quorum").path("present").asBoolean(false)) {
      return false;
    }
    JsonNode members = status.path("members");
    JsonNode backends = status.path("backends");
    if (members.size() != nodes || backends.size() != nodes) {
      return false;
    }
    for (JsonNode member : members) {
      String state = member.path("state").asText();
      if (!(state.equals("self") || state.equals("alive"))
          || member.path("maintenance").asBoolean(true)) {
        return false;
      }
    }
    for (JsonNode backend : backends) {
      if (!backend.path("health").asText().equals("up")
          || !backend.path("routable").asBoolean(false)) {
        return false;
      }
    }
    return true;
  }
}
