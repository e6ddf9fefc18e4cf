package io.apivip.lab.netns;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A TCP server that answers every connection with a name and a newline, then closes it: run in a
 * lab host ({@link NetnsLab#startNameServer}) to see which host a connection to a floating address
 * reached. Listens on every IPv4 and IPv6 address of its namespace, so also on one added later.
 * Prints "listening" once bound. Usage: {@code NameServer PORT NAME}.
 */
public final class NameServer {

  static final String READY = "listening";

  private NameServer() {}

  public static void main(String[] args) throws IOException {
    int port = Integer.parseInt(args[0]);
    byte[] answer = (args[1] + "\n").getBytes(StandardCharsets.UTF_8);
    try (ServerSocket server = new ServerSocket()) {
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(port));
      System.out.println(READY);
      System.out.flush();
      while (true) {
        try (Socket connection = server.accept();
            OutputStream out = connection.getOutputStream()) {
          out.write(answer);
        }
      }
    }
  }
}
