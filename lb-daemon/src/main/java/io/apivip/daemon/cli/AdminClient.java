package io.apivip.daemon.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.apivip.daemon.admin.Json;
import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.config.SettingsLoader;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The operator commands' way to the local daemon: its admin API. The address comes from the
 * config file when it can be read (without the full validation, which needs the key), else from
 * the defaults.
 */
final class AdminClient {

  /** A failure to talk to the daemon, with a message fit for the operator. */
  static class Unreachable extends Exception {
    Unreachable(String message) {
      super(message);
    }
  }

  /** The daemon refused the action (409) and said why. */
  static final class Refused extends Unreachable {
    Refused(String message) {
      super(message);
    }
  }

  private final URI base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  AdminClient(URI base) {
    this.base = base;
  }

  static AdminClient forConfig(Path configFile, String adminOverride) {
    if (adminOverride != null) {
      return new AdminClient(URI.create("http://" + adminOverride));
    }
    Config admin = SettingsLoader.reference().getConfig("admin");
    if (Files.isReadable(configFile)) {
      try {
        Config user = ConfigFactory.parseFile(configFile.toFile());
        if (user.hasPath("apivip")) {
          user = user.getConfig("apivip");
        }
        if (user.hasPath("admin")) {
          admin = user.getConfig("admin").withFallback(admin);
        }
      } catch (ConfigException e) {
        // The daemon reports config errors; the defaults are the best guess here.
      }
    }
    String host = admin.getString("address");
    String authority = host.contains(":") ? "[" + host + "]" : host;
    return new AdminClient(URI.create("http://" + authority + ":" + admin.getInt("port")));
  }

  URI base() {
    return base;
  }

  StatusReport status() throws Unreachable {
    return parse(statusJson());
  }

  String statusJson() throws Unreachable {
    return send(HttpRequest.newBuilder(base.resolve("/status")).GET());
  }

  StatusReport post(String path) throws Unreachable {
    return parse(send(HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.noBody())));
  }

  private StatusReport parse(String json) throws Unreachable {
    try {
      return Json.read(json, StatusReport.class);
    } catch (IOException e) {
      throw new Unreachable("the apivip daemon at " + base + " answered something that is not a status report: " + e.getMessage());
    }
  }

  private String send(HttpRequest.Builder request) throws Unreachable {
    try {
      HttpResponse<String> response =
          http.send(request.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() == 409) {
        throw new Refused(response.body().strip());
      }
      if (response.statusCode() != 200) {
        throw new Unreachable("the apivip daemon at " + base + " answered " + response.statusCode() + ": " + response.body().strip());
      }
      return response.body();
    } catch (ConnectException e) {
      throw new Unreachable("cannot reach the apivip daemon at " + base + " (connection refused): is it running? try: systemctl status apivip");
    } catch (IOException e) {
      throw new Unreachable("cannot reach the apivip daemon at " + base + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unreachable("interrupted");
    }
  }
}
