#pragma once
// `memstrain sweep`: the same plan under each combination of Go runtime settings (GOGC,
// GOMEMLIMIT, GODEBUG), side by side. Everything here is pure: parsing `--set` values, expanding
// combinations, resolving them into the target's environment and a plan copy, reading one run's
// report.json and samples.jsonl into figures, aggregating repeats and picking a recommendation.
// Running the child `memstrain run` processes is cmd_sweep.cpp's job.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/model/plan.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// The environment variables a sweep may vary, in the order they are listed in errors.
const std::vector<std::string>& sweepableVariables();

/// One `--set NAME=V1,V2,...`: a variable and the values it takes, as written.
struct SweepAxis {
  std::string name;
  std::vector<std::string> values;
};

/// Parses one `--set` argument. Accepted values: GOGC an integer percent 0..1000000 or `off`;
/// GOMEMLIMIT a size (`400MiB`, `1.5GiB`, bytes) or a percent of the target's memory limit
/// (`90%`, above 0 and at most 100%); GODEBUG one `key=value` setting (`madvdontneed=1`), merged
/// into the plan's GODEBUG. Any variable also takes `none`: unset (GODEBUG: the plan's own value
/// is removed too). Returns an Error naming the argument and what was expected on an unknown
/// variable, an empty or repeated value, or a malformed one.
Result<SweepAxis> parseSweepSet(std::string_view text);

/// Parses every `--set`; also an Error when a variable is given twice or no `--set` at all.
Result<std::vector<SweepAxis>> parseSweepSets(const std::vector<std::string>& texts);

/// One combination: a value for each axis, in axis order.
struct SweepSetting {
  std::vector<std::pair<std::string, std::string>> values;  ///< (variable, value as written)
  /// "GOGC=10 GOMEMLIMIT=90%": for tables and progress lines.
  std::string label() const;
  /// "GOGC-10_GOMEMLIMIT-90pct": a directory name ([A-Za-z0-9._-] only), unique per setting.
  std::string dirName() const;
};

/// Every combination of the axes' values; the first axis varies slowest (like nested loops in
/// the order the `--set`s were given). Empty axes list: no combinations.
std::vector<SweepSetting> expandSweep(const std::vector<SweepAxis>& axes);

/// A GOMEMLIMIT value as bytes: a percent is that share of `memory_limit_bytes` (rounded down), a
/// size is its bytes. nullopt for `none`. Error on a malformed value or a percent of 0 bytes.
Result<std::optional<std::uint64_t>> resolveMemLimit(std::string_view value, std::uint64_t memory_limit_bytes);

/// The target environment of a setting: the plan's `base` env with each variable of the setting
/// applied (`none` removes it; GOMEMLIMIT in bytes; GODEBUG's key=value replaces the same key in
/// the plan's GODEBUG and keeps its other keys).
Result<std::map<std::string, std::string>> settingEnvironment(const SweepSetting& setting, const LaunchSpec& launch);

/// A copy of the plan's JSON (`source`) for one setting: target.launch.env replaced by `env`, and
/// target.launch.command[0] (when it holds a '/') and target.launch.workdir made absolute against
/// `cwd`, so that the copy runs from any directory. Error when `source` has no target.launch.
Result<nlohmann::json> settingPlanJson(const nlohmann::json& source, const std::map<std::string, std::string>& env, const std::string& cwd);

/// A check of a run that did not pass, as report.json's "checks" states it.
struct RunCheckFinding {
  std::string name;
  std::string metric;
  std::string stage;
  std::string outcome;      ///< "fail" (or "no_data")
  std::string explanation;  ///< the report's own sentence: observed against the limit
};

/// What one run of one setting showed, read from its report.json and samples.jsonl.
struct SweepRunFigures {
  std::string dir;      ///< the run's output directory
  int exit_code = -1;   ///< of the child `memstrain run` (-1: not known)
  std::string verdict;  ///< pass / fail / inconclusive; "error" without a report
  std::string status;   ///< run status from the report (completed, error, ...)
  std::string error;    ///< why figures are missing (no report, unreadable, ...)
  double duration_s = 0;
  std::optional<double> first_target_oom_s;         ///< first target_oom_kill event, seconds from the first stage
  std::optional<std::string> target_exit;           ///< "killed by SIGKILL" when the target died during the run
  std::optional<std::uint64_t> gc_cycles;           ///< NumGC at the last MemStats reading minus at the first
  std::optional<std::uint64_t> gc_pause_total_ns;   ///< PauseTotalNs, the same difference
  std::optional<double> gc_cpu_max;                 ///< the largest per-stage GC CPU share
  std::string gc_cpu_max_stage;                     ///< and its stage
  std::optional<std::uint64_t> peak_usage_bytes;    ///< largest usage of the measured cgroup (stressor included)
  std::optional<std::uint64_t> peak_target_bytes;   ///< largest usage of the target's cgroup minus an inside stressor
  std::optional<std::uint64_t> limit_bytes;         ///< the effective limit the target ran under
  std::optional<std::int64_t> headroom_bytes;       ///< limit_bytes - peak_target_bytes
  std::map<std::string, double> p99_ms;             ///< per stage (and probe, "stage/probe" when several), corrected
  std::map<std::string, double> live_growth_per_s;  ///< live objects growth per stage, objects/s: the retention slope (pprof.live_interval)
                                                    ///< or the live delta over the stage's duration
  std::map<std::string, std::string> release;       ///< per stage: release outcome, when the report has one
  std::optional<std::uint64_t> peak_stressor_bytes;  ///< most the stressor held (populated) in any sample
  std::vector<RunCheckFinding> failed_checks;        ///< checks with outcome fail, in report order
};

/// Running figures from samples.jsonl, fed one line at a time (files can be large). Lines that
/// are not JSON objects are counted and skipped: a run killed mid-write may leave half a line.
class SampleDigest {
 public:
  void addLine(std::string_view line);
  std::optional<std::uint64_t> gcCycles() const;
  std::optional<std::uint64_t> gcPauseTotalNs() const;
  std::optional<std::uint64_t> peakTargetBytes() const { return peak_target_; }
  std::optional<std::uint64_t> peakUsageBytes() const { return peak_usage_; }
  std::optional<std::uint64_t> peakStressorBytes() const { return peak_stressor_; }
  std::size_t badLines() const { return bad_lines_; }

 private:
  std::optional<std::uint64_t> first_gc_, last_gc_, first_pause_, last_pause_;
  std::optional<std::uint64_t> peak_target_, peak_usage_, peak_stressor_;
  std::size_t bad_lines_ = 0;
};

/// Figures of one run from its parsed report.json and the digest of its samples.jsonl.
SweepRunFigures runFigures(const nlohmann::json& report, const SampleDigest& samples);

/// min / median / max of a figure over repeats (median of an even count: mean of the middle two).
struct Spread {
  double min = 0, median = 0, max = 0;
  std::size_t n = 0;
};
/// nullopt for no values.
std::optional<Spread> spreadOf(std::vector<double> values);

/// One setting over its repeats.
struct SweepSettingSummary {
  SweepSetting setting;
  std::map<std::string, std::string> env;  ///< what the target got (swept variables only)
  std::vector<SweepRunFigures> runs;
  std::size_t passed = 0, failed = 0, inconclusive = 0, errors = 0;
  /// pass when every run passed; fail when any failed; else inconclusive, or error when a run has
  /// no report; "not run" with no runs.
  std::string verdict;
  std::size_t oom_runs = 0;          ///< runs in which the target was OOM-killed
  std::optional<Spread> oom_time_s;  ///< over the runs with an OOM kill
  std::optional<Spread> gc_cycles, gc_pause_ms, gc_cpu_max, peak_usage_bytes, peak_target_bytes, headroom_bytes;
  std::map<std::string, Spread> p99_ms, live_growth_per_s;
  std::map<std::string, std::map<std::string, std::size_t>> release;  ///< stage -> outcome -> runs
};

SweepSettingSummary summarizeSetting(SweepSetting setting, std::map<std::string, std::string> env, std::vector<SweepRunFigures> runs);

/// The recommendation: among the settings whose every run passed (at least one run), the one
/// with the largest headroom in its worst run (minimum over repeats); ties go to the one listed
/// first. `index` is nullopt when no setting qualifies; `line` says which and why, or why none.
struct SweepRecommendation {
  std::optional<std::size_t> index;
  std::string line;
};
SweepRecommendation recommendSetting(const std::vector<SweepSettingSummary>& settings);

/// How headroom is defined, for the reports.
inline constexpr const char* kHeadroomDefinition =
    "headroom = effective memory limit - peak usage of the target's cgroup (an inside stressor's bytes left out), "
    "at the worst sample of a run; the recommendation takes each setting's smallest headroom over its repeats";

/// How the GC CPU column is defined, for the reports.
inline constexpr const char* kGcCpuDefinition =
    "GC CPU: the largest per-stage share of GOMAXPROCS x time the Go GC took (as GCCPUFraction counts it: idle-time mark "
    "workers left out).";

}  // namespace memstrain
