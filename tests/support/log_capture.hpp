#pragma once
// Captures what memstrain logs (spdlog's logger "memstrain") while it is alive, for tests that
// check diagnostics; setupLogging reconfigures this logger instead of making one on stderr.

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/logger.h>

namespace memstrain {

class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// Everything logged so far, one line per record.
  std::string text() const;
  /// Forgets what was logged so far.
  void clear();

 private:
  std::shared_ptr<std::ostringstream> out_;
  std::shared_ptr<spdlog::logger> previous_named_;    ///< the logger named "memstrain" before, if any
  std::shared_ptr<spdlog::logger> previous_default_;  ///< the default logger before
};

}  // namespace memstrain
