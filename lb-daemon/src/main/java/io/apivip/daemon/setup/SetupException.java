package io.apivip.daemon.setup;

/**
 * Why {@code apivip setup} will not start, found before its first change: the message says what is
 * wrong and what to do, and nothing on the node has changed.
 */
public final class SetupException extends Exception {
  public SetupException(String message) {
    super(message);
  }
}
