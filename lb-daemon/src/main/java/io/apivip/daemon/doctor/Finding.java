package io.apivip.daemon.doctor;

/**
 * One line of the doctor's answer: which check ({@code config}, {@code key}, {@code peers} ...),
 * how bad, and a message that names the thing and, when something is wrong, the fix.
 */
public record Finding(String check, Severity severity, String message) {

  static Finding info(String check, String message) {
    return new Finding(check, Severity.INFO, message);
  }

  static Finding ok(String check, String message) {
    return new Finding(check, Severity.OK, message);
  }

  static Finding warn(String check, String message) {
    return new Finding(check, Severity.WARN, message);
  }

  static Finding fail(String check, String message) {
    return new Finding(check, Severity.FAIL, message);
  }
}
