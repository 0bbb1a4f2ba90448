#include "memstrain/actuators/setpoint.hpp"

#include <algorithm>
#include <cmath>

namespace memstrain {

std::uint64_t rampValue(std::uint64_t from, std::uint64_t to, std::chrono::nanoseconds elapsed, std::chrono::nanoseconds ramp) {
  if (ramp.count() <= 0 || elapsed >= ramp) return to;
  if (elapsed.count() <= 0) return from;
  const double f = static_cast<double>(elapsed.count()) / static_cast<double>(ramp.count());
  const double v = static_cast<double>(from) + (static_cast<double>(to) - static_cast<double>(from)) * f;
  return v <= 0 ? 0 : static_cast<std::uint64_t>(v);
}

std::uint64_t rateValue(std::uint64_t from, std::uint64_t to, std::chrono::nanoseconds elapsed, std::uint64_t bytes_per_s) {
  if (bytes_per_s == 0 || from == to) return to;
  if (elapsed.count() <= 0) return from;
  const double moved = static_cast<double>(bytes_per_s) * std::chrono::duration<double>(elapsed).count();
  const double gap = from < to ? static_cast<double>(to - from) : static_cast<double>(from - to);
  if (moved >= gap) return to;
  const auto step = static_cast<std::uint64_t>(moved);
  return from < to ? from + step : from - step;
}

std::uint64_t defaultHysteresisBytes(std::uint64_t effective_limit_bytes) {
  return std::max<std::uint64_t>(effective_limit_bytes / 100, 4ULL << 20);
}

bool correctsError(double error_bytes, bool correcting, const ControlParams& params) {
  const std::uint64_t threshold = correcting ? params.deadband_bytes : std::max(params.deadband_bytes, params.hysteresis_bytes);
  return std::fabs(error_bytes) >= static_cast<double>(threshold);
}

std::uint64_t nextStressorBytes(const PressureGoal& goal, const ControlInput& in, const ControlParams& params) {
  std::uint64_t want = in.stressor_bytes;
  if (goal.usage_setpoint_bytes) {
    const double error = static_cast<double>(*goal.usage_setpoint_bytes) - static_cast<double>(in.usage_bytes);
    if (correctsError(error, in.correcting, params)) {
      const double next = static_cast<double>(in.stressor_bytes) + params.gain * error;
      want = next <= 0 ? 0 : static_cast<std::uint64_t>(next);
    }
  } else if (goal.stressor_bytes) {
    want = *goal.stressor_bytes;
  } else {
    want = 0;
  }
  if (!in.allow_oom && in.effective_limit_bytes > 0) {
    // Usage not owed to the stressor stays whatever we do; the stressor may take the rest up to the
    // ceiling. A target that alone is above the ceiling leaves the stressor nothing.
    const std::uint64_t others = in.usage_bytes > in.stressor_bytes ? in.usage_bytes - in.stressor_bytes : 0;
    const std::uint64_t ceiling = in.effective_limit_bytes > in.safety_margin_bytes ? in.effective_limit_bytes - in.safety_margin_bytes : 0;
    const std::uint64_t room = ceiling > others ? ceiling - others : 0;
    want = std::min(want, room);
  }
  return want;
}

}  // namespace memstrain
