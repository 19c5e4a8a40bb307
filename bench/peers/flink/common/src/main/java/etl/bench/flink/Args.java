package etl.bench.flink;

import java.util.HashMap;
import java.util.Map;

/** {@code --name value} arguments; a missing or malformed one is an error naming it. */
public final class Args {
  private final Map<String, String> values = new HashMap<>();

  public Args(String[] argv) {
    for (int i = 0; i < argv.length; i += 2) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new IllegalArgumentException("expected --name value pairs, got " + argv[i]);
      values.put(argv[i].substring(2), argv[i + 1]);
    }
  }

  public String get(String name) {
    String v = values.get(name);
    if (v == null || v.isEmpty()) throw new IllegalArgumentException("--" + name + " is required");
    return v;
  }

  public String get(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  public long number(String name) {
    String v = get(name);
    try {
      long n = Long.parseLong(v);
      if (n <= 0) throw new NumberFormatException();
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be a positive integer, got " + v, e);
    }
  }
}
