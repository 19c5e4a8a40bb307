package etl.bench.flink;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The figures a job prints on its last line (one JSON object), measured on its own process the
 * way our processor measures itself: CPU of all threads (JIT and GC included) since the JVM
 * started, peak resident set (VmHWM), wall time since the JVM started.
 */
public final class ProcessFigures {
  private ProcessFigures() {}

  public static double cpuSeconds() {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    return os.getProcessCpuTime() / 1e9;
  }

  public static long peakRssKiB() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    } catch (IOException e) {
      // not Linux: reported as -1
    }
    return -1;
  }

  /** The final line: {"msg":"stopped","records":N,"cpuSeconds":..,"peakRssMiB":..,"wallSeconds":..}. */
  public static String line(long records) {
    double wall = (System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime()) / 1000.0;
    long rss = peakRssKiB();
    return String.format(java.util.Locale.ROOT, "{\"msg\":\"stopped\",\"records\":%d,\"cpuSeconds\":%.3f,\"peakRssMiB\":%d,\"wallSeconds\":%.3f}", records, cpuSeconds(), rss < 0 ? -1 : Math.round(rss / 1024.0), wall);
  }
}
