package io.apivip.health;

import java.util.concurrent.CompletableFuture;

/** Runs one check of a backend. {@link NettyProber} is the real one; tests script their own. */
public interface Prober {

  /**
   * Starts a check and returns at once. The future always completes normally, within the check's
   * timeout plus scheduling slack; a failure is a {@link CheckResult} that says why.
   */
  CompletableFuture<CheckResult> probe(Backend backend);
}
