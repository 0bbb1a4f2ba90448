#pragma once
// Where `run`, `validate` and `sweep` get their plan: a file, or standard input for "-" and
// "/dev/stdin" (a ConfigMap piped through kubectl, a plan made by jq); and the machine-readable
// answers of `validate --json` and `run --dry-run --json`.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/executor/resolve.hpp"
#include "memstrain/model/plan.hpp"
#include "memstrain/plan/plan_parse.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// True for the plan arguments that mean standard input: "-" and "/dev/stdin".
bool isStdinPlan(const std::string& path);

/// A plan as read: its text (the bytes the report's plan_sha256 is taken of), the label messages
/// use ("<stdin>" for standard input, else the path) and the parsed plan or the problems.
struct PlanInput {
  std::string label;
  std::string text;
  Result<Plan> plan = Error{"not read"};
  std::vector<PlanIssue> issues;  ///< empty when the plan is valid
};

/// Reads and parses the plan at `path` (standard input for isStdinPlan; a FIFO or device given by
/// any other name is refused as before, see loadPlan). Standard input is read to its end, at most
/// kMaxPlanBytes; more is a problem at "/".
PlanInput readPlanInput(const std::string& path);

/// `validate --json`: {"plan_file", "valid", "name", "stages": [{"name", "duration_s", "pressure"}],
/// "total_duration_s", "mode", "probes", "checks", "problems": [{"pointer", "message"}]}. For an
/// invalid plan only plan_file, valid (false) and problems are set.
nlohmann::json validateJson(const PlanInput& in);

/// `run --dry-run --json`: the resolution as data: cgroup version and mount, target, cgroups to
/// create, placement, measured cgroup and effective limit (bytes; null when unlimited), safety
/// margin, node rails, and per stage name, duration_s, pressure (placement, setpoint_bytes or
/// size_bytes, ramp_s, allow_oom) or null; "changes": "none".
nlohmann::json dryRunJson(const Plan& plan, const Resolution& r, const std::string& plan_label);

}  // namespace memstrain
