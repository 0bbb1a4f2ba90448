#pragma once
// What /proc says about a process's memory and the node's, as plain data (proc/ reads and parses).

#include <cstdint>
#include <optional>

namespace memstrain {

/// From /proc/PID/smaps_rollup (falls back to /proc/PID/status for RSS on kernels without it).
struct ProcessMemory {
  std::uint64_t rss_bytes = 0;
  std::uint64_t anonymous_bytes = 0;
  std::optional<std::uint64_t> lazyfree_bytes;  ///< absent on kernels without the LazyFree line
  std::uint64_t swap_bytes = 0;
  /// Anonymous memory mapped as transparent huge pages (smaps_rollup AnonHugePages).
  std::optional<std::uint64_t> anon_huge_bytes;
};

/// From /proc/meminfo.
struct NodeMemory {
  std::uint64_t total_bytes = 0;
  std::uint64_t available_bytes = 0;
};

/// Node memory in use: MemTotal - MemAvailable (0 when the figures are inconsistent).
inline std::uint64_t nodeUsedBytes(const NodeMemory& m) {
  return m.total_bytes > m.available_bytes ? m.total_bytes - m.available_bytes : 0;
}

}  // namespace memstrain
