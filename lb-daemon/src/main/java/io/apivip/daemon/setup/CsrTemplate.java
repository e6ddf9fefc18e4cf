package io.apivip.daemon.setup;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * MicroK8s's {@code certs/csr.conf.template}, from which it issues the API server's certificate,
 * and the lines that add the VIP and DNS names to its {@code [ alt_names ]}, numbered as MicroK8s's
 * own scheme leaves room for.
 *
 * <p>The template names {@code DNS.1}..{@code DNS.5} and {@code IP.1}, {@code IP.2}; when MicroK8s
 * renders it ({@code render_csr_conf} in {@code microk8s-resources/actions/common/utils.sh}) it
 * puts the node's own addresses ({@code hostname -I}) in place of {@code #MOREIPS} as {@code IP.3},
 * {@code IP.4}, ... Since MicroK8s 1.24 (PR #3061) the rendering skips an index the template
 * already uses; before, a template line {@code IP.3} was overwritten by the node's address
 * (canonical/microk8s#3059). So an added address takes {@code IP.99} or the next free index above
 * it, clear of any node's addresses in every version; MicroK8s renders no DNS lines, so an added
 * name takes the next index after the template's own ({@code DNS.6} on a stock node), as MicroK8s's
 * cluster agent numbers its extra SANs. Pure: it reads and returns text.
 */
final class CsrTemplate {

  static final String MARKER = "#MOREIPS";
  static final int FIRST_ADDED_IP_INDEX = 99;

  private static final Pattern ENTRY = Pattern.compile("^\\s*(IP|DNS)\\.(\\d+)\\s*=\\s*(.*?)\\s*$");

  /** One {@code KIND.N = value} line of the template. */
  record Entry(String kind, int index, String value) {
    String line() {
      return kind + "." + index + " = " + value;
    }
  }

  private final List<String> lines;
  private final int marker;
  private final List<Entry> entries;

  private CsrTemplate(List<String> lines, int marker, List<Entry> entries) {
    this.lines = lines;
    this.marker = marker;
    this.entries = entries;
  }

  /** Empty when the text has no {@code #MOREIPS} line: then it is not MicroK8s's template. */
  static Optional<CsrTemplate> parse(String text) {
    List<String> lines = text.lines().toList();
    int marker = -1;
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (marker < 0 && line.strip().equals(MARKER)) {
        marker = i;
      }
      Matcher entry = ENTRY.matcher(line);
      if (entry.matches()) {
        entries.add(new Entry(entry.group(1), Integer.parseInt(entry.group(2)), entry.group(3)));
      }
    }
    return marker < 0 ? Optional.empty() : Optional.of(new CsrTemplate(lines, marker, entries));
  }

  /** The template's line that names {@code address}, as an IP address in any notation. */
  Optional<Entry> address(InetAddress address) {
    return entries.stream()
        .filter(entry -> entry.kind().equals("IP"))
        .filter(
            entry -> address.equals(NetUtil.createInetAddressFromIpAddressString(entry.value())))
        .findFirst();
  }

  /** The template's line that names the DNS name {@code name} (case does not matter in DNS). */
  Optional<Entry> name(String name) {
    return entries.stream()
        .filter(entry -> entry.kind().equals("DNS"))
        .filter(
            entry -> entry.value().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT)))
        .findFirst();
  }

  /**
   * The lines to add for what the template does not name yet, numbered; empty when it names all.
   */
  List<Entry> missing(InetAddress vip, List<String> dnsNames) {
    TreeSet<Integer> ipIndices = indices("IP");
    TreeSet<Integer> dnsIndices = indices("DNS");
    List<Entry> added = new ArrayList<>();
    if (address(vip).isEmpty()) {
      int index = FIRST_ADDED_IP_INDEX;
      while (ipIndices.contains(index)) {
        index++;
      }
      ipIndices.add(index);
      added.add(new Entry("IP", index, NetUtil.toAddressString(vip)));
    }
    for (String dnsName : dnsNames) {
      boolean addedAlready =
          added.stream().anyMatch(entry -> entry.value().equalsIgnoreCase(dnsName));
      if (name(dnsName).isEmpty() && !addedAlready) {
        int index = dnsIndices.isEmpty() ? 1 : dnsIndices.last() + 1;
        dnsIndices.add(index);
        added.add(new Entry("DNS", index, dnsName));
      }
    }
    return added;
  }

  /** The template with {@code added} just above the {@code #MOREIPS} line, the rest unchanged. */
  String with(List<Entry> added) {
    List<String> out = new ArrayList<>(lines.subList(0, marker));
    added.forEach(entry -> out.add(entry.line()));
    out.addAll(lines.subList(marker, lines.size()));
    return String.join("\n", out) + "\n";
  }

  private TreeSet<Integer> indices(String kind) {
    TreeSet<Integer> used = new TreeSet<>();
    entries.stream().filter(entry -> entry.kind().equals(kind)).forEach(e -> used.add(e.index()));
    return used;
  }
}
