package io.apivip.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * man apivip documents every command and option that {@code apivip --help} offers, and no other
 * command.
 */
class ManPageTest {

  private static final Pattern COMMAND_LINE = Pattern.compile("^  ([a-z][a-z-]*)\\s{2,}.*");
  private static final Pattern LONG_OPTION = Pattern.compile("--[a-z][a-z-]*");
  private static final Set<String> GLOBAL_OPTIONS = Set.of("--help", "--version");

  @TempDir static Path dir;
  static Path launcher;

  /** The man page's source with roff escapes for "-" and fonts removed. */
  static String manPage;

  @BeforeAll
  static void unpack() throws IOException {
    Path root = DebPackage.unpack(dir);
    launcher = root.resolve("usr/bin/apivip");
    try (InputStream in =
        new GZIPInputStream(Files.newInputStream(root.resolve("usr/share/man/man1/apivip.1.gz")))) {
      manPage =
          new String(in.readAllBytes(), StandardCharsets.UTF_8)
              .replace("\\-", "-")
              .replaceAll("\\\\f[BIRP]", "");
    }
  }

  @Test
  void everyCommandAndEachOfItsOptionsIsDocumented() {
    Set<String> commands = commandsInHelp();
    assertThat(commands).contains("run", "check-config", "gen-key", "version");

    for (String command : commands) {
      String entry = entryFor(command);
      assertThat(entry).as("man page entry for " + command).isNotEmpty();
      Host.Result help = Host.run(List.of(launcher.toString(), "help", command));
      assertThat(help.exitCode()).as(help.describe()).isZero();
      Matcher options = LONG_OPTION.matcher(help.stdout());
      while (options.find()) {
        // --help and --version work everywhere and are documented once, under OPTIONS.
        String where = GLOBAL_OPTIONS.contains(options.group()) ? manPage : entry;
        assertThat(where)
            .as(command + " " + options.group() + " in the man page")
            .contains(options.group());
      }
    }
    // And nothing else: a command that left the product (the demo went to demo/) leaves the manual.
    List<String> stale = new ArrayList<>(commandsInManPage());
    stale.removeAll(commands);
    assertThat(stale).as("commands in the man page that apivip --help does not offer").isEmpty();
  }

  @Test
  void theManPageCarriesThePackageVersion() {
    assertThat(manPage.lines().filter(line -> line.startsWith(".TH")).findFirst())
        .hasValueSatisfying(title -> assertThat(title).contains("apivip " + DebPackage.version()));
  }

  private static Set<String> commandsInHelp() {
    Host.Result help = Host.run(List.of(launcher.toString(), "--help"));
    assertThat(help.exitCode()).as(help.describe()).isZero();
    Set<String> commands = new LinkedHashSet<>();
    boolean inCommands = false;
    for (String line : help.stdout().split("\n")) {
      if (line.equals("Commands:")) {
        inCommands = true;
      } else if (inCommands && line.isBlank()) {
        break;
      } else if (inCommands) {
        Matcher command = COMMAND_LINE.matcher(line);
        if (command.matches()) {
          commands.add(command.group(1));
        }
      }
    }
    return commands;
  }

  /** The COMMANDS entries: ".TP" then ".B name" or ".BR name ...". */
  private static List<String> commandsInManPage() {
    List<String> names = new ArrayList<>();
    List<String> lines = manPage.lines().toList();
    for (int i = 0; i + 1 < lines.size(); i++) {
      if (lines.get(i).equals(".TP") && lines.get(i + 1).matches("\\.BR? [a-z][a-z-]*.*")) {
        names.add(lines.get(i + 1).split(" ")[1]);
      }
    }
    return names;
  }

  /** The text of the man page's ".TP" entry whose tag starts with the command's name, or "". */
  private static String entryFor(String command) {
    List<String> lines = manPage.lines().toList();
    for (int i = 0; i + 1 < lines.size(); i++) {
      if (lines.get(i).equals(".TP")
          && lines.get(i + 1).matches("\\.BR? " + Pattern.quote(command) + "( .*)?")) {
        StringBuilder entry = new StringBuilder();
        for (int j = i + 1; j < lines.size() && !lines.get(j).matches("\\.(TP|PP|SH)( .*)?"); j++) {
          entry.append(lines.get(j)).append('\n');
        }
        return entry.toString();
      }
    }
    return "";
  }
}
