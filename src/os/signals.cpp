#include "memstrain/os/signals.hpp"

#include <signal.h>

#include <cerrno>
#include <cstring>

namespace memstrain {

Status sendSignal(pid_t pid, int sig) {
  if (::kill(pid, sig) != 0) return Error::fromErrno("kill " + std::to_string(pid));
  return {};
}

bool processGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

std::string signalName(int sig) {
  const char* name = sigabbrev_np(sig);
  return std::string("SIG") + (name ? name : "?");
}

}  // namespace memstrain
