#pragma once
// `memstrain pprof top|diff ...`: summaries of saved heap profiles, with the numbers
// `go tool pprof -top` prints.

#include <iosfwd>
#include <string>
#include <vector>

namespace memstrain {

/// Runs `memstrain pprof` with the arguments that follow "pprof" on the command line:
///   top FILE [--sample-index TYPE] [-n N] [--json] [--unit auto|B]
///   diff BASE FILE [same options]
/// Writes the report (and --help) to `out`; diagnostics go to the log (stderr).
/// @returns 0 on success, 2 on a usage error or an unreadable/invalid profile, 3 on an internal
///          failure. Never throws.
int runPprofCommand(const std::vector<std::string>& args, std::ostream& out);

/// The same, writing to std::cout.
int runPprofCommand(const std::vector<std::string>& args);

}  // namespace memstrain
