#pragma once
// Per-stage statistics and the run's verdict: pure functions of a RunRecord.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "memstrain/analysis/checks.hpp"
#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/analysis/release.hpp"
#include "memstrain/model/run_record.hpp"
#include "memstrain/model/sample_stats.hpp"
#include "memstrain/model/stage_stats.hpp"

namespace memstrain {

/// min / mean / max of `values`.
Summary summarize(const std::vector<double>& values);

/// PSI of a stage from its samples in time order: the cgroup's own when the samples have it,
/// else the host's. nullopt when no sample carries PSI.
std::optional<StagePsi> stagePsi(const std::vector<const Sample*>& samples);

/// The target cgroup's page cache from a stage's samples in time order; nullopt without samples.
std::optional<StagePageCache> stagePageCache(const std::vector<const Sample*>& samples);

/// The same two from a stage's running figures (the executor's, or accumulated from samples).
std::optional<StagePsi> stagePsiOf(const StageSampleStats& st);
std::optional<StagePageCache> stagePageCacheOf(const StageSampleStats& st);
/// A Summary of a running one.
Summary summaryOf(const RunningSummary& r);
/// When a stage's samples start to count towards "reached" and the setpoint error: after the
/// ramp, or kSettleSeconds after the start without one. (settled_after_s, error_after_s).
/// A rate-limited ramp (`rate`) has no duration in the plan: `rate_ramp_s` is how long it takes
/// from where the stage starts (0 when unknown or not a rate stage).
std::pair<double, double> settleTimes(double stage_start_s, const std::optional<PressureSpec>& pressure, double rate_ramp_s = 0.0);

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
