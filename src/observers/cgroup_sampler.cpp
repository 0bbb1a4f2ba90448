#include "memstrain/observers/cgroup_sampler.hpp"

#include "memstrain/proc/proc_memory.hpp"
#include "memstrain/proc/proc_pressure.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {

Result<NodeMemory> CgroupSampler::readMeminfo() const {
  auto text = meminfo_.read();
  if (!text) return text.error();
  auto m = parseMeminfo(*text);
  if (!m) return Error{meminfo_.path() + ": " + m.error().message};
  return *m;
}

std::optional<NodeMemory> CgroupSampler::node() const {
  auto m = readMeminfo();
  return m ? std::optional<NodeMemory>(*m) : std::nullopt;
}

Result<std::uint64_t> CgroupSampler::measuredUsage() const {
  if (res_.node) {
    auto m = readMeminfo();
    if (!m) return m.error();
    return nodeUsedBytes(*m);
  }
  if (!usage_) {
    auto file = fs_.usageFile(res_.measured_cgroup);
    // The v2 root has no memory.current: CgroupFs::usage asks its source each time.
    if (!file || !pathExists(*file)) return fs_.usage(res_.measured_cgroup);
    usage_.emplace(*file);
  }
  auto text = usage_->read();
  if (!text) {
    usage_.reset();  // checked and opened again at the next tick
    return text.error();
  }
  auto v = parseUint64(trim(*text));
  if (!v) return Error{usage_->path() + ": expected an unsigned integer, got \"" + std::string(trim(*text).substr(0, 40)) + "\""};
  return *v;
}

Result<Sample> CgroupSampler::read(std::optional<pid_t> stressor_pid, std::optional<pid_t> target_pid, TargetDetail target_detail) const {
  Sample s;
  auto tc = fs_.sample(res_.target_cgroup);
  if (!tc) return Error{"sample " + res_.target_cgroup + ": " + tc.error().message};
  s.target_cgroup = std::move(*tc);
  if (res_.node) {
    if (auto m = node()) {
      CgroupSample node;
      node.usage_bytes = nodeUsedBytes(*m);
      node.limit_bytes = m->total_bytes;
      s.measured_cgroup = node;
    }
  } else if (res_.measured_cgroup != res_.target_cgroup) {
    if (auto mc = fs_.sample(res_.measured_cgroup)) s.measured_cgroup = std::move(*mc);
  }
  if (res_.stressor_cgroup != res_.target_cgroup) {
    if (auto sc = fs_.sample(res_.stressor_cgroup)) s.stressor_cgroup = std::move(*sc);
  }
  s.effective_limit_bytes = res_.effective_limit_bytes;
  if (stressor_pid) {
    // status, not smaps_rollup: walking the page tables of gigabytes every sample costs a core.
    if (auto pm = readProcessMemoryCheap(*stressor_pid, proc_root_)) s.stressor_process = *pm;
  }
  if (target_pid) {
    auto pm =
        target_detail == TargetDetail::kFull ? readProcessMemory(*target_pid, proc_root_) : readProcessMemoryCheap(*target_pid, proc_root_);
    if (pm) s.target_process = *pm;
  }
  // cgroup v1 has no PSI per cgroup: the host's figure is what there is (the report says so).
  if (!(s.measured_cgroup ? s.measured_cgroup->pressure : s.target_cgroup.pressure)) {
    if (auto psi = readSystemMemoryPressure(proc_root_); psi && *psi) s.system_pressure = **psi;
  }
  return s;
}

}  // namespace memstrain
