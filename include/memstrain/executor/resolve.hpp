#pragma once
// From a validated plan and the host's cgroup hierarchy to concrete cgroups and byte counts.
// Reads the cgroup tree (attach mode) but changes nothing: this is what --dry-run prints and what
// the executor acts on.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/executor/node_guard.hpp"
#include "memstrain/model/plan.hpp"
#include "memstrain/model/resolution.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

struct ResolveContext {
  std::string cgroup_parent = "/memstrain";  ///< launch mode creates run cgroups below this
  std::string run_id;                        ///< names the run's cgroups
  std::string proc_root = "/proc";
  std::uint64_t node_memory_bytes = 0;     ///< MemTotal, caps reservations
  std::uint64_t node_available_bytes = 0;  ///< MemAvailable now (node placement's rails)
  bool force = false;                      ///< `--force`: system slices, the node cap
  /// memstrain's own memory cgroup (relative to the mount); empty when unknown. It and its
  /// ancestors are never a target.
  std::string self_cgroup{};
  std::string host_root = "/";  ///< runtime metadata for attach.container names
  /// `--allow-commands`: a plan may run commands of its own (release.trigger.command) as
  /// memstrain's user, root. Off: such a plan is refused.
  bool allow_commands = false;
};

/// Why memstrain refuses to put pressure on cgroup `rel` (an attach target, or the parent a beside
/// stressor competes in), or nullopt. Always refused: the root and memstrain's own cgroup or an
/// ancestor of it (`self_cgroup`, when known). Refused unless `force`: systemd's system slices and
/// scopes (system.slice, init.scope, user.slice, -.slice and anything below them) — host services
/// and logins, not staging targets (machine.slice, where VMs and podman containers live, is
/// allowed). Pure.
std::optional<std::string> refusedPressureCgroup(const std::string& rel, const std::string& self_cgroup, bool force);

/// Resolves `plan` against `fs`. Errors name the JSON pointer when the plan asks for something
/// the host cannot give (beside placement with the target at the root, a level against an
/// unlimited cgroup or one whose limit is above MemTotal, a size or reclaim size beyond the limit
/// minus the safety margin without allow_oom), or something the node's rails forbid: with any
/// placement, pressure that would take the node's memory in use above safety.node_max (unless
/// `force`) or MemAvailable below safety.node_min_available; pressure without a readable
/// /proc/meminfo (ResolveContext::node_memory_bytes 0).
Result<Resolution> resolvePlan(const Plan& plan, const CgroupFs& fs, const ResolveContext& ctx);

/// True when a resolvePlan error says the plan's attach target is not on this node: no such cgroup,
/// pid, pod or container, an ambiguous id, a container of another pod, a pid outside the mount's
/// view. That is a run error (exit 3, as `memstrain locate` and the Job's launcher say), not an
/// invalid plan.
bool isTargetNotFound(const Error& e);

/// The parent path of a cgroup path ("/a/b" -> "/a", "/a" -> "/").
std::string parentCgroup(const std::string& rel);

/// Human-readable table of a resolution, as --dry-run prints it.
std::string describeResolution(const Plan& plan, const Resolution& r);

}  // namespace memstrain
