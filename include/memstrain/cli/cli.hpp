#pragma once
#include <string>

#include "memstrain/model/exit_code.hpp"

namespace memstrain {

/// `--cgroup-parent` of run and sweep: an absolute path without "..", whose last part names
/// memstrain. Returns the message for a refused value, or "" when it is fine.
std::string cgroupParentProblem(const std::string& parent);

/// The whole command line: parses argv and dispatches to a subcommand. Never throws.
int cliMain(int argc, char** argv);

}  // namespace memstrain
