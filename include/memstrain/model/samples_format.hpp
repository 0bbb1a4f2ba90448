#pragma once
// samples.jsonl: one JSON object a line, one line per reading, on the run's clock. The "kind" of a
// line says what it holds; these are its writers, one per kind, so that the format has one home.
//   cgroup       a Sample: the target's cgroup (and the measured and stressor cgroups), the
//                stressor, the target process, host PSI
//   memstats     a MemStatsSample: the Go runtime's MemStats and goroutines
//   live_heap    a LiveHeapReading: live objects and bytes right after a forced GC
//   pprof_error  a PprofFailure: a pprof request that failed (the run goes on)
//   latency      one probe's one-second ProbeWindow
// and its reader, decodeSampleLine: every reader of the file (the HTML report's series, the sweep's
// digest) takes its fields from the typed lines below instead of looking up keys itself.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "memstrain/model/heap.hpp"
#include "memstrain/model/probe_window.hpp"
#include "memstrain/model/sample.hpp"

namespace memstrain {

/// The sample as one samples.jsonl object (kind "cgroup"), stage named by `stage_name`.
nlohmann::json sampleToJson(const Sample& s, const std::string& stage_name);
nlohmann::json cgroupSampleToJson(const CgroupSample& c);
nlohmann::json processMemoryToJson(const ProcessMemory& p);

/// samples.jsonl objects for the two kinds of pprof reading.
nlohmann::json memStatsToJson(const MemStatsSample& s, const std::string& stage_name);
nlohmann::json liveHeapToJson(const LiveHeapReading& r, const std::string& stage_name);
nlohmann::json pprofFailureToJson(const PprofFailure& f, const std::string& stage_name);

/// One probe's one-second window as a samples.jsonl object (kind "latency") at run time `t_s`:
/// counts and the corrected p50/p90/p99/max, uncorrected p99 and scheduling-lag p99 in ms.
nlohmann::json latencyWindowToJson(const ProbeWindow& w, const std::string& probe, double t_s, const std::string& stage);

// Reading samples.jsonl back. The file may come from another version, be cut short by a kill or be
// edited by hand: a field that is missing or of the wrong type reads as absent (never throws), and
// each reader decides which fields it needs. Times are seconds on the run's clock.

/// A "cgroup" line: the fields the readers use.
struct CgroupLine {
  std::optional<double> t_s;
  std::optional<double> measured_usage_bytes;   ///< the target's cgroup, or the parent with beside
  std::optional<double> effective_limit_bytes;  ///< absent when unlimited
  std::optional<double> setpoint_bytes;         ///< the controller's closed-loop target
  std::optional<double> stressor_populated_bytes;
  std::optional<double> target_usage_bytes;  ///< the target's own cgroup
  std::optional<double> target_file_bytes;
  std::optional<double> target_rss_bytes;  ///< smaps_rollup of the target process
  std::optional<double> target_lazyfree_bytes;
  std::optional<double> psi_some_avg10;  ///< of the measured cgroup (v2 only), percent
  std::optional<double> psi_full_avg10;
  bool has_stressor_cgroup = false;  ///< the stressor had a cgroup of its own (beside placement)
};

/// A "memstats" line (Go runtime MemStats through pprof).
struct MemstatsLine {
  std::optional<double> t_s;
  std::optional<double> heap_objects;
  std::optional<double> heap_inuse_bytes;
  std::optional<double> heap_released_bytes;
  std::optional<std::uint64_t> num_gc;
  std::optional<std::uint64_t> pause_total_ns;
  std::optional<double> gc_cpu_fraction;
  std::optional<std::uint64_t> last_gc_unix_ns;  ///< absent in files from before it was recorded
};

/// A "live_heap" line: live objects and bytes right after a forced GC.
struct LiveHeapLine {
  std::optional<double> t_s;
  std::optional<double> objects;
  std::optional<double> bytes;
};

/// A "latency" line: one probe's one-second window, milliseconds.
struct LatencyLine {
  std::optional<double> t_s;
  std::optional<std::string> probe;
  std::optional<double> p50_ms;
  std::optional<double> p99_ms;
  std::optional<double> completed;
  std::optional<double> errors;
};

/// A "pprof_error" line: a pprof request failed and the run went on.
struct PprofErrorLine {
  std::optional<double> t_s;
};

/// A line whose kind this version does not know (newer writers may add kinds), or a blank line.
struct OtherLine {};

using SampleLine = std::variant<OtherLine, CgroupLine, MemstatsLine, LiveHeapLine, LatencyLine, PprofErrorLine>;

/// Decodes one samples.jsonl line. nullopt when the line is not a JSON object or has no string
/// "kind" (half a line from a killed run); blank lines and unknown kinds decode to OtherLine.
std::optional<SampleLine> decodeSampleLine(std::string_view line);

}  // namespace memstrain
