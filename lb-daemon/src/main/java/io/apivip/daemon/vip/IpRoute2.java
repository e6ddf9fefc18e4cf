package io.apivip.daemon.vip;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Address management through iproute2's {@code ip} rather than RTNETLINK sockets of our own.
 *
 * <p>Why: the VIP changes hands a few times a day, so what matters is that each change is right and
 * that an operator can reproduce it by hand, not that it takes 0.1 ms instead of a few: one fork
 * and exec of {@code ip} costs about 2 to 5 ms, against a failure timeout of 500 ms before it.
 * {@code ip} speaks netlink for us, across kernel versions, with error messages operators know, and
 * it is already a dependency of every Debian system. The cost of polling the address every check
 * interval (one {@code ip -j addr show} a second) is a few milliseconds of CPU per second. The log
 * line of each change gives its time, so the choice can be revisited with numbers.
 *
 * <p>Idempotence does not depend on error texts, which differ between kernels: when an add or a
 * delete fails, the address is looked up, and if it is already as wanted the operation is
 * UNCHANGED.
 */
final class IpRoute2 implements AddressControl {

  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final List<String> LOCATIONS =
      List.of("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String ip;

  IpRoute2() {
    this.ip =
        LOCATIONS.stream()
            .filter(path -> Files.isExecutable(Path.of(path)))
            .findFirst()
            .orElse("ip");
  }

  @Override
  public Change add(VipAddress vip) throws KernelException {
    List<String> command = command(vip, "addr", "add", vip.cidr(), "dev", vip.interfaceName());
    if (vip.ipv6()) {
      command.add("nodad");
    }
    Result result = run(command);
    if (result.ok()) {
      return Change.CHANGED;
    }
    if (inspect(vip).present()) {
      return Change.UNCHANGED;
    }
    throw failure(result);
  }

  @Override
  public Change remove(VipAddress vip) throws KernelException {
    Result result = run(command(vip, "addr", "del", vip.cidr(), "dev", vip.interfaceName()));
    if (result.ok()) {
      return Change.CHANGED;
    }
    if (!inspect(vip).present()) {
      return Change.UNCHANGED;
    }
    throw failure(result);
  }

  @Override
  public LinkState inspect(VipAddress vip) throws KernelException {
    Result result =
        run(new ArrayList<>(List.of(ip, "-j", "addr", "show", "dev", vip.interfaceName())));
    if (!result.ok()) {
      KernelException failure = failure(result);
      if (failure.kind() == KernelException.Kind.NO_SUCH_INTERFACE) {
        return LinkState.MISSING;
      }
      throw failure;
    }
    try {
      return parseAddrShow(result.output(), vip);
    } catch (JsonProcessingException e) {
      throw new KernelException(
          KernelException.Kind.FAILED,
          "cannot read the output of " + result.commandLine() + ": " + e.getOriginalMessage());
    }
  }

  /** The state of the VIP's interface from {@code ip -j addr show dev IF}: an array of one link. */
  static LinkState parseAddrShow(String json, VipAddress vip) throws JsonProcessingException {
    JsonNode links = JSON.readTree(json);
    if (links == null || !links.isArray() || links.isEmpty()) {
      return LinkState.MISSING;
    }
    JsonNode link = links.get(0);
    List<String> flags = new ArrayList<>();
    link.path("flags").forEach(flag -> flags.add(flag.asText()));
    boolean present = false;
    for (JsonNode address : link.path("addr_info")) {
      present |=
          sameAddress(address.path("local").asText(), vip.address())
              && address.path("prefixlen").asInt(-1) == vip.prefixLength();
    }
    return new LinkState(true, flags.contains("UP"), flags.contains("LOWER_UP"), present);
  }

  private static boolean sameAddress(String literal, InetAddress address) {
    if (literal.isEmpty() || !(literal.contains(".") || literal.contains(":"))) {
      return false;
    }
    try {
      return InetAddress.getByName(literal).equals(address);
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private List<String> command(VipAddress vip, String... arguments) {
    List<String> command = new ArrayList<>(List.of(ip, vip.ipv6() ? "-6" : "-4"));
    command.addAll(List.of(arguments));
    return command;
  }

  private static KernelException failure(Result result) {
    String output = result.output().strip();
    String message =
        result.commandLine()
            + ": "
            + (output.isEmpty() ? "exit code " + result.exitCode() : output);
    if (output.contains("Operation not permitted")) {
      return new KernelException(
          KernelException.Kind.NO_PERMISSION, message + " (apivip needs CAP_NET_ADMIN)");
    }
    if (Stream.of("does not exist", "Cannot find device").anyMatch(output::contains)) {
      return new KernelException(KernelException.Kind.NO_SUCH_INTERFACE, message);
    }
    return new KernelException(KernelException.Kind.FAILED, message);
  }

  /**
   * Runs {@code ip} and waits for it before reading: its output for one interface is far below a
   * pipe's buffer, so it never blocks writing, and a hung {@code ip} is killed at the timeout.
   */
  private static Result run(List<String> command) throws KernelException {
    String commandLine = String.join(" ", command);
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .start();
      if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new KernelException(
            KernelException.Kind.FAILED,
            commandLine + ": no answer in " + TIMEOUT.toSeconds() + " s");
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return new Result(commandLine, process.exitValue(), output);
    } catch (IOException e) {
      throw new KernelException(KernelException.Kind.FAILED, commandLine + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KernelException(KernelException.Kind.FAILED, commandLine + ": interrupted");
    }
  }

  /**
   * {@code output} holds stdout and stderr together: on success only JSON is printed, on failure
   * only the error.
   */
  private record Result(String commandLine, int exitCode, String output) {

    boolean ok() {
      return exitCode == 0;
    }
  }
}
