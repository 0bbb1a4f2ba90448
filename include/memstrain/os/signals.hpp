#pragma once
// Signals to processes memstrain does not reap (an attached target, a release trigger's target):
// sending one, asking whether a pid still exists, naming a signal.

#include <sys/types.h>

#include <string>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// kill(2) `sig` to `pid`. Error (with errno) when the process is gone or not ours to signal.
Status sendSignal(pid_t pid, int sig);

/// True when no process `pid` exists any more (kill(pid, 0) fails with ESRCH). A process that
/// exists but is not ours to signal is not gone.
bool processGone(pid_t pid);

/// "SIGUSR1" for SIGUSR1; "SIG?" for a number the C library cannot name.
std::string signalName(int sig);

}  // namespace memstrain
