package io.apivip.bench.failover;

/**
 * Puts a benchmark's section into bench/README.md, leaving every other section as it was: the
 * failover benchmark's "Failover and handoff" by default, or the section under another heading.
 */
public final class ReadmeSection {

  static final String HEADING = "## Failover and handoff";
  private static final String NEW_README =
      "# Benchmarks\n\n"
          + "Each benchmark has a folder here and one command that runs it; the figures below were"
          + " measured with it.\n";

  private ReadmeSection() {}

  /**
   * {@code readme} with its "Failover and handoff" section (up to the next "## " heading) replaced
   * by {@code section}, or with {@code section} appended when there is none; a blank readme becomes
   * a new one. {@code section} starts with the heading.
   */
  static String update(String readme, String section) {
    return update(readme, HEADING, section);
  }

  /**
   * {@code readme} with the section under {@code heading} (a whole "## " line) replaced by {@code
   * section}, or with {@code section} appended when there is none; {@code section} starts with
   * {@code heading}.
   */
  public static String update(String readme, String heading, String section) {
    String body = section.strip() + "\n";
    if (readme.isBlank()) {
      return NEW_README + "\n" + body;
    }
    String text = readme.endsWith("\n") ? readme : readme + "\n";
    int start = headingAt(text, heading);
    if (start < 0) {
      return text + "\n" + body;
    }
    int next = text.indexOf("\n## ", start + heading.length());
    String after = next < 0 ? "" : "\n" + text.substring(next + 1);
    return text.substring(0, start) + body + after;
  }

  private static int headingAt(String text, String heading) {
    int from = 0;
    while (true) {
      int at = text.indexOf(heading, from);
      if (at < 0) {
        return -1;
      }
      boolean lineStart = at == 0 || text.charAt(at - 1) == '\n';
      int end = at + heading.length();
      boolean lineEnd =
          end == text.length() || text.charAt(end) == '\n' || text.charAt(end) == '\r';
      if (lineStart && lineEnd) {
        return at;
      }
      from = end;
    }
  }
}
