package io.apivip.daemon.doctor;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * How bad a finding is. Only {@link #FAIL} makes {@code apivip doctor} exit 1; {@link #INFO} is a
 * fact worth knowing that asks for nothing (which MicroK8s version runs, who holds the VIP).
 */
public enum Severity {
  INFO("info"),
  OK("ok"),
  WARN("warn"),
  FAIL("FAIL");

  private final String label;

  Severity(String label) {
    this.label = label;
  }

  /**
   * As printed: {@code info}, {@code ok}, {@code warn}, {@code FAIL} (capitals, so failures stand
   * out).
   */
  @JsonValue
  public String label() {
    return label;
  }
}
