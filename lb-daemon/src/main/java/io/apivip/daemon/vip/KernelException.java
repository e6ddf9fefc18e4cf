package io.apivip.daemon.vip;

/**
 * The kernel (or {@code ip}) refused or failed a VIP operation; {@link #kind} says what to tell the
 * operator.
 */
final class KernelException extends Exception {

  enum Kind {
    /** Missing CAP_NET_ADMIN (addresses) or CAP_NET_RAW (announcements). */
    NO_PERMISSION,
    NO_SUCH_INTERFACE,
    FAILED
  }

  private final Kind kind;

  KernelException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  Kind kind() {
    return kind;
  }
}
