#pragma once
// memstrain's exit codes, for the CLI and for the verdict (exitCodeFor) alike.

namespace memstrain {

/// Exit codes of every command, listed by `memstrain --help` (cli's exitCodeTable), the man page
/// and the README.
enum ExitCode : int {
  kExitPass = 0,      ///< run: pass; other commands: done
  kExitFail = 1,      ///< a check failed, or the target was OOM-killed or died
  kExitUsage = 2,     ///< invalid plan, command line or input file; nothing was changed
  kExitRunError = 3,  ///< the work could not be done (cgroups, target start, unreadable hierarchy, a write)
  kExitInterrupted = 4,
  kExitInconclusive = 5,
  kExitCleanupFailed = 6,  ///< the run passed but memstrain could not undo everything (see `recover`)
  kExitAborted = 7,        ///< a window check with abort: true stopped the run early (verdict fail)
  kExitRegression = 8,     ///< compare --fail-on: B regressed against A
  kExitNotFound = 9,       ///< locate: no such target, or more than one
};

}  // namespace memstrain
