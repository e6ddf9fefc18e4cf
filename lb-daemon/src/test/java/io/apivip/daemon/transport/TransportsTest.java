package io.apivip.daemon.transport;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.apivip.daemon.transport.Transports.Kind;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class TransportsTest {

  @Test
  void autoIsEpollWhereItIsAvailableAndNioElsewhere() {
    assertThat(Transports.configured(Optional.empty(), kind -> true).kind()).isEqualTo(Kind.EPOLL);
    assertThat(Transports.configured(Optional.empty(), kind -> kind == Kind.NIO).kind())
        .isEqualTo(Kind.NIO);
  }

  @Test
  void aNamedTransportIsUsedWhenAvailable() {
    for (Kind kind : Kind.values()) {
      assertThat(Transports.configured(Optional.of(kind), k -> true).kind()).isEqualTo(kind);
    }
  }

  @Test
  void anUnavailableTransportFallsBackToAutoWithAWarning() {
    Logger logger = (Logger) LoggerFactory.getLogger(Transports.class);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
    try {
      Transports chosen =
          Transports.configured(Optional.of(Kind.IO_URING), kind -> kind != Kind.IO_URING);
      assertThat(chosen.kind()).isEqualTo(Kind.EPOLL);
      assertThat(logs.list)
          .extracting(ILoggingEvent::getFormattedMessage)
          .anyMatch(line -> line.startsWith("transport io_uring is not available here"));
    } finally {
      logger.detachAppender(logs);
    }
  }

  @Test
  void configNamesRoundTrip() {
    for (Kind kind : Kind.values()) {
      assertThat(Kind.fromConfigName(kind.configName())).contains(kind);
    }
    assertThat(Kind.fromConfigName("auto")).isEmpty();
    assertThat(Kind.fromConfigName("IO_URING")).isEmpty();
  }

  @Test
  void onlyNioCannotFreeBind() {
    assertThat(Transports.of(Kind.NIO).freeBind()).isEmpty();
    assertThat(Transports.of(Kind.EPOLL).freeBind()).isPresent();
    assertThat(Transports.of(Kind.IO_URING).freeBind()).isPresent();
  }
}
