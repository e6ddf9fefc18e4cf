package io.apivip.daemon.doctor;

import io.apivip.daemon.admin.StatusReport.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Clock skew between this node and each peer, as the daemon measures it from heartbeat timestamps.
 * A heartbeat stamped further than {@code heartbeat.replay-window} from our clock is dropped as a
 * replay, so a skewed peer drops out of the cluster although the network is fine.
 */
final class ClockCheck {

  static final String CHECK = "clock";
  private static final String FIX =
      "run NTP on every node (timedatectl must say \"System clock synchronized: yes\")";

  private ClockCheck() {}

  static List<Finding> check(List<Member> members, Duration replayWindow) {
    double window = replayWindow.toMillis() / 1000.0;
    String windowText = "heartbeat.replay-window (" + PeerCheck.seconds(window) + ")";
    List<Finding> findings = new ArrayList<>();
    double largest = 0;
    int measured = 0;
    for (Member member : members) {
      Double offset = member.clockOffsetSeconds();
      if (offset == null || member.state().equals(PeerCheck.SELF)) {
        continue;
      }
      measured++;
      double skew = Math.abs(offset);
      largest = Math.max(largest, skew);
      // The sign's meaning is the daemon's business; the size is what drops heartbeats.
      String how = member.id() + "'s clock differs from this node's by " + PeerCheck.seconds(skew);
      if (skew > window) {
        findings.add(
            Finding.fail(
                CHECK,
                how
                    + ", beyond "
                    + windowText
                    + ": its heartbeats are dropped as replays; "
                    + FIX));
      } else if (skew > window / 2) {
        findings.add(
            Finding.warn(
                CHECK,
                how
                    + ", more than half of "
                    + windowText
                    + ": a little more and its heartbeats are dropped as replays; "
                    + FIX));
      }
    }
    if (measured > 0 && largest <= window / 2) {
      findings.add(
          Finding.ok(
              CHECK,
              "clocks of "
                  + measured
                  + " peer"
                  + (measured == 1 ? "" : "s")
                  + " within "
                  + String.format(Locale.ROOT, "%.3fs", largest)
                  + " of this node's, well inside "
                  + windowText));
    }
    return findings;
  }
}
