// Sliding-window checks: the evaluator fed with per-second slices (no clock, no I/O), the abort
// decision, the worst window per stage, and the report's check results built from its records.

#include "memstrain/analysis/window_checks.hpp"

#include <gtest/gtest.h>

#include "memstrain/analysis/checks.hpp"
#include "memstrain/plan/plan_parse.hpp"

namespace memstrain {
namespace {

constexpr double kMs = 1e6;
const std::vector<std::string> kStages = {"baseline", "hold", "release"};
const std::vector<std::string> kProbes = {"work"};

// One second of probe data: `n` requests of `latency_ms`, `errors` of them failed (timeouts).
WindowSlice slice(double end_s, std::size_t stage, std::uint64_t n, double latency_ms, std::uint64_t errors = 0) {
  WindowSlice s;
  s.end_s = end_s;
  s.seconds = 1;
  s.stage = stage;
  ProbeWindow w;
  w.sent = n;
  w.completed = n;
  w.ok = n - errors;
  w.errors.timeout = errors;
  for (std::uint64_t i = 0; i < n; ++i) {
    w.corrected.record(static_cast<std::uint64_t>(latency_ms * kMs));
    w.uncorrected.record(static_cast<std::uint64_t>(latency_ms * kMs));
  }
  s.probes.push_back(std::move(w));
  s.usage = {100, 150, 200, 4};
  return s;
}

CheckSpec windowCheck(const std::string& name, const std::string& metric, MetricUnit unit, double seconds) {
  CheckSpec c;
  c.name = name;
  c.metric = metric;
  c.unit = unit;
  c.probe = "work";
  c.window = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
  return c;
}

nlohmann::json planWith(nlohmann::json checks) {
  return {{"name", "w"},
          {"target", {{"attach", {{"cgroup", "/x"}}}, {"probe", {{"name", "work"}, {"url", "http://127.0.0.1:1/work"}}}}},
          {"stages", {{{"name", "baseline"}, {"duration", "1s"}}, {{"name", "hold"}, {"duration", "1s"}}}},
          {"checks", std::move(checks)}};
}

std::string issuesText(const nlohmann::json& plan) {
  std::vector<PlanIssue> issues;
  auto p = parsePlan(plan.dump(), &issues);
  EXPECT_FALSE(p.ok());
  std::string all;
  for (const auto& i : issues) all += i.pointer + ": " + i.message + "\n";
  return all;
}

TEST(WindowChecksParse, WindowAndAbortAreRead) {
  auto p = parsePlan(planWith({{{"name", "errors"}, {"metric", "latency.error_rate"}, {"window", "10s"}, {"max", 0.01}, {"abort", true}},
                               {{"name", "usage"}, {"metric", "cgroup.usage.max"}, {"window", "1500ms"}, {"max", "1GiB"}}})
                         .dump());
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->checks.size(), 2U);
  EXPECT_EQ(p->checks[0].window, std::chrono::nanoseconds(std::chrono::seconds(10)));
  EXPECT_TRUE(p->checks[0].abort);
  EXPECT_EQ(p->checks[1].window, std::chrono::nanoseconds(std::chrono::milliseconds(1500)));
  EXPECT_FALSE(p->checks[1].abort);
}

TEST(WindowChecksParse, RefusesWhatCannotBeJudgedLive) {
  const std::string all =
      issuesText(planWith({{{"name", "a"}, {"metric", "heap.objects.slope"}, {"window", "10s"}, {"max", 1}},
                           {{"name", "b"}, {"metric", "latency.p99"}, {"abort", true}, {"max", "1s"}},
                           {{"name", "c"}, {"metric", "latency.p99"}, {"window", "10s"}, {"max_vs_baseline", "2x"}},
                           {{"name", "d"}, {"metric", "latency.p99"}, {"window", "500ms"}, {"max", "1s"}},
                           {{"name", "e"}, {"metric", "latency.p99"}, {"window", "10s"}, {"abort", 1}, {"max", "1s"}}}));
  EXPECT_NE(all.find("/checks/0/window: metric \"heap.objects.slope\" cannot be judged over a window"), std::string::npos) << all;
  EXPECT_NE(all.find("/checks/1/abort: abort needs a \"window\""), std::string::npos) << all;
  EXPECT_NE(all.find("/checks/2/max_vs_baseline: a window check takes absolute limits"), std::string::npos) << all;
  EXPECT_NE(all.find("/checks/3/window:"), std::string::npos) << all;
  EXPECT_NE(all.find("/checks/4/abort: expected true or false"), std::string::npos) << all;
}

TEST(WindowEvaluator, InactiveWithoutWindowChecks) {
  CheckSpec plain;
  plain.name = "p";
  plain.metric = "latency.p99";
  plain.max = 1;
  WindowEvaluator ev({plain}, kStages, kProbes);
  EXPECT_FALSE(ev.active());
  EXPECT_FALSE(ev.push(slice(1, 0, 10, 5, 10)));
  EXPECT_TRUE(ev.records().empty());
}

TEST(WindowEvaluator, AbortsOnTheFirstFullWindowOverTheLimitAndNotBefore) {
  CheckSpec errors = windowCheck("errors", "latency.error_rate", MetricUnit::kRatio, 3);
  errors.max = 0.10;
  errors.abort = true;
  WindowEvaluator ev({errors}, kStages, kProbes);
  ASSERT_TRUE(ev.active());
  // Seconds 1-4 clean; from second 5 on, half of each second's 10 requests fail.
  for (int t = 1; t <= 4; ++t) EXPECT_FALSE(ev.push(slice(t, t <= 2 ? 0 : 1, 10, 5))) << t;
  // Window (2,5]: 5 errors of 30 = 16.7% > 10%: abort at once.
  auto a = ev.push(slice(5, 1, 10, 5, 5));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->check, "errors");
  EXPECT_EQ(a->stage, "hold");
  EXPECT_DOUBLE_EQ(a->t_s, 5);
  EXPECT_NEAR(a->observed, 5.0 / 30.0, 1e-12);
  EXPECT_EQ(a->explanation, "latency.error_rate 16.67% > max 10.00% over the 3 s window ending at 5.0 s");
}

TEST(WindowEvaluator, ShortBurstPassesALongWindowButFailsAShortOne) {
  // One bad second (all 10 requests at 900 ms) among good ones: p99 of a 1 s window sees it,
  // p99 of a 10 s window (100 requests, 10 slow: p99 is slow too) — but p50 of 10 s does not.
  CheckSpec p50_10 = windowCheck("p50 10s", "latency.p50", MetricUnit::kDuration, 10);
  p50_10.max = 100 * kMs;
  CheckSpec p99_1 = windowCheck("p99 1s", "latency.p99", MetricUnit::kDuration, 1);
  p99_1.max = 100 * kMs;
  WindowEvaluator ev({p50_10, p99_1}, kStages, kProbes);
  for (int t = 1; t <= 20; ++t) EXPECT_FALSE(ev.push(slice(t, 1, 10, t == 12 ? 900 : 5)));  // no abort: none set
  auto recs = ev.records();
  ASSERT_EQ(recs.size(), 6U);  // 2 checks x 3 stages (no scope: every stage)
  const WindowCheckRecord& p50hold = recs[1];
  EXPECT_EQ(p50hold.check, "p50 10s");
  EXPECT_EQ(p50hold.stage, "hold");
  EXPECT_EQ(p50hold.windows, 11U);  // windows ending at 10..20
  EXPECT_EQ(p50hold.failed, 0U);
  const WindowCheckRecord& p99hold = recs[4];
  EXPECT_EQ(p99hold.windows, 20U);
  EXPECT_EQ(p99hold.failed, 1U);
  ASSERT_TRUE(p99hold.worst.has_value());
  EXPECT_NEAR(*p99hold.worst, 900 * kMs, 900 * kMs * 0.001);  // histogram precision
  EXPECT_DOUBLE_EQ(p99hold.worst_end_s, 12);
  EXPECT_DOUBLE_EQ(p99hold.first_fail_end_s.value(), 12);
}

TEST(WindowEvaluator, ScopeLimitsWhichSecondsCountAndWhereItCanAbort) {
  CheckSpec hold_only = windowCheck("hold p99", "latency.p99", MetricUnit::kDuration, 2);
  hold_only.stages = {"hold"};
  hold_only.max = 50 * kMs;
  hold_only.abort = true;
  WindowEvaluator ev({hold_only}, kStages, kProbes);
  // A terrible baseline does not count: the check is scoped to hold.
  for (int t = 1; t <= 3; ++t) EXPECT_FALSE(ev.push(slice(t, 0, 10, 500)));
  // First hold second: the window (2,4] holds only one in-scope second: not full, not judged.
  EXPECT_FALSE(ev.push(slice(4, 1, 10, 5)));
  EXPECT_FALSE(ev.push(slice(5, 1, 10, 5)));
  auto a = ev.push(slice(6, 1, 10, 80));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->stage, "hold");
  auto recs = ev.records();
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(recs[0].windows, 2U);  // ending at 5 and 6
  EXPECT_EQ(recs[0].failed, 1U);
}

TEST(WindowEvaluator, MinLimitsAndNonLatencyMetrics) {
  CheckSpec usage = windowCheck("usage", "cgroup.usage.mean", MetricUnit::kBytes, 2);
  usage.min = 120;
  CheckSpec psi = windowCheck("psi", "psi.some_avg10.max", MetricUnit::kRatio, 2);
  psi.max = 0.2;
  WindowEvaluator ev({usage, psi}, kStages, kProbes);
  for (int t = 1; t <= 4; ++t) {
    WindowSlice s = slice(t, 1, 1, 5);
    s.usage = {100, t == 4 ? 100.0 : 150.0, 200, 4};
    if (t == 3) s.psi_some_avg10 = 0.35;
    ev.push(std::move(s));
  }
  auto recs = ev.records();
  ASSERT_EQ(recs.size(), 6U);
  EXPECT_EQ(recs[1].windows, 3U);
  EXPECT_EQ(recs[1].failed, 0U);  // means 150, 150, 125
  EXPECT_DOUBLE_EQ(*recs[1].worst, 125);
  EXPECT_EQ(recs[4].failed, 2U);  // windows ending at 3 and 4 hold the 35% second
  EXPECT_DOUBLE_EQ(*recs[4].worst, 0.35);
}

TEST(WindowEvaluator, GcShareBetweenTheWindowsReadingsAndAbort) {
  auto p =
      parsePlan(planWith({{{"name", "gc"}, {"metric", "heap.gc_cpu_fraction"}, {"window", "4s"}, {"max", 0.5}, {"abort", true}}}).dump());
  ASSERT_TRUE(p.ok()) << p.error().message;
  CheckSpec gc = p->checks[0];
  WindowEvaluator ev({gc}, kStages, kProbes);
  // MemStats every 2 s: cumulative GC seconds 0, 0.2, 0.4 (10%), then 1.8 and 3.2 (70%).
  const double cumulative[] = {0.0, 0.2, 0.4, 1.8, 3.2};
  std::optional<WindowAbort> abort;
  for (int t = 1; t <= 9 && !abort; ++t) {
    WindowSlice s = slice(t, 1, 1, 5);
    const int reading = (t - 1) / 2;  // the latest reading by the slice's end, at 2 * reading + 1 s
    s.gc_cpu = std::make_pair(2.0 * reading + 1, cumulative[reading]);
    abort = ev.push(std::move(s));
    if (t <= 7) {
      EXPECT_FALSE(abort) << "10%, then 40% with the first fast reading; t=" << t;
    }
  }
  ASSERT_TRUE(abort);
  EXPECT_EQ(abort->check, "gc");
  EXPECT_DOUBLE_EQ(abort->t_s, 8) << "the first window holding two 70% readings (5 s and 7 s) ends at 8 s";
  EXPECT_NEAR(abort->observed, 0.7, 1e-9);
  auto recs = ev.records();
  ASSERT_EQ(recs.size(), 3U);
  ASSERT_TRUE(recs[1].worst.has_value());
  EXPECT_NEAR(*recs[1].worst, 0.7, 1e-9);
  // One reading in the window: no share, not a pass.
  WindowSlice a = slice(1, 1, 1, 5), b = slice(2, 1, 1, 5);
  a.gc_cpu = b.gc_cpu = std::make_pair(0.5, 0.1);
  const StageStats merged = mergeSlices({&a, &b}, kProbes);
  EXPECT_FALSE(metricValue("heap.gc_cpu_fraction", "", merged).has_value());
  b.gc_cpu = std::make_pair(1.5, 0.35);
  EXPECT_NEAR(*metricValue("heap.gc_cpu_fraction", "", mergeSlices({&a, &b}, kProbes)), 0.25, 1e-9);
}

TEST(WindowEvaluator, WindowWithoutProbeAnswersIsNoData) {
  CheckSpec p99 = windowCheck("p99", "latency.p99", MetricUnit::kDuration, 1);
  p99.max = 10 * kMs;
  p99.abort = true;
  WindowEvaluator ev({p99}, kStages, kProbes);
  WindowSlice empty;
  empty.end_s = 1;
  empty.seconds = 1;
  empty.probes.emplace_back();
  EXPECT_FALSE(ev.push(std::move(empty)));
  auto recs = ev.records();
  EXPECT_EQ(recs[0].windows, 1U);
  EXPECT_EQ(recs[0].no_data, 1U);
  EXPECT_FALSE(recs[0].worst.has_value());
}

TEST(WindowChecks, ReportResultsFromRecords) {
  CheckSpec errors = windowCheck("errors", "latency.error_rate", MetricUnit::kRatio, 10);
  errors.max = 0.01;
  errors.abort = true;
  std::vector<WindowCheckRecord> recs(3);
  recs[0] = {"errors", "baseline", 5, 0, 0, 0.0, 10, std::nullopt};
  recs[1] = {"errors", "hold", 20, 3, 0, 0.25, 31, 29.0};
  recs[2] = {"errors", "release", 0, 0, 0, std::nullopt, 0, std::nullopt};
  std::vector<StageStats> stages(3);
  stages[0].name = "baseline";
  stages[1].name = "hold";
  stages[2].name = "release";
  auto r = evaluateChecks({errors}, stages, kStages, "baseline", recs);
  ASSERT_EQ(r.size(), 3U);
  EXPECT_EQ(r[0].outcome, CheckOutcome::kPass);
  EXPECT_EQ(r[1].outcome, CheckOutcome::kFail);
  EXPECT_DOUBLE_EQ(*r[1].observed, 0.25);
  EXPECT_EQ(r[1].windows, 20U);
  EXPECT_EQ(r[1].windows_failed, 3U);
  EXPECT_TRUE(r[1].abort);
  EXPECT_DOUBLE_EQ(*r[1].window_s, 10);
  EXPECT_EQ(r[1].explanation, "latency.error_rate 25.00% > max 1.00% in the worst 10 s window (ending at 31.0 s); 3 of 20 windows failed");
  EXPECT_EQ(r[2].outcome, CheckOutcome::kNoData);
  // A stage that never ran (the run was aborted before it) is no data too.
  auto r2 = evaluateChecks({errors}, {stages[0], stages[1]}, kStages, "baseline", recs);
  EXPECT_EQ(r2[2].outcome, CheckOutcome::kNoData);
  EXPECT_EQ(r2[2].explanation, "latency.error_rate: stage release did not run");
}

// Issue 15, item 3: each second of a latency window kept every probe's three histograms
// (~0.8 MiB); 4 probes and a 60 s window held ~190 MiB. Only the probe a check reads is kept, and
// compactly; the verdicts are the same.
TEST(WindowEvaluatorTest, AMinuteOfFourProbesHoldsKilobytesAndJudgesLikeTheFullMerge) {
  const std::vector<std::string> probes = {"a", "b", "work", "d"};
  CheckSpec p99 = windowCheck("p99", "latency.p99", MetricUnit::kDuration, 60);
  p99.max = 8 * kMs;
  WindowEvaluator eval({p99}, kStages, probes);
  std::vector<WindowSlice> all;
  for (int t = 1; t <= 90; ++t) {
    WindowSlice s;
    s.end_s = t;
    s.seconds = 1;
    s.stage = 1;
    s.usage = {100, 150, 200, 4};
    for (std::size_t k = 0; k < probes.size(); ++k) {
      ProbeWindow w;
      w.sent = w.completed = w.ok = 20;
      // "work" is slow after 70 s: its p99 window crosses 8 ms.
      for (int i = 0; i < 20; ++i) w.corrected.record(static_cast<std::uint64_t>((k == 2 && t > 70 ? 9 : 1 + i * 0.1) * kMs));
      s.probes.push_back(std::move(w));
    }
    all.push_back(s);
    auto abort = eval.push(std::move(s));
    EXPECT_FALSE(abort.has_value());  // no abort flag
  }
  EXPECT_LT(eval.heldBytes(), std::size_t{1} << 20) << "60 one-second slices of 4 probes";
  // The same check over the full merge of the last 60 slices, the old way.
  std::vector<const WindowSlice*> last;
  for (std::size_t i = all.size() - 60; i < all.size(); ++i) last.push_back(&all[i]);
  const auto full = metricValue("latency.p99", "work", mergeSlices(last, probes));
  ASSERT_TRUE(full.has_value());
  const auto records = eval.records();
  ASSERT_FALSE(records.empty());
  const WindowCheckRecord* hold = nullptr;
  for (const auto& r : records) hold = r.stage == "hold" ? &r : hold;
  ASSERT_NE(hold, nullptr);
  ASSERT_TRUE(hold->worst.has_value());
  EXPECT_EQ(*hold->worst, *full);
  EXPECT_GT(hold->failed, 0u);
}

TEST(CompactHistogramTest, MergesExactlyLikeTheHistogramItWasMadeFrom) {
  Histogram a, b;
  for (std::uint64_t v : {1u, 2047u, 2048u, 123456u, 99999999u}) a.record(v, 3);
  b.record(Histogram::kMaxTrackableNs + 5);  // clamped
  b.record(77);
  Histogram via_merge = a, via_compact = a;
  via_merge.merge(b);
  CompactHistogram(b).mergeInto(via_compact);
  EXPECT_EQ(via_compact.count(), via_merge.count());
  EXPECT_EQ(via_compact.clampedCount(), via_merge.clampedCount());
  EXPECT_EQ(via_compact.exactMin(), via_merge.exactMin());
  EXPECT_EQ(via_compact.exactMax(), via_merge.exactMax());
  EXPECT_EQ(via_compact.mean(), via_merge.mean());
  EXPECT_EQ(via_compact.nonZeroBuckets(), via_merge.nonZeroBuckets());
  EXPECT_EQ(CompactHistogram(Histogram()).count(), 0u);
  EXPECT_LT(CompactHistogram(b).heapBytes(), 100u);
}

}  // namespace
}  // namespace memstrain
