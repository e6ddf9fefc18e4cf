package io.apivip.lab.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LabNamesTest {

  @ParameterizedTest
  @CsvSource({
    "apivip-lab-4242-1-n1,          4242",
    "apivip-lab-4242-17-client,     4242",
    "apivip-lab-7-3-bridge,         7",
    "apivip-lab-4242-0-probe,       4242",
    "apivip-lab-x-1-n1,             -1",
    "apivip-lab-4242-n1,            -1",
    "apivip-lab-4242-1-,            -1",
    "other-4242-1-n1,               -1",
    "xapivip-lab-4242-1-n1,         -1",
    "apivip-lab-4242-1-N1,          -1",
  })
  void recognisesOnlyTheLabsOwnNamesAndTheirOwner(String namespace, long expectedPid) {
    OptionalLong owner = LabNames.ownerPid(namespace);
    assertThat(owner)
        .isEqualTo(expectedPid < 0 ? OptionalLong.empty() : OptionalLong.of(expectedPid));
  }

  @ParameterizedTest
  @CsvSource({
    "'apivip-lab-1-2-n1 (id: 3)', apivip-lab-1-2-n1",
    "'apivip-lab-1-2-n1',         apivip-lab-1-2-n1",
    "'  blue  ',                  blue",
  })
  void readsTheNameOutOfIpNetnsList(String line, String namespace) {
    assertThat(LabNames.namespaceOfListLine(line)).isEqualTo(namespace);
  }

  @ParameterizedTest
  @CsvSource({"4242, 1", "1, 99"})
  void aLabsPrefixNamesItsOwner(long pid, int lab) {
    assertThat(LabNames.ownerPid(LabNames.labPrefix(pid, lab) + "n1")).hasValue(pid);
  }
}
