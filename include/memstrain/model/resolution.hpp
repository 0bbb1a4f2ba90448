#pragma once
// A plan resolved against one host: which cgroups, which limits, how many bytes per stage. Plain
// data: the executor's resolver makes it (and --dry-run prints it), the executor acts on it, and
// the run record keeps it for the reports.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memstrain/model/cgroup_sample.hpp"
#include "memstrain/model/plan.hpp"

namespace memstrain {

/// The node's limits for one run, from the plan's safety block and MemTotal. Plain data.
struct NodeRails {
  std::uint64_t total_bytes = 0;  ///< MemTotal
  std::uint64_t cap_bytes = 0;    ///< most the node may have in use under pressure (safety.node_max)
  std::uint64_t floor_bytes = 0;  ///< MemAvailable below this stops the pressure (safety.node_min_available)
  bool force = false;             ///< `--force`: the cap is not enforced; the floor still is
};

struct ResolvedStage {
  std::string name;
  std::chrono::nanoseconds duration{0};
  std::optional<PressureSpec> pressure;
  /// Closed loop: usage of `measured_cgroup` to hold (bytes).
  std::optional<std::uint64_t> setpoint_bytes;
  /// Open loop: stressor size (bytes).
  std::optional<std::uint64_t> size_bytes;
  /// Closed loop: the hold's hysteresis in bytes (the plan's, or defaultHysteresisBytes).
  std::optional<std::uint64_t> hysteresis_bytes;
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
  std::optional<Placement> placement;                ///< nullopt when no stage applies pressure
  std::uint64_t effective_limit_bytes = kUnlimited;  ///< of measured_cgroup
  std::uint64_t target_limit_bytes = kUnlimited;     ///< effective limit of target_cgroup
  std::uint64_t safety_margin_bytes = 0;
  std::uint64_t stressor_reserve_bytes = 0;  ///< the most the stressor could be asked to hold
  /// Cgroups the run will create, parents first.
  std::vector<std::string> cgroups_to_create;
  std::vector<ResolvedStage> stages;
  /// Attach mode: how the target was found ("cgroup", "pid", "pod-uid", "container-id") and, for
  /// Kubernetes targets, the pod UID and container id.
  std::string attach_matched_by;
  /// attach.pid: the process's start time when resolved (field 22 of /proc/PID/stat), so that the
  /// run acts on that process only (PinnedProcess); nullopt when unreadable.
  std::optional<std::uint64_t> attach_pid_start_time;
  std::string pod_uid;
  std::string container_id;
  /// Node placement: measured "cgroup" is the node (MemTotal - MemAvailable against MemTotal).
  std::optional<NodeRails> node;
  /// Attach mode: set when the target cgroup lists no process memstrain can see (another pid
  /// namespace, or nothing runs there), with what that means (hiddenProcessesExplanation). The run
  /// is refused at its start unless the plan says target.attach.cgroup_only.
  std::optional<std::string> hidden_target;
  /// Every placement with pressure: the node's rails (safety.node_max, safety.node_min_available)
  /// that the plan was checked against and that hold while it runs (equal to `node` for node
  /// placement). nullopt when no stage applies pressure.
  std::optional<NodeRails> node_guard;
};

/// measured_cgroup for node placement: not a cgroup path; the executor reads /proc/meminfo.
inline constexpr const char* kNodeMeasured = "(node)";

}  // namespace memstrain
