#include "memstrain/model/report_view.hpp"

#include <initializer_list>
#include <utility>

#include "memstrain/util/json_read.hpp"

namespace memstrain {
namespace {

using json_read::at;
using json_read::items;
using json_read::num;
using json_read::str;
using json_read::u64;
using nlohmann::json;

// Fields read as they are named in the file: numbers (absent unless a number) and text (as
// json_read::str shows it).
void readNumbers(const json& j, std::initializer_list<std::pair<const char*, std::optional<double>*>> fields) {
  for (const auto& [key, field] : fields) *field = num(j, key);
}
void readTexts(const json& j, std::initializer_list<std::pair<const char*, std::string*>> fields) {
  for (const auto& [key, field] : fields) *field = str(j, key);
}

ReportSummaryView summaryOf(const json& j) { return {num(j, "n"), num(j, "min"), num(j, "max"), num(j, "mean")}; }

ReportLatencyView latencyOf(const json& l) {
  ReportLatencyView v;
  v.probe = str(l, "probe");
  v.error_rate = num(l, "error_rate");
  const json& c = at(l, "corrected");
  v.has_corrected = c.is_object();
  readNumbers(c, {{"count", &v.count},
                  {"mean_ms", &v.mean_ms},
                  {"p50_ms", &v.p50_ms},
                  {"p90_ms", &v.p90_ms},
                  {"p99_ms", &v.p99_ms},
                  {"p999_ms", &v.p999_ms},
                  {"max_ms", &v.max_ms}});
  return v;
}

ReportHeapView heapOf(const json& h) {
  ReportHeapView v;
  readNumbers(h, {{"gc_cycles", &v.gc_cycles},
                  {"gc_cpu_fraction", &v.gc_cpu_fraction},
                  {"objects_delta", &v.objects_delta},
                  {"objects_slope_per_s", &v.objects_slope_per_s},
                  {"live_objects_delta", &v.live_objects_delta},
                  {"live_bytes_delta", &v.live_bytes_delta},
                  {"live_objects_end", &v.live_objects_end},
                  {"heap_inuse_end_bytes", &v.heap_inuse_end_bytes}});
  if (const json& s = at(h, "live_objects_slope"); s.is_object())
    v.live_objects_slope = ReportSlopeView{num(s, "per_s"), num(s, "half_width_per_s")};
  if (const json& r = at(h, "retention"); r.is_string()) v.retention = r.get<std::string>();
  return v;
}

ReportStageView stageOf(const json& s) {
  ReportStageView v;
  v.name = str(s, "name");
  v.start_s = num(s, "start_s");
  v.end_s = num(s, "end_s");
  if (const json& c = at(s, "completed"); c.is_boolean()) v.completed = c.get<bool>();
  if (const json& p = at(s, "pressure"); p.is_object()) {
    v.pressure = ReportPressureView{str(p, "placement"), num(p, "level_fraction"), num(p, "requested_bytes"), num(p, "reached_bytes")};
  }
  v.usage_bytes = summaryOf(at(s, "usage_bytes"));
  v.target_rss_bytes = summaryOf(at(s, "target_rss_bytes"));
  v.stressor_bytes = summaryOf(at(s, "stressor_bytes"));
  v.oom_kills_target = num(at(s, "oom_kills"), "target");
  v.oom_kills_stressor = num(at(s, "oom_kills"), "stressor");
  for (const json& l : items(s, "latency")) v.latency.push_back(latencyOf(l));
  if (const json& h = at(s, "heap"); h.is_object()) v.heap = heapOf(h);
  if (const json& pc = at(s, "page_cache"); pc.is_object()) {
    v.page_cache = ReportPageCacheView{summaryOf(at(pc, "file_bytes")), num(pc, "major_faults_per_s"), num(pc, "refaults_per_s")};
  }
  if (const json& p = at(s, "psi"); p.is_object())
    v.psi = ReportPsiView{str(p, "source"), num(p, "some_avg10_max"), num(p, "some_stall_s")};
  if (const json& f = at(s, "fill"); f.is_object()) v.fill = ReportFillView{num(f, "bytes_per_s"), num(f, "time_to_level_s")};
  const json& rel = at(s, "release");
  if (rel.is_string()) {
    v.release_outcome = rel.get<std::string>();
  } else if (const json& outcome = at(rel, "outcome"); outcome.is_string()) {
    v.release_outcome = outcome.get<std::string>();
  }
  v.release_returned_ratio = num(rel, "returned_ratio");
  v.release = rel;
  return v;
}

ReportCheckView checkOf(const json& c) {
  ReportCheckView v;
  readTexts(c, {{"name", &v.name},
                {"metric", &v.metric},
                {"unit", &v.unit},
                {"stage", &v.stage},
                {"probe", &v.probe},
                {"outcome", &v.outcome},
                {"explanation", &v.explanation},
                {"observed_text", &v.observed_text}});
  readNumbers(c, {{"observed", &v.observed}, {"baseline", &v.baseline}});
  const json& l = at(c, "limit");
  v.limit_max = num(l, "max");
  v.limit_min = num(l, "min");
  v.limit_equals = str(l, "equals");
  if (const json& rel = at(l, "max_vs_baseline"); rel.is_object()) {
    v.has_limit_vs_baseline = true;
    v.limit_vs_baseline_text = str(rel, "text");
    v.limit_vs_baseline_value = num(rel, "value");
  }
  return v;
}

}  // namespace

std::optional<double> ReportStageView::durationS() const {
  if (start_s && end_s) return *end_s - *start_s;
  return std::nullopt;
}

const ReportStageView* ReportView::stage(const std::string& name) const {
  for (const auto& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::optional<std::uint64_t> reportBytes(std::optional<double> v) {
  if (!v || !(*v >= 0) || *v >= 1.8e19) return std::nullopt;
  return static_cast<std::uint64_t>(*v);
}

ReportView decodeReport(const json& r) {
  ReportView v;
  if (!r.is_object()) return v;
  if (const json& sv = at(r, "schema_version"); sv.is_number_integer()) v.schema_version = sv.get<std::int64_t>();
  v.verdict = str(r, "verdict");
  for (const json& x : items(r, "verdict_reasons")) v.verdict_reasons.push_back(str(x));
  const json& plan = at(r, "plan");
  v.plan_name = str(plan, "name");
  v.plan_path = str(plan, "path");
  v.plan_description = str(at(at(plan, "source"), "description"));
  v.plan_sha256 = str(r, "plan_sha256");
  const json& tally = at(r, "checks_summary");
  v.checks_total = num(tally, "total");
  v.checks_passed = num(tally, "passed");
  v.checks_failed = num(tally, "failed");
  const json& host = at(r, "host");
  v.host_name = str(host, "hostname");
  v.host_kernel = str(host, "kernel");
  if (const json& thp = at(host, "thp"); thp.is_object()) {
    v.has_thp = true;
    v.thp_enabled = str(thp, "enabled");
    v.thp_defrag = str(thp, "defrag");
  }
  if (const json& run = at(r, "run"); run.is_object()) {
    v.has_run = true;
    readTexts(run, {{"id", &v.run_id},
                    {"status", &v.run_status},
                    {"error", &v.run_error},
                    {"started_at", &v.run_started_at},
                    {"out_dir", &v.run_out_dir}});
    v.run_duration_s = num(run, "duration_s");
  }
  if (const json& tool = at(r, "tool"); tool.is_object()) {
    v.has_tool = true;
    readTexts(
        tool,
        {{"version", &v.tool_version}, {"commit", &v.tool_commit}, {"build_type", &v.tool_build_type}, {"compiler", &v.tool_compiler}});
  }
  const json& cg = at(r, "cgroup");
  readTexts(
      cg,
      {{"version", &v.cgroup_version}, {"placement", &v.cgroup_placement}, {"target", &v.cgroup_target}, {"measured", &v.cgroup_measured}});
  v.effective_limit_bytes = u64(cg, "effective_limit_bytes");
  v.safety_margin_bytes = num(cg, "safety_margin_bytes");
  if (const json& target = at(r, "target"); target.is_object()) {
    v.has_target = true;
    v.target_mode = str(target, "mode");
    v.target_pid = str(target, "pid");
    if (const json& cmd = at(target, "command"); cmd.is_array()) {
      v.target_command.emplace();
      for (const json& a : cmd) v.target_command->push_back(str(a));
    }
    if (const json& env = at(target, "env"); env.is_object()) {
      v.target_env.emplace();
      for (auto it = env.begin(); it != env.end(); ++it) v.target_env->emplace_back(it.key(), str(it.value()));
    }
    v.target_memory_limit_bytes = u64(target, "memory_limit_bytes");
    if (const json& ex = at(target, "exit"); ex.is_string()) v.target_exit = ex.get<std::string>();
    v.target_started_unix_ms = num(target, "started_unix_ms");
  }
  const json& cleanup = at(r, "cleanup");
  v.has_cleanup = cleanup.is_object();
  v.cleanup_status = str(cleanup, "status");
  for (const json& e : items(cleanup, "errors")) v.cleanup_errors.push_back(str(e));
  v.has_stages_array = at(r, "stages").is_array();
  v.has_checks_array = at(r, "checks").is_array();
  for (const json& s : items(r, "stages")) v.stages.push_back(stageOf(s));
  for (const json& c : items(r, "checks")) v.checks.push_back(checkOf(c));
  for (const json& e : items(r, "events")) v.events.push_back({num(e, "t_s"), str(e, "kind"), str(e, "stage"), str(e, "detail")});
  v.pprof = at(r, "pprof");
  v.stressor_release = at(r, "stressor_release");
  return v;
}

}  // namespace memstrain
