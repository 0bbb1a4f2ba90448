#pragma once
// How a child process ended: plain data, recorded for the target and the stressor.

#include <string>

namespace memstrain {

/// How a child ended.
struct ExitInfo {
  bool signaled = false;
  int code = 0;                  ///< exit code when !signaled
  int signal = 0;                ///< terminating signal when signaled
  std::string describe() const;  ///< "exit code 0", "killed by SIGKILL"
};

}  // namespace memstrain
