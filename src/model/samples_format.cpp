#include "memstrain/model/samples_format.hpp"

#include "memstrain/util/json_read.hpp"
#include "memstrain/util/text.hpp"

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

nlohmann::json memStatsToJson(const MemStatsSample& s, const std::string& stage_name) {
  const GoMemStats& m = s.stats;
  nlohmann::json j = {{"kind", "memstats"},
                      {"t", s.t_s},
                      {"wall_ms", s.wall_ms},
                      {"stage", stage_name},
                      {"heap_objects", m.heap_objects},
                      {"heap_alloc_bytes", m.heap_alloc_bytes},
                      {"heap_inuse_bytes", m.heap_inuse_bytes},
                      {"heap_idle_bytes", m.heap_idle_bytes},
                      {"heap_released_bytes", m.heap_released_bytes},
                      {"heap_sys_bytes", m.heap_sys_bytes},
                      {"sys_bytes", m.sys_bytes},
                      {"next_gc_bytes", m.next_gc_bytes},
                      {"num_gc", m.num_gc},
                      {"pause_total_ns", m.pause_total_ns},
                      {"gc_cpu_fraction", m.gc_cpu_fraction}};
  if (m.last_gc_unix_ns) j["last_gc_unix_ns"] = *m.last_gc_unix_ns;
  if (m.max_rss_bytes) j["max_rss_bytes"] = *m.max_rss_bytes;
  if (s.goroutines) j["goroutines"] = *s.goroutines;
  return j;
}

nlohmann::json liveHeapToJson(const LiveHeapReading& r, const std::string& stage_name) {
  return {{"kind", "live_heap"},   {"t", r.t_s},       {"stage", stage_name},       {"reading", r.kind}, {"live_objects", r.objects},
          {"live_bytes", r.bytes}, {"tries", r.tries}, {"request_ms", r.request_ms}};
}

nlohmann::json pprofFailureToJson(const PprofFailure& f, const std::string& stage_name) {
  return {{"kind", "pprof_error"},  {"t", f.t_s},           {"stage", stage_name},
          {"endpoint", f.endpoint}, {"error_kind", f.kind}, {"message", f.message}};
}

namespace {

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

nlohmann::json latencyWindowToJson(const ProbeWindow& w, const std::string& probe, double t_s, const std::string& stage) {
  const LatencySummary c = summarizeLatency(w.corrected);
  return {{"kind", "latency"},
          {"t", t_s},
          {"stage", stage},
          {"probe", probe},
          {"sent", w.sent},
          {"missed", w.missed},
          {"completed", w.completed},
          {"ok", w.ok},
          {"errors", w.errors.total()},
          {"p50_ms", ms(c.p50_ns)},
          {"p90_ms", ms(c.p90_ns)},
          {"p99_ms", ms(c.p99_ns)},
          {"max_ms", ms(c.max_ns)},
          {"uncorrected_p99_ms", ms(summarizeLatency(w.uncorrected).p99_ns)},
          {"sched_lag_p99_ms", ms(summarizeLatency(w.sched_lag).p99_ns)}};
}

namespace {

using json_read::at;
using json_read::num;
using json_read::u64;

CgroupLine decodeCgroup(const nlohmann::json& j) {
  CgroupLine c;
  c.t_s = num(j, "t");
  c.measured_usage_bytes = num(j, "measured_usage_bytes");
  c.effective_limit_bytes = num(j, "effective_limit_bytes");
  c.setpoint_bytes = num(j, "setpoint_bytes");
  c.stressor_populated_bytes = num(at(j, "stressor"), "populated_bytes");
  const nlohmann::json& target = at(j, "target_cgroup");
  c.target_usage_bytes = num(target, "usage_bytes");
  c.target_file_bytes = num(target, "file_bytes");
  const nlohmann::json& process = at(j, "target_process");
  c.target_rss_bytes = num(process, "rss_bytes");
  c.target_lazyfree_bytes = num(process, "lazyfree_bytes");
  // PSI of the cgroup the pressure level refers to: measured_cgroup is written only when it is not
  // the target's (beside placement).
  const nlohmann::json& measured = at(j, "measured_cgroup").is_object() ? at(j, "measured_cgroup") : target;
  c.psi_some_avg10 = num(measured, "psi_some_avg10");
  c.psi_full_avg10 = num(measured, "psi_full_avg10");
  c.has_stressor_cgroup = j.contains("stressor_cgroup");
  return c;
}

MemstatsLine decodeMemstats(const nlohmann::json& j) {
  MemstatsLine m;
  m.t_s = num(j, "t");
  m.heap_objects = num(j, "heap_objects");
  m.heap_inuse_bytes = num(j, "heap_inuse_bytes");
  m.heap_released_bytes = num(j, "heap_released_bytes");
  m.num_gc = u64(j, "num_gc");
  m.pause_total_ns = u64(j, "pause_total_ns");
  m.gc_cpu_fraction = num(j, "gc_cpu_fraction");
  m.last_gc_unix_ns = u64(j, "last_gc_unix_ns");
  return m;
}

LatencyLine decodeLatency(const nlohmann::json& j) {
  LatencyLine l;
  l.t_s = num(j, "t");
  if (const nlohmann::json& p = at(j, "probe"); p.is_string()) l.probe = p.get<std::string>();
  l.p50_ms = num(j, "p50_ms");
  l.p99_ms = num(j, "p99_ms");
  l.completed = num(j, "completed");
  l.errors = num(j, "errors");
  return l;
}

}  // namespace

std::optional<SampleLine> decodeSampleLine(std::string_view line) {
  line = trim(line);
  if (line.empty()) return OtherLine{};
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;  // also a discarded (unparsable) value
  const nlohmann::json& kind = at(j, "kind");
  if (!kind.is_string()) return std::nullopt;
  const std::string& k = kind.get_ref<const std::string&>();
  if (k == "cgroup") return decodeCgroup(j);
  if (k == "memstats") return decodeMemstats(j);
  if (k == "live_heap") return LiveHeapLine{num(j, "t"), num(j, "live_objects"), num(j, "live_bytes")};
  if (k == "latency") return decodeLatency(j);
  if (k == "pprof_error") return PprofErrorLine{num(j, "t")};
  return OtherLine{};
}

}  // namespace memstrain
