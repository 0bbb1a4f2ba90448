#include "memstrain/executor/node_guard.hpp"

#include <algorithm>
#include <cstdio>

#include "memstrain/util/units.hpp"

namespace memstrain {
namespace {

std::string percentOf(std::uint64_t part, std::uint64_t total) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", total == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(total));
  return buf;
}

}  // namespace

std::uint64_t defaultNodeFloorBytes(std::uint64_t total_bytes) {
  const std::uint64_t five_percent = total_bytes / 20;
  return std::min(std::max<std::uint64_t>(five_percent, 512ULL << 20), total_bytes / 2);
}

NodeRails nodeRails(const SafetySpec& safety, std::uint64_t total_bytes, bool force) {
  NodeRails r;
  r.total_bytes = total_bytes;
  r.force = force;
  r.cap_bytes = static_cast<std::uint64_t>(safety.node_max_fraction * static_cast<double>(total_bytes));
  if (safety.node_min_available_bytes) {
    r.floor_bytes = std::min(*safety.node_min_available_bytes, total_bytes);
  } else if (safety.node_min_available_fraction) {
    r.floor_bytes = static_cast<std::uint64_t>(*safety.node_min_available_fraction * static_cast<double>(total_bytes));
  } else {
    r.floor_bytes = defaultNodeFloorBytes(total_bytes);
  }
  return r;
}

std::uint64_t nodeControlMarginBytes(const NodeRails& rails) {
  const std::uint64_t cap_margin = rails.force ? 0 : rails.total_bytes - std::min(rails.cap_bytes, rails.total_bytes);
  return std::max(cap_margin, rails.floor_bytes);
}

std::optional<std::string> refuseNodePressure(const NodeRails& rails, const NodeMemory& now, std::optional<double> level_fraction,
                                              std::optional<std::uint64_t> size_bytes) {
  const std::uint64_t used = nodeUsedBytes(now);
  if (now.available_bytes < rails.floor_bytes) {
    return "node MemAvailable is " + formatBytes(now.available_bytes) + ", already below the floor of " + formatBytes(rails.floor_bytes) +
           " (safety.node_min_available)";
  }
  // What the stressor would add at most: the gap to the level, or the size.
  std::uint64_t adds = 0;
  std::uint64_t use_after = used;
  if (level_fraction) {
    const auto setpoint = static_cast<std::uint64_t>(*level_fraction * static_cast<double>(rails.total_bytes));
    if (!rails.force && setpoint > rails.cap_bytes) {
      return "level " + percentOf(setpoint, rails.total_bytes) + " of MemTotal is above the node cap of " +
             percentOf(rails.cap_bytes, rails.total_bytes) + " (safety.node_max); lower it or run with --force";
    }
    adds = setpoint > used ? setpoint - used : 0;
    use_after = std::max(setpoint, used);
  } else if (size_bytes) {
    adds = *size_bytes;
    use_after = used + *size_bytes;
    if (!rails.force && use_after > rails.cap_bytes) {
      return formatBytes(*size_bytes) + " on top of the " + formatBytes(used) + " in use would take the node to " +
             percentOf(use_after, rails.total_bytes) + " of MemTotal, above the node cap of " +
             percentOf(rails.cap_bytes, rails.total_bytes) + " (safety.node_max); lower it or run with --force";
    }
  }
  if (now.available_bytes < rails.floor_bytes + adds) {
    return "taking " + formatBytes(adds) + " would leave the node " +
           formatBytes(now.available_bytes > adds ? now.available_bytes - adds : 0) + " MemAvailable, below the floor of " +
           formatBytes(rails.floor_bytes) + " (safety.node_min_available; --force does not lift it)";
  }
  return std::nullopt;
}

std::optional<std::string> nodeFloorBreach(const NodeRails& rails, const NodeMemory& now) {
  if (now.available_bytes >= rails.floor_bytes) return std::nullopt;
  return "node MemAvailable " + formatBytes(now.available_bytes) + " fell below the floor of " + formatBytes(rails.floor_bytes) +
         " (safety.node_min_available)";
}

}  // namespace memstrain
