package io.apivip.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class EligibilityTest {

  private static final Duration SETTLE = Duration.ofSeconds(2);

  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final Eligibility eligibility = new Eligibility(SETTLE, now::get);

  private void advance(Duration duration) {
    now.addAndGet(duration.toNanos());
  }

  /** The holder, whose VIP part works, with no apiserver routable. */
  private Eligibility.Verdict holderUnroutable(boolean anotherQualifies) {
    return eligibility.judge(false, true, true, anotherQualifies);
  }

  @Test
  void eligibleWhileRoutableAndTheVipWorks() {
    assertThat(eligibility.judge(true, true, false, true)).isEqualTo(new Eligibility.Verdict(true, Optional.empty()));
    assertThat(eligibility.judge(true, false, true, true).eligible()).as("VIP part broken").isFalse();
  }

  @Test
  void aNodeThatDoesNotHoldTheVipIsIneligibleAtOnceWhenNothingIsRoutable() {
    assertThat(eligibility.judge(false, true, false, false)).isEqualTo(new Eligibility.Verdict(false, Optional.empty()));
    assertThat(eligibility.judge(false, true, false, true)).isEqualTo(new Eligibility.Verdict(false, Optional.empty()));
  }

  @Test
  void theHolderKeepsTheVipWhileNoOtherNodeQualifiesAndLooksAgainMeanwhile() {
    for (int i = 0; i < 100; i++) {
      assertThat(holderUnroutable(false)).isEqualTo(new Eligibility.Verdict(true, Optional.of(Eligibility.POLL)));
      advance(Duration.ofSeconds(1));
    }
  }

  @Test
  void theHolderAloneWithoutApiserversGivesTheVipUpASettleTimeAfterAnotherNodeCanTakeIt() {
    assertThat(holderUnroutable(true).eligible()).isTrue();
    advance(Duration.ofMillis(1950));
    assertThat(holderUnroutable(true)).isEqualTo(new Eligibility.Verdict(true, Optional.of(Duration.ofMillis(50))));
    advance(Duration.ofMillis(50));
    assertThat(holderUnroutable(true).eligible()).isFalse();
    advance(Duration.ofSeconds(10));
    assertThat(holderUnroutable(true).eligible()).isFalse();
  }

  @Test
  void whenEveryNodeLosesTheApiserversTheHolderThatSawItFirstKeepsTheVip() {
    holderUnroutable(true);
    advance(Duration.ofMillis(600));
    holderUnroutable(true);
    advance(Duration.ofMillis(600));
    // The others have seen it too by now.
    assertThat(holderUnroutable(false).eligible()).isTrue();
    advance(Duration.ofSeconds(30));
    assertThat(holderUnroutable(false).eligible()).isTrue();
  }

  @Test
  void whenTheApiserversComeBackANodeThatSeesItFirstDoesNotTakeTheVip() {
    holderUnroutable(false);
    advance(Duration.ofSeconds(30));
    // Another node sees an apiserver again 300 ms before this one does.
    assertThat(holderUnroutable(true).eligible()).isTrue();
    advance(Duration.ofMillis(300));
    assertThat(holderUnroutable(true).eligible()).isTrue();
    assertThat(eligibility.judge(true, true, true, true)).isEqualTo(new Eligibility.Verdict(true, Optional.empty()));
  }

  @Test
  void aHolderThatGaveUpIsEligibleAgainOnceNoOtherNodeQualifies() {
    holderUnroutable(true);
    advance(SETTLE);
    assertThat(holderUnroutable(true).eligible()).isFalse();
    assertThat(holderUnroutable(false).eligible()).as("no node could serve better").isTrue();
  }

  @Test
  void aHolderWhoseVipPartFailsIsIneligibleAtOnce() {
    holderUnroutable(false);
    assertThat(eligibility.judge(false, false, true, false).eligible()).isFalse();
  }
}
