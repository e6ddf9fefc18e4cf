package io.apivip.daemon.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Typed reads from a config that record a {@link ConfigProblem} instead of throwing, so that one
 * pass reports every problem. A failed read returns a harmless fallback that later checks ignore.
 */
final class ConfigReader {

  private final Config config;
  private final String prefix;
  private final List<ConfigProblem> problems;

  ConfigReader(Config config, String prefix, List<ConfigProblem> problems) {
    this.config = config;
    this.prefix = prefix;
    this.problems = problems;
  }

  /** A reader for one object of a list, whose keys are named {@code list[i].key} in problems. */
  ConfigReader entry(ConfigObject object, String name, Set<String> allowedKeys) {
    for (String key : new TreeSet<>(object.keySet())) {
      if (!allowedKeys.contains(key)) {
        problem(
            name + "." + key,
            render(object.get(key)),
            "unknown key; expected one of " + allowedKeys);
      }
    }
    return new ConfigReader(object.toConfig(), name + ".", problems);
  }

  String key(String key) {
    return prefix + key;
  }

  boolean has(String key) {
    return config.hasPath(key);
  }

  String raw(String key) {
    return config.hasPathOrNull(key) ? render(config.getValue(key)) : null;
  }

  void problem(String key, String value, String expected) {
    problems.add(new ConfigProblem(key, value, expected));
  }

  /** Records a problem about {@code key} of this reader, quoting its value. */
  void invalid(String key, String expected) {
    problem(key(key), raw(key), expected);
  }

  String string(String key) {
    try {
      return config.getString(key);
    } catch (ConfigException.Missing e) {
      problem(key(key), null, "is required");
    } catch (ConfigException e) {
      invalid(key, "must be a string");
    }
    return "";
  }

  /** A string that must not be empty. */
  String requiredString(String key) {
    String value = string(key);
    if (value.isBlank() && config.hasPath(key)) {
      invalid(key, "is required and must not be empty");
    }
    return value;
  }

  boolean bool(String key) {
    try {
      return config.getBoolean(key);
    } catch (ConfigException e) {
      invalid(key, "must be true or false");
      return false;
    }
  }

  int integer(String key, int min, int max, int fallback) {
    if (!config.hasPath(key)) {
      return fallback;
    }
    try {
      int value = config.getInt(key);
      if (value < min || value > max) {
        invalid(key, "must be between " + min + " and " + max);
        return fallback;
      }
      return value;
    } catch (ConfigException e) {
      invalid(key, "must be a whole number between " + min + " and " + max);
      return fallback;
    }
  }

  int integer(String key, int min, int max) {
    return integer(key, min, max, min);
  }

  int port(String key) {
    return integer(key, 1, 65535, 0);
  }

  /** A size such as 64KiB or 64MiB, between {@code min} and {@code max} bytes. */
  long bytes(String key, long min, long max) {
    try {
      long value = config.getBytes(key);
      if (value < min || value > max) {
        invalid(key, "must be between " + min + " and " + max + " bytes, e.g. 256KiB or 64MiB");
        return min;
      }
      return value;
    } catch (ConfigException e) {
      invalid(key, "must be a size, e.g. 256KiB or 64MiB");
      return min;
    }
  }

  /** A duration such as 100ms or 2s; zero allowed only where {@code allowZero}. */
  Duration duration(String key, boolean allowZero) {
    try {
      Duration value = config.getDuration(key);
      if (value.isNegative() || (!allowZero && value.isZero())) {
        invalid(
            key,
            allowZero ? "must not be negative" : "must be a positive duration, e.g. 500ms or 2s");
        return Duration.ZERO;
      }
      return value;
    } catch (ConfigException e) {
      invalid(key, "must be a duration, e.g. 500ms or 2s");
      return Duration.ZERO;
    }
  }

  Optional<String> optionalString(String key) {
    String value = config.hasPath(key) ? string(key) : "";
    return value.isBlank() ? Optional.empty() : Optional.of(value.trim());
  }

  List<ConfigObject> objects(String key) {
    try {
      return new ArrayList<>(config.getObjectList(key));
    } catch (ConfigException.Missing e) {
      return new ArrayList<>();
    } catch (ConfigException e) {
      invalid(key, "must be a list of objects { ... }");
      return new ArrayList<>();
    }
  }

  List<String> strings(String key) {
    try {
      return config.getStringList(key);
    } catch (ConfigException.Missing e) {
      return List.of();
    } catch (ConfigException e) {
      invalid(key, "must be a list of strings [\"...\"]");
      return List.of();
    }
  }

  List<Integer> integers(String key) {
    try {
      return config.getIntList(key);
    } catch (ConfigException e) {
      invalid(key, "must be a list of whole numbers");
      return List.of();
    }
  }

  static String render(ConfigValue value) {
    if (value == null) {
      return null;
    }
    if (value.valueType() == ConfigValueType.STRING) {
      return String.valueOf(value.unwrapped());
    }
    return value.render(ConfigRenderOptions.concise());
  }

  /** Durations as an operator writes them: 100ms, 2s, 1m30s. */
  static String format(Duration duration) {
    if (duration.isZero()) {
      return "0s";
    }
    long millis = duration.toMillis();
    if (millis % 1000 != 0) {
      return millis + "ms";
    }
    long seconds = millis / 1000;
    if (seconds % 60 != 0 || seconds < 60) {
      return seconds + "s";
    }
    return (seconds / 60) + "m";
  }
}
