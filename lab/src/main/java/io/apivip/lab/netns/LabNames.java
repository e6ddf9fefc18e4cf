package io.apivip.lab.netns;

import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the lab names its namespaces: {@code apivip-lab-<pid>-<lab>-<host>}, where pid is the JVM
 * that made them and lab counts labs within that JVM. The pid lets concurrent runs coexist and lets
 * a later run recognise namespaces whose owner died without cleaning up.
 */
public final class LabNames {

  public static final String PREFIX = "apivip-lab-";

  private static final Pattern OWNED =
      Pattern.compile(Pattern.quote(PREFIX) + "(\\d{1,10})-\\d+-[a-z0-9-]+");

  private LabNames() {}

  /** The prefix shared by every namespace of one lab. */
  public static String labPrefix(long pid, int lab) {
    return PREFIX + pid + "-" + lab + "-";
  }

  /** The pid of the process that made {@code namespace}, when the name is one of the lab's. */
  public static OptionalLong ownerPid(String namespace) {
    Matcher matcher = OWNED.matcher(namespace);
    return matcher.matches()
        ? OptionalLong.of(Long.parseLong(matcher.group(1)))
        : OptionalLong.empty();
  }

  /** The namespace name in one line of {@code ip netns list} ("name" or "name (id: 3)"). */
  public static String namespaceOfListLine(String line) {
    String trimmed = line.strip();
    int space = trimmed.indexOf(' ');
    return space < 0 ? trimmed : trimmed.substring(0, space);
  }
}
