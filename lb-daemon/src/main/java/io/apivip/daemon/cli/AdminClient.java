package io.apivip.daemon.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.apivip.daemon.admin.Json;
import io.apivip.daemon.admin.StatusReport;
import io.apivip.daemon.config.SettingsLoader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The operator commands' way to the local daemon: reading over its loopback admin API, the actions
 * (drain, resume) over its admin socket, where the daemon checks who is asking. The address and the
 * socket come from the config file when it can be read (without the full validation, which needs
 * the key), else from the defaults.
 */
final class AdminClient {

  /** A failure to talk to the daemon, with a message fit for the operator. */
  static class Unreachable extends Exception {
    Unreachable(String message) {
      super(message);
    }
  }

  private static final Duration ACTION_TIMEOUT = Duration.ofSeconds(5);

  /** The daemon refused the action (409) and said why. */
  static final class Refused extends Unreachable {
    Refused(String message) {
      super(message);
    }
  }

  private final URI base;
  private final Path socket;
  private final String operatorsGroup;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  AdminClient(URI base, Path socket, String operatorsGroup) {
    this.base = base;
    this.socket = socket;
    this.operatorsGroup = operatorsGroup;
  }

  static AdminClient forConfig(Path configFile, String adminOverride, Path socketOverride) {
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
    URI base =
        URI.create(
            "http://"
                + (adminOverride != null ? adminOverride : authority + ":" + admin.getInt("port")));
    Path socket = socketOverride != null ? socketOverride : Path.of(admin.getString("socket"));
    return new AdminClient(base, socket, admin.getString("operators-group"));
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

  /** An action, over the admin socket: the daemon serves actions nowhere else. */
  StatusReport post(String path) throws Unreachable {
    if (socket.toString().isEmpty()) {
      throw new Unreachable(
          "admin.socket is \"\" in the configuration: this daemon takes no actions; stop or start"
              + " the service instead");
    }
    String request =
        "POST "
            + path
            + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ByteArrayOutputStream answer = new ByteArrayOutputStream();
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      channel.connect(UnixDomainSocketAddress.of(socket));
      ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
      while (out.hasRemaining()) {
        channel.write(out);
      }
      readAll(channel, answer);
    } catch (AccessDeniedException e) {
      throw denied();
    } catch (IOException e) {
      if (String.valueOf(e.getMessage()).contains("Permission denied")) {
        throw denied();
      }
      if (e instanceof SocketException
          || e instanceof java.nio.file.NoSuchFileException
          || String.valueOf(e.getMessage()).contains("No such file")) {
        throw new Unreachable(
            "cannot reach the apivip daemon's admin socket "
                + socket
                + " ("
                + e.getMessage()
                + "): is it running? try: systemctl status apivip");
      }
      throw new Unreachable("cannot reach the apivip daemon's admin socket " + socket + ": " + e);
    }
    String text = answer.toString(StandardCharsets.UTF_8);
    int headerEnd = text.indexOf("\r\n\r\n");
    String[] statusLine = text.substring(0, Math.max(text.indexOf("\r\n"), 0)).split(" ", 3);
    if (headerEnd < 0 || statusLine.length < 2) {
      throw new Unreachable(
          "the apivip daemon at " + socket + " answered something that is not HTTP");
    }
    String body = text.substring(headerEnd + 4);
    if (statusLine[1].equals("409")) {
      throw new Refused(body.strip());
    }
    if (!statusLine[1].equals("200")) {
      throw new Unreachable(
          "the apivip daemon at " + socket + " answered " + statusLine[1] + ": " + body.strip());
    }
    return parse(body);
  }

  private Unreachable denied() {
    return new Unreachable(
        "permission denied on the admin socket "
            + socket
            + ": drain and resume are for root and the members of group "
            + operatorsGroup
            + "; use sudo, or ask an administrator to run: usermod -aG "
            + operatorsGroup
            + " $USER (then log in again)");
  }

  /** Reads the answer until the daemon closes (Connection: close), within a time limit. */
  private static void readAll(SocketChannel channel, ByteArrayOutputStream answer)
      throws IOException, Unreachable {
    channel.configureBlocking(false);
    try (Selector selector = Selector.open()) {
      channel.register(selector, SelectionKey.OP_READ);
      ByteBuffer in = ByteBuffer.allocate(16 * 1024);
      long deadline = System.nanoTime() + ACTION_TIMEOUT.toNanos();
      while (true) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          throw new Unreachable(
              "the apivip daemon did not answer within " + ACTION_TIMEOUT.toSeconds() + "s");
        }
        selector.select(left);
        selector.selectedKeys().clear();
        int read = channel.read(in);
        if (read < 0) {
          return;
        }
        answer.write(in.array(), 0, in.position());
        in.clear();
      }
    }
  }

  private StatusReport parse(String json) throws Unreachable {
    try {
      return Json.read(json, StatusReport.class);
    } catch (IOException e) {
      throw new Unreachable(
          "the apivip daemon at "
              + base
              + " answered something that is not a status report: "
              + e.getMessage());
    }
  }

  private String send(HttpRequest.Builder request) throws Unreachable {
    try {
      HttpResponse<String> response =
          http.send(
              request.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() == 409) {
        throw new Refused(response.body().strip());
      }
      if (response.statusCode() != 200) {
        throw new Unreachable(
            "the apivip daemon at "
                + base
                + " answered "
                + response.statusCode()
                + ": "
                + response.body().strip());
      }
      return response.body();
    } catch (ConnectException e) {
      throw new Unreachable(
          "cannot reach the apivip daemon at "
              + base
              + " (connection refused): is it running? try: systemctl status apivip");
    } catch (IOException e) {
      throw new Unreachable("cannot reach the apivip daemon at " + base + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unreachable("interrupted");
    }
  }
}
