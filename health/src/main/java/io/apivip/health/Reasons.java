package io.apivip.health;

import io.netty.handler.codec.DecoderException;
import java.time.Duration;

/** Turns what went wrong into the short text that events and logs carry. */
final class Reasons {

  private Reasons() {}

  /**
   * {@code SimpleClassName: message} of the exception that explains the failure: Netty's wrappers
   * (a decoder exception around a TLS error) are peeled off, and Netty's private subclasses are
   * named by their public parent ({@code ConnectException}, not {@code AnnotatedConnectException}).
   */
  static String describe(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof DecoderException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    Class<?> type = cause.getClass();
    while (type.getEnclosingClass() != null && type.getSuperclass() != null) {
      type = type.getSuperclass();
    }
    String message = cause.getMessage();
    return message == null || message.isBlank()
        ? type.getSimpleName()
        : type.getSimpleName() + ": " + message;
  }

  /** {@code 1s}, {@code 250ms}, {@code 1.5s}. */
  static String duration(Duration duration) {
    long millis = duration.toMillis();
    if (millis < 1000) {
      return millis + "ms";
    }
    return millis % 1000 == 0
        ? millis / 1000 + "s"
        : String.format(java.util.Locale.ROOT, "%.1fs", millis / 1000.0);
  }

  /**
   * The part of a failed response body worth a log line: kube-apiserver lists its failed checks as
   * {@code [-]name failed: ...}; otherwise the first line, cut short.
   */
  static String summarize(String body) {
    StringBuilder failedChecks = new StringBuilder();
    for (String line : body.split("\n")) {
      if (line.startsWith("[-]")) {
        failedChecks.append(failedChecks.length() == 0 ? "" : "; ").append(line.trim());
      }
    }
    String summary =
        failedChecks.length() > 0
            ? failedChecks.toString()
            : body.strip().lines().findFirst().orElse("");
    return summary.length() > 200 ? summary.substring(0, 200) + "..." : summary;
  }
}
