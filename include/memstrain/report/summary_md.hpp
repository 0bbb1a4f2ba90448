#pragma once
// summary.md: Markdown tables of a run for CI step summaries (e.g. $GITHUB_STEP_SUMMARY).

#include <string>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/model/run_record.hpp"

namespace memstrain {

/// A heading with the verdict and exit code, a table of per-stage figures (time, pressure, usage,
/// OOM kills, latency percentiles of each probe), a table of check results with failures first,
/// and the verdict's reasons. Table cells have '|' and newlines escaped.
std::string renderSummaryMarkdown(const RunRecord& rec, const RunAnalysis& analysis, int exit_code);

}  // namespace memstrain
