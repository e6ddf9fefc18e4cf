package io.apivip.daemon.cli;

import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.admin.StatusReport.Apiserver;
import io.apivip.daemon.admin.StatusReport.Member;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Renders a {@link StatusReport} as the short text an operator reads in a terminal. */
final class StatusTable {

  private StatusTable() {}

  static String render(StatusReport status) {
    StringBuilder out = new StringBuilder();
    StatusReport.Vip vip = status.vip();
    String holder =
        vip.holder() == null
            ? "nobody holds the VIP " + vip.address()
            : vip.heldHere()
                ? "this node holds the VIP " + vip.address() + " on " + vip.interfaceName()
                : vip.holder() + " holds the VIP " + vip.address();
    out.append("node ")
        .append(status.node())
        .append(" of cluster ")
        .append(status.cluster())
        .append(" (apivip ")
        .append(status.version())
        .append(", ")
        .append(status.transport())
        .append(" transport): ")
        .append(holder)
        .append('\n');
    StatusReport.Quorum quorum = status.quorum();
    out.append("quorum: ")
        .append(quorum.present() ? "yes" : "NO")
        .append(", ")
        .append(quorum.seen())
        .append(" nodes seen, ")
        .append(quorum.required())
        .append(" needed\n");
    if (!status.acceptedKeys().isEmpty()) {
      // The member rows say which key each node signs with; this is what this node also accepts.
      out.append("keys: also accepts ")
          .append(String.join(", ", status.acceptedKeys()))
          .append(" (a key change is under way)\n");
    }
    StatusReport.ForeignClaim claim = vip.foreignClaim();
    if (claim != null) {
      out.append("foreign claimant: ")
          .append(claim.mac())
          .append(" at ")
          .append(claim.lastSeen())
          .append(" (")
          .append(ago(claim.lastSeenSecondsAgo()))
          .append(", ")
          .append(claim.kind())
          .append(", ")
          .append(claim.frames())
          .append(claim.frames() == 1 ? " frame" : " frames")
          .append("): another host answers for the VIP; see apivip doctor\n");
    }
    if (status.maintenance()) {
      StatusReport.Drain drain = status.drain();
      out.append("maintenance: ")
          .append(drain.complete() ? "drained" : "draining")
          .append(" - ")
          .append(drain.detail())
          .append('\n');
    }
    out.append('\n');
    List<List<String>> members = new ArrayList<>();
    members.add(
        List.of(
            "MEMBER",
            "ADDRESS",
            "PRIO",
            "STATE",
            "ELIGIBLE",
            "MAINT",
            "VIP",
            "HEARD",
            "CLOCK",
            "KEY"));
    for (Member m : status.members()) {
      members.add(
          List.of(
              m.id(),
              m.address(),
              String.valueOf(m.priority()),
              m.state(),
              yesNo(m.eligible()),
              yesNo(m.maintenance()),
              m.holdsVip() ? "*" : "",
              seconds(m.lastHeardSeconds()),
              signedSeconds(m.clockOffsetSeconds()),
              m.key() == null ? "-" : m.key()));
    }
    table(out, members);
    out.append('\n');
    List<List<String>> backends = new ArrayList<>();
    backends.add(List.of("APISERVER", "NODE", "HEALTH", "ROUTED", "CONNS", "REASON"));
    for (Apiserver b : status.backends()) {
      backends.add(
          List.of(
              b.address(),
              b.node().isEmpty() ? "-" : b.node(),
              b.health(),
              yesNo(b.routable()),
              String.valueOf(b.activeConnections()),
              b.reason() == null ? "" : b.reason()));
    }
    table(out, backends);
    return out.toString();
  }

  private static String yesNo(boolean value) {
    return value ? "yes" : "no";
  }

  /** "40 s ago", "12 min ago", "3 h ago". */
  private static String ago(double seconds) {
    long whole = Math.round(seconds);
    if (whole < 120) {
      return whole + " s ago";
    }
    return whole < 7200 ? whole / 60 + " min ago" : whole / 3600 + " h ago";
  }

  private static String seconds(Double value) {
    return value == null ? "-" : String.format(Locale.ROOT, "%.2fs", value);
  }

  private static String signedSeconds(Double value) {
    return value == null ? "-" : String.format(Locale.ROOT, "%+.3fs", value);
  }

  private static void table(StringBuilder out, List<List<String>> rows) {
    int columns = rows.get(0).size();
    int[] widths = new int[columns];
    for (List<String> row : rows) {
      for (int c = 0; c < columns; c++) {
        widths[c] = Math.max(widths[c], row.get(c).length());
      }
    }
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < columns; c++) {
        line.append(row.get(c));
        if (c < columns - 1) {
          line.append(" ".repeat(widths[c] - row.get(c).length() + 2));
        }
      }
      out.append(line.toString().stripTrailing()).append('\n');
    }
  }
}
