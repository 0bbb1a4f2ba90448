#pragma once
// What /proc says about a process's memory and the node's. Parsing (from text) is separate from
// reading (from a proc root that tests can replace).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "memstrain/util/result.hpp"

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

/// Parses smaps_rollup text (kB values). Error when the Rss line is missing.
Result<ProcessMemory> parseSmapsRollup(std::string_view text);
/// Parses /proc/PID/status text for VmRSS and RssAnon (used when smaps_rollup is unavailable).
Result<ProcessMemory> parseProcStatus(std::string_view text);
/// Parses /proc/meminfo text. Error when MemTotal is missing.
Result<NodeMemory> parseMeminfo(std::string_view text);

/// Reads `proc_root`/PID/smaps_rollup, or status as a fallback.
Result<ProcessMemory> readProcessMemory(pid_t pid, const std::string& proc_root = "/proc");
/// Reads only `proc_root`/PID/status: O(1) in the process's size, where smaps_rollup walks every
/// page table (tens of milliseconds for a process holding gigabytes). No LazyFree figure.
Result<ProcessMemory> readProcessMemoryCheap(pid_t pid, const std::string& proc_root = "/proc");
/// Reads `proc_root`/meminfo.
Result<NodeMemory> readNodeMemory(const std::string& proc_root = "/proc");

}  // namespace memstrain
