package io.apivip.daemon.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code apivip status}: what this node's daemon sees of the cluster, the VIP and the apiservers.
 */
@Command(
    name = "status",
    description =
        "Show members, the VIP holder, quorum and apiserver health as this node sees them.")
public final class StatusCommand implements Callable<Integer> {

  @Mixin AdminOptions admin;

  @Option(names = "--json", description = "Print the daemon's JSON status report, for scripts.")
  boolean json;

  @Override
  public Integer call() {
    AdminClient client = admin.client();
    try {
      System.out.print(json ? client.statusJson() : StatusTable.render(client.status()));
      return 0;
    } catch (AdminClient.Unreachable e) {
      System.err.println("apivip status: " + e.getMessage());
      return 1;
    }
  }
}
