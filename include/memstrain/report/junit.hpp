#pragma once
// junit.xml for CI systems: one testcase per check x stage. Pure function of the run's data.

#include <string>
#include <string_view>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/model/run_record.hpp"
#include "memstrain/report/escape.hpp"

namespace memstrain {

/// <testsuites tests failures errors skipped><testsuite name=PLAN tests failures errors skipped
/// time><testcase name=CHECK classname=PLAN.STAGE time>, with <failure message=EXPLANATION> and a
/// text giving observed / limit / baseline for a failed check, <skipped message> for no data. A
/// run that did not complete adds a testcase "run" in classname PLAN with an <error>.
std::string renderJunitXml(const RunRecord& rec, const RunAnalysis& analysis);

}  // namespace memstrain
