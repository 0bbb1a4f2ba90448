#pragma once
// What a latency probe recorded over an interval (one second, one stage, a whole run): counts and
// latency histograms. Plain data that merges; the probe fills it, window checks and reports read it.

#include <chrono>
#include <cstdint>

#include "memstrain/model/histogram.hpp"

namespace memstrain {

/// Errors by class.
struct ProbeErrors {
  std::uint64_t timeout = 0;
  std::uint64_t connect = 0;
  std::uint64_t http_status = 0;
  std::uint64_t other = 0;
  std::uint64_t total() const { return timeout + connect + http_status + other; }
};

/// What a probe recorded over an interval: one second, one stage, or a whole run (windows merge).
/// Plain data; the histograms are in nanoseconds.
struct ProbeWindow {
  std::chrono::steady_clock::time_point start{};  ///< when the window opened
  std::chrono::steady_clock::time_point end{};    ///< when it was taken
  std::uint64_t sent = 0;                         ///< requests put on the wire (or queued for a connection, then sent)
  std::uint64_t missed = 0;                       ///< due sends skipped because max_in_flight were outstanding
  std::uint64_t completed = 0;                    ///< requests that ended, successfully or not (= ok + errors.total())
  std::uint64_t ok = 0;                           ///< completed with an expected status
  ProbeErrors errors;
  std::uint64_t cancelled = 0;            ///< outstanding at stop() and abandoned after the drain time
  std::uint64_t outstanding = 0;          ///< gauge: requests sent or queued and not yet ended, at `end`
  std::chrono::nanoseconds probe_cpu{0};  ///< CPU time the probe thread used in the window
  Histogram corrected;                    ///< completion - intended send time; every response, any status
  Histogram uncorrected;                  ///< completion - actual send time; same requests
  /// actual send - intended send time, every sent request: the probe's own lateness (timer
  /// wake-up, loop work), plus, under a `concurrency` cap, the wait for a free connection.
  Histogram sched_lag;

  /// Folds a later window into this one: counts and histograms add, `start` stays the earlier,
  /// `end` and `outstanding` become the later's.
  void merge(const ProbeWindow& later);
  /// errors.total() / completed; 0 when nothing completed.
  double errorRate() const;
  /// (end - start) in seconds; 0 for a window never opened.
  double seconds() const;
};

/// Per-stage (or per-run) figures are merged windows.
using ProbeStats = ProbeWindow;

}  // namespace memstrain
