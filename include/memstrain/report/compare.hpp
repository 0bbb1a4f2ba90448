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

/// An aligned text table for a terminal.
std::string renderCompareTable(const ReportComparison& c);
/// Markdown (for a CI step summary or a PR comment).
std::string renderCompareMarkdown(const ReportComparison& c);
/// The comparison as JSON: {"a": {...}, "b": {...}, "rows": [...], "changed_outcomes": [...]}.
nlohmann::json compareToJson(const ReportComparison& c);

}  // namespace memstrain
