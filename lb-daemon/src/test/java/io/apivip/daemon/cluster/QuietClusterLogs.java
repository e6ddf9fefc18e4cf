package io.apivip.daemon.cluster;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Simulations run thousands of nodes, which would log millions of lines: errors only, for the
 * class.
 */
final class QuietClusterLogs implements BeforeAllCallback, AfterAllCallback {

  private static final Logger LOGGER = (Logger) LoggerFactory.getLogger("io.apivip.daemon.cluster");
  private Level previous;

  @Override
  public void beforeAll(ExtensionContext context) {
    previous = LOGGER.getLevel();
    LOGGER.setLevel(Level.ERROR);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    LOGGER.setLevel(previous);
  }
}
