package io.apivip.daemon.doctor;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.config.Settings;
import io.apivip.daemon.config.SettingsLoader;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code apivip doctor}'s checks in order: configuration, key, files readable by the daemon's user,
 * the running daemon's view (peers, key agreement, quorum, apiservers' health, eligibility, the
 * VIP's holder, clock skew), the VIP's interface, apiserver certificates (names and expiry), the
 * health certificates' expiry, MicroK8s's certificate re-issue and template, snap refreshes and
 * MicroK8s's version, kubeconfigs (the invoking user's too, under sudo) and capabilities. Every
 * input that reaches outside the process is in {@link Inputs}, so tests can stand in for the node.
 */
public final class Doctor {

  static final String DAEMON = "daemon";
  private static final String SERVICE_USER = "apivip";

  /** The running daemon's status, or an exception whose message says why there is none. */
  public interface StatusSource {
    StatusReport status() throws IOException;
  }

  /**
   * Everything the doctor looks at. {@code sampleGap} separates the two status reports that tell a
   * growing count of rejected heartbeats from an old one; {@code timeout} bounds each connection.
   */
  public record Inputs(
      Path configFile,
      StatusSource daemon,
      Duration sampleGap,
      Duration timeout,
      List<KubeconfigCheck.Location> kubeconfigs,
      KubeconfigCheck.Resolver resolver,
      CapabilityCheck.Sources capabilities,
      InterfaceCheck.Interfaces interfaces,
      MicroK8sCheck.Node microk8s,
      DaemonUserCheck.Access access) {

    /** This node's real files, processes and network. */
    public static Inputs forThisNode(Path configFile, StatusSource daemon) {
      return new Inputs(
          configFile,
          daemon,
          Duration.ofSeconds(1),
          Duration.ofSeconds(2),
          KubeconfigCheck.onThisNode(
              Path.of(System.getProperty("user.home")),
              KubeconfigCheck.invokingUserHome(
                  System.getenv("SUDO_USER"), ShortCommand.Runner.SYSTEM),
              System.getenv("KUBECONFIG")),
          KubeconfigCheck.Resolver.SYSTEM,
          CapabilityCheck.Sources.system(),
          InterfaceCheck.Interfaces.SYSTEM,
          MicroK8sCheck.Node.THIS,
          DaemonUserCheck.Access.SYSTEM);
    }
  }

  private Doctor() {}

  public static Diagnosis examine(Inputs inputs) throws InterruptedException {
    List<Finding> findings = new ArrayList<>();
    ConfigCheck.Result config = ConfigCheck.check(inputs.configFile());
    findings.addAll(config.findings());
    Optional<Settings> settings = config.settings();

    Optional<String> fingerprint = Optional.empty();
    if (settings.isPresent()) {
      Settings.Cluster cluster = settings.get().cluster();
      KeyCheck.Local key = KeyCheck.local("cluster.key-file", cluster.keyFile(), SERVICE_USER);
      findings.addAll(key.findings());
      fingerprint = key.fingerprint();
      findings.addAll(DaemonUserCheck.check(settings.get(), SERVICE_USER, inputs.access()));
      for (java.nio.file.Path accepted : cluster.acceptKeyFiles()) {
        findings.addAll(
            KeyCheck.local("cluster.accept-key-files", accepted, SERVICE_USER).findings());
      }
    }

    boolean daemonRunning;
    try {
      StatusReport status = inputs.daemon().status();
      daemonRunning = true;
      findings.addAll(daemonView(status, inputs, settings, fingerprint));
    } catch (IOException e) {
      daemonRunning = false;
      findings.add(
          Finding.warn(
              DAEMON,
              e.getMessage()
                  + "; skipped what only the daemon knows: key agreement between"
                  + " the nodes, peers' heartbeats, the apiservers' health, who holds the VIP"
                  + " and clock skew"
                  + (settings.isPresent() ? " (peers checked by TCP instead)" : "")));
      settings.ifPresent(s -> findings.addAll(PeerCheck.byTcp(s, inputs.timeout())));
    }

    if (settings.isPresent()) {
      Instant now = Instant.now();
      VipNames names = VipNames.of(settings.get(), inputs.kubeconfigs(), inputs.resolver());
      findings.add(InterfaceCheck.check(settings.get().vip(), inputs.interfaces()));
      findings.addAll(
          CertificateCheck.check(settings.get().backends(), names, inputs.timeout(), now));
      findings.addAll(ExpiryCheck.healthFiles(settings.get().health(), now));
      findings.addAll(MicroK8sCheck.check(inputs.microk8s(), names));
      if (inputs.microk8s().present()) {
        findings.addAll(SnapCheck.check(inputs.microk8s(), now));
      }
      findings.addAll(
          KubeconfigCheck.check(inputs.kubeconfigs(), settings.get(), inputs.resolver()));
    } else {
      findings.add(
          Finding.warn(
              ConfigCheck.CHECK,
              "skipped without a valid configuration: the key, the VIP's interface, apiserver"
                  + " certificates, MicroK8s, kubeconfigs"
                  + (daemonRunning ? " and clock skew" : " and peers")));
    }
    findings.addAll(CapabilityCheck.check(inputs.capabilities(), CapabilityCheck.needed(settings)));
    return new Diagnosis(findings);
  }

  /**
   * What the running daemon tells: who it is, key agreement, peers and clock skew. A second report
   * is taken only when some peer has rejected heartbeats, to see whether the count still grows.
   */
  private static List<Finding> daemonView(
      StatusReport first, Inputs inputs, Optional<Settings> settings, Optional<String> fingerprint)
      throws InterruptedException {
    List<Finding> findings = new ArrayList<>();
    findings.add(
        settings
            .filter(s -> !s.nodeId().equals(first.node()))
            .map(
                s ->
                    Finding.warn(
                        DAEMON,
                        "the daemon answering is node "
                            + first.node()
                            + " but "
                            + inputs.configFile()
                            + " says node "
                            + s.nodeId()
                            + ": pass --admin or --config for the same node"))
            .orElse(
                Finding.ok(
                    DAEMON,
                    "the daemon of node "
                        + first.node()
                        + " is running (apivip "
                        + first.version()
                        + ")")));
    StatusReport second = first;
    if (first.members().stream().anyMatch(member -> member.rejectedDatagrams() > 0)) {
      Thread.sleep(inputs.sampleGap().toMillis());
      try {
        second = inputs.daemon().status();
      } catch (IOException e) {
        findings.add(
            Finding.warn(
                DAEMON, "the daemon stopped answering while being checked: " + e.getMessage()));
      }
    }
    Path keyFile =
        settings
            .map(s -> s.cluster().keyFile())
            .orElseGet(() -> Path.of(SettingsLoader.reference().getString("cluster.key-file")));
    findings.addAll(KeyCheck.peers(first, second, inputs.sampleGap(), keyFile, fingerprint));
    int heartbeatPort =
        settings
            .map(s -> s.heartbeat().port())
            .orElseGet(() -> SettingsLoader.reference().getInt("heartbeat.port"));
    findings.addAll(
        PeerCheck.fromStatus(second, heartbeatPort, KeyCheck.mismatched(first, second)));
    findings.addAll(ServingCheck.fromStatus(second));
    settings.ifPresent(
        s -> findings.addAll(ClockCheck.check(first.members(), s.heartbeat().replayWindow())));
    findings.add(ForeignClaimCheck.check(second));
    return findings;
  }
}
