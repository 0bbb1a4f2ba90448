#pragma once
// Guard rails of node placement: how much of the node a plan may take, and when pressure must
// stop. Pure functions of /proc/meminfo figures (NodeMemory), so every decision is tested on
// synthetic numbers without pushing a real node anywhere.
//
// "In use" on the node is MemTotal - MemAvailable: what the kernel could not hand out without
// swapping or killing. A node level of 80% holds that at 80% of MemTotal.

#include <cstdint>
#include <optional>
#include <string>

#include "memstrain/model/plan.hpp"
#include "memstrain/model/resolution.hpp"
#include "memstrain/proc/proc_memory.hpp"

namespace memstrain {

/// Default floor: the larger of 5% of MemTotal and 512 MiB (never more than half of MemTotal).
std::uint64_t defaultNodeFloorBytes(std::uint64_t total_bytes);

/// The rails for a node of `total_bytes` under `safety`.
NodeRails nodeRails(const SafetySpec& safety, std::uint64_t total_bytes, bool force);

/// The most the controller may let the node use: the cap (unless forced) and the floor, as a
/// margin below MemTotal for the control law (usage <= total - margin).
std::uint64_t nodeControlMarginBytes(const NodeRails& rails);

/// Before a run: why pressure of `level_fraction` (closed loop, share of MemTotal in use) or
/// `size_bytes` (open loop) is refused on a node that looks like `now`, or nullopt when it may
/// start. Refused: a level or a resulting use above the cap (unless forced); MemAvailable that is
/// already below the floor, or would fall below it (never overridable).
std::optional<std::string> refuseNodePressure(const NodeRails& rails, const NodeMemory& now, std::optional<double> level_fraction,
                                              std::optional<std::uint64_t> size_bytes);

/// During a run: the reason pressure must stop now (MemAvailable below the floor), or nullopt.
std::optional<std::string> nodeFloorBreach(const NodeRails& rails, const NodeMemory& now);

}  // namespace memstrain
