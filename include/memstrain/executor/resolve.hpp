#pragma once
// From a validated plan and the host's cgroup hierarchy to concrete cgroups and byte counts.
// Reads the cgroup tree (attach mode) but changes nothing: this is what --dry-run prints and what
// the executor acts on.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/plan/plan.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

struct ResolvedStage {
  std::string name;
  std::chrono::nanoseconds duration{0};
  std::optional<PressureSpec> pressure;
  /// Closed loop: usage of `measured_cgroup` to hold (bytes).
  std::optional<std::uint64_t> setpoint_bytes;
  /// Open loop: stressor size (bytes).
  std::optional<std::uint64_t> size_bytes;
};

struct Resolution {
  CgroupVersion version = CgroupVersion::kV1;
  std::string mount;
  bool launch = false;
  /// Launch mode: the run's own cgroup (carries the limit), under the memstrain parent.
  std::string run_cgroup;
  std::string target_cgroup;    ///< where the target lives
  std::string stressor_cgroup;  ///< where the stressor goes (== target_cgroup for inside)
  /// The cgroup whose usage the pressure level refers to: the target's for inside, the parent
  /// shared with the stressor for beside.
  std::string measured_cgroup;
  std::optional<Placement> placement;  ///< nullopt when no stage applies pressure
  std::uint64_t effective_limit_bytes = kUnlimited;  ///< of measured_cgroup
  std::uint64_t target_limit_bytes = kUnlimited;     ///< effective limit of target_cgroup
  std::uint64_t safety_margin_bytes = 0;
  std::uint64_t stressor_reserve_bytes = 0;  ///< the most the stressor could be asked to hold
  /// Cgroups the run will create, parents first.
  std::vector<std::string> cgroups_to_create;
  std::vector<ResolvedStage> stages;
};

struct ResolveContext {
  std::string cgroup_parent = "/memstrain";  ///< launch mode creates run cgroups below this
  std::string run_id;                          ///< names the run's cgroups
  std::string proc_root = "/proc";
  std::uint64_t node_memory_bytes = 0;         ///< MemTotal, caps reservations
};

/// Resolves `plan` against `fs`. Errors name the JSON pointer when the plan asks for something
/// the host cannot give (beside placement with the target at the root, a level against an
/// unlimited cgroup, a size beyond the limit without allow_oom).
Result<Resolution> resolvePlan(const Plan& plan, const CgroupFs& fs, const ResolveContext& ctx);

/// The parent path of a cgroup path ("/a/b" -> "/a", "/a" -> "/").
std::string parentCgroup(const std::string& rel);

/// Human-readable table of a resolution, as --dry-run prints it.
std::string describeResolution(const Plan& plan, const Resolution& r);

}  // namespace memstrain
