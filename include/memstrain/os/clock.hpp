#pragma once
// Time as the executor sees it: a monotonic clock for stage timing, the wall clock for the record,
// and sleeping until a point on the monotonic clock. A seam: the real clock in production, a fake
// one that tests move by hand.

#include <chrono>
#include <cstdint>

namespace memstrain {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  /// The monotonic clock (CLOCK_MONOTONIC): stage starts and ends, deadlines, sample times.
  virtual time_point now() const = 0;
  /// Unix time in milliseconds, for the record (samples' wall_ms, the run's start and end).
  virtual std::int64_t wallMs() const = 0;
  /// Returns at `t` or soon after (at once when `t` has passed).
  virtual void sleepUntil(time_point t) = 0;
};

/// The real clocks (std::chrono::steady_clock and system_clock), shared and stateless.
Clock& realClock();

/// Seconds from `a` to `b` (negative when b is earlier).
inline double secondsBetween(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

}  // namespace memstrain
