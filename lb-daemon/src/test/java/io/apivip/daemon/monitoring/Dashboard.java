package io.apivip.daemon.monitoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The shipped Grafana dashboard's PromQL queries, and the metric names each one reads. */
public final class Dashboard {

  /** One query: the panel's title and its expression as Grafana sends it, variables unexpanded. */
  public record Query(String panel, String expr) {

    /**
     * The expression as Prometheus can run it: $job is "apivip", Grafana's rate interval {@code
     * rateInterval}.
     */
    public String runnable(String rateInterval) {
      return expr.replace("$__rate_interval", rateInterval).replace("$job", "apivip");
    }
  }

  private static final Set<String> KEYWORDS =
      Set.of(
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "bool",
          "and",
          "or",
          "unless",
          "offset",
          "inf",
          "nan");
  private static final Pattern STRINGS = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*\\}");
  private static final Pattern RANGES = Pattern.compile("\\[[^]]*\\]");
  private static final Pattern GROUPING =
      Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern IDENTIFIER =
      Pattern.compile("(?<![\\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\\b(\\s*\\()?");

  private Dashboard() {}

  /** Every query of every panel, then of every annotation. */
  public static List<Query> queries(Path file) throws IOException {
    JsonNode dashboard = new ObjectMapper().readTree(file.toFile());
    List<Query> queries = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        queries.add(new Query(panel.path("title").asText(), target.path("expr").asText()));
      }
    }
    for (JsonNode annotation : dashboard.path("annotations").path("list")) {
      if (annotation.has("expr")) {
        queries.add(
            new Query(
                "annotation: " + annotation.path("name").asText(),
                annotation.path("expr").asText()));
      }
    }
    return queries;
  }

  /**
   * The metric names a PromQL expression reads: identifiers that are neither functions, keywords,
   * label names (in matchers and grouping clauses) nor inside strings or range selectors.
   */
  public static Set<String> metricNames(String expr) {
    String bare = STRINGS.matcher(expr).replaceAll("\"\"");
    bare = MATCHERS.matcher(bare).replaceAll(" ");
    bare = RANGES.matcher(bare).replaceAll(" ");
    bare = GROUPING.matcher(bare).replaceAll(" ");
    Set<String> names = new TreeSet<>();
    Matcher matcher = IDENTIFIER.matcher(bare);
    while (matcher.find()) {
      String identifier = matcher.group(1);
      boolean function = matcher.group(2) != null;
      if (!function && !KEYWORDS.contains(identifier.toLowerCase(java.util.Locale.ROOT))) {
        names.add(identifier);
      }
    }
    return names;
  }

  /** The metric names in Prometheus text: the name of every sample line. */
  public static Set<String> exported(String metricsText) {
    Set<String> names = new TreeSet<>();
    for (String line : metricsText.split("\n")) {
      if (!line.isBlank() && !line.startsWith("#")) {
        Matcher matcher = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)").matcher(line);
        if (matcher.find()) {
          names.add(matcher.group(1));
        }
      }
    }
    return names;
  }
}
