#pragma once
// Plan text -> validated Plan. Every problem is reported with the JSON pointer of the field and
// what was expected; all problems are collected, not just the first.

#include <string>
#include <string_view>
#include <vector>

#include "memstrain/model/plan.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Largest plan file accepted; real plans are a few KiB.
inline constexpr std::size_t kMaxPlanBytes = 1 << 20;

/// One validation problem: where (a JSON pointer such as "/stages/2/pressure/level") and what.
struct PlanIssue {
  std::string pointer;
  std::string message;
};

/// Parses "200", "200-299", "200,204,300-399" (whitespace around items allowed). Every code must
/// be 100..599 and each range ascending. Returns an Error quoting the bad item otherwise.
Result<std::vector<StatusRange>> parseStatusRanges(std::string_view text);

/// Parses and validates plan text. On failure the Error message lists every issue, one per line,
/// as "POINTER: MESSAGE"; `issues` (when given) receives them as data.
Result<Plan> parsePlan(std::string_view text, std::vector<PlanIssue>* issues = nullptr);

/// Reads `path` (at most kMaxPlanBytes) and parses it. Error messages start with the path.
Result<Plan> loadPlan(const std::string& path, std::vector<PlanIssue>* issues = nullptr);

}  // namespace memstrain
