#pragma once
// One observation of the run at one instant: plain data, written to samples.jsonl and analysed
// after the run.

#include <cstdint>
#include <optional>
#include <string>

#include "memstrain/model/cgroup_sample.hpp"
#include "memstrain/model/process_memory.hpp"

namespace memstrain {

struct Sample {
  double t_s = 0;            ///< seconds since the run started (monotonic clock)
  std::int64_t wall_ms = 0;  ///< Unix time in milliseconds
  std::size_t stage = 0;     ///< index into the plan's stages
  CgroupSample target_cgroup;
  std::optional<CgroupSample> measured_cgroup;       ///< beside: the parent shared with the stressor
  std::optional<CgroupSample> stressor_cgroup;       ///< beside: the stressor's own cgroup
  std::uint64_t effective_limit_bytes = kUnlimited;  ///< of the measured cgroup
  std::optional<std::uint64_t> setpoint_bytes;       ///< closed loop: usage the controller aims at
  std::uint64_t stressor_target_bytes = 0;           ///< what the stressor was told to hold
  std::uint64_t stressor_populated_bytes = 0;        ///< what it reported holding
  std::optional<ProcessMemory> stressor_process;
  std::optional<ProcessMemory> target_process;
  /// /proc/pressure/memory: host-wide memory PSI, read when the target's cgroup has no
  /// memory.pressure of its own (cgroup v1, or v2 without PSI per cgroup).
  std::optional<Psi> system_pressure;

  /// Usage of the cgroup the pressure level refers to.
  std::uint64_t measuredUsage() const { return measured_cgroup ? measured_cgroup->usage_bytes : target_cgroup.usage_bytes; }
};

}  // namespace memstrain
