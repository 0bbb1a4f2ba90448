#pragma once
// Decides how many bytes the stressor should hold. Pure functions of plain inputs, so the control
// law is tested against a simulated target without processes or cgroups.

#include <chrono>
#include <cstdint>
#include <optional>

namespace memstrain {

/// Where a stage wants the pressure at time `elapsed` into it.
struct PressureGoal {
  /// Closed loop: desired usage of the constraining cgroup (bytes), already ramped.
  std::optional<std::uint64_t> usage_setpoint_bytes;
  /// Open loop: desired stressor size (bytes), already ramped.
  std::optional<std::uint64_t> stressor_bytes;
};

/// Linear ramp from `from` at 0 to `to` at `ramp` (a zero ramp jumps at once).
std::uint64_t rampValue(std::uint64_t from, std::uint64_t to, std::chrono::nanoseconds elapsed, std::chrono::nanoseconds ramp);

/// Rate-limited ramp: from `from` toward `to` by at most `bytes_per_s` per second of `elapsed`
/// (down as well as up), then `to`. A zero rate jumps at once.
std::uint64_t rateValue(std::uint64_t from, std::uint64_t to, std::chrono::nanoseconds elapsed, std::uint64_t bytes_per_s);

/// What the controller knows at one tick.
struct ControlInput {
  std::uint64_t usage_bytes = 0;            ///< constraining cgroup's usage now
  std::uint64_t stressor_bytes = 0;         ///< what the stressor currently holds
  std::uint64_t effective_limit_bytes = 0;  ///< of the constraining cgroup
  std::uint64_t safety_margin_bytes = 0;    ///< usage may not exceed limit - margin ...
  bool allow_oom = false;                   ///< ... unless this is set
  bool correcting = false;                  ///< the closed loop corrected at the last tick (hysteresis)
};

struct ControlParams {
  double gain = 0.8;                          ///< fraction of the error corrected per tick
  std::uint64_t deadband_bytes = 1ULL << 20;  ///< errors below this are left alone
  /// Hold hysteresis: a closed loop at rest also leaves errors below this alone, so the target's
  /// small wiggles (a GC cycle, a burst of requests) do not make the stressor give back pages and
  /// fault them in again; once it corrects, it goes on until the error is inside the deadband.
  /// 0: off (every error past the deadband is corrected).
  std::uint64_t hysteresis_bytes = 0;
};

/// The hold hysteresis for a limit: max(1% of it, 4 MiB). 4 MiB is about one Go GC cycle's wiggle of
/// a small service's heap; 1% is the precision goal, so a resting error stays inside it.
std::uint64_t defaultHysteresisBytes(std::uint64_t effective_limit_bytes);

/// The hysteresis decision alone: whether the closed loop corrects an error of `error_bytes` (either
/// sign) at this tick. At rest (`correcting` false) only from max(deadband, hysteresis) on; while
/// correcting, until the error is below the deadband. The caller keeps the result as the next
/// tick's `correcting`.
bool correctsError(double error_bytes, bool correcting, const ControlParams& params);

/// Next stressor size for `goal`. Closed loop: stressor + gain*(setpoint - usage), clamped at 0,
/// when correctsError() says so (else the stressor stays as it is).
/// Open loop: the requested size. Either way, unless allow_oom, capped so that usage would stay at
/// or below limit - margin given everything else in the cgroup.
std::uint64_t nextStressorBytes(const PressureGoal& goal, const ControlInput& in, const ControlParams& params = {});

}  // namespace memstrain
