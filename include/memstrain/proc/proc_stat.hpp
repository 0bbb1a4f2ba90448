#pragma once
// CPU time of processes from /proc/PID/stat: what memstrain and its stressor cost while holding.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// utime + stime of one process, in seconds.
struct ProcessCpu {
  double user_s = 0;
  double system_s = 0;
  double total() const { return user_s + system_s; }
};

/// Parses /proc/PID/stat text. The command name (field 2) may contain spaces and parentheses, so
/// fields are counted from the last ')'. `ticks_per_s` is sysconf(_SC_CLK_TCK).
Result<ProcessCpu> parseProcStat(std::string_view text, long ticks_per_s);

/// Reads `proc_root`/PID/stat.
Result<ProcessCpu> readProcessCpu(pid_t pid, const std::string& proc_root = "/proc");

/// When the process started, in seconds after boot (field 22, starttime, in clock ticks; the
/// kernel counts it on CLOCK_BOOTTIME).
Result<double> parseProcStartAfterBoot(std::string_view text, long ticks_per_s);

/// Start time of `proc_root`/PID as Unix ns: its starttime mapped through CLOCK_BOOTTIME and
/// CLOCK_REALTIME read now. Accurate to a clock tick (10 ms at USER_HZ 100).
Result<std::int64_t> readProcessStartUnixNs(pid_t pid, const std::string& proc_root = "/proc");

/// The mapping itself: `start_after_boot_s` on a clock that reads `boot_now_s` when the wall clock
/// reads `unix_now_ns`.
std::int64_t bootTimeToUnixNs(double start_after_boot_s, double boot_now_s, std::int64_t unix_now_ns);

/// Sum over `pids` of their CPU time; processes that vanished meanwhile are skipped.
double sumProcessCpuSeconds(const std::vector<pid_t>& pids, const std::string& proc_root = "/proc");

}  // namespace memstrain
