package io.apivip.daemon.vip;

/**
 * What the VIP's interface looks like now.
 *
 * @param exists the interface exists
 * @param up administratively up
 * @param carrier has a link (LOWER_UP)
 * @param present the VIP, with its prefix length, is on it
 */
record LinkState(boolean exists, boolean up, boolean carrier, boolean present) {

  static final LinkState MISSING = new LinkState(false, false, false, false);

  /** Whether traffic for the VIP can flow through this interface. */
  boolean usable() {
    return exists && up && carrier;
  }

  /**
   * Why the interface cannot carry the VIP, for the log; only meaningful when not {@link
   * #usable()}.
   */
  String problem(String interfaceName) {
    if (!exists) {
      return "interface " + interfaceName + " does not exist";
    }
    return "interface " + interfaceName + (up ? " has no carrier" : " is down");
  }
}
