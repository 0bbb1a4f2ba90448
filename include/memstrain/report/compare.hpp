#pragma once
// `memstrain compare A/report.json B/report.json`: two runs side by side, per stage and per check,
// with the change. A pure function of two parsed report.json documents; reading files and
// printing are the CLI's.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// One figure in both runs. `a`/`b` are nullopt when that run has no such figure (the stage did
/// not run, no probe, no pprof).
struct CompareRow {
  std::string section;  ///< "stage" (a per-stage figure) or "check" (a check's observed value in a stage)
  std::string stage;
  std::string name;  ///< figure ("latency.p99 [probe]", "usage.max") or check name
  std::string unit;  ///< report.json's unit names: "ns", "bytes", "per_s", "count", "fraction", "s"
  std::optional<double> a, b;
  std::optional<double> delta;       ///< b - a, when both exist
  std::optional<double> percent;     ///< 100 * (b - a) / |a|, when both exist and a != 0
  std::string outcome_a, outcome_b;  ///< checks only: "pass", "fail", "no_data", or "" when absent
};

struct ReportComparison {
  std::string label_a, label_b;  ///< the paths given
  std::string plan_a, plan_b;
  std::string verdict_a, verdict_b;
  std::string status_a, status_b;
  std::vector<CompareRow> rows;  ///< stages in A's order (then B-only), figures, then checks
  /// Checks whose outcome changed between pass and fail, as "name @ stage: pass -> fail".
  std::vector<std::string> changed_outcomes;
};

/// Compares two report.json documents (schema version 1). Error when either is not a report
/// (missing "stages" or "checks" arrays, or another schema_version).
Result<ReportComparison> compareReports(const nlohmann::json& a, const nlohmann::json& b, const std::string& label_a = "A",
                                        const std::string& label_b = "B");

/// One `compare --fail-on` rule.
///   "check-regressed"        a check passed in a stage of A and fails in that stage of B
///   "verdict"                A's verdict is pass and B's is not
///   "FIGURE[@STAGE]:+LIMIT"  a stage figure rose by more than LIMIT from A to B. FIGURE is a
///                            figure name as the table shows it without the probe ("latency.p99",
///                            "usage.max", "heap.gc_cpu_fraction", "oom_kills.target"; "p50", "p90",
///                            "p99", "p999" are short for latency.*), in every stage or STAGE only,
///                            every probe. LIMIT is "N%" of A's value, an amount in the figure's
///                            unit ("5ms", "64MiB", "0.01", "0"), or both ("20%+2ms": B > A * 1.2 + 2 ms).
struct FailRule {
  enum class Kind { kCheckRegressed, kVerdict, kFigureRise };
  Kind kind = Kind::kCheckRegressed;
  std::string text;         ///< as given
  std::string figure;       ///< kFigureRise: the figure name (aliases expanded)
  std::string stage;        ///< kFigureRise: "" for every stage
  double fraction = 0;      ///< allowed rise as a share of A's value
  std::string amount_text;  ///< allowed rise in the figure's unit, parsed against each row's unit; "" for none
};

/// Parses one rule. Error says what was expected.
Result<FailRule> parseFailRule(const std::string& text);

/// What tripped a rule: "latency.p99 [work] @ hold: 4.1 ms -> 6.0 ms (+46.3%) > +20%".
struct GateFinding {
  std::string rule;
  std::string detail;
};

/// The rules against a comparison, in rule order. Error when a FIGURE rule matches no figure of
/// either report (a typo would otherwise gate nothing) or LIMIT's amount does not fit the figure's unit.
Result<std::vector<GateFinding>> evaluateFailRules(const ReportComparison& c, const std::vector<FailRule>& rules);

/// An aligned text table for a terminal.
std::string renderCompareTable(const ReportComparison& c);
/// Markdown (for a CI step summary or a PR comment).
std::string renderCompareMarkdown(const ReportComparison& c);
/// The comparison as JSON: {"a": {...}, "b": {...}, "rows": [...], "changed_outcomes": [...]}.
nlohmann::json compareToJson(const ReportComparison& c);

}  // namespace memstrain
