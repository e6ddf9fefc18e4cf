package io.apivip.lab.netns;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The guard for tests that build network namespaces: call {@link #assumeAvailable()} first (in
 * {@code @BeforeAll}). Where namespaces cannot be made (not root, no {@code ip netns}, no bridge or
 * veth support) the test is skipped with the reason, except when the system property {@value
 * #REQUIRED_PROPERTY} is "true", as in CI, where that is a failure: CI must never pass by skipping.
 *
 * <p>JUnit is an optional dependency of the lab: only tests call this class, and they have JUnit
 * anyway, while the demo and benchmarks that use the rest of the lab never load it.
 */
public final class NetnsSupport {

  public static final String REQUIRED_PROPERTY = "apivip.netns.required";

  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(10);

  /**
   * Why namespaces are unusable ("" when they are usable); null until probed. Guarded by the class.
   */
  private static String problem;

  private NetnsSupport() {}

  /**
   * Returns when network namespaces work here; otherwise skips the test, or fails it when required.
   */
  public static void assumeAvailable() {
    verdict(problem(), Boolean.parseBoolean(System.getProperty(REQUIRED_PROPERTY)));
  }

  /**
   * Returns when there is no problem; otherwise aborts the test, or fails it when namespaces are
   * required.
   */
  static void verdict(String why, boolean required) {
    if (why.isEmpty()) {
      return;
    }
    String message = "network-namespace test needs root and a working `ip netns`: " + why;
    if (required) {
      Assertions.fail(
          message + " (" + REQUIRED_PROPERTY + "=true, so this is a failure, not a skip)");
    }
    Assumptions.abort(
        message
            + "; skipped (run as root, or set -D"
            + REQUIRED_PROPERTY
            + "=true to fail instead)");
  }

  /** Probes once per JVM by making a namespace with a bridge and a veth pair, as the lab does. */
  static synchronized String problem() {
    if (problem == null) {
      problem = probe();
    }
    return problem;
  }

  private static String probe() {
    if (!Root.isRoot()) {
      return "not running as root";
    }
    String namespace = LabNames.labPrefix(ProcessHandle.current().pid(), 0) + "probe";
    try {
      List<List<String>> steps =
          List.of(
              List.of("ip", "netns", "add", namespace),
              List.of("ip", "-n", namespace, "link", "add", "name", "br0", "type", "bridge"),
              List.of(
                  "ip", "-n", namespace, "link", "add", "name", "v0", "type", "veth", "peer",
                  "name", "v1"));
      for (List<String> step : steps) {
        Exec.Result result = Exec.run(PROBE_TIMEOUT, step);
        if (!result.ok()) {
          return String.join(" ", step) + " failed: " + result.stderr().strip();
        }
      }
      return "";
    } catch (RuntimeException e) {
      return "cannot run ip: " + e.getMessage();
    } finally {
      try {
        Exec.run(PROBE_TIMEOUT, List.of("ip", "netns", "delete", namespace));
      } catch (RuntimeException ignored) {
        // Nothing was made if ip cannot even run.
      }
    }
  }
}
