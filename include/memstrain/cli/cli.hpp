#pragma once
#include <string>

namespace memstrain {

/// Exit codes, documented in the README.
enum ExitCode : int {
  kExitPass = 0,
  kExitFail = 1,
  kExitUsage = 2,  ///< invalid plan or command line; nothing was changed
  kExitRunError = 3,
  kExitInterrupted = 4,
  kExitInconclusive = 5,
  kExitCleanupFailed = 6,  ///< the run passed but memstrain could not undo everything (see `recover`)
  kExitAborted = 7,        ///< a window check with abort: true stopped the run early (verdict fail)
};

/// `--cgroup-parent` of run and sweep: an absolute path without "..", whose last part names
/// memstrain. Returns the message for a refused value, or "" when it is fine.
std::string cgroupParentProblem(const std::string& parent);

/// The whole command line: parses argv and dispatches to a subcommand. Never throws.
int cliMain(int argc, char** argv);

}  // namespace memstrain
