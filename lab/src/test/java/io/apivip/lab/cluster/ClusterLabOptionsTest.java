package io.apivip.lab.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The lab starts its own processes (stand-in apiserver, probe, injector) from the class path of the
 * JVM that runs it, since the apivip jar it is given carries no lab.
 */
class ClusterLabOptionsTest {

  @Test
  void theLabsProcessesRunFromTheLabsClassPathInAnyDirectory() throws Exception {
    String classPath =
        ClusterLab.Options.defaults(Path.of("apivip.jar"), Path.of("work")).labClassPath();
    assertThat(Arrays.stream(classPath.split(File.pathSeparator)))
        .allSatisfy(entry -> assertThat(Path.of(entry)).isAbsolute());

    Process injector =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                classPath,
                UdpInjector.class.getName(),
                "--repeat",
                "1")
            .directory(new File("/"))
            .redirectErrorStream(true)
            .start();
    assertThat(injector.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String output = new String(injector.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(injector.exitValue()).as(output).isZero();
    assertThat(output).contains("sent 0 datagrams");
  }
}
