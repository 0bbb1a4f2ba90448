#pragma once
// The metrics a check can name: their names, units and which can be judged over a sliding window.

#include <string_view>
#include <vector>

namespace memstrain {

/// The unit a check's metric is measured in, which decides how its limits are written in the plan.
enum class MetricUnit {
  kDuration,  ///< nanoseconds; limits like "250ms"
  kBytes,     ///< bytes; limits like "400MiB"
  kRate,      ///< per second; limits like "2000/s" or a number
  kCount,     ///< a plain number
  kRatio,     ///< a fraction; limits like 0.01 or "1%"
  kText,      ///< a word (release.outcome); checked with "equals"
};

/// A metric a check can name: "latency.p99" and so on. `latency` metrics read a probe.
struct MetricInfo {
  const char* name;
  MetricUnit unit;
  bool latency;
  const char* description;
};

/// Every metric a check may name, in the order the plan error lists them.
const std::vector<MetricInfo>& knownMetrics();
/// The entry for `name`, or nullptr when there is none.
const MetricInfo* findMetric(std::string_view name);

/// True when `metric` can be judged over a sliding window: it is made of per-second data that
/// merge (latency histograms and counts, cgroup usage, target RSS, PSI).
bool windowableMetric(std::string_view metric);

}  // namespace memstrain
