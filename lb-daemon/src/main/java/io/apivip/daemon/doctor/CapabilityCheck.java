package io.apivip.daemon.doctor;

import io.apivip.daemon.config.Settings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Does the daemon hold the network capabilities it needs? CAP_NET_ADMIN and CAP_NET_RAW always,
 * CAP_NET_BIND_SERVICE only when the configuration listens on a port below 1024 (the packaged unit
 * does not grant it; a drop-in must). The running service's process is asked first (its {@code
 * CapEff} in /proc); when it is not running, the unit that would start it; when there is no unit
 * either, this very process.
 */
final class CapabilityCheck {

  static final String CHECK = "capabilities";
  private static final String UNIT = "apivip.service";

  /** What apivip needs, with the bit number Linux gives it and what it is needed for. */
  enum Capability {
    CAP_NET_ADMIN(12, "add and remove the VIP"),
    CAP_NET_RAW(13, "announce the VIP"),
    CAP_NET_BIND_SERVICE(10, "listen on a port below 1024");

    final int bit;
    final String purpose;

    Capability(int bit, String purpose) {
      this.bit = bit;
      this.purpose = purpose;
    }
  }

  /**
   * Where to look: systemd's answer for the service's main process, else the service's cgroup
   * process list; the /proc root, the unit file candidates in systemd's order of precedence and the
   * drop-in directories, most important first.
   */
  record Sources(
      Supplier<Optional<String>> mainPid,
      List<Path> serviceProcesses,
      Path proc,
      List<Path> units,
      List<Path> dropIns) {

    static Sources system() {
      List<String> roots =
          List.of(
              "/etc/systemd/system",
              "/run/systemd/system",
              "/lib/systemd/system",
              "/usr/lib/systemd/system");
      return new Sources(
          CapabilityCheck::mainPidFromSystemd,
          // The unified hierarchy (cgroup v2, Debian 12, Ubuntu 22.04), then where hybrid hosts
          // (Ubuntu 20.04, systemd-nspawn containers on them) keep systemd's own tree.
          List.of("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd").stream()
              .map(root -> Path.of(root, "system.slice", UNIT, "cgroup.procs"))
              .toList(),
          Path.of("/proc"),
          roots.stream().map(root -> Path.of(root, UNIT)).toList(),
          roots.stream().map(root -> Path.of(root, UNIT + ".d")).toList());
    }
  }

  private CapabilityCheck() {}

  /** What the daemon needs with these settings (or without any: the two it always needs). */
  static Set<Capability> needed(Optional<Settings> settings) {
    Set<Capability> needed = EnumSet.of(Capability.CAP_NET_ADMIN, Capability.CAP_NET_RAW);
    if (settings.isPresent() && lowestPort(settings.get()) < 1024) {
      needed.add(Capability.CAP_NET_BIND_SERVICE);
    }
    return needed;
  }

  private static int lowestPort(Settings settings) {
    IntStream ports =
        IntStream.concat(
            settings.proxy().listeners().stream().mapToInt(l -> l.address().getPort()),
            IntStream.of(settings.admin().listen().getPort()));
    return IntStream.concat(
            ports, settings.admin().metricsListen().stream().mapToInt(a -> a.getPort()))
        .filter(port -> port > 0)
        .min()
        .orElse(1024);
  }

  static List<Finding> check(Sources sources, Set<Capability> needed) {
    Optional<String> pid = sources.mainPid().get().or(() -> servicePid(sources.serviceProcesses()));
    if (pid.isPresent()) {
      OptionalLong mask =
          effective(read(sources.proc().resolve(pid.get()).resolve("status")).orElse(""));
      if (mask.isPresent()) {
        return List.of(
            judge(
                "the running daemon (pid " + pid.get() + ")",
                missing(mask.getAsLong(), needed),
                needed,
                "check AmbientCapabilities= in systemctl cat apivip (a drop-in may override the"
                    + " packaged unit), then run sudo systemctl restart apivip",
                Severity.FAIL));
      }
    }
    Optional<Path> unit = sources.units().stream().filter(Files::isRegularFile).findFirst();
    if (unit.isPresent()) {
      List<String> texts = new ArrayList<>();
      read(unit.get()).ifPresent(texts::add);
      dropIns(sources.dropIns()).forEach(file -> read(file).ifPresent(texts::add));
      Optional<Set<Capability>> granted = granted(texts);
      if (granted.isEmpty()) {
        return List.of(
            Finding.warn(
                CHECK,
                unit.get()
                    + " (or a drop-in) grants capabilities in a form this check does not follow"
                    + " (\"~\" lists): compare systemctl cat apivip with the packaged unit"));
      }
      Set<Capability> lacking = EnumSet.copyOf(needed);
      lacking.removeAll(granted.get());
      return List.of(
          judge(
              UNIT + " (not running; from " + unit.get() + " and its drop-ins)",
              lacking,
              needed,
              "grant AmbientCapabilities="
                  + String.join(" ", names(needed).split(", "))
                  + " (and the same CapabilityBoundingSet=) in a drop-in (systemctl edit apivip),"
                  + " or remove the drop-in that takes them away (systemctl cat apivip)",
              Severity.FAIL));
    }
    OptionalLong self = effective(read(sources.proc().resolve("self/status")).orElse(""));
    String who =
        UNIT + " is not installed; this process (user " + System.getProperty("user.name") + ")";
    return List.of(
        self.isPresent()
            ? judge(
                who,
                missing(self.getAsLong(), needed),
                needed,
                "run the daemon as root, or with those capabilities as the packaged unit does",
                Severity.WARN)
            : Finding.warn(
                CHECK,
                who
                    + " shows no CapEff in "
                    + sources.proc().resolve("self/status")
                    + ": cannot tell"));
  }

  private static Finding judge(
      String who, Set<Capability> lacking, Set<Capability> needed, String fix, Severity severity) {
    if (lacking.isEmpty()) {
      return Finding.ok(CHECK, who + " has " + names(needed));
    }
    String purposes = lacking.stream().map(c -> c.purpose).collect(Collectors.joining(", "));
    return new Finding(
        CHECK,
        severity,
        who + " lacks " + names(lacking) + " (needed to " + purposes + "): " + fix);
  }

  private static String names(Set<Capability> capabilities) {
    return capabilities.stream().map(Enum::name).collect(Collectors.joining(", "));
  }

  /** The effective capability mask of a /proc/PID/status text ({@code CapEff:} in hex). */
  static OptionalLong effective(String procStatus) {
    for (String line : procStatus.split("\n")) {
      if (line.startsWith("CapEff:")) {
        try {
          return OptionalLong.of(
              Long.parseUnsignedLong(line.substring("CapEff:".length()).strip(), 16));
        } catch (NumberFormatException e) {
          return OptionalLong.empty();
        }
      }
    }
    return OptionalLong.empty();
  }

  static Set<Capability> missing(long mask, Set<Capability> needed) {
    Set<Capability> missing = EnumSet.noneOf(Capability.class);
    for (Capability capability : needed) {
      if ((mask & (1L << capability.bit)) == 0) {
        missing.add(capability);
      }
    }
    return missing;
  }

  /**
   * What a unit (its text, then its drop-ins' in order) grants of the capabilities apivip needs: a
   * non-root service gets its {@code AmbientCapabilities=}, a root one everything, both within
   * {@code CapabilityBoundingSet=}. Empty when a "~" (all but) list makes it too hard to follow.
   */
  static Optional<Set<Capability>> granted(List<String> unitTexts) {
    Map<String, List<String>> settings = new LinkedHashMap<>();
    for (String text : unitTexts) {
      String section = "";
      for (String rawLine : text.split("\n")) {
        String line = rawLine.strip();
        if (line.startsWith("[")) {
          section = line;
        } else if (section.equals("[Service]")
            && line.contains("=")
            && !line.startsWith("#")
            && !line.startsWith(";")) {
          String key = line.substring(0, line.indexOf('=')).strip();
          settings
              .computeIfAbsent(key, k -> new ArrayList<>())
              .add(line.substring(line.indexOf('=') + 1).strip());
        }
      }
    }
    List<String> users = settings.getOrDefault("User", List.of());
    String user = users.isEmpty() ? "" : users.get(users.size() - 1);
    boolean root = user.isEmpty() || user.equals("root") || user.equals("0");
    Optional<Set<Capability>> ambient =
        root
            ? Optional.of(EnumSet.allOf(Capability.class))
            : union(settings.get("AmbientCapabilities"));
    Optional<Set<Capability>> bounding =
        settings.containsKey("CapabilityBoundingSet")
            ? union(settings.get("CapabilityBoundingSet"))
            : Optional.of(EnumSet.allOf(Capability.class));
    if (ambient.isEmpty() || bounding.isEmpty()) {
      return Optional.empty();
    }
    Set<Capability> granted = EnumSet.copyOf(ambient.get());
    granted.retainAll(bounding.get());
    return Optional.of(granted);
  }

  /** Assignments merge; an empty one resets, as systemd reads them. */
  private static Optional<Set<Capability>> union(List<String> assignments) {
    Set<Capability> set = EnumSet.noneOf(Capability.class);
    for (String value : assignments == null ? List.<String>of() : assignments) {
      if (value.startsWith("~")) {
        return Optional.empty();
      }
      if (value.isEmpty()) {
        set.clear();
      }
      for (String name : value.split("\\s+")) {
        for (Capability capability : Capability.values()) {
          if (capability.name().equals(name.toUpperCase(Locale.ROOT))) {
            set.add(capability);
          }
        }
      }
    }
    return Optional.of(set);
  }

  /**
   * {@code systemctl show --property=MainPID --value apivip.service}: the pid, or empty when not
   * running.
   */
  private static Optional<String> mainPidFromSystemd() {
    return ShortCommand.run(List.of("systemctl", "show", "--property=MainPID", "--value", UNIT))
        .filter(result -> result.exitCode() == 0)
        .map(ShortCommand.Result::output)
        .filter(pid -> pid.matches("[1-9][0-9]*"));
  }

  private static Optional<String> servicePid(List<Path> cgroupProcesses) {
    return cgroupProcesses.stream()
        .map(CapabilityCheck::read)
        .flatMap(Optional::stream)
        .flatMap(
            text ->
                text
                    .lines()
                    .map(String::strip)
                    .filter(line -> !line.isEmpty())
                    .findFirst()
                    .stream())
        .findFirst();
  }

  /**
   * Drop-ins by file name; a name in a more important directory hides the same name further down.
   */
  private static List<Path> dropIns(List<Path> directories) {
    Map<String, Path> byName = new TreeMap<>();
    for (Path directory : directories) {
      if (!Files.isDirectory(directory)) {
        continue;
      }
      try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, "*.conf")) {
        stream.forEach(file -> byName.putIfAbsent(file.getFileName().toString(), file));
      } catch (IOException e) {
        // An unreadable drop-in directory: judge the unit without it.
      }
    }
    return List.copyOf(byName.values());
  }

  private static Optional<String> read(Path file) {
    try {
      return Optional.of(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
