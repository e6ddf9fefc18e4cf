package io.apivip.daemon;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import java.util.Locale;
import org.slf4j.LoggerFactory;

/** Log format and level: one line per event, without a timestamp when the journal adds its own. */
public final class Logging {

  /**
   * journald adds the time; the priority prefix sets each line's priority (see {@link
   * JournalPriority}).
   */
  private static final String JOURNAL_PATTERN = "%journalPriority%-5level %logger{0}: %msg%n";

  private static final String TERMINAL_PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0}: %msg%n";

  private Logging() {}

  /** Must run before the first logger is created. */
  public static void chooseFormat() {
    boolean journal = System.getenv("JOURNAL_STREAM") != null;
    System.setProperty("apivip.log.pattern", journal ? JOURNAL_PATTERN : TERMINAL_PATTERN);
  }

  /** Sets the level of apivip's loggers and the root; accepts error, warn, info, debug, trace. */
  public static void setLevel(String level) {
    Level parsed = Level.toLevel(level.toUpperCase(Locale.ROOT), null);
    if (parsed == null) {
      throw new IllegalArgumentException(
          "unknown log level '" + level + "': expected error, warn, info, debug or trace");
    }
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).setLevel(parsed);
  }
}
