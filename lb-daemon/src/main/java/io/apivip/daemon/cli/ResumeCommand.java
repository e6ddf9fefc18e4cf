package io.apivip.daemon.cli;

import io.apivip.daemon.admin.StatusReport;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code apivip resume}: ends maintenance; the node routes and may hold the VIP again. */
@Command(
    name = "resume",
    description =
        "End maintenance on this node: it may hold the VIP and receive connections again.")
public final class ResumeCommand implements Callable<Integer> {

  @Mixin AdminOptions admin;

  @Override
  public Integer call() {
    try {
      StatusReport status = admin.client().post("/resume");
      System.out.println(
          "node " + status.node() + " resumed: it serves again once its apiserver is healthy");
      return 0;
    } catch (AdminClient.Unreachable e) {
      System.err.println("apivip resume: " + e.getMessage());
      return 1;
    }
  }
}
