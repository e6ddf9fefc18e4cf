package io.apivip.bench.faults;

import io.apivip.lab.cluster.ClusterLab;
import io.apivip.lab.cluster.LabNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Samples which nodes' interfaces carry the VIP ({@code ip -o addr} in each node's namespace), one
 * round every 20 ms or as fast as the machine allows, for as long as it runs (at most {@link
 * #MAX_ROUNDS} rounds). A shell loop does the sampling, so each round costs one {@code ip} per node
 * and no JVM work; its lines are read into {@link HolderTimeline.Sample}s.
 */
final class AddressSampler implements AutoCloseable {

  /** More than a full run of the matrix takes at the fastest rate (about 70 minutes). */
  static final int MAX_ROUNDS = 200_000;

  private static final String SCRIPT =
      """
      vip=$1 iface=$2 rounds=$3
      shift 3
      for ((round = 0; round < rounds; round++)); do
        line=$EPOCHREALTIME
        for node in "$@"; do
          out=$(ip -n "${node#*:}" -o -4 addr show dev "$iface" 2>/dev/null)
          case $out in
            *" inet $vip/"*) line+=" ${node%%:*}=1" ;;
            *) line+=" ${node%%:*}=0" ;;
          esac
        done
        echo "$line"
        sleep 0.02
      done
      """;

  private final Process process;
  private final Thread reader;
  private final List<HolderTimeline.Sample> samples = new ArrayList<>();

  private AddressSampler(Process process) {
    this.process = process;
    this.reader = new Thread(this::read, "address-sampler");
    reader.setDaemon(true);
  }

  /** Starts sampling every node of {@code lab}, from its client namespace. */
  static AddressSampler start(ClusterLab lab) throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                // Ahead of the lab's JVMs, so that a busy machine stretches the rounds less.
                "nice",
                "-n",
                "-10",
                "bash",
                "-c",
                SCRIPT,
                "address-sampler",
                lab.vip().getHostAddress(),
                lab.nodes().get(0).host().interfaceName(),
                Integer.toString(MAX_ROUNDS)));
    for (LabNode node : lab.nodes()) {
      command.add(node.id() + ":" + node.host().namespace());
    }
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectError(
                ProcessBuilder.Redirect.appendTo(
                    lab.workDirectory().resolve("address-sampler.log").toFile()));
    builder.environment().put("LC_ALL", "C");
    AddressSampler sampler =
        new AddressSampler(lab.network().start(lab.network().client(), builder));
    sampler.reader.start();
    return sampler;
  }

  private void read() {
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        HolderTimeline.parse(line)
            .ifPresent(
                sample -> {
                  synchronized (samples) {
                    samples.add(sample);
                  }
                });
      }
    } catch (IOException e) {
      // The sampler ended; what it printed so far is kept.
    }
  }

  /** The samples taken from {@code fromMillis} on, with the last one before it. */
  List<HolderTimeline.Sample> since(long fromMillis) {
    synchronized (samples) {
      int first = samples.size();
      while (first > 0 && samples.get(first - 1).millis() >= fromMillis) {
        first--;
      }
      return List.copyOf(samples.subList(Math.max(0, first - 1), samples.size()));
    }
  }

  boolean running() {
    return process.isAlive();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(3, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
      reader.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
