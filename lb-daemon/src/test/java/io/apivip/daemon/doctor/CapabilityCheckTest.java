package io.apivip.daemon.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.doctor.CapabilityCheck.Capability;
import io.apivip.daemon.doctor.CapabilityCheck.Sources;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CapabilityCheckTest {

  /** /proc/PID/status of a process with exactly the unit's two capabilities (bits 12, 13). */
  static final String DAEMON_STATUS =
      """
      Name:	java
      Umask:	0077
      State:	S (sleeping)
      Uid:	998	998	998	998
      CapInh:	0000000000003000
      CapPrm:	0000000000003000
      CapEff:	0000000000003000
      CapBnd:	0000000000003000
      CapAmb:	0000000000003000
      NoNewPrivs:	1
      """;

  static final String UNIT =
      """
      [Unit]
      Description=apivip
      [Service]
      User=apivip
      AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW
      CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
      """;

  /** What the daemon needs when it listens on no port below 1024. */
  static final Set<Capability> STOCK = CapabilityCheck.needed(Optional.empty());

  @TempDir Path dir;

  @Test
  void readsTheEffectiveSetFromProcStatus() {
    assertThat(
            CapabilityCheck.missing(CapabilityCheck.effective(DAEMON_STATUS).orElseThrow(), STOCK))
        .isEmpty();
    assertThat(
            CapabilityCheck.missing(
                CapabilityCheck.effective(
                        DAEMON_STATUS.replace(
                            "CapEff:\t0000000000003000", "CapEff:\t0000000000001000"))
                    .orElseThrow(),
                EnumSet.allOf(Capability.class)))
        .containsExactly(Capability.CAP_NET_RAW, Capability.CAP_NET_BIND_SERVICE);
    assertThat(
            CapabilityCheck.missing(
                CapabilityCheck.effective("CapEff:\t000001ffffffffff\n").orElseThrow(),
                EnumSet.allOf(Capability.class)))
        .isEmpty();
    assertThat(CapabilityCheck.effective("Name:\tjava\n")).isEmpty();
  }

  @Test
  void readsWhatAUnitAndItsDropInsGrant() {
    EnumSet<Capability> all = EnumSet.allOf(Capability.class);
    assertThat(CapabilityCheck.granted(List.of(UNIT))).contains(STOCK);
    assertThat(
            CapabilityCheck.granted(
                List.of(
                    UNIT, "[Service]\nAmbientCapabilities=\nAmbientCapabilities=CAP_NET_ADMIN\n")))
        .contains(EnumSet.of(Capability.CAP_NET_ADMIN));
    assertThat(
            CapabilityCheck.granted(
                List.of(
                    UNIT,
                    "[Service]\nCapabilityBoundingSet=\nCapabilityBoundingSet=CAP_NET_RAW\n")))
        .contains(EnumSet.of(Capability.CAP_NET_RAW));
    assertThat(CapabilityCheck.granted(List.of("[Service]\nExecStart=/usr/bin/apivip run\n")))
        .contains(all);
    assertThat(
            CapabilityCheck.granted(
                List.of(UNIT, "[Service]\nAmbientCapabilities=~CAP_SYS_ADMIN\n")))
        .isEmpty();
  }

  Sources sources(
      Optional<String> pid, String procStatus, Optional<String> unit, Optional<String> dropIn)
      throws Exception {
    Path procs = dir.resolve("cgroup.procs");
    pid.ifPresent(p -> write(procs, p + "\n"));
    Path proc = dir.resolve("proc");
    write(proc.resolve(pid.orElse("self")).resolve("status"), procStatus);
    Path unitFile = dir.resolve("lib/apivip.service");
    unit.ifPresent(text -> write(unitFile, text));
    Path dropIns = dir.resolve("etc/apivip.service.d");
    dropIn.ifPresent(text -> write(dropIns.resolve("override.conf"), text));
    return new Sources(
        Optional::empty,
        List.of(dir.resolve("absent/cgroup.procs"), procs),
        proc,
        List.of(dir.resolve("etc/apivip.service"), unitFile),
        List.of(dropIns));
  }

  static void write(Path file, String text) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, text);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void theRunningDaemonWithoutCapNetRawFails() throws Exception {
    String status = DAEMON_STATUS.replace("CapEff:\t0000000000003000", "CapEff:\t0000000000001400");
    assertThat(
            CapabilityCheck.check(
                sources(Optional.of("4242"), status, Optional.of(UNIT), Optional.empty()), STOCK))
        .containsExactly(
            Finding.fail(
                "capabilities",
                "the running daemon (pid 4242) lacks CAP_NET_RAW (needed to announce the VIP):"
                    + " check AmbientCapabilities= in systemctl cat apivip (a drop-in may override"
                    + " the packaged unit), then run sudo systemctl restart apivip"));
  }

  @Test
  void theRunningDaemonWithItsCapabilitiesPasses() throws Exception {
    assertThat(
            CapabilityCheck.check(
                sources(Optional.of("4242"), DAEMON_STATUS, Optional.empty(), Optional.empty()),
                STOCK))
        .containsExactly(
            Finding.ok(
                "capabilities", "the running daemon (pid 4242) has CAP_NET_ADMIN, CAP_NET_RAW"));
  }

  @Test
  void systemdsMainPidFindsTheDaemonWhereNoCgroupFileListsIt() throws Exception {
    Sources cgroupSays =
        sources(Optional.of("4242"), DAEMON_STATUS, Optional.of(UNIT), Optional.empty());
    // As in a systemd-nspawn container on a hybrid host: the cgroup files are there, but empty.
    write(dir.resolve("cgroup.procs"), "");
    Sources systemdSays =
        new Sources(
            () -> Optional.of("4242"),
            cgroupSays.serviceProcesses(),
            cgroupSays.proc(),
            cgroupSays.units(),
            cgroupSays.dropIns());

    assertThat(CapabilityCheck.check(systemdSays, STOCK))
        .containsExactly(
            Finding.ok(
                "capabilities", "the running daemon (pid 4242) has CAP_NET_ADMIN, CAP_NET_RAW"));
  }

  @Test
  void whenNotRunningADropInThatDropsACapabilityFails() throws Exception {
    List<Finding> findings =
        CapabilityCheck.check(
            sources(
                Optional.empty(),
                DAEMON_STATUS,
                Optional.of(UNIT),
                Optional.of("[Service]\nAmbientCapabilities=\n")),
            STOCK);
    assertThat(findings)
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.FAIL);
              assertThat(f.message())
                  .startsWith(
                      "apivip.service (not running; from "
                          + dir.resolve("lib/apivip.service")
                          + " and its drop-ins)"
                          + " lacks CAP_NET_ADMIN, CAP_NET_RAW")
                  .contains("grant AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW (and");
            });
  }

  @Test
  void withoutServiceOrUnitThisProcessIsJudgedAsAHint() throws Exception {
    List<Finding> findings =
        CapabilityCheck.check(
            sources(
                Optional.empty(),
                "CapEff:\t0000000000000000\n",
                Optional.empty(),
                Optional.empty()),
            EnumSet.allOf(Capability.class));
    assertThat(findings)
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(Severity.WARN);
              assertThat(f.message())
                  .startsWith("apivip.service is not installed; this process (user ")
                  .endsWith(
                      "lacks CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE (needed to add and"
                          + " remove the VIP, announce the VIP, listen on a port below 1024): run"
                          + " the daemon as root, or with those capabilities as the packaged unit"
                          + " does");
            });
  }

  @Test
  void aPortBelow1024NeedsCapNetBindServiceWhichTheStockUnitDoesNotGrant() throws Exception {
    assertThat(STOCK).containsExactly(Capability.CAP_NET_ADMIN, Capability.CAP_NET_RAW);
    List<Finding> findings =
        CapabilityCheck.check(
            sources(Optional.empty(), DAEMON_STATUS, Optional.of(UNIT), Optional.empty()),
            EnumSet.allOf(Capability.class));
    assertThat(findings).extracting(Finding::severity).containsExactly(Severity.FAIL);
    assertThat(findings.get(0).message())
        .contains(
            "lacks CAP_NET_BIND_SERVICE (needed to listen on a port below 1024): grant"
                + " AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE");
  }

  @Test
  void theConfigurationsLowestPortDecidesWhetherCapNetBindServiceIsNeeded() throws Exception {
    List<InetSocketAddress> apiservers = List.of(new InetSocketAddress("192.0.2.11", 16443));
    Path stock = DoctorLab.config(dir, apiservers, "");
    assertThat(CapabilityCheck.needed(Optional.of(DoctorLab.settings(stock)))).isEqualTo(STOCK);
    Path https =
        DoctorLab.config(
            dir, apiservers, "proxy.listeners = [ { address = \"vip\", port = 443 } ]");
    assertThat(CapabilityCheck.needed(Optional.of(DoctorLab.settings(https))))
        .isEqualTo(EnumSet.allOf(Capability.class));
  }
}
