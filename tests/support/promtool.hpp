#pragma once
// `promtool check metrics` (Debian's prometheus package) on a text exposition: the Prometheus
// project's own linter, run on what memstrain writes.

#include <string>

namespace memstrain {

/// True when promtool is on PATH.
bool promtoolAvailable();

/// Runs `promtool check metrics` on `exposition`. Returns "" when it exits 0 and prints nothing,
/// else its exit status and output (every lint problem, or why it could not run).
std::string promtoolProblems(const std::string& exposition);

}  // namespace memstrain
