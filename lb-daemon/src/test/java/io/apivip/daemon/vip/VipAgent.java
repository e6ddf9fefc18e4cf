package io.apivip.daemon.vip;

import io.apivip.daemon.config.Settings;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A {@link VipManager} in a JVM of its own, driven over stdin and stdout, so a test can run it
 * inside a node's network namespace with {@code ip netns exec}: see {@link AgentProcess} for why.
 *
 * <p>Arguments: address prefix-length interface announce-count announce-interval-ms
 * check-interval-ms refresh-interval-ms claim-grace-ms. Commands, one a line: hold, release,
 * announce-again, claim (the last foreign claimant), metric NAME [TAG VALUE]..., quit. Answers and
 * status changes are lines starting with "@@ "; everything else on the output is the manager's log.
 */
public final class VipAgent {

  static final String PREFIX = "@@ ";

  private VipAgent() {}

  public static void main(String[] args) throws IOException {
    Settings.Vip settings =
        new Settings.Vip(
            InetAddress.getByName(args[0]),
            Integer.parseInt(args[1]),
            args[2],
            Integer.parseInt(args[3]),
            Duration.ofMillis(Long.parseLong(args[4])),
            Duration.ofMillis(Long.parseLong(args[6])),
            Duration.ofMillis(Long.parseLong(args[5])));
    MeterRegistry registry = new SimpleMeterRegistry();
    VipManager manager =
        new VipManager(settings, registry, Duration.ofMillis(Long.parseLong(args[7])));
    manager.addListener(status -> say(describe(status)));
    manager.start();
    say("ready");
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null && !line.equals("quit"); line = in.readLine()) {
      String[] words = line.strip().split("\\s+");
      switch (words[0]) {
        case "hold" -> manager.hold("test says hold", 1);
        case "release" -> manager.release("test says release");
        case "announce-again" -> manager.announceAgain("test says a peer's claim ended");
        case "claim" ->
            say(
                "claim "
                    + manager
                        .foreignClaim()
                        .map(claim -> claim.mac() + " " + claim.kind() + " " + claim.frames())
                        .orElse("none"));
        case "metric" -> say("metric " + metric(registry, words));
        default -> say("unknown command " + line);
      }
    }
    manager.close();
    say("closed");
  }

  static String describe(VipManager.Status status) {
    return "status wanted="
        + status.wanted()
        + " present="
        + status.present()
        + " machineryWorks="
        + status.machineryWorks()
        + " problem="
        + status.problem();
  }

  /** The sum of the counters named words[1] with the tags that follow as pairs. */
  private static double metric(MeterRegistry registry, String[] words) {
    Search search = registry.find(words[1]);
    for (int i = 2; i + 1 < words.length; i += 2) {
      search = search.tag(words[i], words[i + 1]);
    }
    return search.counters().stream().mapToDouble(counter -> counter.count()).sum();
  }

  private static synchronized void say(String line) {
    System.out.println(PREFIX + line);
    System.out.flush();
  }
}
