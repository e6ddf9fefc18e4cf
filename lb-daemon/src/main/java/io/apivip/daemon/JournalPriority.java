package io.apivip.daemon;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * The syslog priority prefix ({@code <4>} for a warning) that journald reads from the start of a
 * line a service writes, so that {@code journalctl -p warning} shows apivip's warnings and errors.
 * Without it every line lands at journald's default priority, info. Used by the journal pattern of
 * {@link Logging} as {@code %journalPriority}.
 */
public final class JournalPriority extends ClassicConverter {

  @Override
  public String convert(ILoggingEvent event) {
    return prefix(event.getLevel());
  }

  static String prefix(Level level) {
    return switch (level.toInt()) {
      case Level.ERROR_INT -> "<3>";
      case Level.WARN_INT -> "<4>";
      case Level.INFO_INT -> "<6>";
      default -> "<7>";
    };
  }
}
