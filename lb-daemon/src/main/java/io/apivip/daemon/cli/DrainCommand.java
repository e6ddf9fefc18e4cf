package io.apivip.daemon.cli;

import io.apivip.daemon.admin.StatusReport;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code apivip drain}: puts the node in maintenance before a reboot. The VIP moves to another node
 * first (make before break) and peers stop sending new connections to this node's apiserver.
 */
@Command(
    name = "drain",
    description = {
      "Put this node in maintenance: hand the VIP to another node and stop routing new connections"
          + " here.",
      "With --wait, return only when that is done (exit 0), or fail with the reason after --timeout"
          + " (exit 1).",
      "Refused (exit 1, with the reasons) when no other node could hold the VIP, or when another"
          + " node is down,",
      "in maintenance or has an apiserver that is not ready: a rolling patch must never take two of"
          + " three nodes out.",
      "--force drains anyway and says what that costs."
    })
public final class DrainCommand implements Callable<Integer> {

  private static final Duration POLL = Duration.ofMillis(100);

  @Mixin AdminOptions admin;

  @Option(
      names = "--wait",
      description = "Wait until the VIP has moved and peers route no new connections here.")
  boolean waitForCompletion;

  @Option(
      names = "--force",
      description =
          "Drain even when it is refused (the last node that could hold the VIP, or another node"
              + " out); prints the cost.")
  boolean force;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "60",
      description = "How long --wait waits (default: ${DEFAULT-VALUE}).")
  long timeoutSeconds;

  @Override
  public Integer call() throws InterruptedException {
    AdminClient client = admin.client();
    try {
      StatusReport status = client.post(force ? "/drain?force=true" : "/drain");
      if (!waitForCompletion) {
        System.out.println("node " + status.node() + " is draining: " + status.drain().detail());
        return 0;
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
      String lastDetail = "";
      while (!status.drain().complete()) {
        if (!status.drain().detail().equals(lastDetail)) {
          lastDetail = status.drain().detail();
          System.out.println("draining: " + lastDetail);
        }
        if (System.nanoTime() > deadline) {
          System.err.println(
              "apivip drain: not drained after "
                  + timeoutSeconds
                  + "s: "
                  + status.drain().detail());
          return 1;
        }
        Thread.sleep(POLL.toMillis());
        status = client.status();
      }
      System.out.println("node " + status.node() + " is drained: " + status.drain().detail());
      return 0;
    } catch (AdminClient.Refused e) {
      System.err.println(
          "apivip drain: " + e.getMessage() + " (apivip drain --force drains anyway)");
      return 1;
    } catch (AdminClient.Unreachable e) {
      System.err.println("apivip drain: " + e.getMessage());
      return 1;
    }
  }
}
