package io.apivip.lab.apiserver;

import io.apivip.lab.Pki;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The stand-in kube-apiserver as a process of its own, for the end-to-end lab and the demo.
 *
 * <pre>
 * StandInApiServerMain --listen ADDR:PORT [--name NAME] --cert FILE --key FILE [--client-ca FILE]
 * StandInApiServerMain --listen ADDR:PORT [--name NAME] --pki-dir DIR [--san NAME]...
 *   [--require-client-cert]
 *   either form also takes [--anonymous-auth true|false] [--client-auth require|want]
 *   [--token-auth-file FILE] [--no-stdin]
 * </pre>
 *
 * With {@code --pki-dir} it makes a new CA and writes {@code ca.crt}, {@code server.crt}, {@code
 * server.key} (SANs: the listen address, localhost, 127.0.0.1 and every {@code --san}), and {@code
 * client.crt}, {@code client.key} (CN=apivip) into DIR, which must exist; with {@code
 * --require-client-cert} clients must present a certificate signed by that CA.
 *
 * <p>Prints {@code listening ADDR:PORT} on stdout once it accepts connections, then reads commands
 * from stdin, one a line: {@code healthy}, {@code fail-readyz}, {@code hang}, {@code refuse},
 * {@code slow MS}; answers {@code ok MODE} or {@code error ...}. Exits (status 0) when stdin
 * closes; status 2 on bad arguments.
 *
 * <p>{@code --anonymous-auth false} makes it answer like a stock MicroK8s kube-apiserver (whose
 * {@code --authorization-mode=AlwaysAllow} turns anonymous auth off): 401 to every request that
 * neither presents a client certificate issued by the {@code --client-ca} (or, with {@code
 * --pki-dir}, by its CA) nor carries a bearer token listed in {@code --token-auth-file}
 * (kube-apiserver's CSV, e.g. MicroK8s's {@code credentials/known_tokens.csv}). The certificate is
 * asked for, not required ({@code --client-auth want}, the default then): a client without one
 * still completes the handshake. {@code --no-stdin} is for a service: no commands are read, and it
 * runs until it is signalled (SIGTERM closes it).
 */
public final class StandInApiServerMain {

  private StandInApiServerMain() {}

  public static void main(String[] args) throws IOException {
    // stdout carries only the protocol: whatever logs to the console goes to stderr.
    PrintStream out =
        new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    System.setOut(System.err);
    StandInApiServer server;
    try {
      server = start(args);
    } catch (IllegalArgumentException e) {
      System.err.println("stand-in apiserver: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (daemon(args)) {
      out.println("listening " + hostPort(server.address()));
      Runtime.getRuntime()
          .addShutdownHook(new Thread(server::close, "stand-in-apiserver-shutdown"));
      try {
        new CountDownLatch(1).await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return;
    }
    try (server) {
      out.println("listening " + hostPort(server.address()));
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.isBlank()) {
          continue;
        }
        Optional<Mode> mode = Mode.parse(line);
        if (mode.isPresent()) {
          server.mode(mode.get());
          out.println("ok " + mode.get().command());
        } else {
          out.println(
              "error unknown command: "
                  + line.trim()
                  + " (healthy, fail-readyz, hang, refuse, slow MS)");
        }
      }
    }
  }

  /** {@code --no-stdin}: run as a service, without reading commands. */
  static boolean daemon(String[] args) {
    return List.of(args).contains("--no-stdin");
  }

  static StandInApiServer start(String[] args) throws IOException {
    String listen = null;
    Boolean anonymousAuth = null;
    String clientAuth = null;
    Path tokenFile = null;
    String name = "apiserver";
    Path cert = null;
    Path key = null;
    Path clientCa = null;
    Path pkiDir = null;
    boolean requireClientCert = false;
    List<String> sans = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--require-client-cert")) {
        requireClientCert = true;
        continue;
      }
      if (flag.equals("--no-stdin")) {
        continue;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      String value = args[++i];
      switch (flag) {
        case "--listen" -> listen = value;
        case "--name" -> name = value;
        case "--cert" -> cert = Path.of(value);
        case "--key" -> key = Path.of(value);
        case "--client-ca" -> clientCa = Path.of(value);
        case "--pki-dir" -> pkiDir = Path.of(value);
        case "--san" -> sans.add(value);
        case "--anonymous-auth" -> anonymousAuth = parseBoolean(flag, value);
        case "--client-auth" -> {
          if (!value.equals("require") && !value.equals("want")) {
            throw new IllegalArgumentException(
                "--client-auth " + value + ": expected require or want");
          }
          clientAuth = value;
        }
        case "--token-auth-file" -> tokenFile = Path.of(value);
        default -> throw new IllegalArgumentException("unknown option " + flag);
      }
    }
    if (listen == null) {
      throw new IllegalArgumentException("--listen ADDR:PORT is required");
    }
    InetSocketAddress address = parseHostPort(listen);
    boolean authenticate = anonymousAuth != null && !anonymousAuth;
    if (!authenticate && "want".equals(clientAuth)) {
      throw new IllegalArgumentException(
          "--client-auth want goes with --anonymous-auth false: with anonymous auth on, a wanted"
              + " certificate decides nothing");
    }
    if (!authenticate && tokenFile != null) {
      throw new IllegalArgumentException("--token-auth-file goes with --anonymous-auth false");
    }
    if (authenticate && ("require".equals(clientAuth) || requireClientCert)) {
      throw new IllegalArgumentException(
          "with --anonymous-auth false the client certificate is wanted, not required (as"
              + " kube-apiserver): leave out --client-auth require and --require-client-cert");
    }
    if (tokenFile != null && !Files.isReadable(tokenFile)) {
      throw new IllegalArgumentException("--token-auth-file " + tokenFile + ": not readable");
    }
    if (pkiDir != null) {
      if (cert != null || key != null || clientCa != null) {
        throw new IllegalArgumentException(
            "--pki-dir makes its own certificates: leave out --cert, --key and --client-ca");
      }
      if (!Files.isDirectory(pkiDir)) {
        throw new IllegalArgumentException("--pki-dir " + pkiDir + ": no such directory");
      }
      sans.add(0, address.getAddress().getHostAddress());
      sans.add("localhost");
      sans.add("127.0.0.1");
      Pki pki = Pki.newCa("apivip-lab-ca");
      pki.writeCa(pkiDir.resolve("ca.crt"));
      Pki.Issued server = pki.issueServer(sans.stream().distinct().toList());
      server.write(pkiDir.resolve("server.crt"), pkiDir.resolve("server.key"));
      pki.issueClient("apivip").write(pkiDir.resolve("client.crt"), pkiDir.resolve("client.key"));
      if (authenticate) {
        StandInApiServer.Authentication tokens =
            StandInApiServer.Authentication.fromFiles(
                Optional.empty(), Optional.ofNullable(tokenFile));
        return StandInApiServer.startAuthenticating(
            name,
            address,
            server,
            new StandInApiServer.Authentication(List.of(pki.caCertificate()), tokens.tokens()));
      }
      return StandInApiServer.start(
          name,
          address,
          server,
          requireClientCert ? Optional.of(pki.caCertificate()) : Optional.empty());
    }
    if (cert == null || key == null) {
      throw new IllegalArgumentException("give --cert FILE and --key FILE, or --pki-dir DIR");
    }
    if (requireClientCert) {
      throw new IllegalArgumentException(
          "--require-client-cert goes with --pki-dir; with --cert use --client-ca FILE");
    }
    if (authenticate) {
      if (clientCa != null && !Files.isReadable(clientCa)) {
        throw new IllegalArgumentException("--client-ca " + clientCa + ": not readable");
      }
      StandInApiServer.Authentication authentication =
          StandInApiServer.Authentication.fromFiles(
              Optional.ofNullable(clientCa), Optional.ofNullable(tokenFile));
      return StandInApiServer.startAuthenticating(name, address, cert, key, authentication);
    }
    return StandInApiServer.start(name, address, cert, key, Optional.ofNullable(clientCa));
  }

  private static boolean parseBoolean(String flag, String value) {
    return switch (value) {
      case "true" -> true;
      case "false" -> false;
      default ->
          throw new IllegalArgumentException(flag + " " + value + ": expected true or false");
    };
  }

  /** {@code 192.0.2.11:16443} or {@code [2001:db8::11]:16443}; the address must be a literal. */
  static InetSocketAddress parseHostPort(String text) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new IllegalArgumentException("--listen " + text + ": expected ADDR:PORT");
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (!host.matches("[0-9a-fA-F:.]+")) {
      throw new IllegalArgumentException(
          "--listen " + text + ": the address must be an IP literal");
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--listen " + text + ": the port is not a number");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--listen " + text + ": the port must be 0-65535");
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(host), port);
    } catch (IOException e) {
      throw new IllegalArgumentException("--listen " + text + ": " + e.getMessage());
    }
  }

  static String hostPort(InetSocketAddress address) {
    String host = address.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
  }
}
