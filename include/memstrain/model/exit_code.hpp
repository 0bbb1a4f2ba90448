#pragma once
// memstrain's exit codes, for the CLI and for the verdict (exitCodeFor) alike.

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

}  // namespace memstrain
