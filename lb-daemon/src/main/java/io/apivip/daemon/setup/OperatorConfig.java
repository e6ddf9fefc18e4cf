package io.apivip.daemon.setup;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigUtil;
import io.apivip.daemon.config.SettingsLoader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The node's configuration file as setup needs it: the VIP, and where the health check finds its
 * credentials (the file's values over {@code reference.conf}'s). Read without the full validation,
 * which wants the very files setup is about to make. Setup changes it only by appending the health
 * keys it must set, so every comment and setting of the operator's stays as written; HOCON lets a
 * later value win.
 */
final class OperatorConfig {

  static final String CA_FILE = "health.ca-file";
  static final String CLIENT_CERT_FILE = "health.client-cert-file";
  static final String CLIENT_KEY_FILE = "health.client-key-file";

  private static final String ROOT = "apivip";

  private final Path file;
  private final Config effective;
  private final boolean underRoot;

  private OperatorConfig(Path file, Config effective, boolean underRoot) {
    this.file = file;
    this.effective = effective;
    this.underRoot = underRoot;
  }

  static OperatorConfig read(Path file) throws SetupException {
    if (!Files.isRegularFile(file)) {
      throw new SetupException(
          "no configuration file "
              + file
              + ": write it first (docs/microk8s.md section 2; the package installs an example"
              + " there), or name it with --config");
    }
    try {
      Config user =
          ConfigFactory.parseFile(
              file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
      boolean underRoot =
          user.root().keySet().equals(Set.of(ROOT)) && user.getValue(ROOT) instanceof ConfigObject;
      if (underRoot) {
        user = user.getConfig(ROOT);
      }
      return new OperatorConfig(
          file, user.withFallback(SettingsLoader.reference()).resolve(), underRoot);
    } catch (ConfigException e) {
      throw new SetupException(
          file
              + " cannot be read as HOCON: "
              + e.getMessage()
              + " (apivip check-config says more)");
    }
  }

  Path file() {
    return file;
  }

  /** {@code vip.address} without its prefix length, as written; empty when unset. */
  Optional<String> vipAddress() {
    try {
      String address = effective.getString("vip.address").strip();
      int slash = address.indexOf('/');
      return Optional.of(slash < 0 ? address : address.substring(0, slash))
          .filter(text -> !text.isEmpty());
    } catch (ConfigException e) {
      return Optional.empty();
    }
  }

  /** The effective value of a health file key, "" for none. */
  String value(String key) {
    try {
      return effective.getString(key);
    } catch (ConfigException e) {
      return "";
    }
  }

  /** Of {@code wanted} (key to file), the keys whose effective value differs, in order. */
  Map<String, Path> differing(Map<String, Path> wanted) {
    Map<String, Path> differing = new LinkedHashMap<>();
    wanted.forEach(
        (key, path) -> {
          if (!value(key).equals(path.toString())) {
            differing.put(key, path);
          }
        });
    return differing;
  }

  /**
   * Appends {@code settings} (key to file) to the file, replacing it at once with its mode and
   * owner kept.
   */
  void append(Map<String, Path> settings) throws IOException {
    StringBuilder text = new StringBuilder(Files.readString(file, StandardCharsets.UTF_8));
    if (text.length() > 0 && text.charAt(text.length() - 1) != '\n') {
      text.append('\n');
    }
    text.append(
        "\n# Set by `apivip setup microk8s`: the health check's credentials, which it made.\n");
    settings.forEach(
        (key, path) ->
            text.append(underRoot ? ROOT + "." : "")
                .append(key)
                .append(" = ")
                .append(ConfigUtil.quoteString(path.toString()))
                .append('\n'));
    FileAccess.of(file).write(file, text.toString().getBytes(StandardCharsets.UTF_8));
  }
}
