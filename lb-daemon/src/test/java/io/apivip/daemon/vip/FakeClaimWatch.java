package io.apivip.daemon.vip;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A claim watch in memory: the test hands it claims as the LAN would, and reads when it was open
 * and when it probed, in virtual milliseconds.
 */
final class FakeClaimWatch implements ClaimWatch {

  private final FakeScheduler clock;
  private Consumer<Claims.Claim> sink;
  private boolean open;

  /** When set, opening a watch fails with it. */
  KernelException broken;

  /** "watch@0", "probe@5000", "close@7000". */
  final List<String> journal = new ArrayList<>();

  FakeClaimWatch(FakeScheduler clock) {
    this.clock = clock;
  }

  @Override
  public Watching watch(VipAddress vip, Consumer<Claims.Claim> claims) throws KernelException {
    if (broken != null) {
      throw broken;
    }
    journal.add("watch@" + clock.millis());
    sink = claims;
    open = true;
    return new Watching() {
      @Override
      public void probe() {
        journal.add("probe@" + clock.millis());
      }

      @Override
      public void close() {
        journal.add("close@" + clock.millis());
        open = false;
      }
    };
  }

  /**
   * A frame claiming the VIP reaches the interface; like the real watch, it is delivered only while
   * a watch is open.
   */
  void claim(Claims.Kind kind, String mac) {
    if (open) {
      sink.accept(new Claims.Claim(kind, mac));
    }
  }

  boolean open() {
    return open;
  }
}
