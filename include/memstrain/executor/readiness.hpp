#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// Polls `url` every 100 ms until it answers HTTP 2xx. Error when `timeout` passes, when `pid`
/// (if set) exits first, or when `stop` is raised.
Status waitForReady(const std::string& url, std::chrono::nanoseconds timeout, std::optional<pid_t> pid, const std::atomic<int>* stop);

}  // namespace memstrain
