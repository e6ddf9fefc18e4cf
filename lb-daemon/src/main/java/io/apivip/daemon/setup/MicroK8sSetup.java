package io.apivip.daemon.setup;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.health.Pem;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * {@code apivip setup microk8s}: what a stock MicroK8s node needs before apivip runs on it, as a
 * plan that names every change before any is made. Everything that could stop it (not root, no
 * MicroK8s, no CA key, a bad VIP, a node not drained for a refresh) is found while planning, so a
 * refusal changes nothing; a second run finds nothing to change.
 *
 * <p>The steps: the cluster CA's certificate copied to {@code /etc/apivip/microk8s-ca.crt}; a
 * health client certificate of apivip's own ({@link HealthIdentity}); the configuration's health
 * keys pointed at these files ({@link OperatorConfig}), so the daemon reads nothing in MicroK8s's
 * {@code certs/} and never the API server's private key; the {@code no-cert-reissue} lock; the VIP
 * and DNS names in {@code csr.conf.template} ({@link CsrTemplate}); and, only when asked and only
 * on a drained node, MicroK8s's own {@code refresh-certs --cert server.crt}. The files go beside
 * the configuration file, {@code /etc/apivip} on a node.
 */
public final class MicroK8sSetup {

  /** The snap's data directory on a node ($SNAP_DATA). */
  public static final Path SNAP_DATA = Path.of("/var/snap/microk8s/current");

  /** The daemon's user, which the package creates. */
  public static final String SERVICE_USER = "apivip";

  static final String CA_COPY = "microk8s-ca.crt";
  static final String HEALTH_CERTIFICATE = "health.crt";
  static final String HEALTH_KEY = "health.key";
  static final String LOCK = "var/lock/no-cert-reissue";

  private static final Duration REFRESH_TIMEOUT = Duration.ofMinutes(3);
  private static final Pattern DNS_NAME =
      Pattern.compile(
          "(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
              + "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");

  /** What the operator asked: the VIP from the configuration unless given. */
  public record Request(
      Path snapData,
      Path configFile,
      Optional<String> vip,
      List<String> dnsNames,
      boolean refreshServerCert) {
    public Request {
      dnsNames = List.copyOf(dnsNames);
    }
  }

  /** The running daemon's status, or an exception whose message says why there is none. */
  public interface DaemonStatus {
    StatusReport status() throws IOException;
  }

  /**
   * The node as setup meets it: whether it runs as root, who owns what it writes ({@code apivip}
   * the key, {@code root} the certificates), the commands it runs, the local daemon, the clock.
   */
  public record Host(
      boolean root,
      String serviceUser,
      String adminUser,
      Commands commands,
      DaemonStatus daemon,
      Clock clock,
      List<String> microk8s) {

    public static Host thisNode(DaemonStatus daemon) {
      // sudo's secure_path on Debian lacks /snap/bin, where snapd puts the microk8s command.
      Path snapCommand = Path.of("/snap/bin/microk8s");
      String microk8s = Files.isExecutable(snapCommand) ? snapCommand.toString() : "microk8s";
      return new Host(
          runsAsRoot(),
          SERVICE_USER,
          "root",
          Commands.SYSTEM,
          daemon,
          Clock.systemUTC(),
          List.of(microk8s));
    }

    private static boolean runsAsRoot() {
      try {
        // /proc/self belongs to the process's effective user.
        return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
      } catch (IOException | UnsupportedOperationException e) {
        return "root".equals(System.getProperty("user.name"));
      }
    }
  }

  /** A change to make; {@link Step#done} says it once made. */
  interface Action {
    void apply() throws IOException;
  }

  /** One thing setup looks at: already right (no action), or a change it makes. */
  public record Step(String text, String done, Optional<Action> action) {
    static Step ok(String text) {
      return new Step(text, "", Optional.empty());
    }

    static Step change(String text, String done, Action action) {
      return new Step(text, done, Optional.of(action));
    }

    public boolean isChange() {
      return action.isPresent();
    }
  }

  /** The plan for this node: every step, and what the operator must do afterwards. */
  public record Plan(String heading, List<Step> steps, List<String> notes) {
    public Plan {
      steps = List.copyOf(steps);
      notes = List.copyOf(notes);
    }

    public List<Step> changes() {
      return steps.stream().filter(Step::isChange).toList();
    }

    public String render() {
      StringBuilder text = new StringBuilder(heading).append('\n');
      for (Step step : steps) {
        text.append(step.isChange() ? "  change  " : "  ok      ").append(step.text()).append('\n');
      }
      return text.toString();
    }

    public String renderNotes() {
      return notes.stream().map(note -> "note: " + note + "\n").collect(Collectors.joining());
    }

    /** Makes the changes in order, saying each once made; stops at the first that fails. */
    public void apply(PrintStream out) throws IOException {
      for (Step step : changes()) {
        step.action().orElseThrow().apply();
        out.println("  done    " + step.done());
      }
    }
  }

  private MicroK8sSetup() {}

  /** Looks at the node and plans; throws, having changed nothing, when setup must not go on. */
  public static Plan plan(Request request, Host host) throws SetupException {
    if (!host.root()) {
      throw new SetupException(
          "run it as root (sudo apivip setup microk8s): it reads MicroK8s's certs/, which only"
              + " root and group microk8s may read, and writes /etc/apivip");
    }
    MicroK8s microk8s = MicroK8s.find(request.snapData());
    OperatorConfig config = OperatorConfig.read(request.configFile());
    InetAddress vip = vip(request, config);
    List<String> dnsNames = dnsNames(request.dnsNames());
    if (!FileAccess.userExists(host.serviceUser())) {
      throw new SetupException(
          "no user "
              + host.serviceUser()
              + ", which the daemon runs as and which must own the health key: install the apivip"
              + " package first (apt install ./apivip_*.deb creates it)");
    }

    Path etc = config.file().toAbsolutePath().getParent();
    Path caCopy = etc.resolve(CA_COPY);
    Path healthCertificate = etc.resolve(HEALTH_CERTIFICATE);
    Path healthKey = etc.resolve(HEALTH_KEY);
    FileAccess certificateAccess = FileAccess.of("rw-r--r--", host.adminUser());
    FileAccess keyAccess = FileAccess.of("rw-------", host.serviceUser());

    List<Step> steps = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    steps.addAll(caCopy(microk8s, caCopy, certificateAccess));
    steps.addAll(
        healthIdentity(microk8s, healthCertificate, certificateAccess, healthKey, keyAccess, host));
    steps.add(healthSettings(config, caCopy, healthCertificate, healthKey));
    boolean credentialsChange = steps.stream().anyMatch(Step::isChange);
    // The lock before the template: without it, MicroK8s's kicker re-issues the certificate and
    // restarts kubelite within seconds of a template edit.
    steps.add(lock(microk8s));
    steps.add(template(microk8s, vip, dnsNames));
    List<String> unnamed = unnamedBy(microk8s.serverCertificate(), vip, dnsNames);
    if (request.refreshServerCert()) {
      steps.add(refresh(microk8s, unnamed, host, notes));
    } else if (!unnamed.isEmpty()) {
      notes.add(
          microk8s.serverCertificate()
              + " does not name "
              + String.join(", ", unnamed)
              + " yet: MicroK8s puts the template's names in only when it issues that certificate"
              + " again. Where apivip runs: sudo apivip drain --wait, then sudo apivip setup"
              + " microk8s --refresh-server-cert, then sudo apivip resume. Before apivip runs on"
              + " any node: sudo microk8s refresh-certs --cert server.crt, one node at a time"
              + " (docs/microk8s.md section 4)");
    }
    if (credentialsChange && daemonRuns(host.daemon())) {
      notes.add(
          "the apivip daemon on this node read its health credentials when it started: restart"
              + " it to use the new ones (sudo systemctl restart apivip hands the VIP over first)");
    }
    String heading =
        "apivip setup microk8s: MicroK8s in "
            + microk8s.data()
            + ", VIP "
            + NetUtil.toAddressString(vip)
            + (dnsNames.isEmpty() ? "" : ", DNS " + String.join(", ", dnsNames))
            + ", configuration "
            + config.file();
    return new Plan(heading, steps, notes);
  }

  /** MicroK8s's files on this node, checked to be there before anything is planned. */
  private record MicroK8s(Path data, X509Certificate ca, CsrTemplate template) {
    Path certs() {
      return data.resolve("certs");
    }

    Path caCertificate() {
      return certs().resolve("ca.crt");
    }

    Path caKey() {
      return certs().resolve("ca.key");
    }

    Path templateFile() {
      return certs().resolve("csr.conf.template");
    }

    Path serverCertificate() {
      return certs().resolve("server.crt");
    }

    Path lock() {
      return data.resolve(LOCK);
    }

    static MicroK8s find(Path data) throws SetupException {
      if (!Files.isDirectory(data)) {
        throw new SetupException(
            "no MicroK8s on this node: "
                + data
                + " does not exist (snap install microk8s --classic; --snap-data names another"
                + " place)");
      }
      Path certs = data.resolve("certs");
      Path caCertificate = certs.resolve("ca.crt");
      X509Certificate ca;
      try {
        ca = Pem.certificates(caCertificate)[0];
      } catch (IOException | GeneralSecurityException | RuntimeException e) {
        throw new SetupException(
            "cannot read the cluster CA's certificate "
                + caCertificate
                + " ("
                + e.getMessage()
                + "): is MicroK8s installed and started once?");
      }
      Path caKey = certs.resolve("ca.key");
      try {
        if (!HealthIdentity.pairs(Pem.privateKey(caKey), ca)) {
          throw new SetupException(caKey + " is not the key of " + caCertificate);
        }
      } catch (IOException | GeneralSecurityException | RuntimeException e) {
        throw new SetupException(
            "no CA key: cannot read "
                + caKey
                + " ("
                + e.getMessage()
                + "). Setup signs apivip's health certificate with the cluster CA's key, which"
                + " every control-plane node holds (a node joined with --worker has none): run it"
                + " on the control-plane nodes");
      }
      Path templateFile = certs.resolve("csr.conf.template");
      String text;
      try {
        text = Files.readString(templateFile, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new SetupException("cannot read " + templateFile + ": " + e.getMessage());
      }
      CsrTemplate template =
          CsrTemplate.parse(text)
              .orElseThrow(
                  () ->
                      new SetupException(
                          templateFile
                              + " has no "
                              + CsrTemplate.MARKER
                              + " line, which MicroK8s's template has and setup adds the VIP"
                              + " above: restore it (MicroK8s ships it in"
                              + " /snap/microk8s/current/certs/csr.conf.template)"));
      if (!Files.isDirectory(data.resolve("var/lock"))) {
        throw new SetupException(
            data.resolve("var/lock") + " does not exist: is MicroK8s installed and started once?");
      }
      return new MicroK8s(data, ca, template);
    }
  }

  private static InetAddress vip(Request request, OperatorConfig config) throws SetupException {
    String source = request.vip().isPresent() ? "--vip" : "vip.address in " + config.file();
    String text =
        request
            .vip()
            .or(config::vipAddress)
            .orElseThrow(
                () ->
                    new SetupException(
                        "no VIP: set vip.address in " + config.file() + " or pass --vip ADDRESS"));
    InetAddress vip = NetUtil.createInetAddressFromIpAddressString(text.strip());
    if (vip == null) {
      throw new SetupException(
          source
              + " "
              + text
              + ": not an IPv4 or IPv6 address (a host name is not resolved; give a DNS name for"
              + " the VIP with --dns)");
    }
    if (vip.isAnyLocalAddress() || vip.isLoopbackAddress() || vip.isMulticastAddress()) {
      throw new SetupException(
          source
              + " "
              + text
              + ": not an address clients can reach on the LAN (unspecified, loopback or"
              + " multicast)");
    }
    return vip;
  }

  private static List<String> dnsNames(List<String> given) throws SetupException {
    LinkedHashSet<String> names = new LinkedHashSet<>();
    for (String name : given) {
      String trimmed = name.strip();
      if (!DNS_NAME.matcher(trimmed).matches()
          || trimmed.chars().allMatch(c -> c == '.' || Character.isDigit(c))) {
        throw new SetupException(
            "--dns " + name + ": not a DNS name (letters, digits and hyphens, dot-separated)");
      }
      names.add(trimmed.toLowerCase(Locale.ROOT));
    }
    return List.copyOf(names);
  }

  private static List<Step> caCopy(MicroK8s microk8s, Path copy, FileAccess access)
      throws SetupException {
    byte[] ca = read(microk8s.caCertificate());
    String copyIt =
        "copy the cluster CA's certificate "
            + microk8s.caCertificate()
            + " to "
            + copy
            + " ("
            + access.describe()
            + "), which the health check verifies the apiservers with";
    String done = "copied the cluster CA's certificate to " + copy;
    if (!Files.exists(copy)) {
      return List.of(Step.change(copyIt + " (it is missing)", done, () -> access.write(copy, ca)));
    }
    if (!Arrays.equals(read(copy), ca)) {
      return List.of(
          Step.change(
              copyIt + " (the copy there is of another CA)", done, () -> access.write(copy, ca)));
    }
    return List.of(
        accessStep(copy, access)
            .orElse(
                Step.ok(copy + " is the cluster CA's certificate (" + access.describe() + ")")));
  }

  private static List<Step> healthIdentity(
      MicroK8s microk8s,
      Path certificate,
      FileAccess certificateAccess,
      Path key,
      FileAccess keyAccess,
      Host host)
      throws SetupException {
    Optional<String> why =
        HealthIdentity.whyIssue(certificate, key, microk8s.ca(), host.clock().instant());
    if (why.isPresent()) {
      requireOpenssl(host.commands());
      return List.of(
          Step.change(
              "issue the health check's client certificate "
                  + certificate
                  + " (CN="
                  + HealthIdentity.COMMON_NAME
                  + ", no group, "
                  + certificateAccess.describe()
                  + ", valid "
                  + HealthIdentity.VALIDITY_DAYS / 365
                  + " years) with a new key "
                  + key
                  + " ("
                  + keyAccess.describe()
                  + "), signed by the cluster CA's key "
                  + microk8s.caKey()
                  + ": the apiservers answer /readyz only to a client they know ("
                  + why.get()
                  + ")",
              "issued " + certificate + " and its key " + key,
              () ->
                  HealthIdentity.issue(
                      host.commands(),
                      microk8s.caCertificate(),
                      microk8s.caKey(),
                      certificate,
                      certificateAccess,
                      key,
                      keyAccess)));
    }
    List<Step> steps = new ArrayList<>();
    accessStep(certificate, certificateAccess).ifPresent(steps::add);
    accessStep(key, keyAccess).ifPresent(steps::add);
    if (steps.isEmpty()) {
      steps.add(
          Step.ok(
              certificate
                  + " ("
                  + HealthIdentity.describe(certificate)
                  + ") and its key "
                  + key
                  + " ("
                  + keyAccess.describe()
                  + ") are the health check's client credentials, signed by the cluster CA"));
    }
    return steps;
  }

  private static Step healthSettings(
      OperatorConfig config, Path caCopy, Path certificate, Path key) {
    Map<String, Path> wanted = new LinkedHashMap<>();
    wanted.put(OperatorConfig.CA_FILE, caCopy);
    wanted.put(OperatorConfig.CLIENT_CERT_FILE, certificate);
    wanted.put(OperatorConfig.CLIENT_KEY_FILE, key);
    Map<String, Path> differing = config.differing(wanted);
    if (differing.isEmpty()) {
      return Step.ok(
          config.file()
              + " has the health check use these files ("
              + String.join(", ", wanted.keySet())
              + ")");
    }
    String now =
        differing.keySet().stream()
            .map(k -> k + " is " + (config.value(k).isEmpty() ? "\"\"" : config.value(k)))
            .collect(Collectors.joining(", "));
    String settings =
        differing.entrySet().stream()
            .map(e -> e.getKey() + " = " + e.getValue())
            .collect(Collectors.joining(", "));
    return Step.change(
        "set " + settings + " at the end of " + config.file() + " (now " + now + ")",
        "set " + String.join(", ", differing.keySet()) + " in " + config.file(),
        () -> config.append(differing));
  }

  private static Step lock(MicroK8s microk8s) {
    Path lock = microk8s.lock();
    if (Files.exists(lock)) {
      return Step.ok(
          lock
              + " is there: MicroK8s does not re-issue the API server certificate when the VIP"
              + " comes or goes");
    }
    return Step.change(
        "create "
            + lock
            + " (as microk8s join does): without it MicroK8s's apiservice-kicker re-issues the API"
            + " server certificate and restarts kubelite whenever `hostname -I` changes, and every"
            + " VIP move changes it",
        "created " + lock,
        () -> {
          // As MicroK8s's mark_no_cert_reissue (scripts/wrappers/common/cluster/utils.py) does.
          FileAccess.of("rwx------", "root").write(lock, new byte[0]);
        });
  }

  private static Step template(MicroK8s microk8s, InetAddress vip, List<String> dnsNames) {
    CsrTemplate template = microk8s.template();
    List<CsrTemplate.Entry> missing = template.missing(vip, dnsNames);
    Path file = microk8s.templateFile();
    if (missing.isEmpty()) {
      List<String> lines = new ArrayList<>();
      template.address(vip).ifPresent(entry -> lines.add(entry.line()));
      dnsNames.forEach(name -> template.name(name).ifPresent(entry -> lines.add(entry.line())));
      return Step.ok(
          file
              + " names "
              + String.join(", ", lines)
              + ", so the API server certificates MicroK8s issues from it do too");
    }
    String lines = missing.stream().map(CsrTemplate.Entry::line).collect(Collectors.joining(", "));
    return Step.change(
        "add "
            + lines
            + " above "
            + CsrTemplate.MARKER
            + " in "
            + file
            + ", so the API server certificates MicroK8s issues from it name "
            + (missing.size() == 1 ? "it" : "them")
            + numbering(missing),
        "added " + lines + " to " + file,
        () -> {
          String text = template.with(missing);
          // MicroK8s's own mode and owner stay (0660 root:microk8s after its configure hook).
          FileAccess.of(file).write(file, text.getBytes(StandardCharsets.UTF_8));
        });
  }

  /** Why the added lines have the indices they have, for the kinds added. */
  private static String numbering(List<CsrTemplate.Entry> added) {
    List<String> reasons = new ArrayList<>();
    if (added.stream().anyMatch(entry -> entry.kind().equals("IP"))) {
      reasons.add(
          "an address takes IP.99 or the next free index: MicroK8s numbers the node's own"
              + " addresses IP.3, IP.4, ...");
    }
    if (added.stream().anyMatch(entry -> entry.kind().equals("DNS"))) {
      reasons.add("a name takes the index after the template's own DNS lines");
    }
    return " (" + String.join("; ", reasons) + ")";
  }

  private static Step refresh(
      MicroK8s microk8s, List<String> unnamed, Host host, List<String> notes)
      throws SetupException {
    Path certificate = microk8s.serverCertificate();
    if (unnamed.isEmpty()) {
      return Step.ok(certificate + " names the VIP and the DNS names already: no refresh needed");
    }
    String node = requireDrained(host.daemon());
    List<String> command = new ArrayList<>(host.microk8s());
    command.addAll(List.of("refresh-certs", "--cert", "server.crt"));
    notes.add(
        "node "
            + node
            + "'s apiserver restarts with the new certificate; once microk8s status --wait-ready"
            + " says MicroK8s is running, end the maintenance: sudo apivip resume");
    return Step.change(
        "run "
            + String.join(" ", command)
            + ": MicroK8s issues "
            + certificate
            + " again from the template (it lacks "
            + String.join(", ", unnamed)
            + ") and restarts kubelite; node "
            + node
            + " is drained, so no client of apivip meets its apiserver while it restarts",
        "MicroK8s issued " + certificate + " again and restarted kubelite",
        () -> {
          Commands.Result result = host.commands().run(command, new byte[0], REFRESH_TIMEOUT);
          if (result.exitCode() != 0) {
            throw new IOException(
                String.join(" ", command)
                    + " failed (exit "
                    + result.exitCode()
                    + "): "
                    + (result.stdoutText() + "\n" + result.stderr()).strip());
          }
        });
  }

  /** This node's name when its daemon says it is drained; a refusal that says why otherwise. */
  private static String requireDrained(DaemonStatus daemon) throws SetupException {
    String refusal =
        "refusing to refresh the server certificate, which restarts this node's apiserver: ";
    StatusReport status;
    try {
      status = daemon.status();
    } catch (IOException e) {
      throw new SetupException(
          refusal
              + "the apivip daemon on this node cannot say whether it is drained ("
              + e.getMessage()
              + "). Where apivip runs, drain first: sudo apivip drain --wait. Before apivip runs"
              + " on any node (a first install), run sudo microk8s refresh-certs --cert server.crt"
              + " yourself, one node at a time (docs/microk8s.md section 4)");
    }
    if (!status.maintenance()) {
      throw new SetupException(
          refusal
              + "node "
              + status.node()
              + " is not drained"
              + (status.vip().heldHere() ? " and holds the VIP" : "")
              + ", so apivip routes clients to its apiserver: run sudo apivip drain --wait"
              + " first, then this again");
    }
    if (!status.drain().complete()) {
      throw new SetupException(
          refusal
              + "the drain of node "
              + status.node()
              + " has not finished ("
              + status.drain().detail()
              + "): wait for sudo apivip drain --wait to return, then run this again");
    }
    return status.node();
  }

  /** The VIP and names the certificate lacks ("192.0.2.100", "DNS name k8s.example"). */
  static List<String> unnamedBy(Path certificate, InetAddress vip, List<String> dnsNames) {
    List<String> unnamed = new ArrayList<>();
    Collection<List<?>> names;
    try {
      names =
          Optional.ofNullable(Pem.certificates(certificate)[0].getSubjectAlternativeNames())
              .orElse(List.of());
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      names = List.of(); // No certificate yet, or a broken one: it names nothing.
    }
    boolean hasVip = false;
    List<String> dns = new ArrayList<>();
    for (List<?> name : names) {
      Object type = name.get(0);
      String value = String.valueOf(name.get(1));
      if (Integer.valueOf(7).equals(type)) {
        hasVip |= vip.equals(NetUtil.createInetAddressFromIpAddressString(value));
      } else if (Integer.valueOf(2).equals(type)) {
        dns.add(value.toLowerCase(Locale.ROOT));
      }
    }
    if (!hasVip) {
      unnamed.add(NetUtil.toAddressString(vip));
    }
    dnsNames.stream().filter(name -> !dns.contains(name)).forEach(unnamed::add);
    return unnamed;
  }

  private static Optional<Step> accessStep(Path file, FileAccess access) throws SetupException {
    Optional<String> mismatch;
    try {
      mismatch = access.mismatch(file);
    } catch (IOException e) {
      throw new SetupException("cannot read the mode and owner of " + file + ": " + e);
    }
    return mismatch.map(
        wrong ->
            Step.change(
                "give " + file + " mode and owner " + access.describe() + " (" + wrong + ")",
                "gave " + file + " mode and owner " + access.describe(),
                () -> access.apply(file)));
  }

  private static void requireOpenssl(Commands commands) throws SetupException {
    String missing =
        "the openssl command, which issues the health certificate, does not run: install it"
            + " (sudo apt install openssl; the apivip package depends on it)";
    try {
      if (commands
              .run(List.of("openssl", "version"), new byte[0], Duration.ofSeconds(30))
              .exitCode()
          != 0) {
        throw new SetupException(missing);
      }
    } catch (IOException e) {
      throw new SetupException(missing + ": " + e.getMessage());
    }
  }

  private static boolean daemonRuns(DaemonStatus daemon) {
    try {
      daemon.status();
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static byte[] read(Path file) throws SetupException {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new SetupException("cannot read " + file + ": " + e);
    }
  }
}
