// The verdict model's newer outcomes: a run aborted by a window check (run_status aborted, verdict
// fail, exit 7, also with a failed cleanup), an abort in the baseline stage (inconclusive), and a
// target unreachable at the start (inconclusive whatever later checks say, unless it died).
// The older outcomes (pass, fail, baseline broke, no data, interrupted, error, cleanup failed)
// are in checks_test.cpp.

#include <gtest/gtest.h>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/cli/cli.hpp"
#include "memstrain/report/report.hpp"

namespace memstrain {
namespace {

StageStats answered(const std::string& name, std::uint64_t p99_ms, std::uint64_t errors = 0) {
  StageStats s;
  s.name = name;
  s.completed = true;
  StageLatency l;
  l.probe = "work";
  l.sent = l.completed = 50;
  l.ok = 50 - errors;
  l.errors_connect = errors;
  l.error_rate = static_cast<double>(errors) / 50.0;
  l.corrected.count = 50;
  l.corrected.p99_ns = p99_ms * 1000000;
  s.latency.push_back(l);
  return s;
}

RunRecord record() {
  RunRecord rec;
  rec.plan.name = "v";
  rec.plan.baseline_stage = "baseline";
  for (const char* n : {"baseline", "hold"}) {
    StageSpec s;
    s.name = n;
    rec.plan.stages.push_back(s);
  }
  return rec;
}

CheckSpec p99Under(double max_ms) {
  CheckSpec c;
  c.name = "p99";
  c.metric = "latency.p99";
  c.unit = MetricUnit::kDuration;
  c.probe = "work";
  c.max = max_ms * 1e6;
  return c;
}

std::pair<VerdictResult, int> judged(const RunRecord& rec, const std::vector<StageStats>& stages) {
  auto checks = evaluateChecks(rec.plan.checks, stages, {"baseline", "hold"}, rec.plan.baseline_stage, rec.window_checks);
  VerdictResult v = judge(rec, stages, checks);
  return {v, exitCodeFor(rec, v)};
}

RunRecord aborted(const std::string& stage) {
  RunRecord rec = record();
  rec.status = RunStatus::kAborted;
  rec.error = "aborted by check \"errors\"";
  rec.abort = WindowAbort{"errors", stage, 31, 0.4, "latency.error_rate 40.00% > max 1.00% over the 10 s window ending at 31.0 s"};
  return rec;
}

TEST(Verdict, AbortedIsFailWithItsOwnExitCode) {
  auto [v, code] = judged(aborted("hold"), {answered("baseline", 5), answered("hold", 5, 20)});
  EXPECT_EQ(v.verdict, Verdict::kFail);
  EXPECT_EQ(code, kExitAborted);
  EXPECT_EQ(code, 7);
  ASSERT_FALSE(v.reasons.empty());
  EXPECT_EQ(v.reasons[0],
            "aborted: check \"errors\" failed in stage hold: latency.error_rate 40.00% > max 1.00% over the 10 s window ending at 31.0 s");
  // The exit code stays 7 with a failed cleanup; the machine line carries cleanup=failed.
  RunRecord dirty = aborted("hold");
  dirty.cleanup_ok = false;
  auto [dv, dcode] = judged(dirty, {answered("baseline", 5), answered("hold", 5, 20)});
  EXPECT_EQ(dcode, 7);
  RunAnalysis a;
  a.stages = {answered("baseline", 5), answered("hold", 5, 20)};
  a.verdict = dv;
  const std::string line = machineLine(dirty, a, dcode, "out/report.json");
  EXPECT_NE(line.find("verdict=fail"), std::string::npos) << line;
  EXPECT_NE(line.find("status=aborted cleanup=failed exit=7"), std::string::npos) << line;
  const auto report = buildReportJson(dirty, a);
  EXPECT_EQ(report["run"]["status"], "aborted");
  EXPECT_EQ(report["abort"]["check"], "errors");
  EXPECT_EQ(report["abort"]["stage"], "hold");
}

TEST(Verdict, AbortInTheBaselineIsInconclusive) {
  auto [v, code] = judged(aborted("baseline"), {answered("baseline", 5, 20)});
  EXPECT_EQ(v.verdict, Verdict::kInconclusive);
  EXPECT_EQ(code, 7);
  ASSERT_FALSE(v.reasons.empty());
  EXPECT_NE(v.reasons[0].find("aborted in the baseline stage"), std::string::npos) << v.reasons[0];
}

TEST(Verdict, UnreachableAtStartIsInconclusiveEvenWhenLaterChecksFail) {
  RunRecord rec = record();
  rec.plan.checks = {p99Under(10)};
  // Every baseline request failed to connect; hold then "fails" the p99 check.
  std::vector<StageStats> stages = {answered("baseline", 1, 50), answered("hold", 900)};
  auto [v, code] = judged(rec, stages);
  EXPECT_EQ(v.verdict, Verdict::kInconclusive);
  EXPECT_EQ(code, kExitInconclusive);
  ASSERT_EQ(v.reasons.size(), 1U);
  EXPECT_EQ(v.reasons[0],
            "target unreachable at start: probe work got no expected answer to 50 request(s) in stage baseline (timeout 0, connect 50, "
            "http_status 0, other 0)");
  // Some answers in the baseline: reachable, the hold failure counts.
  auto [v2, code2] = judged(rec, {answered("baseline", 1, 49), answered("hold", 900)});
  EXPECT_EQ(v2.verdict, Verdict::kFail);
  EXPECT_EQ(code2, kExitFail);
  // Without a baseline stage the first stage is the start.
  RunRecord nob = record();
  nob.plan.baseline_stage.clear();
  EXPECT_EQ(unreachableAtStart(nob, {answered("baseline", 1, 50)}).size(), 1U);
}

TEST(Verdict, PprofAllFailingAtStartIsUnreachable) {
  RunRecord rec = record();
  rec.plan.target.pprof_url = "http://127.0.0.1:1/debug/pprof";
  StageHeapStats h;
  h.samples = 0;
  h.pprof_errors = 4;
  // No probe and no readiness URL: pprof is the only sign of life, and it never answered.
  StageStats base;
  base.name = "baseline";
  base.completed = true;
  base.heap = h;
  StageStats hold = base;
  hold.name = "hold";
  auto [v, code] = judged(rec, {base, hold});
  EXPECT_EQ(v.verdict, Verdict::kInconclusive);
  EXPECT_EQ(code, 5);
  EXPECT_EQ(v.reasons.at(0), "target unreachable at start: every pprof request in stage baseline failed (4 error(s))");
  // A probe that answered: the target is up and only its pprof endpoint is broken — reported, not
  // a reason for inconclusive.
  StageStats probed = answered("baseline", 5);
  probed.heap = h;
  EXPECT_TRUE(unreachableAtStart(rec, {probed, answered("hold", 5)}).empty());
  auto [v2, code2] = judged(rec, {probed, answered("hold", 5)});
  EXPECT_EQ(v2.verdict, Verdict::kPass);
  EXPECT_EQ(code2, 0);
  // The same with a launched target whose readiness URL answered.
  rec.plan.target.launch = LaunchSpec{};
  rec.plan.target.launch->ready_url = "http://127.0.0.1:1/healthz";
  EXPECT_TRUE(unreachableAtStart(rec, {base, hold}).empty());
}

TEST(Verdict, ATargetThatDiesIsAFailEvenIfUnreachableAtStart) {
  RunRecord rec = record();
  StageStats hold = answered("hold", 5);
  hold.oom_kills_target = 1;
  auto [v, code] = judged(rec, {answered("baseline", 1, 50), hold});
  EXPECT_EQ(v.verdict, Verdict::kFail);
  EXPECT_EQ(code, 1);
}

}  // namespace
}  // namespace memstrain
