package io.apivip.daemon.doctor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What snapd does to MicroK8s: whether it may refresh (update and restart) microk8s on its own, and
 * which MicroK8s version runs where that changes the guide.
 *
 * <p>snapd refreshes every snap four times a day by default, restarting microk8s's services and its
 * pods, and on every node within the same hours (canonical/microk8s#1022): a refresh held ({@code
 * snap refresh --hold microk8s}, snapd 2.58+, shown as "held" by {@code snap list}; or every snap's
 * {@code refresh.hold}) or a window per node ({@code refresh.timer}) keeps the nodes from
 * restarting together. Before MicroK8s 1.27 (canonical/microk8s PR #3740, 2023), {@code
 * refresh-certs --cert server.crt} signs the certificate from {@code csr.conf} as last rendered,
 * not from {@code csr.conf.template}, so a name added to the template needs one more step.
 */
final class SnapCheck {

  static final String CHECK = "snap";

  /** snapd's refresh.timer when none is set: four times a day, at any hour. */
  static final String DEFAULT_TIMER = "00:00~24:00/4";

  private static final Pattern VERSION = Pattern.compile("v?(\\d+)\\.(\\d+)(?:\\.\\d+)?.*");

  /** microk8s's row of {@code snap list microk8s}. */
  record Row(String version, List<String> notes) {}

  private SnapCheck() {}

  static List<Finding> check(MicroK8sCheck.Node node, Instant now) {
    Optional<ShortCommand.Result> list = node.commands().run(List.of("snap", "list", "microk8s"));
    Optional<Row> row =
        list.filter(result -> result.exitCode() == 0).flatMap(result -> row(result.output()));
    List<Finding> findings = new ArrayList<>();
    findings.add(refresh(node.commands(), row, now));
    Optional<String> version = row.map(Row::version).or(() -> snapYamlVersion(node.snap()));
    findings.add(version(version));
    return findings;
  }

  static Finding refresh(ShortCommand.Runner commands, Optional<Row> row, Instant now) {
    String howToHold =
        "hold it with sudo snap refresh --hold microk8s (then refresh it yourself, one drained node"
            + " at a time), or give each node a window of its own, e.g. sudo snap set system"
            + " refresh.timer=mon,03:00-04:00 on node1, tue on node2 ... (docs/microk8s.md"
            + " section 7)";
    if (row.isEmpty()) {
      return Finding.warn(
          CHECK,
          "snap list microk8s gives no answer, so whether snapd refreshes (and restarts) microk8s"
              + " on its own is unknown; "
              + howToHold);
    }
    if (row.get().notes().contains("held")) {
      return Finding.ok(
          CHECK,
          "snapd holds microk8s's refreshes (snap list microk8s: held): refresh it yourself, one"
              + " drained node at a time");
    }
    Optional<String> systemHold =
        output(commands, List.of("snap", "get", "system", "refresh.hold"))
            .filter(hold -> heldAt(hold, now));
    if (systemHold.isPresent()) {
      return Finding.ok(
          CHECK,
          "snapd holds every snap's refreshes (refresh.hold = "
              + systemHold.get()
              + "): refresh microk8s yourself, one drained node at a time");
    }
    Optional<String> timer =
        output(commands, List.of("snap", "refresh", "--time"))
            .flatMap(time -> field(time, "timer"));
    if (timer.isPresent() && !timer.get().equals(DEFAULT_TIMER)) {
      return Finding.ok(
          CHECK,
          "snapd refreshes microk8s only in this node's window (refresh.timer = "
              + timer.get()
              + "): each node needs a window of its own, so that no two restart together");
    }
    return Finding.warn(
        CHECK,
        "snapd refreshes microk8s on its own ("
            + timer.map(value -> "refresh.timer = " + value).orElse("snapd's default timer")
            + "), restarting its API server and pods, and on every node within the same hours"
            + " (canonical/microk8s#1022); "
            + howToHold);
  }

  /** "forever", or a time still ahead of {@code now} (RFC 3339, as snapd writes it). */
  static boolean heldAt(String hold, Instant now) {
    if (hold.equals("forever")) {
      return true;
    }
    try {
      return Instant.parse(hold).isAfter(now);
    } catch (DateTimeParseException e) {
      try {
        return OffsetDateTime.parse(hold).toInstant().isAfter(now);
      } catch (DateTimeParseException notATime) {
        return false;
      }
    }
  }

  static Finding version(Optional<String> version) {
    if (version.isEmpty()) {
      return Finding.info(
          CHECK,
          "MicroK8s's version is unknown (neither snap list microk8s nor"
              + " /snap/microk8s/current/meta/snap.yaml says): before 1.27, refresh-certs ignores"
              + " edits of csr.conf.template (docs/microk8s.md section 4)");
    }
    Matcher matcher = VERSION.matcher(version.get());
    if (!matcher.matches()) {
      return Finding.info(
          CHECK, "MicroK8s " + version.get() + ": a version this check cannot read");
    }
    int major = Integer.parseInt(matcher.group(1));
    int minor = Integer.parseInt(matcher.group(2));
    if (rendersFromTheTemplate(major, minor)) {
      return Finding.info(
          CHECK,
          "MicroK8s "
              + version.get()
              + ": refresh-certs --cert server.crt issues the certificate from csr.conf.template,"
              + " as the guide expects");
    }
    return Finding.warn(
        CHECK,
        "MicroK8s "
            + version.get()
            + " is older than 1.27: its refresh-certs --cert server.crt signs the certificate from"
            + " csr.conf as last rendered, not from csr.conf.template (canonical/microk8s PR"
            + " #3740), so names added to the template reach the certificate only when csr.conf"
            + " is rendered again: instead of refresh-certs (and of setup's --refresh-server-cert),"
            + " on a drained node run sudo snap set microk8s apivip-csr=\"$(date +%s)\" (the"
            + " configure hook renders the template and issues the certificate again), then"
            + " microk8s status --wait-ready; or upgrade MicroK8s to 1.27 or later, one node at a"
            + " time (docs/microk8s.md section 4)");
  }

  /** Since MicroK8s 1.27 (PR #3740) refresh-certs renders csr.conf from the template first. */
  static boolean rendersFromTheTemplate(int major, int minor) {
    return major > 1 || major == 1 && minor >= 27;
  }

  /** microk8s's row of {@code snap list microk8s}: Name Version Rev Tracking Publisher Notes. */
  static Optional<Row> row(String list) {
    for (String line : list.lines().toList()) {
      String[] columns = line.trim().split("\\s+");
      if (columns.length >= 6 && columns[0].equals("microk8s")) {
        return Optional.of(
            new Row(columns[1], Arrays.asList(columns[columns.length - 1].split(","))));
      }
    }
    return Optional.empty();
  }

  /** The {@code version:} of {@code $SNAP/meta/snap.yaml}. */
  static Optional<String> snapYamlVersion(Path snap) {
    try {
      for (String line : Files.readAllLines(snap.resolve("meta/snap.yaml"))) {
        if (line.startsWith("version:")) {
          String value = line.substring("version:".length()).trim().replaceAll("^['\"]|['\"]$", "");
          return value.isEmpty() ? Optional.empty() : Optional.of(value);
        }
      }
    } catch (IOException e) {
      // no snap.yaml: the version stays unknown
    }
    return Optional.empty();
  }

  /** A "name: value" line of {@code snap refresh --time}. */
  static Optional<String> field(String text, String name) {
    for (String line : text.lines().toList()) {
      if (line.startsWith(name + ":")) {
        return Optional.of(line.substring(name.length() + 1).trim());
      }
    }
    return Optional.empty();
  }

  private static Optional<String> output(ShortCommand.Runner commands, List<String> command) {
    return commands
        .run(command)
        .filter(result -> result.exitCode() == 0)
        .map(ShortCommand.Result::output)
        .filter(output -> !output.isBlank());
  }
}
