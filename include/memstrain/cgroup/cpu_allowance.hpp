#pragma once
// How many CPUs a process may use: the CPU quota of its cgroup (and every ancestor's) and its
// affinity mask. The stressor sizes its populate threads with it, so a spike uses what the
// container was given and never more threads than can run.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// v2 cpu.max ("max 100000" -> nullopt, "150000 100000" -> 1.5 CPUs). Error when malformed.
Result<std::optional<double>> parseCpuMax(std::string_view text);
/// v1 cpu.cfs_quota_us and cpu.cfs_period_us (quota -1 -> nullopt). Error when malformed.
Result<std::optional<double>> parseCfsQuota(std::string_view quota_text, std::string_view period_text);

/// The smallest CPU quota on the cpu cgroup of `pid` and its ancestors, in CPUs; nullopt when no
/// level has a quota, or when it cannot be told (no cpu controller mounted, unreadable files):
/// a quota we cannot read is one we need not size for. `proc_root` and `mountinfo_path` are
/// parameters so tests can point them at fixture trees.
std::optional<double> cgroupCpuQuota(pid_t pid, const std::string& proc_root = "/proc",
                                     const std::string& mountinfo_path = "/proc/self/mountinfo");

/// Threads worth running: min(ceil(quota), cpus), at least 1. `cpus` is the affinity mask's count.
unsigned usableThreads(std::optional<double> quota_cpus, unsigned cpus);

/// CPUs in this process's affinity mask (sched_getaffinity), at least 1.
unsigned affinityCpus();

}  // namespace memstrain
