package io.apivip.lab.netns;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class NetnsSupportTest {

  @Test
  void withNamespacesTheTestRuns() {
    assertThatCode(() -> NetnsSupport.verdict("", true)).doesNotThrowAnyException();
    assertThatCode(() -> NetnsSupport.verdict("", false)).doesNotThrowAnyException();
  }

  @Test
  void withoutThemTheTestIsSkippedWithTheReason() {
    assertThatThrownBy(() -> NetnsSupport.verdict("not running as root", false))
        .isInstanceOf(TestAbortedException.class)
        .hasMessageContaining("not running as root")
        .hasMessageContaining("-Dapivip.netns.required=true");
  }

  @Test
  void withoutThemButRequiredAsInCiTheTestFails() {
    assertThatThrownBy(() -> NetnsSupport.verdict("not running as root", true))
        .isInstanceOf(AssertionFailedError.class)
        .hasMessageContaining("not running as root")
        .hasMessageContaining("failure, not a skip");
  }
}
