// Plan "checks": parsing with pointer-precise issues, metric values, scopes, baseline-relative
// limits, the verdict and exit code of each outcome, and report.json against its schema.

#include "memstrain/analysis/checks.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/plan/plan_parse.hpp"
#include "memstrain/report/report.hpp"
#include "memstrain/report/sha256.hpp"

namespace memstrain {
namespace {

using nlohmann::json;
constexpr double MiB = 1024.0 * 1024;
constexpr double ms = 1e6;

json basePlan(json checks) {
  return {{"name", "p"},
          {"target", {{"attach", {{"cgroup", "/x"}}}, {"probe", {{"name", "work"}, {"url", "http://127.0.0.1:1/work"}}}}},
          {"stages", {{{"name", "baseline"}, {"duration", "1s"}}, {{"name", "hold"}, {"duration", "1s"}}}},
          {"checks", std::move(checks)}};
}

std::vector<PlanIssue> issuesOf(const json& plan) {
  std::vector<PlanIssue> issues;
  auto p = parsePlan(plan.dump(), &issues);
  EXPECT_FALSE(p.ok());
  return issues;
}

bool hasIssue(const std::vector<PlanIssue>& issues, const std::string& ptr, const std::string& text) {
  for (const auto& i : issues) {
    if (i.pointer == ptr && i.message.find(text) != std::string::npos) return true;
  }
  std::string all;
  for (const auto& i : issues) all += i.pointer + ": " + i.message + "\n";
  ADD_FAILURE() << "no issue at " << ptr << " containing \"" << text << "\"; got:\n" << all;
  return false;
}

TEST(ChecksParse, EveryLimitSyntaxInCanonicalUnits) {
  auto p = parsePlan(basePlan({{{"name", "p99"}, {"metric", "latency.p99"}, {"stages", {"hold"}}, {"max", "250ms"}},
                               {{"name", "rel"}, {"metric", "latency.p99"}, {"max_vs_baseline", "2x+5ms"}},
                               {{"name", "pct"}, {"metric", "cgroup.usage.max"}, {"max_vs_baseline", "+10%"}},
                               {{"name", "mix"}, {"metric", "target.rss.max"}, {"max_vs_baseline", "1.5x+10MiB"}, {"min", 0}},
                               {{"name", "bytes"}, {"metric", "cgroup.usage.max"}, {"max", "400MiB"}},
                               {{"name", "rate"}, {"metric", "heap.objects.slope"}, {"max", "2000/s"}},
                               {{"name", "rate2"}, {"metric", "heap.objects.slope"}, {"max", 1500}},
                               {{"name", "ratio"}, {"metric", "latency.error_rate"}, {"max", "1%"}},
                               {{"name", "ratio2"}, {"metric", "latency.error_rate"}, {"max", 0.02}},
                               {{"name", "oom"}, {"metric", "target.oom_kills"}, {"max", 0}, {"description", "d"}}})
                         .dump());
  ASSERT_TRUE(p.ok()) << p.error().message;
  const auto& c = p->checks;
  ASSERT_EQ(c.size(), 10U);
  EXPECT_EQ(p->baseline_stage, "baseline");
  EXPECT_EQ(c[0].stages, std::vector<std::string>{"hold"});
  EXPECT_EQ(c[0].probe, "work");  // the only probe by default
  EXPECT_DOUBLE_EQ(*c[0].max, 250 * ms);
  EXPECT_EQ(c[0].unit, MetricUnit::kDuration);
  EXPECT_TRUE(c[1].stages.empty());
  EXPECT_DOUBLE_EQ(c[1].max_vs_baseline->factor, 2);
  EXPECT_DOUBLE_EQ(c[1].max_vs_baseline->add, 5 * ms);
  EXPECT_NEAR(c[2].max_vs_baseline->factor, 1.1, 1e-12);
  EXPECT_DOUBLE_EQ(c[2].max_vs_baseline->add, 0);
  EXPECT_DOUBLE_EQ(c[3].max_vs_baseline->factor, 1.5);
  EXPECT_DOUBLE_EQ(c[3].max_vs_baseline->add, 10 * MiB);
  EXPECT_DOUBLE_EQ(*c[4].max, 400 * MiB);
  EXPECT_DOUBLE_EQ(*c[5].max, 2000);
  EXPECT_DOUBLE_EQ(*c[6].max, 1500);
  EXPECT_DOUBLE_EQ(*c[7].max, 0.01);
  EXPECT_DOUBLE_EQ(*c[8].max, 0.02);
  EXPECT_DOUBLE_EQ(*c[9].max, 0);
  EXPECT_EQ(c[9].description, "d");
  EXPECT_TRUE(c[9].probe.empty());
}

TEST(ChecksParse, BadChecksArePointerPrecise) {
  auto issues = issuesOf(basePlan({{{"metric", "latency.p99"}, {"max", "250ms"}},
                                   {{"name", "a"}, {"metric", "latency.p42"}, {"max", 1}},
                                   {{"name", "a"}, {"metric", "latency.p99"}, {"stages", {"hold", "nope"}}, {"max", "1s"}},
                                   {{"name", "b"}, {"metric", "latency.p99"}, {"max", 250}},
                                   {{"name", "c"}, {"metric", "cgroup.usage.max"}, {"max", "lots"}},
                                   {{"name", "d"}, {"metric", "cgroup.usage.max"}},
                                   {{"name", "e"}, {"metric", "latency.p99"}, {"max_vs_baseline", "double"}},
                                   {{"name", "f"}, {"metric", "latency.p99"}, {"probe", "other"}, {"max", "1s"}},
                                   {{"name", "g"}, {"metric", "target.oom_kills"}, {"window", "10s"}, {"abort", "yes"}, {"max", 0}},
                                   {{"name", "h"}, {"metric", "cgroup.usage.max"}, {"probe", "work"}, {"max", "1MiB"}},
                                   {{"name", "i"}, {"metric", "target.oom_kills"}, {"max", 0}, {"colour", "red"}}}));
  hasIssue(issues, "/checks/0/name", "required");
  hasIssue(issues, "/checks/1/metric", "unknown metric \"latency.p42\" (known: latency.p50");
  hasIssue(issues, "/checks/1/metric", "setpoint.error");
  hasIssue(issues, "/checks/2/name", "duplicate check name \"a\"");
  hasIssue(issues, "/checks/2/stages/1", "no stage named \"nope\"");
  hasIssue(issues, "/checks/3/max", "duration like \"250ms\"");
  hasIssue(issues, "/checks/4/max", "lots");
  hasIssue(issues, "/checks/5", "give a limit");
  hasIssue(issues, "/checks/6/max_vs_baseline", "\"2x+5ms\"");
  hasIssue(issues, "/checks/7/probe", "no probe named \"other\"");
  hasIssue(issues, "/checks/8/window", "cannot be judged over a window");
  hasIssue(issues, "/checks/8/abort", "expected true or false");
  hasIssue(issues, "/checks/9/probe", "only latency metrics");
  hasIssue(issues, "/checks/10/colour", "unknown key");
}

TEST(ChecksParse, BaselineStageKeyAndItsAbsence) {
  json plan = basePlan({{{"name", "rel"}, {"metric", "cgroup.usage.max"}, {"max_vs_baseline", "2x"}}});
  plan["stages"] = {{{"name", "calm"}, {"duration", "1s"}}, {{"name", "hold"}, {"duration", "1s"}}};
  hasIssue(issuesOf(plan), "/checks/0/max_vs_baseline", "needs a baseline stage");
  plan["baseline_stage"] = "calm";
  auto p = parsePlan(plan.dump());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->baseline_stage, "calm");
  plan["baseline_stage"] = "gone";
  hasIssue(issuesOf(plan), "/baseline_stage", "no stage named \"gone\"");
  json noprobe = basePlan({{{"name", "p"}, {"metric", "latency.p99"}, {"max", "1s"}}});
  noprobe["target"].erase("probe");
  hasIssue(issuesOf(noprobe), "/checks/0/metric", "need a probe");
  json many = basePlan(json::array());
  for (int i = 0; i < 257; ++i) many["checks"].push_back({{"name", std::to_string(i)}, {"metric", "target.oom_kills"}, {"max", 0}});
  hasIssue(issuesOf(many), "/checks", "at most 256");
}

StageLatency latency(double p99_ms, double err_rate = 0) {
  StageLatency l;
  l.probe = "work";
  l.completed = 100;
  l.sent = 100;
  l.corrected.count = l.uncorrected.count = 100;
  l.corrected.p50_ns = static_cast<std::uint64_t>(p99_ms * ms / 4);
  l.corrected.p99_ns = static_cast<std::uint64_t>(p99_ms * ms);
  l.corrected.max_ns = static_cast<std::uint64_t>(p99_ms * ms * 2);
  l.corrected.mean_ns = p99_ms * ms / 3;
  l.uncorrected.p99_ns = static_cast<std::uint64_t>(p99_ms * ms / 2);
  l.error_rate = err_rate;
  l.errors_timeout = static_cast<std::uint64_t>(err_rate * 100);
  l.missed = 3;
  return l;
}

StageStats stage(const std::string& name, double usage_max_mib, double p99_ms) {
  StageStats s;
  s.name = name;
  s.end_s = 10;
  s.completed = true;
  s.usage = {10 * MiB, (usage_max_mib / 2) * MiB, usage_max_mib * MiB, 10};
  s.target_rss = {1 * MiB, 2 * MiB, 3 * MiB, 10};
  s.latency = {latency(p99_ms)};
  StageHeapStats h;
  h.samples = 5;
  h.objects_delta = -40;
  h.objects_slope_per_s = 2500;
  h.heap_inuse_end = 8 * 1024 * 1024;
  h.gc_cycles = 7;
  h.gc_cpu_fraction = 0.31;
  h.live_objects_delta = 50000;
  h.live_bytes_delta = 3200000;
  h.live_objects_slope = SlopeEstimate{2000, 150, 0.95, 9};
  h.live_bytes_slope = SlopeEstimate{128000, 9600, 0.95, 9};
  h.goroutines_start = 10;
  h.goroutines_end = 14;
  s.heap = h;
  s.setpoint_error_mean_abs_fraction = 0.004;
  s.oom_kills_stressor = 2;
  s.psi = StagePsi{"cgroup", 0.12, 0.05, 1.5, 0.25};
  return s;
}

TEST(ChecksEval, EveryMetricKindReadsItsFigure) {
  StageStats s = stage("hold", 300, 40);
  auto v = [&](const char* m) { return metricValue(m, "work", s); };
  EXPECT_DOUBLE_EQ(*v("latency.p99"), 40 * ms);
  EXPECT_DOUBLE_EQ(*v("latency.p50"), 10 * ms);
  EXPECT_DOUBLE_EQ(*v("latency.max"), 80 * ms);
  EXPECT_NEAR(*v("latency.mean"), 40 * ms / 3, 1);
  EXPECT_DOUBLE_EQ(*v("latency.uncorrected.p99"), 20 * ms);
  EXPECT_DOUBLE_EQ(*v("latency.missed"), 3);
  EXPECT_DOUBLE_EQ(*v("latency.error_rate"), 0);
  EXPECT_DOUBLE_EQ(*v("heap.objects.delta"), -40);
  EXPECT_DOUBLE_EQ(*v("heap.objects.slope"), 2500);
  EXPECT_DOUBLE_EQ(*v("heap.live_objects.delta"), 50000);
  EXPECT_DOUBLE_EQ(*v("heap.live_bytes.delta"), 3200000);
  EXPECT_DOUBLE_EQ(*v("heap.live_objects.slope"), 2000);
  EXPECT_DOUBLE_EQ(*v("heap.live_objects.slope_low"), 1850);
  EXPECT_DOUBLE_EQ(*v("heap.live_bytes.slope"), 128000);
  EXPECT_DOUBLE_EQ(*v("heap.inuse.end"), 8 * MiB);
  EXPECT_DOUBLE_EQ(*v("heap.gc_cycles"), 7);
  EXPECT_DOUBLE_EQ(*v("heap.gc_cpu_fraction"), 0.31);
  EXPECT_DOUBLE_EQ(*v("goroutines.end"), 14);
  EXPECT_DOUBLE_EQ(*v("goroutines.delta"), 4);
  EXPECT_DOUBLE_EQ(*v("cgroup.usage.max"), 300 * MiB);
  EXPECT_DOUBLE_EQ(*v("cgroup.usage.mean"), 150 * MiB);
  EXPECT_DOUBLE_EQ(*v("target.rss.max"), 3 * MiB);
  EXPECT_DOUBLE_EQ(*v("target.oom_kills"), 0);
  EXPECT_DOUBLE_EQ(*v("stressor.oom_kills"), 2);
  EXPECT_DOUBLE_EQ(*v("setpoint.error"), 0.004);
  // A release stage's figures (release.outcome is a word, judged with "equals", not read here).
  ReleaseResult rel;
  rel.outcome = ReleaseOutcome::kReturned;
  rel.returned_ratio = 0.95;
  rel.time_to_return_s = 0.25;
  rel.lazy_bytes = 0;
  s.release = rel;
  EXPECT_DOUBLE_EQ(*v("release.returned_ratio"), 0.95);
  EXPECT_DOUBLE_EQ(*v("release.time_to_return"), 0.25e9);
  EXPECT_DOUBLE_EQ(*v("release.lazy_bytes"), 0);
  EXPECT_DOUBLE_EQ(*v("psi.some_avg10.max"), 0.12);
  EXPECT_DOUBLE_EQ(*v("psi.full_avg10.max"), 0.05);
  EXPECT_DOUBLE_EQ(*v("psi.some_stall"), 1.5e9);
  EXPECT_DOUBLE_EQ(*v("psi.full_stall"), 0.25e9);
  StagePageCache pc;
  pc.file_bytes = summarize({47 * MiB, 128 * MiB});
  pc.major_faults_per_s = 4052.5;
  pc.refaults_per_s = 3999.0;
  s.page_cache = pc;
  EXPECT_DOUBLE_EQ(*v("cgroup.file.min"), 47 * MiB);
  EXPECT_DOUBLE_EQ(*v("cgroup.major_faults.rate"), 4052.5);
  EXPECT_DOUBLE_EQ(*v("cgroup.refaults.rate"), 3999.0);
  StageFill fill;
  fill.bytes = 2048 * MiB;
  fill.populate_s = 0.5;
  fill.bytes_per_s = 4096.0 * MiB;
  fill.time_to_level_s = 0.6;
  s.fill = fill;
  EXPECT_DOUBLE_EQ(*v("pressure.fill_rate"), 4096.0 * MiB);
  EXPECT_DOUBLE_EQ(*v("pressure.time_to_level"), 0.6e9);
  // Every known metric is read by metricValue (none falls through to "no data" on a full stage).
  for (const auto& m : knownMetrics()) {
    if (m.unit == MetricUnit::kText) continue;
    EXPECT_TRUE(metricValue(m.name, "work", s).has_value()) << m.name;
  }
  // No data: another probe, no pprof, a probe that completed nothing.
  EXPECT_FALSE(metricValue("latency.p99", "other", s).has_value());
  s.heap.reset();
  EXPECT_FALSE(metricValue("heap.gc_cycles", "work", s).has_value());
  s.latency[0].completed = 0;
  EXPECT_FALSE(metricValue("latency.p99", "work", s).has_value());
  EXPECT_TRUE(metricValue("latency.missed", "work", s).has_value());
}

CheckSpec spec(const std::string& name, const std::string& metric, MetricUnit unit, std::vector<std::string> stages = {}) {
  CheckSpec c;
  c.name = name;
  c.metric = metric;
  c.unit = unit;
  c.stages = std::move(stages);
  if (metric.rfind("latency.", 0) == 0) c.probe = "work";
  return c;
}

const std::vector<std::string> kOrder = {"baseline", "hold", "release"};

TEST(ChecksEval, ScopesAndExplanations) {
  std::vector<StageStats> stats = {stage("baseline", 100, 12.1), stage("hold", 300, 312.4), stage("release", 120, 20)};
  CheckSpec p99 = spec("p99 under pressure", "latency.p99", MetricUnit::kDuration, {"hold"});
  p99.max = 250 * ms;
  CheckSpec every = spec("usage", "cgroup.usage.max", MetricUnit::kBytes);
  every.max = 200 * MiB;
  every.min = 50 * MiB;
  auto r = evaluateChecks({p99, every}, stats, kOrder, "baseline");
  ASSERT_EQ(r.size(), 4U);  // one stage, then all three
  EXPECT_EQ(r[0].stage, "hold");
  EXPECT_EQ(r[0].outcome, CheckOutcome::kFail);
  EXPECT_EQ(r[0].explanation, "latency.p99 312.4 ms > max 250.0 ms");
  EXPECT_EQ(r[1].stage, "baseline");
  EXPECT_TRUE(r[1].baseline_stage);
  EXPECT_EQ(r[1].outcome, CheckOutcome::kPass);
  EXPECT_EQ(r[1].explanation, "cgroup.usage.max 100.0 MiB <= max 200.0 MiB");
  EXPECT_EQ(r[2].outcome, CheckOutcome::kFail);
  EXPECT_EQ(r[3].outcome, CheckOutcome::kPass);
  CheckSpec low = spec("floor", "cgroup.usage.max", MetricUnit::kBytes, {"release"});
  low.min = 150 * MiB;
  auto lr = evaluateChecks({low}, stats, kOrder, "baseline");
  ASSERT_EQ(lr.size(), 1U);
  EXPECT_EQ(lr[0].explanation, "cgroup.usage.max 120.0 MiB < min 150.0 MiB");
  // A stage in scope that never ran (interrupted before it) is no data.
  auto nd = evaluateChecks({every}, {stats[0]}, kOrder, "baseline");
  ASSERT_EQ(nd.size(), 3U);
  EXPECT_EQ(nd[2].outcome, CheckOutcome::kNoData);
  EXPECT_EQ(nd[2].explanation, "cgroup.usage.max: stage release did not run");
}

TEST(ChecksEval, BaselineRelativeLimits) {
  std::vector<StageStats> stats = {stage("baseline", 100, 12.1), stage("hold", 300, 41.0), stage("release", 120, 20)};
  CheckSpec rel = spec("p99 vs baseline", "latency.p99", MetricUnit::kDuration);
  rel.max_vs_baseline = RelativeLimit{2, 5 * ms, "2x+5ms"};
  auto r = evaluateChecks({rel}, stats, kOrder, "baseline");
  ASSERT_EQ(r.size(), 2U);  // not in the baseline itself
  EXPECT_EQ(r[0].stage, "hold");
  EXPECT_EQ(r[0].outcome, CheckOutcome::kFail);
  EXPECT_DOUBLE_EQ(*r[0].baseline, 12.1 * ms);
  EXPECT_NEAR(*r[0].relative_max, 29.2 * ms, 1);
  EXPECT_EQ(r[0].explanation, "latency.p99 41.0 ms > 2x+5ms of baseline 12.1 ms = 29.2 ms");
  EXPECT_EQ(r[1].outcome, CheckOutcome::kPass);
  EXPECT_EQ(r[1].explanation, "latency.p99 20.0 ms <= 2x+5ms of baseline 12.1 ms = 29.2 ms");
  CheckSpec pct = spec("usage +10%", "cgroup.usage.max", MetricUnit::kBytes, {"release"});
  pct.max_vs_baseline = RelativeLimit{1.1, 0, "+10%"};
  auto pr = evaluateChecks({pct}, stats, kOrder, "baseline");
  ASSERT_EQ(pr.size(), 1U);
  EXPECT_EQ(pr[0].outcome, CheckOutcome::kFail);
  EXPECT_EQ(pr[0].explanation, "cgroup.usage.max 120.0 MiB > +10% of baseline 100.0 MiB = 110.0 MiB");
  // No baseline data: no data, not pass.
  stats[0].latency.clear();
  auto nb = evaluateChecks({rel}, stats, kOrder, "baseline");
  EXPECT_EQ(nb[0].outcome, CheckOutcome::kNoData);
  EXPECT_NE(nb[0].explanation.find("no data in baseline stage baseline"), std::string::npos) << nb[0].explanation;
}

RunRecord recordFor(const std::vector<CheckSpec>& checks) {
  RunRecord rec;
  rec.plan.name = "t";
  rec.plan.baseline_stage = "baseline";
  rec.plan.checks = checks;
  for (const auto& n : kOrder) {
    StageSpec s;
    s.name = n;
    rec.plan.stages.push_back(s);
  }
  return rec;
}

TEST(ChecksVerdict, EachOutcomeHasItsExitCode) {
  std::vector<StageStats> stats = {stage("baseline", 100, 12.1), stage("hold", 300, 41.0), stage("release", 120, 20)};
  CheckSpec ok = spec("ok", "target.oom_kills", MetricUnit::kCount);
  ok.max = 0;
  CheckSpec hold_fails = spec("p99", "latency.p99", MetricUnit::kDuration, {"hold"});
  hold_fails.max = 30 * ms;
  CheckSpec base_fails = spec("base", "latency.p99", MetricUnit::kDuration, {"baseline"});
  base_fails.max = 10 * ms;
  CheckSpec heap = spec("heap", "heap.gc_cycles", MetricUnit::kCount, {"hold"});
  heap.max = 100;

  auto outcome = [&](RunRecord rec, std::vector<StageStats> st) {
    std::vector<std::string> order;
    for (const auto& s : rec.plan.stages) order.push_back(s.name);
    auto checks = evaluateChecks(rec.plan.checks, st, order, rec.plan.baseline_stage);
    VerdictResult v = judge(rec, st, checks);
    return std::make_pair(v, exitCodeFor(rec, v));
  };
  auto [pass, pass_code] = outcome(recordFor({ok}), stats);
  EXPECT_EQ(pass.verdict, Verdict::kPass);
  EXPECT_EQ(pass_code, 0);

  auto [fail, fail_code] = outcome(recordFor({ok, hold_fails}), stats);
  EXPECT_EQ(fail.verdict, Verdict::kFail);
  EXPECT_EQ(fail_code, 1);
  ASSERT_EQ(fail.reasons.size(), 1U);
  EXPECT_EQ(fail.reasons[0], "check \"p99\" failed in stage hold: latency.p99 41.0 ms > max 30.0 ms");

  auto [broke, broke_code] = outcome(recordFor({ok, base_fails}), stats);
  EXPECT_EQ(broke.verdict, Verdict::kInconclusive);
  EXPECT_EQ(broke_code, 5);
  EXPECT_NE(broke.reasons.at(0).find("already fails in the baseline stage"), std::string::npos);

  // A failure elsewhere outweighs a broken baseline.
  auto [both, both_code] = outcome(recordFor({base_fails, hold_fails}), stats);
  EXPECT_EQ(both.verdict, Verdict::kFail);
  EXPECT_EQ(both_code, 1);

  auto nopprof = stats;
  nopprof[1].heap.reset();
  auto [nodata, nodata_code] = outcome(recordFor({ok, heap}), nopprof);
  EXPECT_EQ(nodata.verdict, Verdict::kInconclusive);
  EXPECT_EQ(nodata_code, 5);
  EXPECT_NE(nodata.reasons.at(0).find("has no data"), std::string::npos);

  RunRecord intr = recordFor({ok});
  intr.status = RunStatus::kInterrupted;
  auto [iv, icode] = outcome(intr, {stats[0]});
  EXPECT_EQ(iv.verdict, Verdict::kInconclusive);
  EXPECT_EQ(icode, 4);

  RunRecord err = recordFor({ok});
  err.status = RunStatus::kError;
  err.error = "boom";
  auto [ev, ecode] = outcome(err, stats);
  EXPECT_EQ(ev.verdict, Verdict::kInconclusive);
  EXPECT_EQ(ecode, 3);

  RunRecord dirty = recordFor({ok});
  dirty.cleanup_ok = false;
  auto [dv, dcode] = outcome(dirty, stats);
  EXPECT_EQ(dv.verdict, Verdict::kPass);
  EXPECT_EQ(dcode, 6);
  RunRecord dirty_fail = recordFor({hold_fails});
  dirty_fail.cleanup_ok = false;
  EXPECT_EQ(outcome(dirty_fail, stats).second, 1);  // the verdict is the headline; cleanup=failed is on the line
}

TEST(ChecksTally, CountsChecksNotResults) {
  std::vector<StageStats> stats = {stage("baseline", 100, 12.1), stage("hold", 300, 41.0), stage("release", 120, 20)};
  CheckSpec usage = spec("usage", "cgroup.usage.max", MetricUnit::kBytes);
  usage.max = 200 * MiB;
  CheckSpec oom = spec("oom", "target.oom_kills", MetricUnit::kCount);
  oom.max = 0;
  auto t = tallyChecks(evaluateChecks({usage, oom}, stats, kOrder, "baseline"));
  EXPECT_EQ(t.total, 2U);
  EXPECT_EQ(t.passed, 1U);
  EXPECT_EQ(t.failed, 1U);
  EXPECT_EQ(t.failed_names, std::vector<std::string>{"usage"});
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256Hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// report.json against docs/report.schema.json with python3's jsonschema when it is installed;
// without it, a structural check of the schema's top-level required keys.
TEST(ReportSchema, GeneratedReportValidates) {
  RunRecord rec = recordFor({});
  std::vector<StageStats> stats = {stage("baseline", 100, 12.1), stage("hold", 300, 41.0)};
  RunAnalysis a;
  a.stages = stats;
  CheckSpec rel = spec("p99 vs baseline", "latency.p99", MetricUnit::kDuration);
  rel.max_vs_baseline = RelativeLimit{2, 5 * ms, "2x+5ms"};
  CheckSpec oom = spec("oom", "target.oom_kills", MetricUnit::kCount);
  oom.max = 0;
  a.checks = evaluateChecks({rel, oom}, stats, {"baseline", "hold"}, "baseline");
  a.verdict = judge(rec, stats, a.checks);
  const json report = buildReportJson(rec, a, sha256Hex("{}"));
  EXPECT_EQ(report["plan_sha256"], "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  ASSERT_EQ(report["checks"].size(), 3U);
  EXPECT_EQ(report["checks"][0]["outcome"], "fail");
  EXPECT_EQ(report["checks"][0]["limit"]["max_vs_baseline"]["text"], "2x+5ms");
  EXPECT_DOUBLE_EQ(report["checks"][0]["baseline"].get<double>(), 12.1 * ms);

  const std::string schema_path = std::string(MEMSTRAIN_SOURCE_DIR) + "/docs/report.schema.json";
  std::ifstream sf(schema_path);
  ASSERT_TRUE(sf.good()) << schema_path;
  const json schema = json::parse(sf);
  EXPECT_EQ(schema["$id"].get<std::string>().find("/report/1/") != std::string::npos, true);
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("schema-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "report.json") << report.dump();
  if (std::system("python3 -c 'import jsonschema' 2>/dev/null") == 0) {
    const std::string cmd =
        "python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), "
        "json.load(open(sys.argv[2])))' " +
        (dir / "report.json").string() + " " + schema_path;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "report.json does not validate against " << schema_path;
    // The validator does reject a broken report.
    json bad = report;
    bad["checks"][0]["outcome"] = "maybe";
    std::ofstream(dir / "bad.json") << bad.dump();
    const std::string bad_cmd =
        "python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), "
        "json.load(open(sys.argv[2])))' " +
        (dir / "bad.json").string() + " " + schema_path + " 2>/dev/null";
    EXPECT_NE(std::system(bad_cmd.c_str()), 0);
  } else {
    for (const auto& key : schema["required"]) EXPECT_TRUE(report.contains(key.get<std::string>())) << key;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace memstrain
