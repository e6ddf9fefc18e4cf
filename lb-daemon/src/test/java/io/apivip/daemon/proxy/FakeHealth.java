package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings.Backend;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Health as a test says it is, recording the passive signals the proxy sends back. */
final class FakeHealth implements BackendHealth {

  private final Set<Backend> down = ConcurrentHashMap.newKeySet();
  final List<Backend> connectFailures = new CopyOnWriteArrayList<>();

  void markDown(Backend backend) {
    down.add(backend);
  }

  void markUp(Backend backend) {
    down.remove(backend);
  }

  @Override
  public boolean isUp(Backend backend) {
    return !down.contains(backend);
  }

  @Override
  public void connectFailed(Backend backend, Throwable cause) {
    connectFailures.add(backend);
  }
}
