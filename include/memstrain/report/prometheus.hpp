#pragma once
// metrics.prom: a run's verdict, checks and per-stage figures in the Prometheus text exposition
// format, for node_exporter's textfile collector (memstrain run --textfile-dir) or any scraper
// that reads files. Built from report.json, so it says nothing report.json does not.

#include <string>

#include <nlohmann/json.hpp>

namespace memstrain {

/// Every family is a gauge with a HELP and TYPE line, labelled with the plan's name. Families:
/// memstrain_run_info (verdict, status, cleanup, run id, cgroup version as labels; value 1),
/// memstrain_run_passed, memstrain_run_exit_code, memstrain_run_duration_seconds,
/// memstrain_run_end_time_seconds, memstrain_checks{outcome}, memstrain_check_failed and
/// memstrain_check_observed{check,stage,probe,unit} (durations in seconds; text metrics and
/// no-data checks have no observed sample), memstrain_stage_latency_seconds{stage,probe,quantile},
/// memstrain_stage_error_ratio, memstrain_stage_usage_max_bytes, memstrain_stage_oom_kills{who},
/// memstrain_stage_page_cache_min_bytes, memstrain_stage_major_faults_per_second,
/// memstrain_stage_refaults_per_second, memstrain_stage_release_returned_ratio. Figures report.json
/// has as null are left out, never written as 0. Label values are escaped (\\, \", \n).
std::string renderPrometheusText(const nlohmann::json& report, int exit_code, double end_unix_s);

/// The file name for a textfile collector directory: "memstrain_" + the plan name with every
/// character outside [A-Za-z0-9_-] replaced by '_' + ".prom".
std::string prometheusFileName(const std::string& plan_name);

}  // namespace memstrain
