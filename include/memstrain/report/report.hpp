#pragma once
// Reports of a finished run: report.json (machine-readable, versioned) and the human summary
// printed on stdout. Pure functions of the run's data; writing files is done by the caller.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/executor/run_record.hpp"

namespace memstrain {

/// Version of the report.json layout; bumped on incompatible changes.
inline constexpr int kReportSchemaVersion = 1;

nlohmann::json buildReportJson(const RunRecord& rec, const RunAnalysis& analysis);

/// A table, one row per stage, plus events and the verdict, for a terminal.
std::string renderSummary(const RunRecord& rec, const RunAnalysis& analysis);

/// The last stdout line, for machines (Chaos Mesh conditionalBranches, CI greps):
/// "memstrain: verdict=pass status=completed exit=0 report=OUT/report.json".
std::string machineLine(const RunRecord& rec, const VerdictResult& verdict, int exit_code, const std::string& report_path);

}  // namespace memstrain
