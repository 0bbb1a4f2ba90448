#pragma once
// Pure parsers for cgroup and proc text. Each takes the file's text and never touches the disk.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// memory.stat ("key value" lines). v1 takes the hierarchical total_* keys; v2 the plain ones.
Result<CgroupMemoryStat> parseMemoryStat(std::string_view text, CgroupVersion version);
/// v1 memory.oom_control: the oom_kill counter (0 on kernels that do not print it).
Result<std::uint64_t> parseOomControlKills(std::string_view text);
/// v2 memory.events: fills oom and oom_kill of `out`.
Status parseMemoryEvents(std::string_view text, CgroupSample& out);
/// A PSI file (memory.pressure or /proc/pressure/memory).
Result<Psi> parsePsi(std::string_view text);
/// A limit file: a number, or "max" (v2) -> kUnlimited. v1's page-rounded LONG_MAX also maps to kUnlimited.
Result<std::uint64_t> parseLimit(std::string_view text);
/// Values at or above this are "no limit" (v1 prints LONG_MAX rounded down to a page multiple).
inline constexpr std::uint64_t kUnlimitedThreshold = 1ULL << 62;
/// A cgroup path relative to the mount in canonical form: "/a//b/./c/" -> "/a/b/c", "" is refused,
/// "/" stays "/". Error when it is not absolute, has a ".." component or a NUL byte.
Result<std::string> normalizeCgroupRel(std::string_view rel);
/// cgroup.procs / tasks: one pid a line. Error on anything that is not a positive pid.
Result<std::vector<pid_t>> parsePidList(std::string_view text);
/// v2 cgroup.controllers / cgroup.subtree_control: true when `controller` is listed.
bool listsController(std::string_view text, std::string_view controller);

/// One line of /proc/PID/cgroup.
struct ProcCgroupEntry {
  int hierarchy_id = 0;
  std::vector<std::string> controllers;  ///< empty for the v2 "0::" line
  std::string path;
};
/// Parses /proc/PID/cgroup, including v2 "0::/path" lines (which libcgroup 2.0.2 gets wrong).
Result<std::vector<ProcCgroupEntry>> parseProcCgroup(std::string_view text);

/// One cgroup mount from /proc/self/mountinfo.
struct CgroupMount {
  std::string mount_point;
  std::string root;  ///< root of the mount within the hierarchy (field 4), "/" unless namespaced
  CgroupVersion version = CgroupVersion::kV1;
  std::vector<std::string> controllers;  ///< v1 super options naming controllers; empty for v2
};
/// The cgroup and cgroup2 mounts in mountinfo text (with octal escapes like \040 decoded).
Result<std::vector<CgroupMount>> parseCgroupMounts(std::string_view text);

}  // namespace memstrain
