#pragma once
// `memstrain headroom`: where is the edge? One setting of a launch-mode plan (the pressure level,
// the launch memory_limit, or GOMEMLIMIT) is searched by bisection between two values, each point
// judged by child runs of the plan's own checks. Everything here is pure: parsing the range,
// rewriting the plan for one value, and the search itself, which drives a runner callback (the
// CLI's runs child `memstrain run`s; tests pass a fake with a known threshold).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/model/plan.hpp"
#include "memstrain/sweep/sweep.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// What a headroom search varies.
enum class HeadroomVariable {
  kLevel,        ///< pressure.level of every pressure stage that has a level
  kMemoryLimit,  ///< target.launch.memory_limit
  kGomemlimit,   ///< GOMEMLIMIT in the target's environment
};
/// "level", "memory_limit", "gomemlimit".
const char* toString(HeadroomVariable v);

/// Parses `--vary`: level, memory_limit or gomemlimit (GOMEMLIMIT also accepted). Error names the three.
Result<HeadroomVariable> parseHeadroomVariable(std::string_view text);

/// The search's range. Values are fractions of the limit (level; gomemlimit given as percents) or
/// bytes (memory_limit; gomemlimit given as sizes).
struct HeadroomRange {
  HeadroomVariable variable = HeadroomVariable::kLevel;
  bool percent = false;  ///< values are fractions of the limit (printed as percents)
  double from = 0, to = 0;
  double resolution = 0;  ///< stop when the passing and failing values are at most this far apart
  double quantum = 0;     ///< midpoints are rounded to multiples of this (0.1% or 1 MiB)
};

/// Parses --from, --to and --resolution (empty: the default, 1/16 of the range rounded up to
/// the quantum, at least 1% or 1 MiB). level: percents above 0 and at most 100%; memory_limit:
/// sizes of at least 16 MiB; gomemlimit: both sizes or both percents (above 0, at most 100%). Error
/// on a malformed value, from == to, mixed kinds, or a resolution that is not positive or not
/// smaller than the range. `from` may be above `to`: the range is the same.
Result<HeadroomRange> parseHeadroomRange(HeadroomVariable variable, std::string_view from, std::string_view to,
                                         std::string_view resolution);

/// A value as a person reads it: "72.5%" or "304.0 MiB".
std::string formatHeadroomValue(const HeadroomRange& range, double value);

/// A value as the plan or environment takes it: "72.5%" for levels and percents, whole bytes
/// ("318767104") for sizes.
std::string headroomValueText(const HeadroomRange& range, double value);

/// A directory name for a value ([A-Za-z0-9.-]): "level-72.5pct", "memory_limit-304MiB" or
/// "memory_limit-318767104B" when not whole MiB.
std::string headroomValueDir(const HeadroomRange& range, double value);

/// The plan copy for one value of the search: `source` with relative paths made absolute against
/// `cwd` (as settingPlanJson does) and the variable set: every pressure stage's "level" (Error
/// when the plan has none: a `size` stage is not a level), target.launch.memory_limit, or
/// GOMEMLIMIT in target.launch.env (a percent of the plan's memory_limit resolved to bytes).
Result<nlohmann::json> headroomPlanJson(const nlohmann::json& source, const LaunchSpec& launch, const HeadroomRange& range, double value,
                                        const std::string& cwd);

/// How one child run counts for the search.
enum class TrialVerdict { kPass, kFail, kNotJudged, kInterrupted };
const char* toString(TrialVerdict v);

/// pass / fail from the run's verdict; kInterrupted when the child exited 4 after a signal;
/// kNotJudged otherwise (no report, inconclusive, error).
TrialVerdict trialVerdictOf(const SweepRunFigures& f);

/// Why a run is made.
enum class TrialPurpose { kEndpoint, kBisect, kRecheck };
const char* toString(TrialPurpose p);

/// One child run of the search.
struct HeadroomTrial {
  std::size_t seq = 0;  ///< 1-based, in the order run
  double value = 0;
  TrialPurpose purpose = TrialPurpose::kEndpoint;
  int attempt = 1;  ///< 1-based count of runs at this value
  TrialVerdict verdict = TrialVerdict::kNotJudged;
  SweepRunFigures figures;
  double took_s = 0;
};

/// Runs the plan once at `value`; `attempt` counts runs at that value so far (1-based).
using HeadroomRunner = std::function<SweepRunFigures(double value, TrialPurpose purpose, int attempt, double& took_s)>;

struct HeadroomSearchOptions {
  int repeat = 1;     ///< runs per point; a point passes only when every one passes (stops at the first fail)
  int max_runs = 30;  ///< budget of child runs in all
  int rechecks = 1;   ///< extra rounds of `repeat` runs at the passing and failing bounds once bisection ends
};

/// How a search ended.
enum class SearchEnd {
  kEdge,         ///< a passing and a failing value at most `resolution` apart (or a quantum: no midpoint left)
  kAllPass,      ///< both ends passed: the edge is beyond the range
  kAllFail,      ///< both ends failed: no passing value in the range
  kBudget,       ///< --max-runs spent before the resolution was reached: the bracket so far
  kNotJudged,    ///< a run could not be judged: stopped
  kInterrupted,  ///< a signal: stopped
};
const char* toString(SearchEnd e);

/// The search's record and answer.
struct HeadroomOutcome {
  std::vector<HeadroomTrial> trials;
  SearchEnd end = SearchEnd::kNotJudged;
  std::optional<double> passing;  ///< the passing value nearest the failing side
  std::optional<double> failing;  ///< the failing value nearest the passing side
  /// True when passing values lie below failing ones. Known once one end passed and the other
  /// failed; before that the variable's usual direction (level, gomemlimit: low passes).
  bool pass_low = true;
  /// Observations that do not fit a monotonic edge, as sentences: a value with both passing and
  /// failing runs (flaky), a failing value on the passing side of a passing one.
  std::vector<std::string> non_monotonic;
  std::vector<double> flaky_values;  ///< values with both passing and failing runs
  std::vector<std::string> notes;    ///< what else the reader should know (rechecks skipped for the budget)
};

/// Bisection between range.from and range.to. Both ends run first (from, then to); when one passes
/// and the other fails, the midpoint (rounded to the quantum) of the current passing and failing
/// values runs next, until they are at most `resolution` apart. Then the bounds are re-run
/// (`rechecks` rounds): a passing bound that now fails becomes the failing bound and the search
/// goes on from the passing value before it; a failing bound that now passes stays failing (a
/// point passes only when all its runs pass) and is reported as flaky. A value's verdict is over
/// all its runs. The budget is checked before every run.
HeadroomOutcome searchHeadroom(const HeadroomRange& range, const HeadroomSearchOptions& options, const HeadroomRunner& runner);

/// Every distinct value the search could visit within the budget: both ends, then the midpoints of
/// bisection to the resolution when each one passes and when each one fails (the tree, breadth
/// first), capped at `limit` values. For --dry-run.
std::vector<double> headroomCandidatePoints(const HeadroomRange& range, std::size_t limit);

/// The deepest bisection needs this many points besides the two ends.
int bisectionSteps(const HeadroomRange& range);

}  // namespace memstrain
