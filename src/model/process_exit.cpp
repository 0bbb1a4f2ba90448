#include "memstrain/model/process_exit.hpp"

#include <cstring>

namespace memstrain {

std::string ExitInfo::describe() const {
  if (signaled) {
    const char* name = sigabbrev_np(signal);
    return std::string("killed by SIG") + (name ? name : std::to_string(signal).c_str());
  }
  return "exit code " + std::to_string(code);
}

}  // namespace memstrain
