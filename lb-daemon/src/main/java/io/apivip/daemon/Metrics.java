package io.apivip.daemon;

import com.sun.management.OperatingSystemMXBean;
import io.apivip.daemon.version.Version;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;

/**
 * The daemon's meter registry: Prometheus format, with JVM and process metrics bound. Two of
 * Micrometer's own names fail {@code promtool check metrics} and are fixed here: the process's CPU
 * time in nanoseconds becomes {@code process_cpu_seconds_total} (the client libraries' name), and
 * {@code system_cpu_count}, a gauge whose name reads as a histogram's count, becomes {@code
 * system_cpu_processors}.
 */
public final class Metrics implements AutoCloseable {

  private static final String CPU_TIME_IN_NANOSECONDS = "process.cpu.time";
  private static final String CPU_COUNT = "system.cpu.count";

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gcMetrics = new JvmGcMetrics();

  public Metrics(String nodeId) {
    registry
        .config()
        .commonTags("node", nodeId)
        .meterFilter(MeterFilter.deny(id -> id.getName().equals(CPU_TIME_IN_NANOSECONDS)))
        .meterFilter(
            new MeterFilter() {
              @Override
              public Meter.Id map(Meter.Id id) {
                return id.getName().equals(CPU_COUNT) ? id.withName("system.cpu.processors") : id;
              }
            });
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    gcMetrics.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    if (ManagementFactory.getOperatingSystemMXBean() instanceof OperatingSystemMXBean os
        && os.getProcessCpuTime() >= 0) {
      FunctionCounter.builder("process.cpu", os, bean -> bean.getProcessCpuTime() / 1e9)
          .description("CPU time the JVM process has used")
          .baseUnit("seconds")
          .register(registry);
    }
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    Gauge.builder("apivip.build.info", () -> 1)
        .description("Always 1; the version tag tells which apivip runs")
        .tag("version", Version.current())
        .register(registry);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    gcMetrics.close();
    registry.close();
  }
}
