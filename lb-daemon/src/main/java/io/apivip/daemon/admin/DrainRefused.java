package io.apivip.daemon.admin;

import java.util.List;

/** A drain the node refused, with the reasons: the admin API answers 409 and names them. */
public final class DrainRefused extends RuntimeException {

  private final List<String> reasons;

  public DrainRefused(List<String> reasons) {
    super("drain refused: " + String.join("; ", reasons));
    this.reasons = List.copyOf(reasons);
  }

  public List<String> reasons() {
    return reasons;
  }
}
