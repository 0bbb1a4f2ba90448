#pragma once
// report.json read back, once, into typed fields. Its writer is report/report.cpp; its readers are
// the HTML page, the Prometheus text, `memstrain compare` and the sweep's and headroom search's
// per-run figures. They take their fields from a ReportView instead of each looking up keys.
//
// The file may come from another version, be written by hand, or be cut short: a field that is
// missing or of the wrong type reads as absent (an empty string for text), never a throw. Text
// fields are read as json_read::str reads them (a number as its "%g" text), so a view renders
// exactly what the keyed lookups rendered.
//
// The parts only the HTML page shows in detail (a release stage's runtime/OS figures, the pprof
// diff, the stressor's release, cleanup, the target's launch) stay JSON inside the view: they are
// rendered field by field as they come, including fields newer than this reader.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace memstrain {

/// A {n, min, max, mean} summary of a stage's samples.
struct ReportSummaryView {
  std::optional<double> n, min, max, mean;
};

/// One probe's latency in a stage: the corrected (coordinated-omission) figures in ms.
struct ReportLatencyView {
  std::string probe;
  std::optional<double> error_rate;
  std::optional<double> count, mean_ms, p50_ms, p90_ms, p99_ms, p999_ms, max_ms;
  bool has_corrected = false;
};

struct ReportSlopeView {
  std::optional<double> per_s, half_width_per_s;
};

struct ReportHeapView {
  std::optional<double> gc_cycles, gc_cpu_fraction;
  std::optional<double> objects_delta, objects_slope_per_s;
  std::optional<double> live_objects_delta, live_bytes_delta, live_objects_end, heap_inuse_end_bytes;
  std::optional<ReportSlopeView> live_objects_slope;  ///< absent without readings during the stage
  std::optional<std::string> retention;               ///< "retaining …" / "flat …", when the slope was judged
};

struct ReportPageCacheView {
  ReportSummaryView file_bytes;
  std::optional<double> major_faults_per_s, refaults_per_s;
};

struct ReportPsiView {
  std::string source;
  std::optional<double> some_avg10_max, some_stall_s;
};

struct ReportFillView {
  std::optional<double> bytes_per_s, time_to_level_s;
};

/// The pressure a stage asked for: a level (fraction of the limit) or a size, and what it reached.
struct ReportPressureView {
  std::string placement;
  std::optional<double> level_fraction, requested_bytes, reached_bytes;
};

struct ReportStageView {
  std::string name;
  std::optional<double> start_s, end_s;
  std::optional<bool> completed;  ///< false: cut short (an abort, a kill, a signal)
  std::optional<ReportPressureView> pressure;
  ReportSummaryView usage_bytes, target_rss_bytes, stressor_bytes;
  std::optional<double> oom_kills_target, oom_kills_stressor;
  std::vector<ReportLatencyView> latency;
  std::optional<ReportHeapView> heap;
  std::optional<ReportPageCacheView> page_cache;
  std::optional<ReportPsiView> psi;
  std::optional<ReportFillView> fill;
  /// The release outcome: the "outcome" of a release object, or the release itself when it is a
  /// bare string (hand-written input). Empty when the stage has none.
  std::string release_outcome;
  std::optional<double> release_returned_ratio;
  nlohmann::json release;  ///< the whole release object (null when none), for the HTML detail

  std::optional<double> durationS() const;
};

struct ReportCheckView {
  std::string name, metric, unit, stage, probe, outcome, explanation, observed_text;
  std::optional<double> observed, baseline;
  std::optional<double> limit_max, limit_min;
  std::string limit_equals;            ///< word metrics (release.outcome)
  bool has_limit_vs_baseline = false;  ///< limit.max_vs_baseline is an object
  std::string limit_vs_baseline_text;  ///< "+20%"
  std::optional<double> limit_vs_baseline_value;
};

struct ReportEventView {
  std::optional<double> t_s;
  std::string kind, stage, detail;
};

struct ReportView {
  std::optional<std::int64_t> schema_version;  ///< only when an integer
  std::string verdict;
  std::vector<std::string> verdict_reasons;
  std::string plan_name, plan_path, plan_description, plan_sha256;
  std::optional<double> checks_total, checks_passed, checks_failed;  ///< checks_summary
  // host
  std::string host_name, host_kernel;
  bool has_thp = false;
  std::string thp_enabled, thp_defrag;
  // run
  bool has_run = false;
  std::string run_id, run_status, run_error, run_started_at, run_out_dir;
  std::optional<double> run_duration_s;
  // tool
  bool has_tool = false;
  std::string tool_version, tool_commit, tool_build_type, tool_compiler;
  // cgroup
  std::string cgroup_version, cgroup_placement, cgroup_target, cgroup_measured;
  std::optional<std::uint64_t> effective_limit_bytes;
  std::optional<double> safety_margin_bytes;
  // target
  bool has_target = false;
  std::string target_mode, target_pid;
  std::optional<std::vector<std::string>> target_command;  ///< a launched target's argv
  std::optional<std::vector<std::pair<std::string, std::string>>> target_env;
  std::optional<std::uint64_t> target_memory_limit_bytes;
  std::optional<std::string> target_exit;  ///< only when a string
  std::optional<double> target_started_unix_ms;
  bool has_cleanup = false;
  std::string cleanup_status;
  std::vector<std::string> cleanup_errors;
  bool has_stages_array = false, has_checks_array = false;
  std::vector<ReportStageView> stages;
  std::vector<ReportCheckView> checks;
  std::vector<ReportEventView> events;
  nlohmann::json pprof;             ///< heap profiles and their diff (top tables), null without pprof
  nlohmann::json stressor_release;  ///< the stressor's own release, null when none

  const ReportStageView* stage(const std::string& name) const;
};

/// Decodes report.json. Never throws; a non-object decodes to an empty view.
ReportView decodeReport(const nlohmann::json& report);

/// A non-negative byte count from a figure read as a number (a float is truncated), else nullopt.
std::optional<std::uint64_t> reportBytes(std::optional<double> v);

}  // namespace memstrain
