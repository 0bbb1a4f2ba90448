#pragma once
// `memstrain sweep`: run one launch-mode plan under every combination of GOGC / GOMEMLIMIT /
// GODEBUG values (each run a child `memstrain run` in its own fresh cgroup) and compare them.

#include <string>
#include <vector>

namespace memstrain {

/// Runs `memstrain sweep` with the words after "sweep":
///   PLAN --set NAME=V1,V2 [--set ...] [--repeat N] [--out DIR] [--dry-run] [--cgroup-parent P]
/// @returns 0 when every run completed and at least one setting passed every run, 1 when none
///          did, 2 on a usage or plan error (nothing was run), 3 when a run could not be judged
///          (run error, cleanup failure, no report), 4 when interrupted by a signal (the runs so far
///          are still reported). Never throws.
int runSweepCommand(const std::vector<std::string>& args);

}  // namespace memstrain
