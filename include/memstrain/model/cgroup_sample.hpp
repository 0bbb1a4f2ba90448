#pragma once
// What memstrain reads of a cgroup's memory at one instant, over both cgroup versions: plain data.
// The cgroup layer fills it; samples, analysis and reports read it.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>

namespace memstrain {

enum class CgroupVersion { kV1, kV2 };
const char* toString(CgroupVersion v);  ///< "v1" / "v2"

/// "No limit" as the kernel reports it (v1: a huge page-rounded number, v2: "max").
inline constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

/// memory.stat, normalised over both versions. Fields absent on a kernel are 0 unless optional.
struct CgroupMemoryStat {
  std::uint64_t anon_bytes = 0;           ///< v1 total_rss (hierarchical), v2 anon
  std::uint64_t file_bytes = 0;           ///< v1 total_cache, v2 file
  std::uint64_t active_file_bytes = 0;    ///< v1 total_active_file, v2 active_file
  std::uint64_t inactive_file_bytes = 0;  ///< v1 total_inactive_file, v2 inactive_file (holds MADV_FREE pages)
  std::uint64_t shmem_bytes = 0;          ///< v1 total_shmem, v2 shmem
  /// Anonymous memory mapped by transparent huge pages (PMD-mapped): v1 total_rss_huge, v2 anon_thp.
  std::uint64_t anon_thp_bytes = 0;
  std::optional<std::uint64_t> pglazyfree;   ///< v2 only: pages marked lazily free
  std::optional<std::uint64_t> pglazyfreed;  ///< v2 only: lazily freed pages reclaimed
  /// Page faults that had to wait for I/O, a cumulative count: v1 total_pgmajfault, v2 pgmajfault.
  std::optional<std::uint64_t> major_faults;
  /// Evicted file pages read back soon after (the working set did not fit), cumulative: v1
  /// total_workingset_refault_file, v2 workingset_refault_file (before Linux 5.9: workingset_refault).
  std::optional<std::uint64_t> refaults_file;
  std::map<std::string, std::uint64_t> raw;  ///< every key as read
};

/// One line of a PSI file ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0").
struct PsiLine {
  double avg10 = 0, avg60 = 0, avg300 = 0;
  std::uint64_t total_us = 0;
};
struct Psi {
  PsiLine some;
  std::optional<PsiLine> full;
};

/// Everything sampled from one cgroup at one instant. Plain data.
struct CgroupSample {
  std::uint64_t usage_bytes = 0;            ///< v1 memory.usage_in_bytes, v2 memory.current
  std::uint64_t limit_bytes = kUnlimited;   ///< this cgroup's own limit (v1 limit_in_bytes, v2 memory.max)
  std::optional<std::uint64_t> peak_bytes;  ///< v1 max_usage_in_bytes, v2 memory.peak where present
  std::uint64_t oom_kill_count = 0;         ///< v1 memory.oom_control oom_kill, v2 memory.events oom_kill
  std::uint64_t oom_count = 0;              ///< v2 memory.events oom; v1 under_oom transitions are not counted (0)
  CgroupMemoryStat stat;
  std::optional<Psi> pressure;  ///< v2 memory.pressure when the kernel has PSI
};

}  // namespace memstrain
