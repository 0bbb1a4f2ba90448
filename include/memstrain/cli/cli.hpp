#pragma once
#include <span>
#include <string>

#include "memstrain/model/exit_code.hpp"

namespace memstrain {

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
