#include "memstrain/model/sample_stats.hpp"

#include <algorithm>
#include <cmath>

namespace memstrain {

void PsiSpan::add(const Psi& p) {
  if (readings == 0) {
    some_total_first_us = p.some.total_us;
    if (p.full) full_total_first_us = p.full->total_us;
  }
  ++readings;
  some_avg10_max = std::max(some_avg10_max, p.some.avg10);
  if (p.full) full_avg10_max = std::max(full_avg10_max.value_or(0.0), p.full->avg10);
  some_total_last_us = p.some.total_us;
  full_total_last_us = p.full ? std::optional<std::uint64_t>(p.full->total_us) : std::nullopt;
}

void StageSampleStats::add(const Sample& s) {
  if (usage_.n == 0) {
    first_t_ = s.t_s;
    major_faults_.first = s.target_cgroup.stat.major_faults;
    refaults_.first = s.target_cgroup.stat.refaults_file;
  }
  last_t_ = s.t_s;
  major_faults_.last = s.target_cgroup.stat.major_faults;
  refaults_.last = s.target_cgroup.stat.refaults_file;
  const auto usage = static_cast<double>(s.measuredUsage());
  usage_.add(usage);
  stressor_.add(static_cast<double>(s.stressor_populated_bytes));
  if (s.target_process) rss_.add(static_cast<double>(s.target_process->rss_bytes));
  if (s.t_s >= settled_after_s_) {
    reached_usage_.add(usage);
    reached_stressor_.add(static_cast<double>(s.stressor_populated_bytes));
  }
  if (s.setpoint_bytes && s.t_s >= error_after_s_) setpoint_error_.add(std::fabs(usage - static_cast<double>(*s.setpoint_bytes)));
  const CgroupSample& measured = s.measured_cgroup ? *s.measured_cgroup : s.target_cgroup;
  if (measured.pressure) cgroup_psi_.add(*measured.pressure);
  if (s.system_pressure) system_psi_.add(*s.system_pressure);
  file_.add(static_cast<double>(s.target_cgroup.stat.file_bytes));
}

}  // namespace memstrain
