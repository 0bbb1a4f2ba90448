#include "memstrain/executor/window_feed.hpp"

#include <algorithm>

#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/analysis/stage_stats.hpp"

namespace memstrain {

void WindowFeeder::addProbeWindow(std::size_t probe, const ProbeWindow& w) {
  if (!keep_latency_ || probe >= probes_.size()) return;
  if (probes_[probe])
    probes_[probe]->merge(w);
  else
    probes_[probe] = w;
}

void WindowFeeder::addSample(const Sample& smp) {
  usage_.add(static_cast<double>(smp.measuredUsage()));
  if (smp.target_process) rss_.add(static_cast<double>(smp.target_process->rss_bytes));
  const CgroupSample& mc = smp.measured_cgroup ? *smp.measured_cgroup : smp.target_cgroup;
  const std::optional<Psi>& psi = mc.pressure ? mc.pressure : smp.system_pressure;
  if (psi) {
    psi_some_avg10_ = std::max(psi_some_avg10_.value_or(0.0), psi->some.avg10 / 100.0);
    if (psi->full) psi_full_avg10_ = std::max(psi_full_avg10_.value_or(0.0), psi->full->avg10 / 100.0);
  }
}

WindowSlice WindowFeeder::cut(double end_s, std::size_t stage, const std::vector<MemStatsSample>* readings,
                              std::optional<std::int64_t> target_start_unix_ns) {
  WindowSlice sl;
  sl.end_s = end_s;
  sl.seconds = end_s - last_cut_s_;
  sl.stage = stage;
  if (readings && target_start_unix_ns) {
    if (!readings->empty()) {
      last_reading_t_ = readings->back().t_s;
      if (auto c = gcCpuSeconds(readings->back().stats, *target_start_unix_ns)) latest_gc_cpu_ = std::make_pair(readings->back().t_s, *c);
    }
    sl.gc_cpu = latest_gc_cpu_;
  }
  last_cut_s_ = end_s;
  if (keep_latency_) {
    for (auto& w : probes_) {
      sl.probes.push_back(w ? std::move(*w) : ProbeWindow{});
      w.reset();
    }
  }
  sl.usage = summaryOf(usage_);
  sl.target_rss = summaryOf(rss_);
  sl.psi_some_avg10 = psi_some_avg10_;
  sl.psi_full_avg10 = psi_full_avg10_;
  usage_ = {};
  rss_ = {};
  psi_some_avg10_.reset();
  psi_full_avg10_.reset();
  return sl;
}

}  // namespace memstrain
