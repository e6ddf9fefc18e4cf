package io.apivip.daemon.cli;

import io.apivip.daemon.setup.MicroK8sSetup;
import io.apivip.daemon.setup.SetupException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code apivip setup microk8s}: makes a stock MicroK8s node ready for apivip, saying how first.
 */
@Command(
    name = "setup",
    description = {
      "Make this MicroK8s node ready for apivip. First print the plan (each check,",
      "and each change with its reason), then make the changes; with --dry-run only",
      "print. Run it again at any time: what is right stays, and a node with nothing",
      "to change is said so. The changes: copy the cluster CA's certificate to",
      "/etc/apivip/microk8s-ca.crt; issue the health check's own client certificate",
      "/etc/apivip/health.crt (CN=apivip-health, signed by the cluster CA) with its",
      "key /etc/apivip/health.key (0600 apivip), again when missing, expiring within",
      "30 days or of an old CA; point health.ca-file, health.client-cert-file and",
      "health.client-key-file at them; create MicroK8s's var/lock/no-cert-reissue;",
      "add the VIP and each --dns name to certs/csr.conf.template above #MOREIPS.",
      "With --refresh-server-cert, on a drained node only, also run microk8s",
      "refresh-certs --cert server.crt when the certificate lacks them.",
      "Run it as root. Exit 0 when done or nothing to change, 1 when a change",
      "failed, 2 when it refused (the reason is printed) and changed nothing."
    })
public final class SetupCommand implements Callable<Integer> {

  /** The systems setup knows how to prepare. */
  enum Target {
    MICROK8S
  }

  @Parameters(
      index = "0",
      paramLabel = "microk8s",
      description = "What this node runs: microk8s (the only one so far).")
  Target target;

  @Option(
      names = "--vip",
      paramLabel = "ADDRESS",
      description = "The VIP (default: vip.address of the configuration).")
  String vip;

  @Option(
      names = {"--dns", "--dns-name"},
      paramLabel = "NAME",
      description = "A DNS name of the VIP for the API server certificate; may be repeated.")
  List<String> dnsNames = new ArrayList<>();

  @Option(
      names = "--refresh-server-cert",
      description =
          "Also have MicroK8s issue this node's API server certificate again when it lacks the"
              + " VIP or a name (it restarts the apiserver): only on a node drained with apivip"
              + " drain --wait.")
  boolean refreshServerCert;

  @Option(names = "--dry-run", description = "Print the plan and change nothing.")
  boolean dryRun;

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      defaultValue = RunCommand.DEFAULT_CONFIG,
      description =
          "Configuration file: its VIP, and where the health settings go; the files setup makes"
              + " go beside it (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(
      names = "--snap-data",
      paramLabel = "DIR",
      defaultValue = "/var/snap/microk8s/current",
      description = "MicroK8s's data directory (default: ${DEFAULT-VALUE}).")
  Path snapData;

  private final Function<Path, MicroK8sSetup.Host> host;

  public SetupCommand() {
    this(
        config -> {
          AdminClient client = AdminClient.forConfig(config, null, null);
          return MicroK8sSetup.Host.thisNode(
              () -> {
                try {
                  return client.status();
                } catch (AdminClient.Unreachable e) {
                  throw new IOException(e.getMessage(), e);
                }
              });
        });
  }

  /** For tests: the node as {@code host} describes it, given the configuration file. */
  SetupCommand(Function<Path, MicroK8sSetup.Host> host) {
    this.host = host;
  }

  @Override
  public Integer call() {
    PrintStream out = System.out;
    MicroK8sSetup.Plan plan;
    try {
      plan =
          MicroK8sSetup.plan(
              new MicroK8sSetup.Request(
                  snapData, config, Optional.ofNullable(vip), dnsNames, refreshServerCert),
              host.apply(config));
    } catch (SetupException e) {
      System.err.println("apivip setup: " + e.getMessage() + "; nothing changed");
      return 2;
    }
    out.print(plan.render());
    int changes = plan.changes().size();
    if (changes == 0) {
      out.println("nothing to change: this node is ready for apivip");
      out.print(plan.renderNotes());
      return 0;
    }
    if (dryRun) {
      out.println(
          "dry run: nothing changed; without --dry-run this makes the "
              + changes
              + (changes == 1 ? " change" : " changes")
              + " above");
      out.print(plan.renderNotes());
      return 0;
    }
    out.println("making " + changes + (changes == 1 ? " change:" : " changes:"));
    try {
      plan.apply(out);
    } catch (IOException e) {
      System.err.println(
          "apivip setup: "
              + e.getMessage()
              + "; the changes above it are made, the others not: fix the cause and run it again");
      return 1;
    }
    out.println("done: " + changes + (changes == 1 ? " change" : " changes") + " made");
    out.print(plan.renderNotes());
    return 0;
  }
}
