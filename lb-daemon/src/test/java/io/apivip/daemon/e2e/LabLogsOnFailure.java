package io.apivip.daemon.e2e;

import io.apivip.lab.cluster.ClusterLab;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Prints the last lines of every node's apivip log when a test fails, for the lab the test holds
 * then (if any), and then whatever else the test adds.
 */
final class LabLogsOnFailure implements TestWatcher {

  private final Supplier<ClusterLab> lab;
  private final Runnable more;

  LabLogsOnFailure(Supplier<ClusterLab> lab) {
    this(lab, () -> {});
  }

  LabLogsOnFailure(Supplier<ClusterLab> lab, Runnable more) {
    this.lab = lab;
    this.more = more;
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    ClusterLab current = lab.get();
    if (current != null) {
      EndToEndIT.printLogs(current);
    }
    more.run();
  }
}
