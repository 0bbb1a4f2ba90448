#include "memstrain/report/prometheus.hpp"

#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "memstrain/model/report_view.hpp"
#include "memstrain/report/prom_text.hpp"

namespace memstrain {
namespace {

using nlohmann::json;

// report.json check units to the family that carries them (one unit per family) and the divisor
// into its base unit: durations are nanoseconds in report.json. Dividing rounds once, so 12500000
// ns becomes exactly "0.0125".
struct ObservedFamily {
  const char* name;
  double divisor;
};
ObservedFamily observedFamily(const std::string& unit) {
  if (unit == "ns") return {"memstrain_check_observed_seconds", 1e9};
  if (unit == "bytes") return {"memstrain_check_observed_bytes", 1};
  if (unit == "fraction") return {"memstrain_check_observed_ratio", 1};
  if (unit == "per_s") return {"memstrain_check_observed_per_second", 1};
  if (unit == "bytes_per_s") return {"memstrain_check_observed_bytes_per_second", 1};
  return {"memstrain_check_observed", 1};  // counts: no unit
}

}  // namespace

std::string renderPrometheusText(const json& report, int exit_code, double end_unix_s) {
  using T = PromText::Type;
  const ReportView v = decodeReport(report);
  PromText e({{"plan", v.plan_name}});
  e.family("memstrain_build_info", T::kGauge,
           "The memstrain build that made the report; version, commit, build type and compiler are labels.");
  e.family("memstrain_run_info", T::kGauge, "A finished memstrain run; its verdict, status, cleanup and cgroup version are labels.");
  e.family("memstrain_run_passed", T::kGauge, "1 when the run's verdict is pass, else 0.");
  e.family("memstrain_run_exit_code", T::kGauge,
           "Exit code of memstrain run (0 pass, 1 fail, 3 error, 4 interrupted, 5 inconclusive, 6 cleanup failed, 7 aborted).");
  e.family("memstrain_run_duration_seconds", T::kGauge, "Wall time of the run.");
  e.family("memstrain_run_end_time_seconds", T::kGauge, "When the run ended, Unix time.");
  e.family("memstrain_checks", T::kGauge, "Check results (check x stage) by outcome.");
  e.family("memstrain_check_failed", T::kGauge, "1 when the check failed in the stage, 0 when it passed.");
  e.family("memstrain_check_observed_seconds", T::kGauge, "The duration a check judged (latency metrics).");
  e.family("memstrain_check_observed_bytes", T::kGauge, "The size a check judged (usage, RSS, heap bytes).");
  e.family("memstrain_check_observed_ratio", T::kGauge, "The ratio a check judged (error rate, GC CPU share, PSI), 0 to 1.");
  e.family("memstrain_check_observed_per_second", T::kGauge, "The rate a check judged (heap object growth, faults).");
  e.family("memstrain_check_observed_bytes_per_second", T::kGauge, "The byte rate a check judged (the stressor's fill rate).");
  e.family("memstrain_check_observed", T::kGauge, "The count a check judged (OOM kills, GC cycles, objects).");
  e.family("memstrain_stage_latency_seconds", T::kSummary,
           "Probe latency in the stage, corrected for coordinated omission (quantiles over the whole stage).");
  e.family("memstrain_stage_latency_max_seconds", T::kGauge, "Slowest probe request in the stage, corrected for coordinated omission.");
  e.family("memstrain_stage_error_ratio", T::kGauge, "Failed probe requests / completed requests in the stage.");
  e.family("memstrain_stage_usage_max_bytes", T::kGauge, "Largest usage of the measured cgroup in the stage.");
  e.family("memstrain_stage_oom_kills", T::kGauge, "OOM kills in the stage, of the target or of the stressor.");
  e.family("memstrain_stage_page_cache_min_bytes", T::kGauge, "Smallest page cache (file memory) of the target's cgroup in the stage.");
  e.family("memstrain_stage_major_faults_per_second", T::kGauge, "Page faults in the target's cgroup that waited for I/O.");
  e.family("memstrain_stage_refaults_per_second", T::kGauge, "Evicted file pages of the target's cgroup read back.");
  e.family("memstrain_stage_gc_cycles", T::kGauge, "Go GC cycles completed in the stage.");
  e.family("memstrain_stage_gc_cpu_ratio", T::kGauge, "Share of the Go runtime's CPU (GOMAXPROCS x time) spent in GC in the stage.");
  e.family("memstrain_stage_heap_objects_delta", T::kGauge,
           "Go HeapObjects at the stage's end minus its start: live objects plus garbage not yet swept (churn, GC timing).");
  e.family("memstrain_stage_live_objects_delta", T::kGauge, "Objects still reachable after a forced GC: stage end minus stage start.");
  e.family("memstrain_stage_live_bytes_delta", T::kGauge, "Bytes still reachable after a forced GC: stage end minus stage start.");
  e.family("memstrain_stage_live_objects_per_second", T::kGauge,
           "Retention rate: least-squares slope of live objects over the stage's GC-forced readings (pprof.live_interval).");
  e.family("memstrain_stage_live_objects_per_second_error", T::kGauge,
           "Half width of the 95% confidence interval of memstrain_stage_live_objects_per_second.");
  e.family("memstrain_stage_release_returned_ratio", T::kGauge, "Release stages: OS-visible drop / bytes the Go runtime released.");

  if (v.has_tool) {
    e.add("memstrain_build_info",
          {{"version", v.tool_version}, {"commit", v.tool_commit}, {"build_type", v.tool_build_type}, {"compiler", v.tool_compiler}}, 1.0);
  }
  // No run id label: a label that changes every run makes a new series every run.
  e.add("memstrain_run_info",
        {{"verdict", v.verdict}, {"status", v.run_status}, {"cleanup", v.cleanup_status}, {"cgroup_version", v.cgroup_version}}, 1.0);
  e.add("memstrain_run_passed", {}, v.verdict == "pass" ? 1.0 : 0.0);
  e.add("memstrain_run_exit_code", {}, static_cast<double>(exit_code));
  e.add("memstrain_run_duration_seconds", {}, v.run_duration_s);
  e.add("memstrain_run_end_time_seconds", {}, end_unix_s);

  std::map<std::string, double> tally = {{"pass", 0}, {"fail", 0}, {"no_data", 0}};
  for (const auto& c : v.checks) {
    tally[c.outcome] += 1;
    if (c.outcome != "pass" && c.outcome != "fail") continue;
    const PromLabels l = {{"check", c.name}, {"stage", c.stage}, {"probe", c.probe}};
    e.add("memstrain_check_failed", l, c.outcome == "fail" ? 1.0 : 0.0);
    if (c.observed) {
      const ObservedFamily f = observedFamily(c.unit);
      e.add(f.name, l, *c.observed / f.divisor);
    }
  }
  for (const auto& [outcome, n] : tally) e.add("memstrain_checks", {{"outcome", outcome}}, n);

  for (const auto& s : v.stages) {
    const std::string& stage = s.name;
    for (const auto& l : s.latency) {
      const PromLabels at_probe = {{"stage", stage}, {"probe", l.probe}};
      const double count = l.count.value_or(0);
      if (count > 0) {
        const std::pair<const char*, std::optional<double>> quantiles[] = {
            {"0.5", l.p50_ms}, {"0.9", l.p90_ms}, {"0.99", l.p99_ms}, {"0.999", l.p999_ms}};
        for (const auto& [q, ms] : quantiles) {
          if (ms) e.add("memstrain_stage_latency_seconds", {{"stage", stage}, {"probe", l.probe}, {"quantile", q}}, *ms / 1e3);
        }
        if (l.mean_ms) e.add("memstrain_stage_latency_seconds", at_probe, *l.mean_ms * count / 1e3, "_sum");
        e.add("memstrain_stage_latency_seconds", at_probe, count, "_count");
        if (l.max_ms) e.add("memstrain_stage_latency_max_seconds", at_probe, *l.max_ms / 1e3);
      }
      e.add("memstrain_stage_error_ratio", at_probe, l.error_rate);
    }
    const PromLabels at_stage = {{"stage", stage}};
    if (s.usage_bytes.n.value_or(0) > 0) e.add("memstrain_stage_usage_max_bytes", at_stage, s.usage_bytes.max);
    e.add("memstrain_stage_oom_kills", {{"stage", stage}, {"who", "target"}}, s.oom_kills_target);
    e.add("memstrain_stage_oom_kills", {{"stage", stage}, {"who", "stressor"}}, s.oom_kills_stressor);
    if (const auto& pc = s.page_cache) {
      if (pc->file_bytes.n.value_or(0) > 0) e.add("memstrain_stage_page_cache_min_bytes", at_stage, pc->file_bytes.min);
      e.add("memstrain_stage_major_faults_per_second", at_stage, pc->major_faults_per_s);
      e.add("memstrain_stage_refaults_per_second", at_stage, pc->refaults_per_s);
    }
    const ReportHeapView heap = s.heap.value_or(ReportHeapView{});
    const ReportSlopeView live_slope = heap.live_objects_slope.value_or(ReportSlopeView{});
    e.add("memstrain_stage_gc_cycles", at_stage, heap.gc_cycles);
    e.add("memstrain_stage_gc_cpu_ratio", at_stage, heap.gc_cpu_fraction);
    e.add("memstrain_stage_heap_objects_delta", at_stage, heap.objects_delta);
    e.add("memstrain_stage_live_objects_delta", at_stage, heap.live_objects_delta);
    e.add("memstrain_stage_live_bytes_delta", at_stage, heap.live_bytes_delta);
    e.add("memstrain_stage_live_objects_per_second", at_stage, live_slope.per_s);
    e.add("memstrain_stage_live_objects_per_second_error", at_stage, live_slope.half_width_per_s);
    e.add("memstrain_stage_release_returned_ratio", at_stage, s.release_returned_ratio);
  }
  return e.str();
}

std::string prometheusFileName(const std::string& plan_name) {
  std::string out = "memstrain_";
  for (char c : plan_name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  return out + ".prom";
}

}  // namespace memstrain
