package io.apivip.daemon.doctor;

import com.fasterxml.jackson.annotation.JsonValue;

/** How bad a finding is. Only {@link #FAIL} makes {@code apivip doctor} exit 1. */
public enum Severity {
  OK("ok"),
  WARN("warn"),
  FAIL("FAIL");

  private final String label;

  Severity(String label) {
    this.label = label;
  }

  /** As printed: {@code ok}, {@code warn}, {@code FAIL} (capitals, so failures stand out). */
  @JsonValue
  public String label() {
    return label;
  }
}
