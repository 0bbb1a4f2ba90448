#pragma once
// A clock that moves only when told to: sleepUntil() jumps to the time asked for, advance() moves
// by a duration. For the executor's parts that keep time (release phase, window feeding).

#include <cstdint>
#include <vector>

#include "memstrain/os/clock.hpp"

namespace memstrain::testing {

class FakeClock final : public Clock {
 public:
  /// Starts at an arbitrary monotonic time (not 0, so that a default time_point stands out) and
  /// at Unix time `wall0_ms`.
  explicit FakeClock(std::int64_t wall0_ms = 1'700'000'000'000) : wall0_ms_(wall0_ms) {}

  time_point now() const override { return now_; }
  std::int64_t wallMs() const override { return wall0_ms_ + std::chrono::duration_cast<std::chrono::milliseconds>(now_ - start_).count(); }
  /// Jumps to `t` (never back) and remembers that it was asked to sleep until then.
  void sleepUntil(time_point t) override {
    sleeps.push_back(t);
    if (t > now_) now_ = t;
  }
  void advance(duration d) { now_ += d; }
  /// The time `d` after the clock's start.
  time_point at(duration d) const { return start_ + d; }

  std::vector<time_point> sleeps;  ///< every sleepUntil() in order

 private:
  time_point start_{std::chrono::hours(1000)};
  time_point now_ = start_;
  std::int64_t wall0_ms_;
};

}  // namespace memstrain::testing
