#include "memstrain/analysis/stage_stats.hpp"

#include <gtest/gtest.h>

#include "memstrain/report/report.hpp"

namespace memstrain {
namespace {

constexpr std::uint64_t MiB = 1ULL << 20;

// Two stages: baseline (0-2 s, no pressure) and hold (2-6 s, 80% of 100 MiB, no ramp).
RunRecord makeRecord() {
  RunRecord rec;
  rec.plan.name = "t";
  rec.resolution.effective_limit_bytes = 100 * MiB;
  PressureSpec p;
  p.level_fraction = 0.8;
  rec.resolution.stages = {{"baseline", std::chrono::seconds(2), std::nullopt, std::nullopt, std::nullopt, std::nullopt},
                           {"hold", std::chrono::seconds(4), p, 80 * MiB, std::nullopt, std::nullopt}};
  // {name, start, end, completed, CPU of memstrain / stressor / target cgroup, latency}, stressor and target OOM kills, release, fill
  rec.stages = {{{"baseline", 0.0, 2.0, true, std::nullopt, std::nullopt, std::nullopt, {}}, 0, 0, std::nullopt, std::nullopt},
                {{"hold", 2.0, 6.0, true, 0.01, 0.0, 0.5, {}}, 1, 0, std::nullopt, std::nullopt}};
  auto add = [&](double t, std::size_t stage, std::uint64_t usage, std::optional<std::uint64_t> sp, std::uint64_t stressor) {
    Sample s;
    s.t_s = t;
    s.stage = stage;
    s.target_cgroup.usage_bytes = usage;
    s.setpoint_bytes = sp;
    s.stressor_populated_bytes = stressor;
    s.target_process = ProcessMemory{20 * MiB, 18 * MiB, std::nullopt, 0, std::nullopt};
    rec.samples.push_back(s);
  };
  add(0.0, 0, 20 * MiB, std::nullopt, 0);
  add(1.0, 0, 22 * MiB, std::nullopt, 0);
  add(2.0, 1, 22 * MiB, 80 * MiB, 0);         // inside the settling second: left out of the error
  add(2.5, 1, 60 * MiB, 80 * MiB, 40 * MiB);  // also settling
  add(3.0, 1, 79 * MiB, 80 * MiB, 58 * MiB);  // |err| 1 MiB
  add(4.0, 1, 81 * MiB, 80 * MiB, 60 * MiB);  // 1 MiB
  add(5.0, 1, 82 * MiB, 80 * MiB, 60 * MiB);  // 2 MiB
  return rec;
}

// Issue 15, item 3: a run keeps each stage's running figures instead of its samples. Fed the
// same samples, the figures are the ones the stored samples give, exactly.
TEST(StageStats, RunningFiguresEqualTheStoredSamplesFigures) {
  RunRecord stored = makeRecord();
  for (std::size_t k = 0; k < stored.samples.size(); ++k) {
    Sample& s = stored.samples[k];
    s.target_cgroup.stat.file_bytes = (30 + k) * MiB;
    s.target_cgroup.stat.major_faults = 100 + 7 * k;
    s.system_pressure = Psi{{1.5 * static_cast<double>(k), 0, 0, 1000 * k}, PsiLine{0.5 * static_cast<double>(k), 0, 0, 500 * k}};
  }
  RunRecord streamed = stored;
  streamed.samples.clear();
  for (std::size_t i = 0; i < streamed.stages.size(); ++i) {
    const auto [settled, error] = settleTimes(streamed.stages[i].start_s, streamed.resolution.stages[i].pressure);
    streamed.sample_stats.emplace_back(settled, error);
  }
  for (const Sample& s : stored.samples) streamed.sample_stats[s.stage].add(s);
  const auto a = analyzeStages(stored);
  const auto b = analyzeStages(streamed);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(a[i].name);
    EXPECT_EQ(a[i].samples, b[i].samples);
    EXPECT_EQ(a[i].usage.mean, b[i].usage.mean);
    EXPECT_EQ(a[i].usage.max, b[i].usage.max);
    EXPECT_EQ(a[i].stressor.mean, b[i].stressor.mean);
    EXPECT_EQ(a[i].target_rss.mean, b[i].target_rss.mean);
    EXPECT_EQ(a[i].reached_bytes, b[i].reached_bytes);
    EXPECT_EQ(a[i].setpoint_error_mean_abs_bytes, b[i].setpoint_error_mean_abs_bytes);
    EXPECT_EQ(a[i].setpoint_error_max_abs_bytes, b[i].setpoint_error_max_abs_bytes);
    ASSERT_TRUE(a[i].psi && b[i].psi);
    EXPECT_EQ(a[i].psi->source, "system");
    EXPECT_EQ(a[i].psi->some_avg10_max, b[i].psi->some_avg10_max);
    EXPECT_EQ(a[i].psi->full_stall_s, b[i].psi->full_stall_s);
    ASSERT_TRUE(a[i].page_cache && b[i].page_cache);
    EXPECT_EQ(a[i].page_cache->file_bytes.mean, b[i].page_cache->file_bytes.mean);
    EXPECT_EQ(a[i].page_cache->major_faults_per_s, b[i].page_cache->major_faults_per_s);
  }
  // Constant memory per stage, however many samples.
  static_assert(sizeof(StageSampleStats) < 1024);
}

TEST(StageStats, UsageReachedAndSetpointError) {
  RunRecord rec = makeRecord();
  auto stats = analyzeStages(rec);
  ASSERT_EQ(stats.size(), 2U);
  EXPECT_EQ(stats[0].samples, 2U);
  EXPECT_DOUBLE_EQ(stats[0].usage.min, 20.0 * MiB);
  EXPECT_DOUBLE_EQ(stats[0].usage.max, 22.0 * MiB);
  EXPECT_FALSE(stats[0].setpoint_error_mean_abs_bytes.has_value());
  EXPECT_EQ(stats[1].samples, 5U);
  ASSERT_TRUE(stats[1].setpoint_error_mean_abs_bytes.has_value());
  EXPECT_DOUBLE_EQ(*stats[1].setpoint_error_mean_abs_bytes, 4.0 * MiB / 3);
  EXPECT_DOUBLE_EQ(*stats[1].setpoint_error_max_abs_bytes, 2.0 * MiB);
  EXPECT_NEAR(*stats[1].setpoint_error_mean_abs_fraction, (4.0 / 3) / 100, 1e-12);
  ASSERT_TRUE(stats[1].reached_bytes.has_value());
  EXPECT_DOUBLE_EQ(*stats[1].reached_bytes, (79.0 + 81.0 + 82.0) / 3 * MiB);  // samples after the settling second
  EXPECT_EQ(stats[1].oom_kills_stressor, 1U);
  EXPECT_DOUBLE_EQ(stats[1].stressor.max, 60.0 * MiB);
}

TEST(StageStats, VerdictAndExitCodes) {
  RunRecord rec = makeRecord();
  auto stats = analyzeStages(rec);
  auto v = judge(rec, stats);
  EXPECT_EQ(v.verdict, Verdict::kPass);  // a stressor OOM kill is what pressure is for
  EXPECT_EQ(exitCodeFor(rec, v), 0);

  RunRecord oom = makeRecord();
  oom.stages[1].target_oom_kills = 1;
  auto vo = judge(oom, analyzeStages(oom));
  EXPECT_EQ(vo.verdict, Verdict::kFail);
  EXPECT_EQ(exitCodeFor(oom, vo), 1);
  ASSERT_EQ(vo.reasons.size(), 1U);
  EXPECT_NE(vo.reasons[0].find("hold"), std::string::npos);

  RunRecord died = makeRecord();
  died.status = RunStatus::kError;
  died.target_exit = ExitInfo{true, 0, 9};
  auto vd = judge(died, analyzeStages(died));
  EXPECT_EQ(vd.verdict, Verdict::kFail);
  EXPECT_NE(vd.reasons[0].find("SIGKILL"), std::string::npos) << vd.reasons[0];

  RunRecord err = makeRecord();
  err.status = RunStatus::kError;
  err.error = "boom";
  auto ve = judge(err, analyzeStages(err));
  EXPECT_EQ(ve.verdict, Verdict::kInconclusive);
  EXPECT_EQ(exitCodeFor(err, ve), 3);

  RunRecord intr = makeRecord();
  intr.status = RunStatus::kInterrupted;
  auto vi = judge(intr, analyzeStages(intr));
  EXPECT_EQ(exitCodeFor(intr, vi), 4);
}

TEST(Report, JsonCarriesStagesVerdictAndPlan) {
  RunRecord rec = makeRecord();
  rec.plan.source = {{"name", "t"}};
  RunAnalysis a = analyzeRun(rec);
  const auto& v = a.verdict;
  auto j = buildReportJson(rec, a);
  EXPECT_EQ(j["schema_version"], kReportSchemaVersion);
  EXPECT_EQ(j["verdict"], "pass");
  EXPECT_EQ(j["plan"]["source"]["name"], "t");
  ASSERT_EQ(j["stages"].size(), 2U);
  EXPECT_EQ(j["stages"][1]["name"], "hold");
  EXPECT_EQ(j["stages"][1]["pressure"]["requested_bytes"], 80 * MiB);
  EXPECT_EQ(j["stages"][1]["oom_kills"]["stressor"], 1);
  EXPECT_EQ(j["stages"][0]["pressure"], nullptr);
  EXPECT_EQ(j["cleanup"]["status"], "ok");
  EXPECT_EQ(v.verdict, Verdict::kPass);
  const std::string line = machineLine(rec, a, 0, "out/report.json");
  EXPECT_EQ(line,
            "memstrain: verdict=pass checks=0/0 status=completed cleanup=ok exit=0 target_oom_kills=0 stressor_oom_kills=1 "
            "report=out/report.json");
  EXPECT_TRUE(j["checks"].empty());
  EXPECT_EQ(j["plan_sha256"], nullptr);
  const std::string summary = renderSummary(rec, a);
  EXPECT_NE(summary.find("hold"), std::string::npos);
  EXPECT_NE(summary.find("verdict: pass"), std::string::npos);
}

TEST(Report, MachineLineNamesFailedChecks) {
  RunRecord rec = makeRecord();
  CheckSpec usage;
  usage.name = "usage under pressure";
  usage.metric = "cgroup.usage.max";
  usage.unit = MetricUnit::kBytes;
  usage.max = 50.0 * MiB;
  CheckSpec oom;
  oom.name = "no target OOM";
  oom.metric = "target.oom_kills";
  oom.max = 0;
  rec.plan.checks = {usage, oom};
  rec.plan.stages = {StageSpec{"baseline", std::chrono::seconds(2), std::nullopt, {}, std::nullopt},
                     StageSpec{"hold", std::chrono::seconds(4), std::nullopt, {}, std::nullopt}};
  rec.plan.baseline_stage = "baseline";
  RunAnalysis a = analyzeRun(rec);
  ASSERT_EQ(a.checks.size(), 4U);
  EXPECT_EQ(a.verdict.verdict, Verdict::kFail);
  const int code = exitCodeFor(rec, a.verdict);
  EXPECT_EQ(code, 1);
  EXPECT_EQ(machineLine(rec, a, code, "o/report.json"),
            "memstrain: verdict=fail checks=1/2 failed=\"usage under pressure\" status=completed cleanup=ok exit=1 "
            "target_oom_kills=0 stressor_oom_kills=1 report=o/report.json");
  const std::string summary = renderSummary(rec, a);
  EXPECT_NE(summary.find("FAIL    usage under pressure         hold         cgroup.usage.max 82.0 MiB > max 50.0 MiB"), std::string::npos)
      << summary;
}

}  // namespace
}  // namespace memstrain
