#pragma once
// Per-stage statistics and the run's verdict: pure functions of a RunRecord.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memstrain/analysis/checks.hpp"
#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/analysis/release.hpp"
#include "memstrain/model/run_record.hpp"

namespace memstrain {

/// min / mean / max of a series; n == 0 means no data.
struct Summary {
  double min = 0, mean = 0, max = 0;
  std::size_t n = 0;
};
Summary summarize(const std::vector<double>& values);

/// Memory pressure (PSI) over a stage. Whose pressure it is matters: `source` "cgroup" is the
/// measured cgroup's own memory.pressure (cgroup v2); "system" is /proc/pressure/memory, the whole
/// host (cgroup v1 has no PSI per cgroup, so other workloads on the host show up in it too).
struct StagePsi {
  std::string source;
  double some_avg10_max = 0;             ///< fraction of time (0..1), largest sampled avg10
  std::optional<double> full_avg10_max;  ///< absent when the kernel has no "full" line
  /// Stall time accumulated between the stage's first and last sample (PSI `total`), seconds.
  double some_stall_s = 0;
  std::optional<double> full_stall_s;
};

/// PSI of a stage from its samples in time order: the cgroup's own when the samples have it,
/// else the host's. nullopt when no sample carries PSI.
std::optional<StagePsi> stagePsi(const std::vector<const Sample*>& samples);

/// The target cgroup's page cache over a stage: how much file memory it kept, and how often
/// pages it needed had to come back from disk. A squeezed page cache raises latency long before
/// anyone is OOM-killed.
struct StagePageCache {
  Summary file_bytes;  ///< v1 total_cache, v2 file
  /// Counter increases between the stage's first and last sample; absent when memory.stat has no
  /// such key. The rates divide by the time between those samples.
  std::optional<std::uint64_t> major_faults;
  std::optional<double> major_faults_per_s;
  std::optional<std::uint64_t> refaults;
  std::optional<double> refaults_per_s;
};

/// The target cgroup's page cache from a stage's samples in time order; nullopt without samples.
std::optional<StagePageCache> stagePageCache(const std::vector<const Sample*>& samples);

struct StageStats {
  std::string name;
  double start_s = 0, end_s = 0;
  bool completed = false;
  std::size_t samples = 0;
  std::optional<PressureSpec> pressure;
  std::optional<std::uint64_t> requested_setpoint_bytes;  ///< closed loop
  std::optional<std::uint64_t> requested_size_bytes;      ///< open loop
  Summary usage;                                          ///< measured cgroup usage (bytes)
  Summary stressor;                                       ///< bytes the stressor reported holding
  /// Mean usage (closed loop) or stressor size (open loop) after the ramp and settling time.
  std::optional<double> reached_bytes;
  /// Closed loop: |usage - setpoint| over samples after settling, in bytes and as a fraction of
  /// the effective limit.
  std::optional<double> setpoint_error_mean_abs_bytes;
  std::optional<double> setpoint_error_max_abs_bytes;
  std::optional<double> setpoint_error_mean_abs_fraction;
  Summary target_rss;  ///< bytes
  std::uint32_t oom_kills_target = 0;
  std::uint32_t oom_kills_stressor = 0;
  std::optional<double> controller_cpu_s;  ///< see StageRecord
  std::optional<double> stressor_cpu_s;
  std::optional<double> target_cgroup_cpu_s;
  std::optional<StageHeapStats> heap;    ///< when the plan reads pprof
  std::vector<StageLatency> latency;     ///< one per probe
  std::optional<ReleaseResult> release;  ///< release stages: the outcome (and reclaim, if it ran)
  std::optional<ReclaimResult> reclaim;  ///< release stages whose reclaim phase ran
  bool reclaim_configured = false;       ///< the plan asked for reclaim (report: skipped vs absent)
  std::string reclaim_skipped_reason;
  std::optional<StagePsi> psi;  ///< when the kernel reports memory PSI
  std::optional<StagePageCache> page_cache;
};

/// Samples of a stage taken within this long of its start are left out of "reached" and of the
/// setpoint error when the stage jumps to its level without a ramp: the stressor needs a moment
/// to fault its pages in.
inline constexpr double kSettleSeconds = 1.0;

std::vector<StageStats> analyzeStages(const RunRecord& rec);

enum class Verdict { kPass, kFail, kInconclusive };
const char* toString(Verdict v);

struct VerdictResult {
  Verdict verdict = Verdict::kPass;
  std::vector<std::string> reasons;  ///< why it failed or was inconclusive; empty on pass
};

/// Why the target looks unreachable at the start: in the baseline stage (or the first), a probe
/// sent requests and got no expected answer, or — when there is no probe and no readiness URL, so
/// pprof is the only sign of life — every pprof request failed. Empty when it answered.
std::vector<std::string> unreachableAtStart(const RunRecord& rec, const std::vector<StageStats>& stages);

/// fail: the target died or was OOM-killed, a window check aborted the run (outside the baseline
/// stage), or a check failed in a stage other than the baseline. Inconclusive instead, whatever
/// the checks say, when the target was unreachable at the start (unless it died).
/// Otherwise inconclusive: an abort in the baseline stage, a check failed in the baseline stage
/// itself (the baseline broke the check, so pressure cannot be blamed), a check had no data, or the run ended in an error or was
/// interrupted before the stages finished. Otherwise pass. Cleanup does not change the verdict
/// (see exitCodeFor).
VerdictResult judge(const RunRecord& rec, const std::vector<StageStats>& stages, const std::vector<CheckResult>& checks = {});

/// Everything judged about a run: per-stage statistics, the heap-growth diff, the plan's checks
/// per stage, the verdict.
struct RunAnalysis {
  std::vector<StageStats> stages;
  std::vector<CheckResult> checks;
  std::optional<HeapDiff> heap_diff;
  std::string heap_diff_error;  ///< why there is no diff, when pprof was on
  VerdictResult verdict;
  std::optional<StressorReleaseResult> stressor_release;  ///< when a stressor held pressure
};
RunAnalysis analyzeRun(const RunRecord& rec);

/// Process exit code for a run, first that applies: 7 aborted by a window check, 1 fail, 3 run error, 4 interrupted,
/// 5 inconclusive, 6 cleanup failed (the verdict was pass but cgroups or processes were left
/// behind), 0 pass. 2 (invalid plan or usage) is decided before a run starts.
int exitCodeFor(const RunRecord& rec, const VerdictResult& v);

}  // namespace memstrain
