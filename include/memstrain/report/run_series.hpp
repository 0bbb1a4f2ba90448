#pragma once
// The time series of a run, read back from samples.jsonl (kinds "cgroup", "memstats", "latency")
// for the HTML report. Parsing takes text; reading the file is separate. Lines that are not JSON or
// lack the fields a kind needs are counted and skipped (a run killed mid-write leaves half a line).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// One "cgroup" sample. Times are seconds since the first stage started (the report's clock).
struct CgroupPoint {
  double t_s = 0;
  double usage_bytes = 0;                   ///< measured cgroup (target's, or the parent with beside)
  std::optional<double> limit_bytes;        ///< effective limit; none when unlimited
  double stressor_bytes = 0;                ///< populated by the stressor
  std::optional<double> setpoint_bytes;     ///< closed-loop target of the controller
  std::optional<double> target_file_bytes;  ///< page cache charged to the target's cgroup
  std::optional<double> target_rss_bytes;   ///< smaps_rollup of the target process
  std::optional<double> target_lazyfree_bytes;
  std::optional<double> psi_some_avg10;  ///< cgroup v2 only, percent
  std::optional<double> psi_full_avg10;
};

/// One "memstats" sample (Go runtime, via pprof).
struct MemstatsPoint {
  double t_s = 0;
  double heap_objects = 0;
  double heap_inuse_bytes = 0;
  double heap_released_bytes = 0;
  double num_gc = 0;
  double gc_cpu_fraction = 0;                    ///< Go's lifetime GCCPUFraction
  std::optional<std::uint64_t> last_gc_unix_ns;  ///< LastGC; absent in files from before it was recorded
};

/// One "live_heap" reading: objects and bytes right after a forced GC.
struct LivePoint {
  double t_s = 0;
  double objects = 0;
  double bytes = 0;
};

/// One per-second "latency" window of one probe. Milliseconds.
struct LatencyPoint {
  double t_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double completed = 0;
  double errors = 0;
  /// errors / completed; 0 when nothing completed.
  double errorRate() const { return completed > 0 ? errors / completed : 0; }
};

/// Every series of a run, in file order.
struct RunSeries {
  std::vector<CgroupPoint> cgroup;
  std::vector<MemstatsPoint> memstats;
  std::vector<LivePoint> live;                     ///< "live_heap" readings, in time order
  std::vector<std::string> probes;                 ///< probe names in order of first appearance
  std::vector<std::vector<LatencyPoint>> latency;  ///< one series per entry of `probes`
  std::size_t pprof_errors = 0;                    ///< "pprof_error" lines
  std::size_t bad_lines = 0;                       ///< not JSON, or missing a required field
};

/// At most this many probes get a latency series; later ones are counted as bad lines.
inline constexpr std::size_t kMaxSeriesProbes = 16;

/// Adds one samples.jsonl line to `series`. Empty lines are ignored; unknown kinds are skipped
/// without counting as bad (newer writers may add kinds).
void addSampleLine(RunSeries& series, std::string_view line);

/// Parses a whole samples.jsonl text.
RunSeries parseSamples(std::string_view text);

/// Reads and parses samples.jsonl at `path`, line by line. Error when the file cannot be opened
/// (the message names the path) or a line is longer than 1 MiB.
Result<RunSeries> readSamplesFile(const std::string& path);

}  // namespace memstrain
