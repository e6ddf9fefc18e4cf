package io.apivip.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VipMovesTest {

  @Test
  void aVipThatStaysPutNeverMoved() {
    assertThat(VipMoves.count(List.of(Set.of("n1"), Set.of("n1"), Set.of("n1")))).isZero();
  }

  @Test
  void eachNewHolderIsOneMove() {
    assertThat(VipMoves.count(List.of(Set.of("n1"), Set.of("n2"), Set.of("n2"), Set.of("n1"))))
        .isEqualTo(2);
  }

  @Test
  void aGapWithoutHolderCountsOnlyWhenTheVipComesBackElsewhere() {
    assertThat(VipMoves.count(List.of(Set.of("n1"), Set.of(), Set.of("n1")))).isZero();
    assertThat(VipMoves.count(List.of(Set.of("n1"), Set.of(), Set.of(), Set.of("n3"))))
        .isEqualTo(1);
  }

  @Test
  void twoHoldersAtOnceAreOneMoveToTheNewcomer() {
    assertThat(VipMoves.count(List.of(Set.of("n1"), Set.of("n1", "n2"), Set.of("n2"))))
        .isEqualTo(1);
    assertThat(VipMoves.count(List.of(Set.of("n1"), Set.of("n1", "n2"), Set.of("n1"))))
        .isEqualTo(1);
  }

  @Test
  void noSamplesNoMoves() {
    assertThat(VipMoves.count(List.of())).isZero();
    assertThat(VipMoves.count(List.of(Set.of(), Set.of("n2")))).isZero();
  }
}
