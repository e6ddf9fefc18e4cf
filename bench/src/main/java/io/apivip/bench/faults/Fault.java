package io.apivip.bench.faults;

import java.util.List;
import java.util.stream.Stream;

/**
 * The faults of the matrix, in the order they run, each by the name {@code --faults} takes and the
 * row title of the table.
 */
enum Fault {
  HOLDER_DEAF("holder-deaf", "The holder deaf: its inbound cluster traffic dropped"),
  HOLDER_MUTE("holder-mute", "The holder mute: its outbound cluster traffic dropped"),
  NEXT_DEAF("next-deaf", "The top-ranked non-holder deaf"),
  NEXT_MUTE("next-mute", "The top-ranked non-holder mute"),
  PAUSE("pause", "The holder's daemon paused (SIGSTOP) for 5 s"),
  CRASH("crash", "The holder's daemon killed (SIGKILL), link up, no restart"),
  LOSS("loss", "20% loss on every node's link (see below)"),
  FLAP("flap", "The holder's link flapping: 10 × (1 s down, 0.5 s up)"),
  PARTITION("partition", "The holder cut off from the other nodes");

  final String flag;
  final String title;

  Fault(String flag, String title) {
    this.flag = flag;
    this.title = title;
  }

  static Fault of(String flag) {
    return Stream.of(values())
        .filter(fault -> fault.flag.equals(flag))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "--faults: unknown fault "
                        + flag
                        + " ("
                        + String.join(", ", Stream.of(values()).map(f -> f.flag).toList())
                        + ")"));
  }

  static List<Fault> all() {
    return List.of(values());
  }
}
