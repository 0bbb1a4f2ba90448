#pragma once
// `memstrain locate`: find a target's memory cgroup on this node from a pid, a container id or a
// pod UID, and print it with its limit, usage and members (text, or one JSON object).

#include <iosfwd>
#include <string>
#include <vector>

namespace memstrain {

/// Runs `memstrain locate` with the arguments that follow "locate" on the command line:
///   --pid N | --container-id ID | --pod-uid UID [--container NAME] [--json]
///   [--cgroup-mount DIR --cgroup-version 1|2 [--cgroup-root PATH]] [--proc-root DIR] [--host-root DIR]
/// Writes the result (and --help) to `out`; diagnostics go to the log (stderr).
/// @returns 0 when the target was found, 2 on a usage error (bad option or malformed id),
///          9 when it was not found or is ambiguous, 3 when the cgroup hierarchy could not be read.
///          Never throws.
int runLocateCommand(const std::vector<std::string>& args, std::ostream& out);

/// The same, writing to std::cout.
int runLocateCommand(const std::vector<std::string>& args);

}  // namespace memstrain
