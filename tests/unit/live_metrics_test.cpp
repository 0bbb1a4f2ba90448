// The live /metrics state: what a scrape shows at each point of a run, from the same readings the
// executor writes to samples.jsonl and the probes' one-second windows.

#include "memstrain/executor/live_metrics.hpp"

#include <gtest/gtest.h>

#include "memstrain/report/prom_text.hpp"
#include "support/promtool.hpp"

#include <cmath>
#include <sstream>
#include <string>

namespace memstrain {
namespace {

using nlohmann::json;

LiveRunInfo demoRun() {
  LiveRunInfo i;
  i.plan = "demo";
  i.stages = {"baseline", "hold"};
  i.probes = {"work"};
  i.checks = {{"p99", {"hold"}}, {"errors", {"baseline", "hold"}}};
  i.start_unix_s = 1700000000.5;
  return i;
}

ProbeWindow windowOf(std::initializer_list<std::uint64_t> latencies_us, std::uint64_t errors = 0) {
  ProbeWindow w;
  for (auto us : latencies_us) w.corrected.record(us * 1000);
  w.completed = w.corrected.count();
  w.errors.timeout = errors;
  w.ok = w.completed - errors;
  w.sent = w.completed;
  return w;
}

ProgressClock clockAt(std::size_t stage, const char* name, double elapsed) {
  ProgressClock c;
  c.stage = name;
  c.stage_index = stage;
  c.stage_count = 2;
  c.stage_elapsed_s = elapsed;
  c.stage_duration_s = 10;
  c.run_elapsed_s = stage * 10 + elapsed;
  c.run_total_s = 20;
  return c;
}

bool has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

// The value of the sample line that starts with `series` ("name{labels}"), NaN when absent.
double valueOf(const std::string& text, const std::string& series) {
  const auto at = text.find(series + " ");
  if (at == std::string::npos) return std::nan("");
  return std::stod(text.substr(at + series.size() + 1));
}

TEST(LiveMetrics, BeforeTheFirstStageOnlyTheRunAndBuildAreKnown) {
  LiveMetrics m(demoRun());
  const std::string t = m.render();
  EXPECT_NE(t.find("memstrain_build_info{plan=\"demo\",version=\""), std::string::npos) << t;
  EXPECT_TRUE(has(t, "memstrain_run_start_time_seconds{plan=\"demo\"} 1700000000.5")) << t;
  EXPECT_TRUE(has(t, "memstrain_stage_index{plan=\"demo\"} 0")) << t;
  EXPECT_TRUE(has(t, "memstrain_stage_active{plan=\"demo\",stage=\"baseline\"} 0")) << t;
  EXPECT_TRUE(has(t, "memstrain_check_state{plan=\"demo\",check=\"p99\",stage=\"hold\",state=\"pending\"} 1")) << t;
  EXPECT_TRUE(has(t, "memstrain_check_state{plan=\"demo\",check=\"p99\",stage=\"hold\",state=\"pass\"} 0")) << t;
  // No reading yet: no sample, never a made-up 0.
  EXPECT_EQ(t.find("memstrain_usage_bytes"), std::string::npos) << t;
  EXPECT_EQ(t.find("memstrain_setpoint_bytes"), std::string::npos) << t;
  EXPECT_EQ(t.find("memstrain_run_passed"), std::string::npos) << t;
}

TEST(LiveMetrics, StageSetpointUsageAndHeapFromSamples) {
  LiveMetrics m(demoRun());
  m.onClock(clockAt(1, "hold", 2.5));
  m.onSample(json::parse(R"({"kind": "cgroup", "t": 12.5, "stage": "hold", "measured_usage_bytes": 429916160,
      "effective_limit_bytes": 536870912, "setpoint_bytes": 429496729,
      "stressor": {"target_bytes": 352321536, "populated_bytes": 350224384},
      "target_process": {"rss_bytes": 78643200, "anonymous_bytes": 70000000, "swap_bytes": 0}})"));
  m.onSample(json::parse(R"({"kind": "memstats", "t": 12.0, "heap_objects": 187692, "heap_inuse_bytes": 12582912, "num_gc": 41,
      "gc_cpu_fraction": 0.004})"));
  const std::string t = m.render();
  EXPECT_TRUE(has(t, "memstrain_stage_index{plan=\"demo\"} 2")) << t;
  EXPECT_TRUE(has(t, "memstrain_stage_active{plan=\"demo\",stage=\"hold\"} 1")) << t;
  EXPECT_TRUE(has(t, "memstrain_stage_active{plan=\"demo\",stage=\"baseline\"} 0")) << t;
  EXPECT_TRUE(has(t, "memstrain_stage_elapsed_seconds{plan=\"demo\"} 2.5")) << t;
  EXPECT_TRUE(has(t, "memstrain_run_elapsed_seconds{plan=\"demo\"} 12.5")) << t;
  EXPECT_TRUE(has(t, "memstrain_setpoint_bytes{plan=\"demo\"} 429496729")) << t;
  EXPECT_TRUE(has(t, "memstrain_usage_bytes{plan=\"demo\"} 429916160")) << t;
  EXPECT_TRUE(has(t, "memstrain_limit_bytes{plan=\"demo\"} 536870912")) << t;
  EXPECT_TRUE(has(t, "memstrain_stressor_bytes{plan=\"demo\"} 350224384")) << t;
  EXPECT_TRUE(has(t, "memstrain_stressor_target_bytes{plan=\"demo\"} 352321536")) << t;
  EXPECT_TRUE(has(t, "memstrain_target_rss_bytes{plan=\"demo\"} 78643200")) << t;
  EXPECT_TRUE(has(t, "memstrain_heap_objects{plan=\"demo\"} 187692")) << t;
  EXPECT_TRUE(has(t, "memstrain_heap_inuse_bytes{plan=\"demo\"} 12582912")) << t;
  EXPECT_TRUE(has(t, "memstrain_gc_cycles_total{plan=\"demo\"} 41")) << t;
  // A stage without a setpoint (pressure off) takes the setpoint away rather than keeping the old one.
  m.onSample(
      json::parse(R"({"kind": "cgroup", "t": 13, "measured_usage_bytes": 1, "stressor": {"target_bytes": 0, "populated_bytes": 0}})"));
  EXPECT_EQ(m.render().find("memstrain_setpoint_bytes"), std::string::npos);
}

TEST(LiveMetrics, GcCpuShareNeedsTheTargetsStartAndTwoReadings) {
  LiveMetrics m(demoRun());
  const std::int64_t start_ns = 1700000000LL * 1000000000LL;
  m.onTargetStarted(start_ns);
  // GCCPUFraction is over the process's life: 1% of 10 s, then 2% of 20 s -> 0.3 s of GC in 10 s.
  m.onSample(json::parse(R"({"kind": "memstats", "t": 1, "heap_objects": 1, "num_gc": 1, "gc_cpu_fraction": 0.01,
      "last_gc_unix_ns": )" +
                         std::to_string(start_ns + 10'000'000'000LL) + "}"));
  EXPECT_EQ(m.render().find("memstrain_gc_cpu_ratio"), std::string::npos) << "one reading gives no share";
  m.onSample(json::parse(R"({"kind": "memstats", "t": 11, "heap_objects": 1, "num_gc": 2, "gc_cpu_fraction": 0.02,
      "last_gc_unix_ns": )" +
                         std::to_string(start_ns + 20'000'000'000LL) + "}"));
  EXPECT_NEAR(valueOf(m.render(), "memstrain_gc_cpu_ratio{plan=\"demo\"}"), 0.03, 1e-9);
}

TEST(LiveMetrics, LatencyIsARunHistogramAndAStageSummaryEqualToTheMergedWindows) {
  LiveMetrics m(demoRun());
  // baseline: 1 ms x 3; hold: 2 ms, 4 ms, 30 ms, then a second window of 4 ms with one error.
  m.onLatencyWindow("work", 0, windowOf({1000, 1000, 1000}));
  m.onLatencyWindow("work", 1, windowOf({2000, 4000, 30000}));
  m.onLatencyWindow("work", 1, windowOf({4000}, 1));
  const std::string t = m.render();
  // Cumulative buckets: le 0.001 holds the three 1 ms requests; le 0.002 adds the 2 ms one; le
  // 0.004 two 4 ms; 30 ms falls in le 0.03; +Inf counts all seven.
  EXPECT_TRUE(has(t, "memstrain_probe_latency_seconds_bucket{plan=\"demo\",probe=\"work\",le=\"0.00075\"} 0")) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_latency_seconds_bucket{plan=\"demo\",probe=\"work\",le=\"0.001\"} 3")) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_latency_seconds_bucket{plan=\"demo\",probe=\"work\",le=\"0.002\"} 4")) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_latency_seconds_bucket{plan=\"demo\",probe=\"work\",le=\"0.004\"} 6")) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_latency_seconds_bucket{plan=\"demo\",probe=\"work\",le=\"0.025\"} 6")) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_latency_seconds_bucket{plan=\"demo\",probe=\"work\",le=\"0.03\"} 7")) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_latency_seconds_bucket{plan=\"demo\",probe=\"work\",le=\"+Inf\"} 7")) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_latency_seconds_count{plan=\"demo\",probe=\"work\"} 7")) << t;
  EXPECT_NEAR(valueOf(t, "memstrain_probe_latency_seconds_sum{plan=\"demo\",probe=\"work\"}"), 0.043, 1e-12) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_requests_total{plan=\"demo\",probe=\"work\",result=\"ok\"} 6")) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_requests_total{plan=\"demo\",probe=\"work\",result=\"error\"} 1")) << t;

  // The hold summary is what report.json computes: percentiles of the stage's merged windows.
  Histogram hold;
  for (std::uint64_t us : {2000, 4000, 30000, 4000}) hold.record(us * 1000);
  const LatencySummary want = summarizeLatency(hold);
  std::ostringstream p99;
  p99 << "memstrain_stage_latency_seconds{plan=\"demo\",stage=\"hold\",probe=\"work\",quantile=\"0.99\"} "
      << promFormatValue(static_cast<double>(want.p99_ns) / 1e9);
  EXPECT_TRUE(has(t, p99.str())) << t;
  EXPECT_TRUE(has(t, "memstrain_stage_latency_seconds_count{plan=\"demo\",stage=\"hold\",probe=\"work\"} 4")) << t;
  EXPECT_NEAR(valueOf(t, "memstrain_stage_latency_seconds_sum{plan=\"demo\",stage=\"hold\",probe=\"work\"}"), 0.040, 1e-12) << t;
  EXPECT_TRUE(has(t, "memstrain_stage_latency_seconds_count{plan=\"demo\",stage=\"baseline\",probe=\"work\"} 3")) << t;
  // One TYPE line per family, and only the summary carries a quantile label.
  EXPECT_NE(t.find("# TYPE memstrain_probe_latency_seconds histogram\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE memstrain_stage_latency_seconds summary\n"), std::string::npos);
  std::istringstream lines(t);
  for (std::string l; std::getline(lines, l);) {
    if (l.find("quantile=") != std::string::npos) {
      EXPECT_EQ(l.rfind("memstrain_stage_latency_seconds{", 0), 0U) << l;
    }
  }
}

TEST(LiveMetrics, WindowChecksLiveThenEveryCheckAtTheEnd) {
  LiveMetrics m(demoRun());
  WindowCheckRecord r;
  r.check = "errors";
  r.stage = "baseline";
  r.windows = 3;
  m.onWindowChecks({r});
  EXPECT_TRUE(has(m.render(), "memstrain_check_state{plan=\"demo\",check=\"errors\",stage=\"baseline\",state=\"pass\"} 1"));
  r.failed = 1;
  m.onWindowChecks({r});
  std::string t = m.render();
  EXPECT_TRUE(has(t, "memstrain_check_state{plan=\"demo\",check=\"errors\",stage=\"baseline\",state=\"fail\"} 1")) << t;
  EXPECT_TRUE(has(t, "memstrain_check_state{plan=\"demo\",check=\"errors\",stage=\"baseline\",state=\"pass\"} 0")) << t;

  m.onClock(clockAt(1, "hold", 9.9));
  m.onFinished({{"p99", "hold", "pass"}, {"errors", "baseline", "fail"}, {"errors", "hold", "no_data"}}, "fail", 1);
  t = m.render();
  EXPECT_TRUE(has(t, "memstrain_check_state{plan=\"demo\",check=\"p99\",stage=\"hold\",state=\"pass\"} 1")) << t;
  EXPECT_TRUE(has(t, "memstrain_check_state{plan=\"demo\",check=\"errors\",stage=\"hold\",state=\"no_data\"} 1")) << t;
  EXPECT_TRUE(has(t, "memstrain_run_passed{plan=\"demo\"} 0")) << t;
  EXPECT_TRUE(has(t, "memstrain_run_exit_code{plan=\"demo\"} 1")) << t;
  // After the run no stage is in progress.
  EXPECT_TRUE(has(t, "memstrain_stage_index{plan=\"demo\"} 0")) << t;
  EXPECT_TRUE(has(t, "memstrain_stage_active{plan=\"demo\",stage=\"hold\"} 0")) << t;
}

// A scrape with every family present passes the Prometheus project's linter.
TEST(LiveMetrics, PromtoolChecksAFullScrapeClean) {
  if (!promtoolAvailable()) GTEST_SKIP() << "promtool is not installed (Debian package prometheus; make test installs it)";
  LiveMetrics m(demoRun());
  m.onClock(clockAt(1, "hold", 2));
  m.onTargetStarted(1700000000LL * 1000000000LL);
  m.onSample(json::parse(R"({"kind": "cgroup", "measured_usage_bytes": 5, "effective_limit_bytes": 9, "setpoint_bytes": 6,
      "stressor": {"target_bytes": 2, "populated_bytes": 2}, "target_process": {"rss_bytes": 3}})"));
  m.onSample(json::parse(R"({"kind": "memstats", "t": 1, "heap_objects": 1, "heap_inuse_bytes": 2, "num_gc": 1, "gc_cpu_fraction": 0.01,
      "last_gc_unix_ns": 1700000010000000000})"));
  m.onSample(json::parse(R"({"kind": "memstats", "t": 2, "heap_objects": 1, "heap_inuse_bytes": 2, "num_gc": 2, "gc_cpu_fraction": 0.01,
      "last_gc_unix_ns": 1700000011000000000})"));
  m.onLatencyWindow("work", 1, windowOf({1000, 250000, 40000000}, 1));
  m.onFinished({{"p99", "hold", "fail"}}, "fail", 1);
  const std::string t = m.render();
  EXPECT_NE(t.find("memstrain_gc_cpu_ratio"), std::string::npos) << t;
  EXPECT_EQ(promtoolProblems(t), "") << t;
}

// The sink forwards what it folds to the progress display behind it.
TEST(LiveMetrics, SinkFeedsTheStateAndTheProgressBehindIt) {
  struct Recorder : ProgressSink {
    int samples = 0, ticks = 0, windows = 0, finished = 0;
    void observeSample(const json&) override { ++samples; }
    void tick(const ProgressClock&) override { ++ticks; }
    void finish() override { ++finished; }
    void observeLatencyWindow(const std::string&, std::size_t, const ProbeWindow&) override { ++windows; }
  };
  auto metrics = std::make_shared<LiveMetrics>(demoRun());
  auto rec = std::make_shared<Recorder>();
  LiveMetricsSink sink(metrics, rec);
  sink.tick(clockAt(0, "baseline", 1));
  sink.observeSample(json::parse(R"({"kind": "cgroup", "measured_usage_bytes": 7})"));
  sink.observeLatencyWindow("work", 0, windowOf({1000}));
  sink.finish();
  EXPECT_EQ(rec->samples, 1);
  EXPECT_EQ(rec->ticks, 1);
  EXPECT_EQ(rec->windows, 1);
  EXPECT_EQ(rec->finished, 1);
  const std::string t = metrics->render();
  EXPECT_TRUE(has(t, "memstrain_usage_bytes{plan=\"demo\"} 7")) << t;
  EXPECT_TRUE(has(t, "memstrain_probe_latency_seconds_count{plan=\"demo\",probe=\"work\"} 1")) << t;
  LiveMetricsSink alone(metrics, nullptr);  // --quiet: no progress behind it
  alone.tick(clockAt(1, "hold", 1));
  alone.finish();
  EXPECT_TRUE(has(metrics->render(), "memstrain_stage_index{plan=\"demo\"} 2"));
}

}  // namespace
}  // namespace memstrain
