package io.apivip.health;

/**
 * Hears every state change of every backend, exactly once, in order. Called on the monitor's own
 * thread ({@code apivip-health}), never on an event loop: hand work that may block to another
 * thread.
 */
@FunctionalInterface
public interface HealthListener {
  void onTransition(HealthEvent event);
}
