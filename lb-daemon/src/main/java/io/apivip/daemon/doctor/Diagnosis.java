package io.apivip.daemon.doctor;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** Everything the doctor found on this node, in the order it checked. */
public record Diagnosis(List<Finding> findings) {

  private static final int CHECK_COLUMN = 13;

  public Diagnosis {
    findings = List.copyOf(findings);
  }

  public long count(Severity severity) {
    return findings.stream().filter(finding -> finding.severity() == severity).count();
  }

  /** True when nothing failed: the node can serve the VIP as configured. */
  @JsonProperty("healthy")
  public boolean healthy() {
    return count(Severity.FAIL) == 0;
  }

  /** 0 when nothing failed, 1 otherwise (2, bad arguments, is picocli's). */
  public int exitCode() {
    return healthy() ? 0 : 1;
  }

  /** One line per finding, then a summary: what an operator reads in a terminal. */
  public String render() {
    StringBuilder out = new StringBuilder();
    for (Finding finding : findings) {
      out.append(
          String.format(
              "%-4s  %-" + CHECK_COLUMN + "s %s\n",
              finding.severity().label(),
              finding.check(),
              finding.message()));
    }
    out.append(
        String.format(
            "\n%d FAIL, %d warn, %d ok%s: %s\n",
            count(Severity.FAIL),
            count(Severity.WARN),
            count(Severity.OK),
            count(Severity.INFO) > 0 ? ", " + count(Severity.INFO) + " info" : "",
            !healthy()
                ? "fix the FAIL lines above, then run apivip doctor again"
                : count(Severity.WARN) > 0
                    ? "nothing fails; the warnings are worth a look"
                    : "nothing to fix"));
    return out.toString();
  }
}
