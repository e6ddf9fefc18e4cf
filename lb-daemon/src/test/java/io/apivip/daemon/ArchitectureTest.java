package io.apivip.daemon;

import static com.tngtech.archunit.core.domain.JavaCall.Predicates.target;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.type;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.nameMatching;
import static com.tngtech.archunit.core.domain.properties.HasOwner.Predicates.With.owner;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import java.net.DatagramSocket;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URLConnection;
import java.nio.file.Files;

/**
 * The arrows between apivip's parts, as design.md and style.md draw them: {@code daemon} (the root
 * package) wires the parts and the CLI drives it; parts never point back at either; health knows
 * nothing of the daemon; the cluster decides without Netty; configuration reads the files it is
 * given and nothing else of the host. The product's main classes only; tests may cross.
 */
@AnalyzeClasses(packages = "io.apivip", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

  /** Every part below the root package, and the health module. */
  static final String[] PARTS = {
    "io.apivip.daemon.admin..",
    "io.apivip.daemon.cluster..",
    "io.apivip.daemon.config..",
    "io.apivip.daemon.doctor..",
    "io.apivip.daemon.proxy..",
    "io.apivip.daemon.setup..",
    "io.apivip.daemon.transport..",
    "io.apivip.daemon.version..",
    "io.apivip.daemon.vip..",
    "io.apivip.health.."
  };

  @ArchTest
  static final ArchRule healthKnowsNothingOfTheDaemon =
      noClasses()
          .that()
          .resideInAPackage("io.apivip.health..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("io.apivip.daemon..");

  /**
   * "io.apivip.daemon" without dots is the root package alone: Main, Daemon and what they wire
   * with.
   */
  @ArchTest
  static final ArchRule partsImportNeitherTheCliNorTheRootPackage =
      noClasses()
          .that()
          .resideInAnyPackage(PARTS)
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage("io.apivip.daemon.cli..", "io.apivip.daemon");

  /**
   * Its two edges, the shell that runs the node on an event loop and the UDP socket, may use Netty.
   */
  @ArchTest
  static final ArchRule theClustersDecisionsUseNoNetty =
      noClasses()
          .that()
          .resideInAPackage("io.apivip.daemon.cluster..")
          .and()
          .haveNameNotMatching(
              "io\\.apivip\\.daemon\\.cluster\\.(ClusterService|UdpTransport)(\\$.*)?")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage("io.netty..", "java.nio.channels..");

  @ArchTest
  static final ArchRule configurationOpensNoSocketAndStartsNoProcess =
      noClasses()
          .that()
          .resideInAPackage("io.apivip.daemon.config..")
          .should()
          .dependOnClassesThat(
              belongToAnyOf(
                  Socket.class,
                  ServerSocket.class,
                  DatagramSocket.class,
                  NetworkInterface.class,
                  URLConnection.class,
                  ProcessBuilder.class,
                  Process.class,
                  Runtime.class))
          .orShould()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "java.nio.channels..",
              "java.net.http..",
              "io.netty.channel..",
              "io.netty.bootstrap..",
              "com.sun.jna..");

  private static final String FILE_WRITES =
      "(write|create|delete|move|copy|set|newOutputStream|newBufferedWriter).*";

  @ArchTest
  static final ArchRule configurationWritesNoFile =
      noClasses()
          .that()
          .resideInAPackage("io.apivip.daemon.config..")
          .should()
          .callMethodWhere(target(owner(type(Files.class))).and(target(nameMatching(FILE_WRITES))));

  /** The compile-time half of packaging/deb's ShippedJarTest: no product class needs the lab. */
  @ArchTest
  static final ArchRule theProductUsesNoLab =
      noClasses()
          .that()
          .resideInAnyPackage("io.apivip.daemon..", "io.apivip.health..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("io.apivip.lab..");
}
