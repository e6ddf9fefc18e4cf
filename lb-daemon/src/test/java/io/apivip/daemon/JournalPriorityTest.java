package io.apivip.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import org.junit.jupiter.api.Test;

class JournalPriorityTest {

  @Test
  void eachLevelMapsToItsSyslogPriority() {
    assertThat(JournalPriority.prefix(Level.ERROR)).isEqualTo("<3>");
    assertThat(JournalPriority.prefix(Level.WARN)).isEqualTo("<4>");
    assertThat(JournalPriority.prefix(Level.INFO)).isEqualTo("<6>");
    assertThat(JournalPriority.prefix(Level.DEBUG)).isEqualTo("<7>");
    assertThat(JournalPriority.prefix(Level.TRACE)).isEqualTo("<7>");
  }
}
