package io.apivip.daemon.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Records the leak reports of Netty's leak detector (PARANOID in tests), which it only logs. A
 * report appears once a leaked buffer has been garbage collected and a later buffer is allocated,
 * so {@link #reports} collects garbage and allocates before it reads them.
 */
final class LeakWatch implements AutoCloseable {

  private final Logger detectorLogger =
      (Logger) LoggerFactory.getLogger(ResourceLeakDetector.class);
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  LeakWatch() {
    appender.start();
    detectorLogger.addAppender(appender);
  }

  /**
   * The leak reports logged so far, after giving the detector a few chances to find leaked buffers.
   */
  List<String> reports() throws InterruptedException {
    for (int round = 0; round < 5; round++) {
      System.gc();
      Thread.sleep(20);
      for (int i = 0; i < 100; i++) {
        ByteBuf probe = ByteBufAllocator.DEFAULT.directBuffer(16);
        probe.release();
        ByteBuf heapProbe = ByteBufAllocator.DEFAULT.heapBuffer(16);
        heapProbe.release();
      }
    }
    synchronized (appender) {
      return appender.list.stream()
          .map(ILoggingEvent::getFormattedMessage)
          .filter(message -> message.contains("LEAK"))
          .toList();
    }
  }

  @Override
  public void close() {
    detectorLogger.detachAppender(appender);
    appender.stop();
  }
}
