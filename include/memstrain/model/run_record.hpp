#pragma once
// Everything a run produced, as plain data: the executor fills it, analysis and reports read it.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memstrain/model/heap.hpp"
#include "memstrain/model/histogram.hpp"
#include "memstrain/model/plan.hpp"
#include "memstrain/model/process_exit.hpp"
#include "memstrain/model/resolution.hpp"
#include "memstrain/model/sample.hpp"
#include "memstrain/model/sample_stats.hpp"
#include "memstrain/model/thp_mode.hpp"

namespace memstrain {

/// kAborted: a window check with `abort: true` failed and stopped the run early.
enum class RunStatus { kCompleted, kAborted, kInterrupted, kError };
const char* toString(RunStatus s);

/// Something that happened at a point in time ("stressor_oom_kill", "target_exit", "interrupted").
struct RunEvent {
  double t_s = 0;
  std::string kind;
  std::string stage;
  std::string detail;
};

/// One probe's figures over one stage (merged one-second windows). Latencies in nanoseconds.
struct StageLatency {
  std::string probe;
  LatencySummary corrected;    ///< from the intended send time (coordinated-omission corrected)
  LatencySummary uncorrected;  ///< from the actual send time
  LatencySummary sched_lag;    ///< actual - intended send time
  std::uint64_t sent = 0, missed = 0, completed = 0, ok = 0;
  std::uint64_t errors_timeout = 0, errors_connect = 0, errors_http_status = 0, errors_other = 0;
  double error_rate = 0;  ///< errors / completed
  double probe_cpu_s = 0;
};

/// What the executor did in the pressure-assisted reclaim phase of a release stage.
struct ReclaimRecord {
  double start_s = 0, end_s = 0;
  std::uint64_t stressor_requested_bytes = 0;
  std::uint64_t stressor_reached_bytes = 0;  ///< most the stressor reported holding in the phase
  bool skipped = false;
  std::string skipped_reason;  ///< e.g. "the outcome at the deadline was returned"
};

/// The window of a release stage; the series it judges are the run's samples and MemStats.
struct ReleaseRecord {
  std::string trigger;        ///< "http", "signal", "command" or "none"
  double window_start_s = 0;  ///< the "before" readings (the stage's start, once MemStats answered)
  double trigger_s = 0;       ///< when the trigger fired (window_start_s without one)
  double deadline_s = 0;      ///< trigger_s + within (or when the stage ended early)
  std::string trigger_error;  ///< why the trigger could not be fired, when it could not
  std::optional<ReclaimRecord> reclaim;
};

/// The stressor's own release: the measured cgroup before the first pressure stage and after the
/// stressor was told to hold nothing at the end of the run.
struct StressorReleaseMeasure {
  std::uint64_t baseline_usage_bytes = 0, baseline_target_rss_bytes = 0;
  std::uint64_t after_usage_bytes = 0, after_target_rss_bytes = 0;
  /// memory.stat anon of the measured cgroup and the target's RssAnon, when both were read.
  std::optional<std::uint64_t> baseline_anon_bytes, baseline_target_anon_bytes, after_anon_bytes, after_target_anon_bytes;
};

/// How fast a pressure stage got to its level. The populate rate is the stressor's own timing of
/// its fill bursts (independent of sampling); the time to level is the controller's, refined by
/// the end of the burst that got there.
struct StageFill {
  std::uint64_t bytes = 0;                ///< populated by the stressor during the stage
  double populate_s = 0;                  ///< time the stressor spent populating them
  std::optional<double> bytes_per_s;      ///< bytes / populate_s; nullopt when nothing was populated
  std::optional<double> time_to_level_s;  ///< from the stage's start; nullopt when never reached
  std::uint64_t level_bytes = 0;          ///< what "the level" was: stressor bytes (size) or usage (level)
  unsigned threads = 0;                   ///< the stressor's populate threads
  /// "spike" (no ramp), "ramp" (linear over a duration) or "rate" (bytes per second).
  std::string shape;
};

/// What a stage's record and its analysis share field for field: when it ran, whether it ran its
/// full duration, the CPU it cost and its latency per probe. StageRecord (what the executor saw)
/// and StageStats (what analysis made of it) both extend it; analysis passes it on as it is.
struct StageBasics {
  std::string name;
  double start_s = 0;
  double end_s = 0;
  bool completed = false;  ///< ran its full duration
  /// CPU seconds spent during the stage by memstrain itself, by the stressor, and by all members
  /// of the target's cgroup (which includes the stressor with inside placement). nullopt when a
  /// process ended mid-stage and its time could not be read.
  std::optional<double> controller_cpu_s;
  std::optional<double> stressor_cpu_s;
  std::optional<double> target_cgroup_cpu_s;
  std::vector<StageLatency> latency;  ///< one per probe
};

/// What the executor saw of one stage.
struct StageRecord : StageBasics {
  std::uint32_t stressor_oom_kills = 0;
  std::uint32_t target_oom_kills = 0;
  std::optional<ReleaseRecord> release;  ///< release stages only
  std::optional<StageFill> fill;         ///< pressure stages with a stressor
};

/// A window check that failed live with `abort: true`: why the run stops.
struct WindowAbort {
  std::string check;
  std::string stage;
  double t_s = 0;           ///< end of the failing window
  double observed = 0;      ///< canonical unit
  std::string explanation;  ///< "latency.error_rate 12.50% > max 1.00% over the 10 s window ending at 31.0 s"
};

/// One window check over the windows that ended in one stage.
struct WindowCheckRecord {
  std::string check;
  std::string stage;
  std::size_t windows = 0;      ///< full windows judged
  std::size_t failed = 0;       ///< of those, how many broke a limit
  std::size_t no_data = 0;      ///< full windows whose metric had no data (no probe answer)
  std::optional<double> worst;  ///< the value furthest beyond (or nearest to) the limits
  double worst_end_s = 0;       ///< end of the worst window
  std::optional<double> first_fail_end_s;
};

struct RunRecord {
  Plan plan;
  std::string plan_path;
  Resolution resolution;
  std::string run_id;
  std::string out_dir;
  std::string kernel;  ///< uname -r
  std::string hostname;
  std::optional<ThpMode> thp;  ///< transparent huge pages (enabled, defrag); nullopt without THP
  std::int64_t started_wall_ms = 0;
  std::int64_t ended_wall_ms = 0;
  RunStatus status = RunStatus::kCompleted;
  std::string error;  ///< why the run ended early, when it did
  std::optional<pid_t> target_pid;
  /// When the target process started (Unix ns, from /proc), for per-stage GC CPU shares.
  std::optional<std::int64_t> target_start_unix_ns;
  std::optional<ExitInfo> target_exit;  ///< a launched target that ended during the run
  std::vector<StageRecord> stages;
  /// Samples the analysis reads one by one: all of them in runs built by tests; in a real run only
  /// those a release analysis needs (the rest live in `sample_stats` and samples.jsonl).
  std::vector<Sample> samples;
  /// Per stage (by index), its samples' running figures, when the executor kept them; stages
  /// without an entry are computed from `samples`.
  std::vector<StageSampleStats> sample_stats;
  std::vector<RunEvent> events;
  // From the pprof observer, when the plan names target.pprof_url.
  std::vector<MemStatsSample> memstats;
  std::vector<LiveHeapReading> live_heap;  ///< GC-forced readings: stage boundaries and pprof.live_interval
  std::vector<PprofFailure> pprof_failures;
  std::vector<ProfileSnapshot> profiles;
  bool cleanup_ok = true;
  std::vector<std::string> cleanup_errors;
  /// Set when a stressor held pressure and the run completed; see StressorReleaseMeasure.
  std::optional<StressorReleaseMeasure> stressor_release;
  // Sliding-window checks, judged live by the executor's WindowEvaluator.
  std::vector<WindowCheckRecord> window_checks;
  std::optional<WindowAbort> abort;  ///< set when status is kAborted
};

}  // namespace memstrain
