package io.apivip.daemon.doctor;

import io.apivip.daemon.config.Settings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Can the daemon's user read every file the daemon needs? The doctor runs as root, which reads
 * anything, while systemd runs the daemon as {@code apivip}: a stock MicroK8s node keeps {@code
 * certs/} at 0770 root:microk8s, so a configuration naming MicroK8s's files validates as root and
 * fails at start. Asked of the kernel itself, as that user ({@code runuser -u apivip -- test -r
 * FILE}), so groups, ACLs and every directory on the way count.
 */
final class DaemonUserCheck {

  static final String CHECK = "access";

  /** Whether {@code user} can read {@code file}; empty when this process cannot tell (not root). */
  interface Access {
    Optional<Boolean> canRead(String user, Path file);

    Access SYSTEM = DaemonUserCheck::askTheKernel;
  }

  private DaemonUserCheck() {}

  static List<Finding> check(Settings settings, String user, Access access) {
    Map<String, Path> files = new LinkedHashMap<>();
    files.put("cluster.key-file", settings.cluster().keyFile());
    List<Path> accepted = settings.cluster().acceptKeyFiles();
    for (int i = 0; i < accepted.size(); i++) {
      files.put("cluster.accept-key-files[" + i + "]", accepted.get(i));
    }
    Settings.Health health = settings.health();
    health.caFile().ifPresent(file -> files.put("health.ca-file", file));
    health.clientCertFile().ifPresent(file -> files.put("health.client-cert-file", file));
    health.clientKeyFile().ifPresent(file -> files.put("health.client-key-file", file));
    health.bearerTokenFile().ifPresent(file -> files.put("health.bearer-token-file", file));

    List<String> unreadable = new ArrayList<>();
    for (Map.Entry<String, Path> entry : files.entrySet()) {
      Optional<Boolean> readable = access.canRead(user, entry.getValue());
      if (readable.isEmpty()) {
        return List.of(
            Finding.warn(
                CHECK,
                "cannot tell whether user "
                    + user
                    + " reads the files the daemon needs"
                    + " (run apivip doctor with sudo; the package creates the user)"));
      }
      if (!readable.get()) {
        unreadable.add(entry.getKey() + " = " + entry.getValue());
      }
    }
    if (unreadable.isEmpty()) {
      return List.of(
          Finding.ok(
              CHECK,
              "user "
                  + user
                  + ", which the daemon runs as, reads every file it needs ("
                  + files.size()
                  + ": "
                  + String.join(", ", files.keySet())
                  + ")"));
    }
    return List.of(
        Finding.fail(
            CHECK,
            "user "
                + user
                + ", which the daemon runs as, cannot read "
                + String.join(", ", unreadable)
                + ", so the daemon will not start: give it copies it may read (MicroK8s's certs/ is"
                + " for root and group microk8s only): "
                + MicroK8sFixes.SETUP
                + " puts the cluster's CA and a health client certificate of its own in"
                + " /etc/apivip and points the health settings at them (docs/microk8s.md section"
                + " 2)"));
  }

  private static Optional<Boolean> askTheKernel(String user, Path file) {
    if (!"root".equals(System.getProperty("user.name"))) {
      return Optional.empty();
    }
    // runuser takes the user's uid, primary group and supplementary groups, as systemd's User=
    // does. Anything but the two answers (no such user, no runuser) tells nothing.
    String test = "if test -r \"$1\"; then echo readable; else echo unreadable; fi";
    return ShortCommand.run(
            List.of("runuser", "-u", user, "--", "sh", "-c", test, "sh", file.toString()))
        .map(ShortCommand.Result::output)
        .flatMap(
            answer ->
                switch (answer) {
                  case "readable" -> Optional.of(true);
                  case "unreadable" -> Optional.of(false);
                  default -> Optional.empty();
                });
  }
}
