#pragma once
// Reports of a finished run: report.json (machine-readable, versioned) and the human summary
// printed on stdout. Pure functions of the run's data; writing files is done by the caller.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/model/run_record.hpp"

namespace memstrain {

/// Version of the report.json layout; bumped on incompatible changes.
inline constexpr int kReportSchemaVersion = 1;

/// report.json as described by docs/report.schema.json. `plan_sha256` is the hex SHA-256 of the
/// plan file's bytes ("" when unknown: written as null).
nlohmann::json buildReportJson(const RunRecord& rec, const RunAnalysis& analysis, const std::string& plan_sha256 = "");

/// One check result as it appears in report.json's "checks" array.
nlohmann::json checkResultJson(const CheckResult& r);

/// A table, one row per stage, plus events and the verdict, for a terminal.
std::string renderSummary(const RunRecord& rec, const RunAnalysis& analysis);

/// The last stdout line, for machines (Chaos Mesh conditionalBranches, CI greps):
/// `memstrain: verdict=fail checks=6/7 failed="p99 under pressure" status=completed cleanup=ok exit=1
/// target_oom_kills=0 stressor_oom_kills=1 report=OUT/report.json`. checks= counts checks (not
/// check x stage results) that passed in every stage of their scope; failed= lists the failed
/// checks' names, each in double quotes, comma-separated, and is left out when none failed.
std::string machineLine(const RunRecord& rec, const RunAnalysis& analysis, int exit_code, const std::string& report_path);

}  // namespace memstrain
