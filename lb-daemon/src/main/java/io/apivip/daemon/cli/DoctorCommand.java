package io.apivip.daemon.cli;

import io.apivip.daemon.admin.Json;
import io.apivip.daemon.doctor.Diagnosis;
import io.apivip.daemon.doctor.Doctor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code apivip doctor}: checks this node and says what is wrong and how to fix it. */
@Command(
    name = "doctor",
    description = {
      "Check this node and print one line per finding, ok, warn or FAIL, with the fix:",
      "the configuration; the cluster key (mode, owner, the same on every peer); peers",
      "reachable; clock skew; the VIP in every apiserver's certificate; kubeconfigs",
      "that name a single node instead of the VIP; the daemon's capabilities.",
      "Run it with sudo: the key and MicroK8s's credentials are readable by root only.",
      "Exit 0 when nothing FAILs, 1 otherwise."
    })
public final class DoctorCommand implements Callable<Integer> {

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      defaultValue = RunCommand.DEFAULT_CONFIG,
      description = "Configuration file (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(
      names = "--admin",
      paramLabel = "HOST:PORT",
      description =
          "Admin API address of the running daemon; overrides the one in the configuration.")
  String admin;

  @Option(names = "--json", description = "Print the findings as JSON, for scripts.")
  boolean json;

  @Override
  public Integer call() throws InterruptedException {
    AdminClient client = AdminClient.forConfig(config, admin, null);
    Doctor.StatusSource daemon =
        () -> {
          try {
            return client.status();
          } catch (AdminClient.Unreachable e) {
            throw new IOException(e.getMessage(), e);
          }
        };
    Diagnosis diagnosis = Doctor.examine(Doctor.Inputs.forThisNode(config, daemon));
    System.out.print(json ? Json.write(diagnosis) : diagnosis.render());
    return diagnosis.exitCode();
  }
}
