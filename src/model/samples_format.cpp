#include "memstrain/model/sample.hpp"

namespace memstrain {

nlohmann::json cgroupSampleToJson(const CgroupSample& c) {
  nlohmann::json j = {
      {"usage_bytes", c.usage_bytes},
      {"limit_bytes", c.limit_bytes == kUnlimited ? nlohmann::json(nullptr) : nlohmann::json(c.limit_bytes)},
      {"anon_bytes", c.stat.anon_bytes},
      {"file_bytes", c.stat.file_bytes},
      {"inactive_file_bytes", c.stat.inactive_file_bytes},
      {"oom_kill", c.oom_kill_count},
  };
  if (c.peak_bytes) j["peak_bytes"] = *c.peak_bytes;
  if (c.stat.pglazyfree) j["pglazyfree"] = *c.stat.pglazyfree;
  if (c.stat.pglazyfreed) j["pglazyfreed"] = *c.stat.pglazyfreed;
  if (c.stat.major_faults) j["major_faults"] = *c.stat.major_faults;
  if (c.stat.refaults_file) j["refaults_file"] = *c.stat.refaults_file;
  if (c.pressure) {
    j["psi_some_avg10"] = c.pressure->some.avg10;
    if (c.pressure->full) j["psi_full_avg10"] = c.pressure->full->avg10;
  }
  return j;
}

nlohmann::json processMemoryToJson(const ProcessMemory& p) {
  nlohmann::json j = {{"rss_bytes", p.rss_bytes}, {"anonymous_bytes", p.anonymous_bytes}, {"swap_bytes", p.swap_bytes}};
  if (p.lazyfree_bytes) j["lazyfree_bytes"] = *p.lazyfree_bytes;
  return j;
}

nlohmann::json sampleToJson(const Sample& s, const std::string& stage_name) {
  nlohmann::json j = {
      {"kind", "cgroup"},
      {"t", s.t_s},
      {"wall_ms", s.wall_ms},
      {"stage", stage_name},
      {"target_cgroup", cgroupSampleToJson(s.target_cgroup)},
      {"effective_limit_bytes", s.effective_limit_bytes == kUnlimited ? nlohmann::json(nullptr) : nlohmann::json(s.effective_limit_bytes)},
      {"measured_usage_bytes", s.measuredUsage()},
      {"stressor", {{"target_bytes", s.stressor_target_bytes}, {"populated_bytes", s.stressor_populated_bytes}}},
  };
  if (s.measured_cgroup) j["measured_cgroup"] = cgroupSampleToJson(*s.measured_cgroup);
  if (s.stressor_cgroup) j["stressor_cgroup"] = cgroupSampleToJson(*s.stressor_cgroup);
  if (s.setpoint_bytes) j["setpoint_bytes"] = *s.setpoint_bytes;
  if (s.stressor_process) j["stressor"]["process"] = processMemoryToJson(*s.stressor_process);
  if (s.target_process) j["target_process"] = processMemoryToJson(*s.target_process);
  if (s.system_pressure) {
    j["system_psi_some_avg10"] = s.system_pressure->some.avg10;
    if (s.system_pressure->full) j["system_psi_full_avg10"] = s.system_pressure->full->avg10;
  }
  return j;
}

}  // namespace memstrain
