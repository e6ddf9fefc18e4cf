package io.apivip.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Debian's own checks of the package. A warning fails the test as an error does: either fix it or
 * accept it, with the reason, in src/deb/lintian/apivip (installed as the package's overrides).
 */
class LintianTest {

  @Test
  void lintianReportsNoErrorAndNoWarning() {
    Host.require("lintian", "lintian");

    Host.Result result =
        Host.run(
            List.of(
                "lintian", "--fail-on", "error,warning", "--info", DebPackage.file().toString()));

    System.out.print(result.stdout());
    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout().lines())
        .as(result.describe())
        .noneMatch(line -> line.startsWith("E:") || line.startsWith("W:"));
  }
}
