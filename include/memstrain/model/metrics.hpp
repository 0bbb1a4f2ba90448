#pragma once
// The metric vocabulary, in one table: every metric a check can name, its unit, whether it can be
// judged over a sliding window, how it is read from a stage's figures, and what it means. Plan
// validation, check evaluation (per stage and per window), compare and the README's metric table
// all read this table; units have one enum with one name each (report.json's) and one formatter.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memstrain {

struct StageStats;
struct StageLatency;

/// The unit a metric is measured in, which decides how its limits are written in the plan and how
/// its values are printed. Values are kept in the canonical unit named by unitName().
enum class MetricUnit {
  kDuration,  ///< nanoseconds; limits like "250ms"
  kBytes,     ///< bytes; limits like "400MiB"
  kRate,      ///< per second; limits like "2000/s" or a number
  kByteRate,  ///< bytes per second; limits like "1GiB/s" or a number
  kCount,     ///< a plain number
  kRatio,     ///< a fraction; limits like 0.01 or "1%"
  kText,      ///< a word (release.outcome); checked with "equals"
};

/// The unit's name in report.json and compare: "ns", "bytes", "per_s", "bytes_per_s", "count",
/// "fraction", "text".
const char* unitName(MetricUnit unit);
/// The unit named `name` by unitName(); kCount for a name it does not know (a newer report's).
MetricUnit unitFromName(std::string_view name);
/// A value for humans in the unit: "312.4 ms", "400.0 MiB", "2000.0/s", "12", "1.25%".
std::string formatMetricValue(MetricUnit unit, double value);

/// Reads a metric from a stage's figures, in its canonical unit; nullopt when the stage has no
/// data for it. `probe` is the stage's figures of the probe a latency metric reads (null when the
/// stage has none for that probe); other metrics ignore it.
using MetricExtractor = std::optional<double> (*)(const StageStats& stage, const StageLatency* probe);

/// A metric a check can name: "latency.p99" and so on.
struct MetricInfo {
  const char* name;
  MetricUnit unit;
  bool latency;           ///< reads one probe's figures (the check names the probe, or takes the first)
  bool windowable;        ///< made of per-second data that merge, so it can be judged over a sliding window
  MetricExtractor value;  ///< null for word metrics (release.outcome), judged by their own rule
  const char* description;
};

/// Every metric a check may name, in the order plan errors and the README list them.
const std::vector<MetricInfo>& knownMetrics();
/// The entry for `name`, or nullptr when there is none.
const MetricInfo* findMetric(std::string_view name);

/// True when `metric` can be judged over a sliding window: latency histograms and counts, cgroup
/// usage, target RSS, PSI and the GC's CPU share.
bool windowableMetric(std::string_view metric);
/// The windowable metrics for messages, with the latency family as one "latency.*":
/// "latency.*, cgroup.usage.max, ...".
std::string windowableMetricList();

/// The value of `metric` in `stage`, in its canonical unit; nullopt when the stage has no data for
/// it or the metric is unknown or a word. `probe` picks the probe for latency metrics.
std::optional<double> metricValue(const std::string& metric, const std::string& probe, const StageStats& stage);

/// The README's table of metrics (name, unit, window, meaning) as Markdown, one row per metric.
std::string metricTableMarkdown();

}  // namespace memstrain
