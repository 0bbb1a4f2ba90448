#pragma once
#include <span>
#include <string>

namespace memstrain {

/// Exit codes of every command, listed by `memstrain --help`, the man page and the README.
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

struct ExitCodeInfo {
  int code;
  const char* meaning;
};

/// Every exit code with one line of meaning, in code order.
std::span<const ExitCodeInfo> exitCodeTable();

/// `--cgroup-parent` of run and sweep: an absolute path without "..", whose last part names
/// memstrain. Returns the message for a refused value, or "" when it is fine.
std::string cgroupParentProblem(const std::string& parent);

/// `memstrain --version`: version, commit, build type and compiler, one per line.
std::string versionText();

/// The whole command line: parses argv and dispatches to a subcommand. Never throws.
int cliMain(int argc, char** argv);

}  // namespace memstrain
