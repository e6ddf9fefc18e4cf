package io.apivip.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.apivip.daemon.Main;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every {@code apivip} command that the README and the guide write in code (spans and blocks)
 * exists, with every option written after it: a renamed command or flag fails here, not in an
 * operator's shell. (lab/nodes/runbook.sh runs the guide's blocks on booted nodes; this also covers
 * the commands written in the prose and tables.)
 */
class DocumentedCommandsTest {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  /**
   * Inline code spans, and fenced blocks: shell ones whole, others (output) only in their "$ "
   * lines.
   */
  static final Pattern CODE =
      Pattern.compile("(?s)```(sh|bash|shell)?[a-z]*\\n(.*?)```|`([^`\\n]+)`");

  static final Pattern PROMPT = Pattern.compile("(?m)^\\$ .*$");

  /**
   * "apivip WORD ..." where a command starts: at the start of a span or line, after sudo, a shell
   * operator, "$ " or "(", up to the end of that command.
   */
  static final Pattern COMMAND =
      Pattern.compile(
          "(?m)(?:^|(?<=sudo )|(?<=&& )|(?<=\\| )|(?<=; )|(?<=\\$ )|(?<=\\())"
              + "apivip ([a-z][a-z-]*)([^\\n&|;)#]*)");

  static final Pattern OPTION = Pattern.compile("(?<![\\w-])(--?[a-zA-Z][\\w-]*)");

  record Use(Path document, String command, String subcommand, List<String> options) {}

  static List<Use> uses(Path document) throws IOException {
    List<Use> uses = new ArrayList<>();
    Matcher code = CODE.matcher(Files.readString(document));
    while (code.find()) {
      String text;
      if (code.group(3) != null) {
        text = code.group(3);
      } else if (code.group(1) != null) {
        text = code.group(2);
      } else {
        text =
            String.join("\n", PROMPT.matcher(code.group(2)).results().map(m -> m.group()).toList());
      }
      Matcher command = COMMAND.matcher(text);
      while (command.find()) {
        List<String> options = new ArrayList<>();
        Matcher option = OPTION.matcher(command.group(2));
        while (option.find()) {
          options.add(option.group(1));
        }
        uses.add(new Use(document, command.group(0).strip(), command.group(1), options));
      }
    }
    return uses;
  }

  @Test
  void everyDocumentedCommandAndOptionExists() throws IOException {
    CommandLine apivip = Main.commandLine();
    Set<String> seen = new LinkedHashSet<>();
    for (Path document : List.of(ROOT.resolve("README.md"), ROOT.resolve("docs/microk8s.md"))) {
      List<Use> uses = uses(document);
      assertThat(uses).as(document + " writes apivip commands").isNotEmpty();
      System.out.printf("%s: %d apivip commands checked%n", document.getFileName(), uses.size());
      for (Use use : uses) {
        CommandLine sub = apivip.getSubcommands().get(use.subcommand());
        assertThat(sub)
            .as(document.getFileName() + ": `" + use.command() + "`: no such command")
            .isNotNull();
        for (String option : use.options()) {
          assertThat(sub.getCommandSpec().findOption(option))
              .as(
                  document.getFileName()
                      + ": `"
                      + use.command()
                      + "`: apivip "
                      + use.subcommand()
                      + " has no option "
                      + option)
              .isNotNull();
        }
        seen.add(use.subcommand());
      }
    }
    assertThat(seen)
        .as("the commands the documents write")
        .contains("run", "status", "drain", "resume", "doctor", "setup", "check-config", "gen-key");
  }
}
