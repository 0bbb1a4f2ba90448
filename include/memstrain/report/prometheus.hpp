#pragma once
// metrics.prom: a run's verdict, checks and per-stage figures in the Prometheus text exposition
// format, for node_exporter's textfile collector (memstrain run --textfile-dir) or any scraper
// that reads files. Built from report.json, so it says nothing report.json does not.

#include <string>

#include <nlohmann/json.hpp>

namespace memstrain {

/// Families have HELP and TYPE lines and every sample the plan's name as a label; no label changes
/// from run to run (no run id), so a textfile collector keeps one series per plan. Families:
/// memstrain_build_info{version,commit,build_type,compiler} (from report.json's "tool"),
/// memstrain_run_info{verdict,status,cleanup,cgroup_version} (value 1), memstrain_run_passed,
/// memstrain_run_exit_code, memstrain_run_duration_seconds, memstrain_run_end_time_seconds,
/// memstrain_checks{outcome}, memstrain_check_failed{check,stage,probe}, the observed value of a
/// check in one family per unit (memstrain_check_observed_seconds, _bytes, _ratio, _per_second,
/// and memstrain_check_observed for counts; text metrics and no-data checks have none),
/// memstrain_stage_latency_seconds{stage,probe} as a summary (quantiles 0.5, 0.9, 0.99, 0.999,
/// _sum, _count), memstrain_stage_latency_max_seconds, memstrain_stage_error_ratio,
/// memstrain_stage_usage_max_bytes, memstrain_stage_oom_kills{who},
/// memstrain_stage_page_cache_min_bytes, memstrain_stage_major_faults_per_second,
/// memstrain_stage_refaults_per_second, memstrain_stage_gc_cycles, memstrain_stage_gc_cpu_ratio,
/// memstrain_stage_heap_objects_delta, memstrain_stage_release_returned_ratio. Figures report.json
/// has as null are left out, never written as 0. Label values are escaped (\\, \", \n).
std::string renderPrometheusText(const nlohmann::json& report, int exit_code, double end_unix_s);

/// The file name for a textfile collector directory: "memstrain_" + the plan name with every
/// character outside [A-Za-z0-9_-] replaced by '_' + ".prom".
std::string prometheusFileName(const std::string& plan_name);

}  // namespace memstrain
