#pragma once
// The cgroup memory controller, v1 and v2, behind one interface. The hierarchy's mount point is a
// parameter so tests can point it at a fixture tree. Paths called `rel` are relative to that mount
// ("/memstrain/run-1/target"); they are validated (no "..", no symlink escape) before use.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "memstrain/model/cgroup_sample.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Control-file names, in one place. v1 and v2 name the same quantity differently.
namespace cgroup_file {
inline constexpr const char* kProcs = "cgroup.procs";
inline constexpr const char* kKill = "cgroup.kill";                       ///< v2, Linux 5.14+
inline constexpr const char* kControllers = "cgroup.controllers";         ///< v2
inline constexpr const char* kSubtreeControl = "cgroup.subtree_control";  ///< v2
inline constexpr const char* kMemoryStat = "memory.stat";
inline constexpr const char* kV1Usage = "memory.usage_in_bytes";
inline constexpr const char* kV1Limit = "memory.limit_in_bytes";
inline constexpr const char* kV1MaxUsage = "memory.max_usage_in_bytes";
inline constexpr const char* kV1OomControl = "memory.oom_control";
inline constexpr const char* kV1UseHierarchy = "memory.use_hierarchy";
inline constexpr const char* kV2Current = "memory.current";
inline constexpr const char* kV2Max = "memory.max";
inline constexpr const char* kV2High = "memory.high";  ///< throttling limit
inline constexpr const char* kV2Peak = "memory.peak";  ///< Linux 5.19+
inline constexpr const char* kV2Events = "memory.events";
inline constexpr const char* kV2Pressure = "memory.pressure";  ///< only with PSI
}  // namespace cgroup_file

/// One memory-controller hierarchy, mounted at `mount` (e.g. /sys/fs/cgroup/memory for v1,
/// /sys/fs/cgroup for v2). Reads and writes control files directly.
class CgroupFs {
 public:
  /// `hierarchy_root` is the cgroup the mount shows as its root (mountinfo field 4): "/" for a
  /// normal host mount, "/docker/abc" for a bind mount of a sub-tree. Only cgroupOfPid uses it.
  CgroupFs(std::string mount, CgroupVersion version, std::string hierarchy_root = "/");

  /// Finds the memory hierarchy of this host from mountinfo text: a v1 mount with the memory
  /// option, else a cgroup2 mount whose cgroup.controllers lists memory. Error when neither.
  /// (On hybrid hosts the cgroup2 mount usually has no memory controller, so v1 wins.)
  static Result<CgroupFs> detect(const std::string& mountinfo_path = "/proc/self/mountinfo");

  const std::string& mount() const { return mount_; }
  CgroupVersion version() const { return version_; }
  const std::string& hierarchyRoot() const { return hierarchy_root_; }
  /// Where usage() of the v2 root comes from (it has no memory.current): the CLI passes the
  /// machine's memory in use, MemTotal - MemAvailable from /proc/meminfo, as node placement measures.
  void setRootUsage(std::function<Result<std::uint64_t>()> source) { root_usage_ = std::move(source); }

  /// mount + rel after validation (rel normalised: "/a//b/" -> "/a/b"). Error when rel contains
  /// "..", is not absolute, or resolves (through symlinks) outside the mount. A path that does not
  /// exist yet is judged by its deepest existing ancestor, so a cgroup about to be created passes.
  Result<std::string> absPath(const std::string& rel) const;

  /// The memory cgroup of `pid` from `proc_root`/PID/cgroup, as a path relative to the mount
  /// (the mount's hierarchyRoot() is stripped). Error when the pid is gone, has no line for this
  /// version, or sits outside what the mount shows.
  Result<std::string> cgroupOfPid(pid_t pid, const std::string& proc_root = "/proc") const;

  /// Reads every memory file of `rel` once. Optional files (peak, PSI) that the kernel lacks are
  /// left empty; any other missing or malformed file is an Error naming it.
  Result<CgroupSample> sample(const std::string& rel) const;
  /// Current usage in bytes (v1 memory.usage_in_bytes, v2 memory.current). The v2 root cgroup has
  /// no memory.current: for it this is what setRootUsage's source says, and an Error without one.
  /// (This layer does not read /proc; the callers that do give it the machine's memory in use.)
  Result<std::uint64_t> usage(const std::string& rel) const;
  /// The file usage() reads for `rel` (checked like every path here), for a caller that reads it
  /// again and again through one descriptor (RereadFile).
  Result<std::string> usageFile(const std::string& rel) const;
  /// This cgroup's own limit in bytes; kUnlimited for "max" or v1's huge value.
  Result<std::uint64_t> limit(const std::string& rel) const;
  /// The smallest limit on `rel` and its ancestors up to the mount; kUnlimited when none. On v2
  /// memory.high counts as a limit too (above it, with no swap, a cgroup stalls in reclaim). A level
  /// without a limit file (v2 root, v2 cgroup without +memory) has no limit. On v1 the walk stops
  /// below a parent whose memory.use_hierarchy is 0, as the kernel does not charge such a parent.
  /// Error when `rel` does not exist or a limit file cannot be read.
  Result<std::uint64_t> effectiveLimit(const std::string& rel) const;
  /// Ancestor (or `rel` itself) whose limit is the effective one; `rel` when unlimited. On a tie
  /// the level nearest `rel` wins.
  Result<std::string> constrainingCgroup(const std::string& rel) const;
  /// Member processes (cgroup.procs).
  Result<std::vector<pid_t>> procs(const std::string& rel) const;
  /// True when `rel` is valid and its directory exists.
  bool exists(const std::string& rel) const;

 private:
  std::string mount_;
  CgroupVersion version_;
  std::string hierarchy_root_;
  std::function<Result<std::uint64_t>()> root_usage_;
};

/// Changes to cgroups. Two implementations: one over libcgroup (used on the host's real v1
/// hierarchy; libcgroup 2.0.2's quirks there are worked around, see cgroup_editor.cpp) and one
/// writing control files directly (v2, fixture trees, and the fallback). Both are exercised on
/// real v1 cgroups in the tests. Every `rel` is validated with CgroupFs::absPath first.
class CgroupEditor {
 public:
  virtual ~CgroupEditor() = default;
  virtual const char* name() const = 0;  ///< "libcgroup" or "direct"
  /// The hierarchy it changes.
  virtual const CgroupFs& fs() const = 0;
  /// mkdir, creating missing ancestors too (libcgroup does); success when `rel` already exists.
  /// On v2 also enables +memory in each ancestor's cgroup.subtree_control when needed.
  virtual Status create(const std::string& rel) = 0;
  /// Sets the memory limit; kUnlimited writes "-1" (v1) / "max" (v2).
  virtual Status setLimit(const std::string& rel, std::uint64_t bytes) = 0;
  /// Moves `pid` into the cgroup (cgroup.procs).
  virtual Status attach(const std::string& rel, pid_t pid) = 0;
  /// rmdir; the cgroup must have no members and no children. When it has either, returns an
  /// Error with sys_errno EBUSY (members) or EBUSY/ENOTEMPTY (children) and leaves it in place.
  virtual Status remove(const std::string& rel) = 0;
};

/// Writes control files under fs.mount() directly. Works on any root, including fixture trees.
std::unique_ptr<CgroupEditor> makeDirectEditor(const CgroupFs& fs);

/// libcgroup-backed editor. Error when libcgroup cannot initialise or does not see `fs.mount()` as
/// its memory mount (e.g. a fixture root), or when `fs` is v2 (only v1 is supported through it).
/// attach() writes cgroup.procs itself: libcgroup 2.0.2 moves only the one thread named.
Result<std::unique_ptr<CgroupEditor>> makeLibcgroupEditor(const CgroupFs& fs);

/// libcgroup on a real v1 hierarchy, the direct editor otherwise.
std::unique_ptr<CgroupEditor> makeDefaultEditor(const CgroupFs& fs);

/// Sends SIGKILL to every member of the cgroup and of its descendants (v2: cgroup.kill when
/// present, which does the same) and waits up to `timeout_ms` for them to empty. A pid is
/// signalled only while /proc/PID/cgroup still places it there (pidfds guard against pid reuse),
/// and only when fs.mount() is a cgroup file system (on a fixture tree nothing is signalled).
/// Success when `rel` has no members (or does not exist); Error naming the pids that remain, and
/// Error (EINVAL) for the root cgroup.
Status killAllMembers(const CgroupFs& fs, const std::string& rel, int timeout_ms = 2000);

}  // namespace memstrain
