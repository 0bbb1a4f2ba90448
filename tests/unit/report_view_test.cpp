// decodeReport: report.json's one reader. Read back what the writer wrote for the synthetic runs
// and compare with the analysis it came from (reader against writer, not against itself), then
// the ways a report that memstrain did not just write can be wrong.

#include "memstrain/model/report_view.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <limits>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/report/report.hpp"
#include "support/synthetic_run.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ReportViewTest : public ::testing::TestWithParam<testing::SyntheticVariant> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("memstrain-report-view-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(ReportViewTest, ReadsBackWhatTheWriterWroteFromTheAnalysis) {
  const testing::SyntheticRun run = testing::makeSyntheticRun(GetParam(), dir_);
  const RunAnalysis analysis = analyzeRun(run.record);
  const ReportView v = decodeReport(buildReportJson(run.record, analysis, "abc"));

  EXPECT_EQ(v.schema_version, kReportSchemaVersion);
  EXPECT_EQ(v.verdict, toString(analysis.verdict.verdict));
  EXPECT_EQ(v.plan_name, run.record.plan.name);
  EXPECT_EQ(v.plan_sha256, "abc");
  EXPECT_TRUE(v.has_run && v.has_tool && v.has_target && v.has_stages_array && v.has_checks_array);
  EXPECT_EQ(v.run_out_dir, run.record.out_dir);

  ASSERT_EQ(v.stages.size(), analysis.stages.size());
  for (std::size_t i = 0; i < v.stages.size(); ++i) {
    const ReportStageView& s = v.stages[i];
    const StageStats& a = analysis.stages[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.name, a.name);
    EXPECT_EQ(v.stage(a.name), &s);
    ASSERT_TRUE(s.durationS());
    EXPECT_DOUBLE_EQ(*s.durationS(), a.end_s - a.start_s);
    EXPECT_EQ(s.usage_bytes.n, static_cast<double>(a.usage.n));
    if (a.usage.n > 0) {
      EXPECT_EQ(s.usage_bytes.max, a.usage.max);
    }
    EXPECT_EQ(s.oom_kills_target, a.oom_kills_target);
    EXPECT_EQ(s.oom_kills_stressor, a.oom_kills_stressor);
    EXPECT_EQ(s.heap.has_value(), a.heap.has_value());
    if (a.heap && s.heap) {
      EXPECT_EQ(s.heap->gc_cycles.has_value(), a.heap->gc_cycles.has_value());
      EXPECT_EQ(s.heap->live_objects_slope.has_value(), a.heap->live_objects_slope.has_value());
    }
    EXPECT_EQ(s.release_outcome.empty(), !a.release.has_value());
    if (a.release) {
      EXPECT_EQ(s.release_outcome, toString(a.release->outcome));
    }
    EXPECT_EQ(s.latency.size(), a.latency.size());
    for (const auto& l : s.latency) {
      EXPECT_FALSE(l.probe.empty());
      EXPECT_TRUE(l.has_corrected);
    }
  }

  ASSERT_EQ(v.checks.size(), analysis.checks.size());
  for (std::size_t i = 0; i < v.checks.size(); ++i) {
    const ReportCheckView& c = v.checks[i];
    const CheckResult& a = analysis.checks[i];
    EXPECT_EQ(c.name, a.check);
    EXPECT_EQ(c.stage, a.stage);
    EXPECT_EQ(c.probe, a.probe);
    EXPECT_EQ(c.outcome, toString(a.outcome));
    EXPECT_EQ(c.observed, a.observed);
    EXPECT_EQ(c.limit_max, a.max);
    EXPECT_EQ(c.has_limit_vs_baseline, !a.relative_text.empty());
    EXPECT_EQ(c.limit_equals, a.equals);
  }
  EXPECT_EQ(v.events.size(), run.record.events.size());
  for (const auto& e : v.events) {
    EXPECT_TRUE(e.t_s.has_value());
    EXPECT_FALSE(e.kind.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Synthetic, ReportViewTest,
                         ::testing::Values(testing::SyntheticVariant::kCompleted, testing::SyntheticVariant::kAborted));

TEST(ReportView, AnythingButAnObjectIsAnEmptyView) {
  for (const json& j : {json(nullptr), json(3), json("report"), json::array({1, 2})}) {
    const ReportView v = decodeReport(j);
    EXPECT_FALSE(v.schema_version);
    EXPECT_TRUE(v.verdict.empty());
    EXPECT_FALSE(v.has_stages_array);
    EXPECT_TRUE(v.stages.empty() && v.checks.empty() && v.events.empty());
  }
}

TEST(ReportView, WrongTypesReadAsAbsentAndTextAsJsonReadShowsIt) {
  const json j = json::parse(R"({
    "schema_version": 1.5, "verdict": 7, "plan": "not an object",
    "run": {"status": ["x"], "duration_s": "12"},
    "cgroup": {"effective_limit_bytes": -1, "version": 2},
    "target": {"memory_limit_bytes": 1073741824.9, "exit": 0},
    "stages": [
      "a stray string",
      {"name": 42, "start_s": 1, "end_s": "2", "usage_bytes": [1, 2], "heap": 5,
       "latency": {"probe": "not an array"}, "release": "lazy", "oom_kills": {"target": true}},
      {"name": "hold", "heap": {"live_objects_slope": {"per_s": "fast"}}, "psi": {"source": "system", "some_avg10_max": null},
       "release": {"outcome": 3, "returned_ratio": 0.5}}
    ],
    "checks": {"name": "not an array"},
    "events": [{"t_s": "soon", "kind": "target_oom_kill"}]
  })");
  const ReportView v = decodeReport(j);
  EXPECT_FALSE(v.schema_version);  // not an integer
  EXPECT_EQ(v.verdict, "7");       // numbers as their text, as json_read::str shows them
  EXPECT_EQ(v.plan_name, "");
  EXPECT_TRUE(v.has_run);
  EXPECT_EQ(v.run_status, "");
  EXPECT_FALSE(v.run_duration_s);
  EXPECT_FALSE(v.effective_limit_bytes);  // negative
  EXPECT_EQ(v.cgroup_version, "2");
  EXPECT_EQ(v.target_memory_limit_bytes, 1073741824u);  // a float is truncated
  EXPECT_FALSE(v.target_exit);                          // only a string counts
  ASSERT_EQ(v.stages.size(), 3u);
  EXPECT_EQ(v.stages[0].name, "");  // a stray value is a stage with nothing in it
  const ReportStageView& s = v.stages[1];
  EXPECT_EQ(s.name, "42");
  EXPECT_EQ(s.start_s, 1.0);
  EXPECT_FALSE(s.end_s);
  EXPECT_FALSE(s.durationS());
  EXPECT_FALSE(s.usage_bytes.max);
  EXPECT_FALSE(s.heap);
  EXPECT_TRUE(s.latency.empty());
  EXPECT_EQ(s.release_outcome, "lazy");  // a bare string is the outcome (hand-written input)
  EXPECT_FALSE(s.oom_kills_target);
  const ReportStageView& hold = v.stages[2];
  ASSERT_TRUE(hold.heap && hold.heap->live_objects_slope);
  EXPECT_FALSE(hold.heap->live_objects_slope->per_s);
  ASSERT_TRUE(hold.psi);
  EXPECT_EQ(hold.psi->source, "system");
  EXPECT_FALSE(hold.psi->some_avg10_max);
  EXPECT_EQ(hold.release_outcome, "");  // an outcome must be a string
  EXPECT_EQ(hold.release_returned_ratio, 0.5);
  EXPECT_FALSE(v.has_checks_array);
  EXPECT_TRUE(v.checks.empty());
  ASSERT_EQ(v.events.size(), 1u);
  EXPECT_FALSE(v.events[0].t_s);
  EXPECT_EQ(v.events[0].kind, "target_oom_kill");
  EXPECT_EQ(v.stage("42"), &v.stages[1]);
  EXPECT_EQ(v.stage("nope"), nullptr);
}

TEST(ReportView, ReportBytesTakesNonNegativeFiguresOnly) {
  EXPECT_EQ(reportBytes(4096.0), 4096u);
  EXPECT_EQ(reportBytes(4096.7), 4096u);
  EXPECT_EQ(reportBytes(0.0), 0u);
  EXPECT_FALSE(reportBytes(-1.0));
  EXPECT_FALSE(reportBytes(std::nullopt));
  EXPECT_FALSE(reportBytes(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(reportBytes(1e20));
}

}  // namespace
}  // namespace memstrain
