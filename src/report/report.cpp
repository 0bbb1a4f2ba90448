#include "memstrain/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/util/build_info.hpp"
#include "memstrain/util/units.hpp"
#include "memstrain/version.hpp"

namespace memstrain {
namespace {

using nlohmann::json;

json optBytes(std::uint64_t v) { return v == kUnlimited ? json(nullptr) : json(v); }

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json summaryJson(const Summary& s) {
  if (s.n == 0) return nullptr;
  return {{"min", s.min}, {"mean", s.mean}, {"max", s.max}, {"n", s.n}};
}

std::string isoTime(std::int64_t wall_ms) {
  std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(wall_ms % 1000));
  return out;
}

json slopeJson(const std::optional<SlopeEstimate>& e) {
  if (!e) return nullptr;
  return {{"per_s", e->slope}, {"half_width_per_s", e->half_width}, {"confidence", e->confidence}, {"readings", e->points}};
}

json heapJson(const StageHeapStats& h) {
  return {{"samples", h.samples},
          {"objects_start", opt(h.objects_start)},
          {"objects_end", opt(h.objects_end)},
          {"objects_delta", opt(h.objects_delta)},
          {"objects_slope_per_s", opt(h.objects_slope_per_s)},
          {"live_objects_start", opt(h.live_objects_start)},
          {"live_objects_end", opt(h.live_objects_end)},
          {"live_objects_delta", opt(h.live_objects_delta)},
          {"live_bytes_start", opt(h.live_bytes_start)},
          {"live_bytes_end", opt(h.live_bytes_end)},
          {"live_bytes_delta", opt(h.live_bytes_delta)},
          {"live_readings", h.live_readings},
          {"live_objects_slope", slopeJson(h.live_objects_slope)},
          {"live_bytes_slope", slopeJson(h.live_bytes_slope)},
          {"retention", h.live_objects_slope ? json(retentionSentence(h)) : json(nullptr)},
          {"heap_inuse_start_bytes", opt(h.heap_inuse_start)},
          {"heap_inuse_end_bytes", opt(h.heap_inuse_end)},
          {"heap_released_start_bytes", opt(h.heap_released_start)},
          {"heap_released_end_bytes", opt(h.heap_released_end)},
          {"gc_cycles", opt(h.gc_cycles)},
          {"gc_cpu_fraction", opt(h.gc_cpu_fraction)},
          {"goroutines_start", opt(h.goroutines_start)},
          {"goroutines_end", opt(h.goroutines_end)},
          {"pprof_errors", h.pprof_errors}};
}

json latencySummaryJson(const LatencySummary& l) {
  auto ms = [](double ns) { return ns / 1e6; };
  return {{"count", l.count},
          {"mean_ms", ms(l.mean_ns)},
          {"p50_ms", ms(static_cast<double>(l.p50_ns))},
          {"p90_ms", ms(static_cast<double>(l.p90_ns))},
          {"p99_ms", ms(static_cast<double>(l.p99_ns))},
          {"p999_ms", ms(static_cast<double>(l.p999_ns))},
          {"max_ms", ms(static_cast<double>(l.max_ns))}};
}

json stageLatencyJson(const StageLatency& l) {
  return {
      {"probe", l.probe},
      {"corrected", latencySummaryJson(l.corrected)},
      {"uncorrected", latencySummaryJson(l.uncorrected)},
      {"sched_lag", latencySummaryJson(l.sched_lag)},
      {"sent", l.sent},
      {"missed", l.missed},
      {"completed", l.completed},
      {"ok", l.ok},
      {"errors",
       {{"timeout", l.errors_timeout}, {"connect", l.errors_connect}, {"http_status", l.errors_http_status}, {"other", l.errors_other}}},
      {"error_rate", l.error_rate},
      {"probe_cpu_s", l.probe_cpu_s}};
}

json releaseJson(const StageStats& s, const ReleaseSpec& spec) {
  if (!s.release) return nullptr;
  const ReleaseResult& r = *s.release;
  json reclaim = nullptr;
  if (s.reclaim) {
    const ReclaimResult& c = *s.reclaim;
    reclaim = {{"ran", true},
               {"reclaimed_lazy_bytes", c.reclaimed_lazy_bytes},
               {"held_bytes", c.held_bytes},
               {"charge_before_bytes", opt(c.charge_before_bytes)},
               {"charge_after_bytes", opt(c.charge_after_bytes)},
               {"reclaimed_charge_bytes", c.reclaimed_charge_bytes},
               {"unmapped_charge_before_bytes", opt(c.unmapped_charge_before_bytes)},
               {"unmapped_charge_after_bytes", opt(c.unmapped_charge_after_bytes)},
               {"reclaimed_unmapped_bytes", opt(c.reclaimed_unmapped_bytes)},
               {"gave_back", c.gave_back},
               {"target_oom_killed", c.target_oom_killed},
               {"stressor_oom_killed", c.stressor_oom_killed},
               {"lazy_before_bytes", opt(c.lazy_before_bytes)},
               {"lazy_after_bytes", opt(c.lazy_after_bytes)},
               {"rss_before_bytes", opt(c.rss_before_bytes)},
               {"rss_after_bytes", opt(c.rss_after_bytes)},
               {"stressor_requested_bytes", c.stressor_requested_bytes},
               {"stressor_reached_bytes", c.stressor_reached_bytes},
               {"start_s", c.start_s},
               {"end_s", c.end_s},
               {"explanation", c.explanation}};
  } else if (s.reclaim_configured) {
    reclaim = {
        {"ran", false}, {"reclaimed_lazy_bytes", nullptr}, {"target_oom_killed", false}, {"skipped_reason", s.reclaim_skipped_reason}};
  }
  return {{"outcome", toString(r.outcome)},
          {"comes_back", comesBack(r.outcome, s.reclaim ? &*s.reclaim : nullptr)},
          {"runtime_released_bytes", r.runtime_released_bytes},
          {"rss_dropped_bytes", opt(r.rss_dropped_bytes)},
          {"cgroup_dropped_bytes", opt(r.cgroup_dropped_bytes)},
          {"returned_ratio", opt(r.returned_ratio)},
          {"time_to_return_s", opt(r.time_to_return_s)},
          {"lazy_bytes", opt(r.lazy_bytes)},
          {"lazy_added_bytes", opt(r.lazy_added_bytes)},
          {"lazy_source", r.lazy_source.empty() ? json(nullptr) : json(r.lazy_source)},
          {"expect", {{"returned_ratio", spec.returned_ratio}, {"within_s", std::chrono::duration<double>(spec.within).count()}}},
          {"window", {{"start_s", r.window_start_s}, {"trigger_s", r.trigger_s}, {"deadline_s", r.deadline_s}}},
          {"runtime",
           {{"heap_released_before_bytes", opt(r.heap_released_before_bytes)},
            {"heap_released_after_bytes", opt(r.heap_released_after_bytes)},
            {"heap_idle_unreleased_before_bytes", opt(r.heap_idle_unreleased_before_bytes)},
            {"heap_inuse_before_bytes", opt(r.heap_inuse_before_bytes)},
            {"heap_inuse_after_bytes", opt(r.heap_inuse_after_bytes)}}},
          {"os",
           {{"rss_before_bytes", opt(r.rss_before_bytes)},
            {"rss_after_bytes", opt(r.rss_after_bytes)},
            {"cgroup_before_bytes", opt(r.cgroup_before_bytes)},
            {"cgroup_after_bytes", opt(r.cgroup_after_bytes)},
            {"cgroup_inactive_file_delta_bytes", opt(r.cgroup_inactive_file_delta_bytes)},
            {"cgroup_pglazyfree_delta", opt(r.cgroup_pglazyfree_delta)},
            {"cgroup_pglazyfreed_delta", opt(r.cgroup_pglazyfreed_delta)}}},
          {"huge_pages",
           {{"target_anon_huge_before_bytes", opt(r.target_anon_huge_before_bytes)},
            {"target_anon_huge_after_bytes", opt(r.target_anon_huge_after_bytes)},
            {"cgroup_anon_thp_before_bytes", r.cgroup_anon_thp_before_bytes},
            {"cgroup_anon_thp_after_bytes", r.cgroup_anon_thp_after_bytes},
            {"held_bytes", r.huge_page_held_bytes}}},
          {"explanation", r.explanation},
          {"reclaim", reclaim}};
}

json topJson(const TopReport& t) {
  json rows = json::array();
  for (const auto& r : t.rows) rows.push_back({{"function", r.name}, {"flat", r.flat}, {"cum", r.cum}});
  return {{"sample_type", t.sample_type}, {"unit", t.unit}, {"total", t.total}, {"rows", rows}};
}

}  // namespace

json checkResultJson(const CheckResult& r) {
  json rel = nullptr;
  if (!r.relative_text.empty()) rel = {{"text", r.relative_text}, {"value", opt(r.relative_max)}};
  json j = {{"name", r.check},
            {"metric", r.metric},
            {"unit", unitName(r.unit)},
            {"stage", r.stage},
            {"baseline_stage", r.baseline_stage},
            {"probe", r.probe.empty() ? json(nullptr) : json(r.probe)},
            {"outcome", toString(r.outcome)},
            {"pass", r.outcome == CheckOutcome::kPass},
            {"observed", opt(r.observed)},
            {"limit", {{"max", opt(r.max)}, {"min", opt(r.min)}, {"max_vs_baseline", rel}}},
            {"baseline", opt(r.baseline)},
            {"explanation", r.explanation},
            {"description", r.description},
            {"window", r.window_s ? json{{"seconds", *r.window_s},
                                         {"abort", r.abort},
                                         {"windows", r.windows},
                                         {"windows_failed", r.windows_failed},
                                         {"worst_end_s", opt(r.worst_window_end_s)}}
                                  : json(nullptr)}};
  if (r.unit == MetricUnit::kText) {
    j["observed_text"] = r.observed_text.empty() ? json(nullptr) : json(r.observed_text);
    j["limit"]["equals"] = r.equals;
  }
  return j;
}

json stagePsiJson(const std::optional<StagePsi>& p) {
  if (!p) return nullptr;
  return {{"source", p->source},
          {"some_avg10_max", p->some_avg10_max},
          {"full_avg10_max", opt(p->full_avg10_max)},
          {"some_stall_s", p->some_stall_s},
          {"full_stall_s", opt(p->full_stall_s)}};
}

json stagePageCacheJson(const std::optional<StagePageCache>& p) {
  if (!p) return nullptr;
  return {{"file_bytes", summaryJson(p->file_bytes)},
          {"major_faults", opt(p->major_faults)},
          {"major_faults_per_s", opt(p->major_faults_per_s)},
          {"refaults", opt(p->refaults)},
          {"refaults_per_s", opt(p->refaults_per_s)}};
}

json buildReportJson(const RunRecord& rec, const RunAnalysis& analysis, const std::string& plan_sha256) {
  const std::vector<StageStats>& stages = analysis.stages;
  const VerdictResult& verdict = analysis.verdict;
  const Resolution& r = rec.resolution;
  json j;
  j["schema_version"] = kReportSchemaVersion;
  const BuildInfo& build = buildInfo();
  j["tool"] = {{"name", "memstrain"},
               {"version", kVersion},
               {"commit", build.commit},
               {"commit_dirty", build.dirty},
               {"build_type", build.build_type},
               {"compiler", build.compiler}};
  j["plan"] = {{"name", rec.plan.name},
               {"path", rec.plan_path},
               {"source", rec.plan.source},
               {"baseline_stage", rec.plan.baseline_stage.empty() ? json(nullptr) : json(rec.plan.baseline_stage)}};
  j["plan_sha256"] = plan_sha256.empty() ? json(nullptr) : json(plan_sha256);
  j["host"] = {{"kernel", rec.kernel}, {"hostname", rec.hostname}, {"thp", nullptr}};
  if (rec.thp) j["host"]["thp"] = {{"enabled", rec.thp->enabled}, {"defrag", rec.thp->defrag}};
  j["run"] = {{"id", rec.run_id},
              {"started_at", isoTime(rec.started_wall_ms)},
              {"ended_at", isoTime(rec.ended_wall_ms)},
              {"duration_s", static_cast<double>(rec.ended_wall_ms - rec.started_wall_ms) / 1000.0},
              {"status", toString(rec.status)},
              {"error", rec.error.empty() ? json(nullptr) : json(rec.error)},
              {"out_dir", rec.out_dir}};
  j["cgroup"] = {{"version", toString(r.version)},
                 {"mount", r.mount},
                 {"target", r.target_cgroup},
                 {"target_effective_limit_bytes", optBytes(r.target_limit_bytes)},
                 {"measured", r.measured_cgroup},
                 {"effective_limit_bytes", optBytes(r.effective_limit_bytes)},
                 {"safety_margin_bytes", r.safety_margin_bytes},
                 {"stressor", r.placement ? json(r.stressor_cgroup) : json(nullptr)},
                 {"placement", r.placement ? json(toString(*r.placement)) : json(nullptr)},
                 {"created", r.cgroups_to_create}};
  json target = {{"mode", r.launch ? "launch" : "attach"}, {"pid", opt(rec.target_pid)}};
  // "cgroup-only": the plan accepted a target whose processes memstrain could not see.
  target["observation"] = r.hidden_target ? "cgroup-only" : "processes";
  // Process start, Unix ms (from /proc, to a clock tick): lines up the target's own logs and
  // gctrace's "@<seconds since start>" with the run.
  target["started_unix_ms"] = rec.target_start_unix_ns ? json(*rec.target_start_unix_ns / 1'000'000) : json(nullptr);
  if (r.launch) {
    target["command"] = rec.plan.target.launch->command;
    target["env"] = rec.plan.target.launch->env;
    target["memory_limit_bytes"] = rec.plan.target.launch->memory_limit_bytes;
  }
  target["exit"] = rec.target_exit ? json(rec.target_exit->describe()) : json(nullptr);
  j["target"] = target;

  json st = json::array();
  for (std::size_t si = 0; si < stages.size(); ++si) {
    const StageStats& s = stages[si];
    const std::optional<ReleaseSpec>* release_spec = si < rec.plan.stages.size() ? &rec.plan.stages[si].release : nullptr;
    json p = nullptr;
    if (s.pressure) {
      p = {{"placement", toString(s.pressure->placement)},
           {"mode", s.pressure->level_fraction ? "level" : "size"},
           {"level_fraction", opt(s.pressure->level_fraction)},
           {"requested_bytes", s.requested_setpoint_bytes ? json(*s.requested_setpoint_bytes) : opt(s.requested_size_bytes)},
           {"reached_bytes", opt(s.reached_bytes)},
           {"ramp_s", std::chrono::duration<double>(s.pressure->ramp).count()},
           {"rate_bytes_per_s", opt(s.pressure->rate_bytes_per_s)},
           {"hysteresis_bytes", opt(s.hysteresis_bytes)},
           {"allow_oom", s.pressure->allow_oom}};
    }
    json e = nullptr;
    if (s.setpoint_error_mean_abs_bytes) {
      e = {{"mean_abs_bytes", *s.setpoint_error_mean_abs_bytes},
           {"max_abs_bytes", opt(s.setpoint_error_max_abs_bytes)},
           {"mean_abs_fraction_of_limit", opt(s.setpoint_error_mean_abs_fraction)}};
    }
    st.push_back(
        {{"name", s.name},
         {"start_s", s.start_s},
         {"end_s", s.end_s},
         {"completed", s.completed},
         {"samples", s.samples},
         {"pressure", p},
         {"usage_bytes", summaryJson(s.usage)},
         {"stressor_bytes", summaryJson(s.stressor)},
         {"setpoint_error", e},
         {"target_rss_bytes", summaryJson(s.target_rss)},
         {"oom_kills", {{"target", s.oom_kills_target}, {"stressor", s.oom_kills_stressor}}},
         {"cpu_s",
          {{"controller", opt(s.controller_cpu_s)}, {"stressor", opt(s.stressor_cpu_s)}, {"target_cgroup", opt(s.target_cgroup_cpu_s)}}},
         {"heap", s.heap ? heapJson(*s.heap) : json(nullptr)},
         {"release", release_spec && *release_spec ? releaseJson(s, **release_spec) : json(nullptr)},
         {"psi", stagePsiJson(s.psi)},
         {"page_cache", stagePageCacheJson(s.page_cache)},
         {"fill", s.fill ? json{{"shape", s.fill->shape},
                                {"bytes", s.fill->bytes},
                                {"populate_s", s.fill->populate_s},
                                {"bytes_per_s", opt(s.fill->bytes_per_s)},
                                {"time_to_level_s", opt(s.fill->time_to_level_s)},
                                {"level_bytes", s.fill->level_bytes},
                                {"threads", s.fill->threads}}
                         : json(nullptr)},
         {"latency", [&] {
            json l = json::array();
            for (const auto& x : s.latency) l.push_back(stageLatencyJson(x));
            return l;
          }()}});
  }
  j["stages"] = st;
  json ev = json::array();
  for (const auto& e : rec.events) ev.push_back({{"t_s", e.t_s}, {"kind", e.kind}, {"stage", e.stage}, {"detail", e.detail}});
  j["events"] = ev;
  if (rec.plan.target.pprof_url) {
    json profiles = json::array();
    for (const auto& p : rec.profiles) {
      profiles.push_back(
          {{"t_s", p.t_s}, {"stage", p.stage < rec.stages.size() ? rec.stages[p.stage].name : ""}, {"reason", p.reason}, {"path", p.path}});
    }
    json pprof = {{"url", *rec.plan.target.pprof_url},
                  {"memstats_samples", rec.memstats.size()},
                  {"errors", rec.pprof_failures.size()},
                  {"profiles", profiles}};
    if (analysis.heap_diff) {
      const HeapDiff& d = *analysis.heap_diff;
      pprof["diff"] = {{"base_stage", d.base_stage},
                       {"stage", d.stage},
                       {"base_profile", d.base_path},
                       {"profile", d.path},
                       {"inuse_objects", topJson(d.inuse_objects)},
                       {"inuse_space", topJson(d.inuse_space)}};
    } else {
      pprof["diff"] = nullptr;
      pprof["diff_error"] = analysis.heap_diff_error;
    }
    j["pprof"] = pprof;
  }
  json checks = json::array();
  for (const auto& c : analysis.checks) checks.push_back(checkResultJson(c));
  j["checks"] = checks;
  const CheckTally tally = tallyChecks(analysis.checks);
  j["checks_summary"] = {{"total", tally.total},
                         {"passed", tally.passed},
                         {"failed", tally.failed},
                         {"no_data", tally.no_data},
                         {"failed_names", tally.failed_names}};
  j["abort"] = rec.abort ? json{{"check", rec.abort->check},
                                {"stage", rec.abort->stage},
                                {"t_s", rec.abort->t_s},
                                {"observed", rec.abort->observed},
                                {"explanation", rec.abort->explanation}}
                         : json(nullptr);
  j["verdict"] = toString(verdict.verdict);
  j["verdict_reasons"] = verdict.reasons;
  j["cleanup"] = {{"status", rec.cleanup_ok ? "ok" : "failed"}, {"errors", rec.cleanup_errors}};
  if (analysis.stressor_release) {
    const StressorReleaseResult& sr = *analysis.stressor_release;
    j["stressor_release"] = {{"baseline_usage_bytes", sr.baseline_usage_bytes},
                             {"after_usage_bytes", sr.after_usage_bytes},
                             {"baseline_target_rss_bytes", sr.baseline_target_rss_bytes},
                             {"after_target_rss_bytes", sr.after_target_rss_bytes},
                             {"baseline_anon_bytes", opt(sr.baseline_anon_bytes)},
                             {"after_anon_bytes", opt(sr.after_anon_bytes)},
                             {"baseline_target_anon_bytes", opt(sr.baseline_target_anon_bytes)},
                             {"after_target_anon_bytes", opt(sr.after_target_anon_bytes)},
                             {"basis", sr.basis},
                             {"usage_growth_bytes", sr.usage_growth_bytes},
                             {"leaked_bytes", sr.leaked_bytes},
                             {"tolerance_bytes", sr.tolerance_bytes},
                             {"ok", sr.ok}};
  } else {
    j["stressor_release"] = nullptr;
  }
  return j;
}

std::string renderSummary(const RunRecord& rec, const RunAnalysis& analysis) {
  const std::vector<StageStats>& stages = analysis.stages;
  const VerdictResult& verdict = analysis.verdict;
  std::ostringstream o;
  const Resolution& r = rec.resolution;
  o << "memstrain " << kVersion << " — plan \"" << rec.plan.name << "\", " << toString(r.version) << " cgroup " << r.measured_cgroup;
  if (r.effective_limit_bytes != kUnlimited) o << ", limit " << formatBytes(r.effective_limit_bytes);
  o << "\n\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-14s %8s %-22s %10s %10s %10s %10s %9s %9s\n", "stage", "time s", "pressure", "usage min",
                "usage mean", "usage max", "reached", "sp.err %", "OOM t/s");
  o << line;
  for (const auto& s : stages) {
    std::string pressure = "-";
    if (s.requested_setpoint_bytes) {
      char b[64];
      std::snprintf(b, sizeof b, "%s %.0f%% (%s)", toString(s.pressure->placement), *s.pressure->level_fraction * 100,
                    formatBytes(*s.requested_setpoint_bytes).c_str());
      pressure = b;
    } else if (s.requested_size_bytes) {
      pressure = std::string(toString(s.pressure->placement)) + " " + formatBytes(*s.requested_size_bytes);
    }
    auto mib = [](double v) { return formatMiB(v) + "M"; };
    std::string err = "-";
    if (s.setpoint_error_mean_abs_fraction) {
      char b[32];
      std::snprintf(b, sizeof b, "%.2f", *s.setpoint_error_mean_abs_fraction * 100);
      err = b;
    }
    char oom[32];
    std::snprintf(oom, sizeof oom, "%u/%u", s.oom_kills_target, s.oom_kills_stressor);
    std::snprintf(line, sizeof line, "%-14s %8.1f %-22s %10s %10s %10s %10s %9s %9s\n", s.name.c_str(), s.end_s - s.start_s,
                  pressure.c_str(), s.usage.n ? mib(s.usage.min).c_str() : "-", s.usage.n ? mib(s.usage.mean).c_str() : "-",
                  s.usage.n ? mib(s.usage.max).c_str() : "-", s.reached_bytes ? mib(*s.reached_bytes).c_str() : "-", err.c_str(), oom);
    o << line;
  }
  const bool any_heap = std::any_of(stages.begin(), stages.end(), [](const StageStats& s) { return s.heap.has_value(); });
  if (any_heap) {
    // Live objects (after a forced GC) say what is retained; HeapObjects growth says how much
    // garbage the GC had not swept yet: churn, GC pressure.
    std::snprintf(line, sizeof line, "\n%-14s %12s %12s %12s %14s %10s %7s %12s %10s\n", "go runtime", "live objects", "live delta",
                  "live MiB", "all objects/s", "GC cycles", "GC CPU", "HeapInuse end", "goroutines");
    o << line;
    for (const auto& s : stages) {
      if (!s.heap) {
        std::snprintf(line, sizeof line, "%-14s %12s\n", s.name.c_str(), "-");
        o << line;
        continue;
      }
      const StageHeapStats& h = *s.heap;
      char gc_cpu[16] = "-";
      if (h.gc_cpu_fraction) std::snprintf(gc_cpu, sizeof gc_cpu, "%.1f%%", *h.gc_cpu_fraction * 100);
      auto num = [](auto v) { return v ? std::to_string(*v) : std::string("-"); };
      char slope[24] = "-";
      if (h.objects_slope_per_s) std::snprintf(slope, sizeof slope, "%.0f", *h.objects_slope_per_s);
      std::string live_bytes = "-";
      if (h.live_bytes_delta)
        live_bytes = (*h.live_bytes_delta < 0 ? "-" : "+") + formatMiB(std::abs(static_cast<double>(*h.live_bytes_delta))) + "M";
      std::snprintf(line, sizeof line, "%-14s %12s %12s %12s %14s %10s %7s %12s %10s\n", s.name.c_str(), num(h.live_objects_end).c_str(),
                    h.live_objects_delta ? ((*h.live_objects_delta >= 0 ? "+" : "") + std::to_string(*h.live_objects_delta)).c_str() : "-",
                    live_bytes.c_str(), slope, num(h.gc_cycles).c_str(), gc_cpu,
                    h.heap_inuse_end ? (formatMiB(static_cast<double>(*h.heap_inuse_end)) + "M").c_str() : "-",
                    num(h.goroutines_end).c_str());
      o << line;
    }
    for (const auto& s : stages) {
      if (!s.heap || !s.heap->live_objects_slope) continue;
      o << s.name << ": " << retentionSentence(*s.heap);
      const SlopeEstimate& e = *s.heap->live_objects_slope;
      if (e.slope - e.half_width > 0 && analysis.heap_diff && !growingFunctions(*analysis.heap_diff).empty())
        o << "; grown most (heap profile): " << growingFunctions(*analysis.heap_diff);
      o << "\n";
    }
  }
  const bool any_latency = std::any_of(stages.begin(), stages.end(), [](const StageStats& s) { return !s.latency.empty(); });
  if (any_latency) {
    std::snprintf(line, sizeof line, "\n%-14s %-10s %8s %9s %9s %9s %9s %9s %8s %7s\n", "latency (ms)", "probe", "requests", "p50", "p90",
                  "p99", "p99.9", "max", "errors", "missed");
    o << line;
    for (const auto& s : stages) {
      for (const auto& l : s.latency) {
        auto m = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
        std::snprintf(line, sizeof line, "%-14s %-10s %8llu %9.2f %9.2f %9.2f %9.2f %9.2f %7.2f%% %7llu\n", s.name.c_str(), l.probe.c_str(),
                      static_cast<unsigned long long>(l.completed), m(l.corrected.p50_ns), m(l.corrected.p90_ns), m(l.corrected.p99_ns),
                      m(l.corrected.p999_ns), m(l.corrected.max_ns), l.error_rate * 100, static_cast<unsigned long long>(l.missed));
        o << line;
      }
    }
  }
  if (analysis.heap_diff) {
    const HeapDiff& d = *analysis.heap_diff;
    o << "\nheap growth " << d.base_stage << " -> " << d.stage << " (inuse_objects, top " << d.inuse_objects.rows.size() << "):\n";
    if (d.inuse_objects.rows.empty()) o << "  no function's in-use objects changed between the two profiles\n";
    for (const auto& row : d.inuse_objects.rows) {
      std::snprintf(line, sizeof line, "  %+12lld flat %+12lld cum  %s\n", static_cast<long long>(row.flat),
                    static_cast<long long>(row.cum), row.name.c_str());
      o << line;
    }
  } else if (!analysis.heap_diff_error.empty()) {
    o << "\nheap growth diff: " << analysis.heap_diff_error << "\n";
  }
  for (const auto& s : stages) {
    if (!s.release) continue;
    o << "\nrelease " << s.name << ": " << toString(s.release->outcome) << " — " << s.release->explanation << "\n";
    if (s.reclaim)
      o << "  reclaim: " << s.reclaim->explanation << "\n";
    else if (!s.reclaim_skipped_reason.empty())
      o << "  reclaim: not run (" << s.reclaim_skipped_reason << ")\n";
  }
  if (analysis.stressor_release) {
    const StressorReleaseResult& sr = *analysis.stressor_release;
    o << "\nstressor release: " << (sr.ok ? "ok" : "LEAK") << " (usage " << formatBytes(sr.baseline_usage_bytes) << " before pressure, "
      << formatBytes(sr.after_usage_bytes) << " after; " << formatBytes(sr.leaked_bytes) << " not given back, tolerance "
      << formatBytes(sr.tolerance_bytes) << ")\n";
  }
  if (!rec.events.empty()) {
    o << "\nevents:\n";
    for (const auto& e : rec.events) {
      std::snprintf(line, sizeof line, "  %7.2fs  %-18s %s\n", e.t_s, e.kind.c_str(), e.detail.c_str());
      o << line;
    }
  }
  if (!analysis.checks.empty()) {
    o << "\nchecks:\n";
    // Failures first: they are what a reader looks for.
    for (CheckOutcome want : {CheckOutcome::kFail, CheckOutcome::kNoData, CheckOutcome::kPass}) {
      for (const auto& c : analysis.checks) {
        if (c.outcome != want) continue;
        std::snprintf(line, sizeof line, "  %-7s %-28s %-12s %s\n", want == CheckOutcome::kFail ? "FAIL" : toString(want), c.check.c_str(),
                      c.stage.c_str(), c.explanation.c_str());
        o << line;
      }
    }
  }
  o << "\nverdict: " << toString(verdict.verdict) << " (run " << toString(rec.status) << ", cleanup " << (rec.cleanup_ok ? "ok" : "FAILED")
    << ")\n";
  for (const auto& reason : verdict.reasons) o << "  - " << reason << "\n";
  for (const auto& e : rec.cleanup_errors) o << "  - cleanup: " << e << "\n";
  return o.str();
}

std::string machineLine(const RunRecord& rec, const RunAnalysis& analysis, int exit_code, const std::string& report_path) {
  const CheckTally tally = tallyChecks(analysis.checks);
  std::string s = std::string("memstrain: verdict=") + toString(analysis.verdict.verdict) + " checks=" + std::to_string(tally.passed) +
                  "/" + std::to_string(tally.total);
  if (!tally.failed_names.empty()) {
    s += " failed=";
    for (std::size_t i = 0; i < tally.failed_names.size(); ++i) s += (i ? ",\"" : "\"") + tally.failed_names[i] + "\"";
  }
  s += std::string(" status=") + toString(rec.status) + " cleanup=" + (rec.cleanup_ok ? "ok" : "failed") +
       " exit=" + std::to_string(exit_code);
  std::uint32_t target_oom = 0, stressor_oom = 0;
  for (const auto& st : rec.stages) {
    target_oom += st.target_oom_kills;
    stressor_oom += st.stressor_oom_kills;
  }
  s += " target_oom_kills=" + std::to_string(target_oom) + " stressor_oom_kills=" + std::to_string(stressor_oom);
  s += " report=" + report_path;
  return s;
}

}  // namespace memstrain
