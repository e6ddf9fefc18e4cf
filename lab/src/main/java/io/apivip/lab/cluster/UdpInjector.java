package io.apivip.lab.cluster;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Sends datagrams read from files to UDP targets, a few times each: the lab's attacker, run in the
 * client namespace to show that forged and replayed heartbeats change nothing.
 *
 * <pre>UdpInjector --to HOST:PORT [--to ...] --file F [--file ...] [--repeat N]</pre>
 */
public final class UdpInjector {

  private static final long SPACING_MILLIS = 5;

  private UdpInjector() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    List<InetSocketAddress> targets = new ArrayList<>();
    List<byte[]> payloads = new ArrayList<>();
    int repeat = 1;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--to" -> {
          String target = args[i + 1];
          int colon = target.lastIndexOf(':');
          targets.add(
              new InetSocketAddress(
                  target.substring(0, colon), Integer.parseInt(target.substring(colon + 1))));
        }
        case "--file" -> payloads.add(Files.readAllBytes(Path.of(args[i + 1])));
        case "--repeat" -> repeat = Integer.parseInt(args[i + 1]);
        default -> {
          System.err.println("usage: UdpInjector --to HOST:PORT --file F [--repeat N]");
          System.exit(2);
        }
      }
    }
    int sent = 0;
    try (DatagramSocket socket = new DatagramSocket()) {
      for (int round = 0; round < repeat; round++) {
        for (byte[] payload : payloads) {
          for (InetSocketAddress target : targets) {
            socket.send(new DatagramPacket(payload, payload.length, target));
            sent++;
          }
          Thread.sleep(SPACING_MILLIS);
        }
      }
    }
    System.out.println("sent " + sent + " datagrams");
  }
}
