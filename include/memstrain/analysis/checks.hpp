#pragma once
// Checks of a plan judged against per-stage statistics: pure functions of data, no I/O.

#include <optional>
#include <string>
#include <vector>

#include "memstrain/model/plan.hpp"

namespace memstrain {

struct StageStats;
struct WindowCheckRecord;

enum class CheckOutcome {
  kPass,
  kFail,
  kNoData,  ///< the stage did not run, or the metric was not observed in it (no probe, no pprof)
};
const char* toString(CheckOutcome o);

/// One check judged in one stage.
struct CheckResult {
  std::string check;  ///< CheckSpec::name
  std::string metric;
  MetricUnit unit = MetricUnit::kCount;
  std::string stage;
  std::string probe;                   ///< latency metrics only
  bool baseline_stage = false;         ///< `stage` is the plan's baseline stage
  std::optional<double> observed;      ///< canonical unit (ns, bytes, /s, count, fraction); nullopt: no data
  std::optional<double> max, min;      ///< the absolute limits that applied
  std::optional<double> baseline;      ///< the metric in the baseline stage, when max_vs_baseline applies
  std::optional<double> relative_max;  ///< baseline * factor + add
  std::string observed_text;           ///< word metrics (release.outcome): the observed word; "" when no data
  std::string equals;                  ///< word metrics: the word it must equal
  std::string relative_text;           ///< "2x+5ms"
  CheckOutcome outcome = CheckOutcome::kNoData;
  /// One line: "p99 312.4 ms > max 250 ms" / "p99 41.0 ms > 2x+5ms of baseline 12.1 ms = 29.2 ms".
  std::string explanation;
  std::string description;  ///< CheckSpec::description
  // Window checks: `observed` is the worst full window that ended in the stage.
  std::optional<double> window_s;            ///< set for a sliding-window check
  bool abort = false;                        ///< CheckSpec::abort
  std::size_t windows = 0;                   ///< full windows judged in the stage
  std::size_t windows_failed = 0;            ///< of those, how many broke a limit
  std::optional<double> worst_window_end_s;  ///< run time at the end of the worst window
};

/// Judges every check in every stage of its scope (its `stages`, or every stage of the plan),
/// in check order then plan stage order. `stage_order` is the plan's stage names; a stage in scope
/// without an entry in `stages` (it never ran) yields kNoData. `baseline_stage` is the plan's
/// baseline ("" if none). In the baseline stage itself a max_vs_baseline limit is not applied
/// (it would compare the stage with itself); a check with only that limit is not evaluated there.
///
/// A check with a `window` is judged from `windows` (what the live evaluator recorded per stage):
/// fail when any window that ended in the stage broke a limit, no data when no full window ended
/// there; `observed` is the worst window.
std::vector<CheckResult> evaluateChecks(const std::vector<CheckSpec>& checks, const std::vector<StageStats>& stages,
                                        const std::vector<std::string>& stage_order, const std::string& baseline_stage,
                                        const std::vector<WindowCheckRecord>& windows = {});

/// Checks that passed / all results, and the names of failed checks (each once, in check order).
struct CheckTally {
  std::size_t passed = 0, failed = 0, no_data = 0, total = 0;
  std::vector<std::string> failed_names;
};
CheckTally tallyChecks(const std::vector<CheckResult>& results);

}  // namespace memstrain
