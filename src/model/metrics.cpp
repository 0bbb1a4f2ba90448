#include "memstrain/model/metrics.hpp"

#include <cmath>
#include <cstdio>

#include "memstrain/model/stage_stats.hpp"

namespace memstrain {
namespace {

using Value = std::optional<double>;

template <class T>
Value asDouble(const std::optional<T>& v) {
  return v ? Value(static_cast<double>(*v)) : std::nullopt;
}

// Rates and percentiles of nothing are no data, not zero: a probe that completed no request says
// nothing about latency.
const StageLatency* answered(const StageLatency* l) { return l && l->completed > 0 ? l : nullptr; }

Value percentile(const StageLatency* l, bool uncorrected, std::uint64_t LatencySummary::*field) {
  if (!(l = answered(l))) return std::nullopt;
  const LatencySummary& q = uncorrected ? l->uncorrected : l->corrected;
  return q.count ? Value(static_cast<double>(q.*field)) : std::nullopt;
}

Value latencyMean(const StageLatency* l) {
  if (!(l = answered(l))) return std::nullopt;
  return l->corrected.count ? Value(l->corrected.mean_ns) : std::nullopt;
}

// The Go heap's figures exist once a MemStats reading fell in the stage.
const StageHeapStats* heap(const StageStats& s) { return s.heap && s.heap->samples > 0 ? &*s.heap : nullptr; }

// A release stage's figures exist once the window had readings.
const ReleaseResult* release(const StageStats& s) {
  return s.release && s.release->outcome != ReleaseOutcome::kNoData ? &*s.release : nullptr;
}

Value max(const Summary& s) { return s.n ? Value(s.max) : std::nullopt; }

#define LATENCY(q, unc) [](const StageStats&, const StageLatency* l) { return percentile(l, unc, &LatencySummary::q); }
#define HEAP(expr)                                        \
  [](const StageStats& s, const StageLatency*) -> Value { \
    const StageHeapStats* h = heap(s);                    \
    return h ? Value(expr) : std::nullopt;                \
  }
// Live readings are taken at stage boundaries whether or not a MemStats poll fell in the stage.
#define LIVE(expr)                                         \
  [](const StageStats& s, const StageLatency*) -> Value {  \
    const StageHeapStats* h = s.heap ? &*s.heap : nullptr; \
    return h ? Value(expr) : std::nullopt;                 \
  }
#define RELEASE(expr)                                     \
  [](const StageStats& s, const StageLatency*) -> Value { \
    const ReleaseResult* r = release(s);                  \
    return r ? Value(expr) : std::nullopt;                \
  }
#define PSI(expr) [](const StageStats& s, const StageLatency*) -> Value { return s.psi ? Value(expr) : std::nullopt; }
#define STAGE(expr) [](const StageStats& s, const StageLatency*) -> Value { return expr; }

}  // namespace

const char* unitName(MetricUnit unit) {
  switch (unit) {
    case MetricUnit::kDuration: return "ns";
    case MetricUnit::kBytes: return "bytes";
    case MetricUnit::kRate: return "per_s";
    case MetricUnit::kByteRate: return "bytes_per_s";
    case MetricUnit::kCount: return "count";
    case MetricUnit::kRatio: return "fraction";
    case MetricUnit::kText: return "text";
  }
  return "count";
}

MetricUnit unitFromName(std::string_view name) {
  for (MetricUnit u : {MetricUnit::kDuration, MetricUnit::kBytes, MetricUnit::kRate, MetricUnit::kByteRate, MetricUnit::kCount,
                       MetricUnit::kRatio, MetricUnit::kText}) {
    if (name == unitName(u)) return u;
  }
  return MetricUnit::kCount;
}

std::string formatMetricValue(MetricUnit unit, double v) {
  char b[64];
  switch (unit) {
    case MetricUnit::kDuration: {
      const double ms = v / 1e6;
      std::snprintf(b, sizeof b, std::fabs(ms) >= 1 || ms == 0 ? "%.1f ms" : "%.3f ms", ms);
      return b;
    }
    case MetricUnit::kByteRate: return formatMetricValue(MetricUnit::kBytes, v) + "/s";
    case MetricUnit::kBytes: {
      const double a = std::fabs(v);
      if (a >= 1024.0 * 1024 * 1024)
        std::snprintf(b, sizeof b, "%.2f GiB", v / (1024.0 * 1024 * 1024));
      else if (a >= 1024.0 * 1024)
        std::snprintf(b, sizeof b, "%.1f MiB", v / (1024.0 * 1024));
      else if (a >= 1024.0)
        std::snprintf(b, sizeof b, "%.1f KiB", v / 1024.0);
      else
        std::snprintf(b, sizeof b, "%.0f B", v);
      return b;
    }
    case MetricUnit::kRate: std::snprintf(b, sizeof b, "%.1f/s", v); return b;
    case MetricUnit::kCount:
      if (v == std::floor(v) && std::fabs(v) < 1e15)
        std::snprintf(b, sizeof b, "%.0f", v);
      else
        std::snprintf(b, sizeof b, "%.2f", v);
      return b;
    case MetricUnit::kRatio: std::snprintf(b, sizeof b, "%.2f%%", v * 100); return b;
    case MetricUnit::kText: std::snprintf(b, sizeof b, "%g", v); return b;
  }
  return "?";
}

const std::vector<MetricInfo>& knownMetrics() {
  using U = MetricUnit;
  // clang-format off
  static const std::vector<MetricInfo> metrics = {
      {"latency.p50", U::kDuration, true, true, LATENCY(p50_ns, false), "median latency (corrected for coordinated omission)"},
      {"latency.p90", U::kDuration, true, true, LATENCY(p90_ns, false), "90th percentile latency (corrected)"},
      {"latency.p99", U::kDuration, true, true, LATENCY(p99_ns, false), "99th percentile latency (corrected)"},
      {"latency.p999", U::kDuration, true, true, LATENCY(p999_ns, false), "99.9th percentile latency (corrected)"},
      {"latency.max", U::kDuration, true, true, LATENCY(max_ns, false), "largest latency (corrected)"},
      {"latency.mean", U::kDuration, true, true, [](const StageStats&, const StageLatency* l) { return latencyMean(l); },
       "mean latency (corrected)"},
      {"latency.uncorrected.p50", U::kDuration, true, true, LATENCY(p50_ns, true), "median latency from the actual send"},
      {"latency.uncorrected.p99", U::kDuration, true, true, LATENCY(p99_ns, true), "99th percentile latency from the actual send"},
      {"latency.uncorrected.max", U::kDuration, true, true, LATENCY(max_ns, true), "largest latency from the actual send"},
      {"latency.error_rate", U::kRatio, true, true,
       [](const StageStats&, const StageLatency* l) { return answered(l) ? Value(l->error_rate) : std::nullopt; },
       "failed requests / completed requests"},
      {"latency.errors", U::kCount, true, true,
       [](const StageStats&, const StageLatency* l) {
         return l ? Value(static_cast<double>(l->errors_timeout + l->errors_connect + l->errors_http_status + l->errors_other))
                  : std::nullopt;
       },
       "failed requests (timeout, connect, HTTP status, other)"},
      {"latency.missed", U::kCount, true, true,
       [](const StageStats&, const StageLatency* l) { return l ? Value(static_cast<double>(l->missed)) : std::nullopt; },
       "scheduled requests never sent (in-flight cap)"},
      {"heap.live_objects.delta", U::kCount, false, false, LIVE(asDouble(h->live_objects_delta)),
       "objects still reachable after a forced GC at the stage's end minus at its start: retention (gate leaks on this)"},
      {"heap.live_bytes.delta", U::kBytes, false, false, LIVE(asDouble(h->live_bytes_delta)),
       "bytes still reachable after a forced GC at the stage's end minus at its start"},
      {"heap.live_objects.slope", U::kRate, false, false, LIVE(h->live_objects_slope ? Value(h->live_objects_slope->slope) : std::nullopt),
       "retention rate: least squares over GC-forced readings (needs pprof.live_interval), objects per second"},
      {"heap.live_objects.slope_low", U::kRate, false, false,
       LIVE(h->live_objects_slope ? Value(h->live_objects_slope->slope - h->live_objects_slope->half_width) : std::nullopt),
       "lower end of the retention rate's 95% interval: above 0 means a leak beyond the readings' noise"},
      {"heap.live_bytes.slope", U::kRate, false, false, LIVE(h->live_bytes_slope ? Value(h->live_bytes_slope->slope) : std::nullopt),
       "retention rate in bytes per second (pprof.live_interval)"},
      {"heap.objects.delta", U::kCount, false, false, HEAP(asDouble(h->objects_delta)),
       "Go HeapObjects (live plus garbage not yet swept) at the stage's end minus its start: allocation churn and GC timing, not retention"},
      {"heap.objects.slope", U::kRate, false, false, HEAP(h->objects_slope_per_s),
       "Go HeapObjects growth per second (least squares): GC pressure, includes garbage"},
      {"heap.inuse.end", U::kBytes, false, false, HEAP(asDouble(h->heap_inuse_end)), "Go HeapInuse at the stage's end"},
      {"heap.gc_cycles", U::kCount, false, false, HEAP(asDouble(h->gc_cycles)), "Go GC cycles completed in the stage"},
      {"heap.gc_cpu_fraction", U::kRatio, false, true, HEAP(h->gc_cpu_fraction),
       "share of the Go runtime's CPU (GOMAXPROCS x time) spent in GC in the stage"},
      {"goroutines.end", U::kCount, false, false, HEAP(asDouble(h->goroutines_end)), "goroutines at the stage's end"},
      {"goroutines.delta", U::kCount, false, false,
       [](const StageStats& s, const StageLatency*) -> Value {
         const StageHeapStats* h = heap(s);
         if (!h || !h->goroutines_start || !h->goroutines_end) return std::nullopt;
         return static_cast<double>(*h->goroutines_end) - static_cast<double>(*h->goroutines_start);
       },
       "goroutines at the stage's end minus its start"},
      {"cgroup.usage.max", U::kBytes, false, true, STAGE(max(s.usage)), "largest measured cgroup usage"},
      {"cgroup.usage.mean", U::kBytes, false, true, STAGE(s.usage.n ? Value(s.usage.mean) : std::nullopt), "mean measured cgroup usage"},
      {"cgroup.file.min", U::kBytes, false, false,
       STAGE(s.page_cache && s.page_cache->file_bytes.n ? Value(s.page_cache->file_bytes.min) : std::nullopt),
       "smallest page cache (file memory) of the target's cgroup"},
      {"cgroup.major_faults.rate", U::kRate, false, false, STAGE(s.page_cache ? s.page_cache->major_faults_per_s : std::nullopt),
       "page faults in the target's cgroup that waited for I/O, per second"},
      {"cgroup.refaults.rate", U::kRate, false, false, STAGE(s.page_cache ? s.page_cache->refaults_per_s : std::nullopt),
       "evicted file pages of the target's cgroup read back, per second"},
      {"target.rss.max", U::kBytes, false, true, STAGE(max(s.target_rss)), "largest RSS of the target process"},
      {"target.oom_kills", U::kCount, false, false, STAGE(Value(static_cast<double>(s.oom_kills_target))), "OOM kills of the target"},
      {"stressor.oom_kills", U::kCount, false, false, STAGE(Value(static_cast<double>(s.oom_kills_stressor))), "OOM kills of the stressor"},
      {"pressure.fill_rate", U::kByteRate, false, false, STAGE(s.fill ? s.fill->bytes_per_s : std::nullopt),
       "bytes per second the stressor populated at while filling (its own timing of each burst)"},
      {"pressure.time_to_level", U::kDuration, false, false,
       STAGE(s.fill && s.fill->time_to_level_s ? Value(*s.fill->time_to_level_s * 1e9) : std::nullopt),
       "from the stage's start until its pressure reached the level (no data when it never did)"},
      {"setpoint.error", U::kRatio, false, false, STAGE(s.setpoint_error_mean_abs_fraction),
       "mean |usage - setpoint| as a fraction of the limit (closed loop)"},
      {"release.returned_ratio", U::kRatio, false, false, RELEASE(r->returned_ratio),
       "OS-visible drop / bytes the Go runtime released (release stages)"},
      {"release.time_to_return", U::kDuration, false, false,
       RELEASE(r->time_to_return_s ? Value(*r->time_to_return_s * 1e9) : std::nullopt),
       "from the release trigger until the drop reached the expected ratio (a max fails when the pages never came back)"},
      {"release.lazy_bytes", U::kBytes, false, false, RELEASE(asDouble(r->lazy_bytes)),
       "target LazyFree bytes at the release deadline (MADV_FREE pages)"},
      {"release.outcome", U::kText, false, false, nullptr,
       "returned, lazy, not_returned, huge_pages_held, nothing_released or no_data (use \"equals\")"},
      {"release.comes_back", U::kText, false, false, nullptr,
       "yes when released memory returned, or was held (lazy, huge_pages_held) and the reclaim phase got it back without an OOM "
       "kill; else no, nothing_released or no_data (use \"equals\")"},
      {"psi.some_avg10.max", U::kRatio, false, true, PSI(s.psi->some_avg10_max),
       "largest memory PSI some avg10 (share of time some task stalled)"},
      {"psi.full_avg10.max", U::kRatio, false, true, PSI(s.psi->full_avg10_max),
       "largest memory PSI full avg10 (share of time all tasks stalled)"},
      {"psi.some_stall", U::kDuration, false, false, PSI(s.psi->some_stall_s * 1e9),
       "memory stall time (PSI some total) accumulated in the stage"},
      {"psi.full_stall", U::kDuration, false, false, PSI(s.psi->full_stall_s ? Value(*s.psi->full_stall_s * 1e9) : std::nullopt),
       "memory stall time (PSI full total) accumulated in the stage"},
  };
  // clang-format on
  return metrics;
}

#undef LATENCY
#undef HEAP
#undef LIVE
#undef RELEASE
#undef PSI
#undef STAGE

const MetricInfo* findMetric(std::string_view name) {
  for (const auto& m : knownMetrics()) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

bool windowableMetric(std::string_view metric) {
  const MetricInfo* m = findMetric(metric);
  return m && m->windowable;
}

std::string windowableMetricList() {
  std::string out;
  bool latency_listed = false;
  for (const auto& m : knownMetrics()) {
    if (!m.windowable) continue;
    if (m.latency && latency_listed) continue;
    out += std::string(out.empty() ? "" : ", ") + (m.latency ? "latency.*" : m.name);
    latency_listed = latency_listed || m.latency;
  }
  return out;
}

std::optional<double> metricValue(const std::string& metric, const std::string& probe, const StageStats& stage) {
  const MetricInfo* m = findMetric(metric);
  if (!m || !m->value) return std::nullopt;
  const StageLatency* figures = nullptr;
  if (m->latency) {
    for (const auto& l : stage.latency) {
      if (l.probe == probe) figures = &l;
    }
    if (!figures) return std::nullopt;
  }
  return m->value(stage, figures);
}

std::string metricTableMarkdown() {
  auto unitText = [](MetricUnit u) {
    switch (u) {
      case MetricUnit::kDuration: return "duration (`250ms`)";
      case MetricUnit::kBytes: return "bytes (`400MiB`)";
      case MetricUnit::kRate: return "per second (`2000/s`)";
      case MetricUnit::kByteRate: return "bytes per second (`1GiB/s`)";
      case MetricUnit::kCount: return "count";
      case MetricUnit::kRatio: return "ratio (`0.01`, `1%`)";
      case MetricUnit::kText: return "word (`equals`)";
    }
    return "count";
  };
  std::string out = "| metric | unit | window | meaning |\n| --- | --- | --- | --- |\n";
  for (const auto& m : knownMetrics()) {
    out += std::string("| `") + m.name + "` | " + unitText(m.unit) + " | " + (m.windowable ? "yes" : "") + " | " + m.description + " |\n";
  }
  return out;
}

}  // namespace memstrain
