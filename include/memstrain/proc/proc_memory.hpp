#pragma once
// What /proc says about a process's memory and the node's. Parsing (from text) is separate from
// reading (from a proc root that tests can replace).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "memstrain/model/process_memory.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

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
