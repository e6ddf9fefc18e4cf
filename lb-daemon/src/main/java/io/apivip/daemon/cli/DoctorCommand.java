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
      "Check this node and print one line per finding, ok, warn or FAIL, with the fix",
      "(info: a fact that asks for nothing): the configuration; the cluster key (mode,",
      "owner, the same on every peer); files the daemon's user must read; the running",
      "daemon's view: peers and quorum, each apiserver's health with its likely cause,",
      "this node's eligibility, who holds the VIP, clock skew; the VIP's interface; the",
      "VIP and the DNS names clients use in every apiserver's certificate and in",
      "MicroK8s's csr.conf.template; certificates ending within 30 days; MicroK8s's",
      "certificate re-issue on address changes (the no-cert-reissue lock); snap",
      "refreshes not held; a MicroK8s older than 1.27; kubeconfigs that name a single",
      "node instead of the VIP (under sudo, the invoking user's too); capabilities.",
      "Run it with sudo: the key and MicroK8s's credentials are readable by root only.",
      "Exit 0 when nothing FAILs, 1 otherwise. docs/microk8s.md section 9 lists each check."
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
