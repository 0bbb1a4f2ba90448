#include "memstrain/model/metrics.hpp"

namespace memstrain {

const std::vector<MetricInfo>& knownMetrics() {
  static const std::vector<MetricInfo> metrics = {
      {"latency.p50", MetricUnit::kDuration, true, "median latency (corrected for coordinated omission)"},
      {"latency.p90", MetricUnit::kDuration, true, "90th percentile latency (corrected)"},
      {"latency.p99", MetricUnit::kDuration, true, "99th percentile latency (corrected)"},
      {"latency.p999", MetricUnit::kDuration, true, "99.9th percentile latency (corrected)"},
      {"latency.max", MetricUnit::kDuration, true, "largest latency (corrected)"},
      {"latency.mean", MetricUnit::kDuration, true, "mean latency (corrected)"},
      {"latency.uncorrected.p50", MetricUnit::kDuration, true, "median latency from the actual send"},
      {"latency.uncorrected.p99", MetricUnit::kDuration, true, "99th percentile latency from the actual send"},
      {"latency.uncorrected.max", MetricUnit::kDuration, true, "largest latency from the actual send"},
      {"latency.error_rate", MetricUnit::kRatio, true, "failed requests / completed requests"},
      {"latency.errors", MetricUnit::kCount, true, "failed requests (timeout, connect, HTTP status, other)"},
      {"latency.missed", MetricUnit::kCount, true, "scheduled requests never sent (in-flight cap)"},
      {"heap.objects.delta", MetricUnit::kCount, false, "Go heap objects at the stage's end minus its start"},
      {"heap.objects.slope", MetricUnit::kRate, false, "Go heap objects growth, least squares, per second"},
      {"heap.inuse.end", MetricUnit::kBytes, false, "Go HeapInuse at the stage's end"},
      {"heap.gc_cycles", MetricUnit::kCount, false, "Go GC cycles completed in the stage"},
      {"heap.gc_cpu_fraction", MetricUnit::kRatio, false, "share of the Go runtime's CPU (GOMAXPROCS x time) spent in GC in the stage"},
      {"goroutines.end", MetricUnit::kCount, false, "goroutines at the stage's end"},
      {"goroutines.delta", MetricUnit::kCount, false, "goroutines at the stage's end minus its start"},
      {"cgroup.usage.max", MetricUnit::kBytes, false, "largest measured cgroup usage"},
      {"cgroup.usage.mean", MetricUnit::kBytes, false, "mean measured cgroup usage"},
      {"cgroup.file.min", MetricUnit::kBytes, false, "smallest page cache (file memory) of the target's cgroup"},
      {"cgroup.major_faults.rate", MetricUnit::kRate, false, "page faults in the target's cgroup that waited for I/O, per second"},
      {"cgroup.refaults.rate", MetricUnit::kRate, false, "evicted file pages of the target's cgroup read back, per second"},
      {"target.rss.max", MetricUnit::kBytes, false, "largest RSS of the target process"},
      {"target.oom_kills", MetricUnit::kCount, false, "OOM kills of the target"},
      {"stressor.oom_kills", MetricUnit::kCount, false, "OOM kills of the stressor"},
      {"setpoint.error", MetricUnit::kRatio, false, "mean |usage - setpoint| as a fraction of the limit (closed loop)"},
      {"release.returned_ratio", MetricUnit::kRatio, false, "OS-visible drop / bytes the Go runtime released (release stages)"},
      {"release.time_to_return", MetricUnit::kDuration, false, "from the release trigger until the drop reached the expected ratio"},
      {"release.lazy_bytes", MetricUnit::kBytes, false, "target LazyFree bytes at the release deadline (MADV_FREE pages)"},
      {"release.outcome", MetricUnit::kText, false,
       "returned, lazy, not_returned, huge_pages_held, nothing_released or no_data (use \"equals\")"},
      {"release.comes_back", MetricUnit::kText, false,
       "yes when released memory returned, or was held (lazy, huge_pages_held) and the reclaim phase got it back without an OOM "
       "kill; else no, nothing_released or no_data (use \"equals\")"},
      {"psi.some_avg10.max", MetricUnit::kRatio, false, "largest memory PSI some avg10 (share of time some task stalled)"},
      {"psi.full_avg10.max", MetricUnit::kRatio, false, "largest memory PSI full avg10 (share of time all tasks stalled)"},
      {"psi.some_stall", MetricUnit::kDuration, false, "memory stall time (PSI some total) accumulated in the stage"},
      {"psi.full_stall", MetricUnit::kDuration, false, "memory stall time (PSI full total) accumulated in the stage"},
  };
  return metrics;
}

bool windowableMetric(std::string_view metric) {
  return metric.rfind("latency.", 0) == 0 || metric == "cgroup.usage.max" || metric == "cgroup.usage.mean" || metric == "target.rss.max" ||
         metric == "psi.some_avg10.max" || metric == "psi.full_avg10.max" || metric == "heap.gc_cpu_fraction";
}

const MetricInfo* findMetric(std::string_view name) {
  for (const auto& m : knownMetrics()) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

}  // namespace memstrain
