#pragma once
// One look at a run's cgroups and processes, as a Sample: the target's cgroup; the measured cgroup
// when it is another (beside: the parent shared with the stressor; node placement: the node, with
// MemTotal - MemAvailable as usage and MemTotal as limit); the stressor's own cgroup (beside); the
// stressor's and the target's memory; the host's memory PSI where the cgroup has none (v1).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/model/resolution.hpp"
#include "memstrain/model/sample.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

class CgroupSampler {
 public:
  /// Reads the cgroups of `res` through `fs` and processes under `proc_root`; both must outlive it.
  CgroupSampler(const CgroupFs& fs, const Resolution& res, std::string proc_root)
      : fs_(fs), res_(res), proc_root_(std::move(proc_root)), meminfo_(joinPath(proc_root_, "meminfo")) {}

  /// The OS's side of a sample (time, stage, setpoint and the stressor's own figures are the
  /// caller's). Error, naming the cgroup, when the target's cgroup cannot be read: a run cannot go
  /// on blind. Everything else is left out of the sample when it cannot be read.
  /// The target process is read from its smaps_rollup (RSS, LazyFree, AnonHugePages) when
  /// `target_detail` is kFull, else from its status (RSS only): smaps_rollup walks every page table
  /// of the target, 0.12 ms of CPU at 5 MiB RSS and 8.8 ms at 425 MiB (the demo target), which at
  /// every sample of a multi-GiB target would cost tens of percent of a core. The executor asks for
  /// the full reading where LazyFree is judged: release stages and the run's last look.
  enum class TargetDetail { kRss, kFull };
  Result<Sample> read(std::optional<pid_t> stressor_pid, std::optional<pid_t> target_pid,
                      TargetDetail target_detail = TargetDetail::kFull) const;

  /// Usage of the cgroup the pressure level refers to (node placement: the node's memory in use).
  /// Read at every control tick, through one descriptor kept open (RereadFile).
  Result<std::uint64_t> measuredUsage() const;

  /// /proc/meminfo, for node placement and the node floor; nullopt when unreadable. Read at every
  /// control tick, through one descriptor kept open.
  std::optional<NodeMemory> node() const;

 private:
  Result<NodeMemory> readMeminfo() const;

  const CgroupFs& fs_;
  const Resolution& res_;
  std::string proc_root_;
  // The files read at every control tick (20 a second), kept open. The sampler is used from the
  // control thread only; the readers are state of reading, not of what the sampler says.
  mutable RereadFile meminfo_;
  mutable std::optional<RereadFile> usage_;
};

}  // namespace memstrain
