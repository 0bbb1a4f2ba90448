#include "memstrain/executor/progress.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace memstrain {
namespace {

using nlohmann::json;

ProgressState rampState() {
  ProgressState s;
  s.clock = {"ramp", 1, 4, 12.34, 20, 22.4, 75};
  return s;
}

TEST(Progress, SamplesFillTheState) {
  ProgressState s;
  applySampleToProgress(s, json{{"kind", "cgroup"},
                                {"measured_usage_bytes", 268435456},
                                {"effective_limit_bytes", 536870912},
                                {"stressor", {{"populated_bytes", 220725248}, {"target_bytes", 230000000}}}});
  applySampleToProgress(s, json{{"kind", "latency"}, {"probe", "work"}, {"completed", 50}, {"p99_ms", 4.386}});
  applySampleToProgress(s, json{{"kind", "latency"}, {"probe", "other"}, {"completed", 50}, {"p99_ms", 900.0}});
  applySampleToProgress(s, json{{"kind", "latency"}, {"probe", "work"}, {"completed", 0}, {"p99_ms", 0.0}});
  applySampleToProgress(s, json{{"kind", "memstats"}, {"heap_objects", 87692}});
  applySampleToProgress(s, json{{"kind", "pprof_error"}, {"heap_objects", 1}});
  applySampleToProgress(s, json::array());
  EXPECT_EQ(s.usage_bytes, 268435456U);
  EXPECT_EQ(s.limit_bytes, 536870912U);
  EXPECT_EQ(s.pressure_bytes, 220725248U);
  // The first probe's last window with requests; the second probe and an empty window do not count.
  EXPECT_DOUBLE_EQ(*s.p99_ms, 4.386);
  EXPECT_EQ(s.heap_objects, 87692U);
  // An unlimited cgroup writes null: the limit is then unknown.
  applySampleToProgress(s, json{{"kind", "cgroup"}, {"measured_usage_bytes", 1}, {"effective_limit_bytes", nullptr}});
  EXPECT_FALSE(s.limit_bytes);
}

TEST(Progress, GcShareBetweenReadingsOnceTheTargetStartIsKnown) {
  // Started at Unix 1000 s; readings at run time t with the runtime's lifetime share and LastGC.
  auto reading = [](double t, double fraction, std::int64_t last_gc_s) {
    return json{{"kind", "memstats"},          {"t", t},
                {"heap_objects", 10},          {"num_gc", 5},
                {"gc_cpu_fraction", fraction}, {"last_gc_unix_ns", last_gc_s * 1'000'000'000LL}};
  };
  ProgressState s;
  applySampleToProgress(s, reading(0, 0.01, 1010));
  applySampleToProgress(s, reading(2, 0.02, 1012));
  EXPECT_FALSE(s.gc_cpu_share) << "no start time, no share";
  s.target_start_unix_ns = 1000LL * 1'000'000'000;
  applySampleToProgress(s, reading(4, 0.02, 1014));  // 0.28 s of GC by then
  EXPECT_FALSE(s.gc_cpu_share) << "one reading is not an interval";
  applySampleToProgress(s, reading(6, 0.05, 1016));  // 0.80 s: 0.52 s in 2 s
  ASSERT_TRUE(s.gc_cpu_share);
  EXPECT_NEAR(*s.gc_cpu_share, 0.26, 1e-9);
  applySampleToProgress(s, json{{"kind", "memstats"}, {"t", 8}, {"heap_objects", 10}});  // no GC fields: unchanged
  EXPECT_NEAR(*s.gc_cpu_share, 0.26, 1e-9);
  ProgressState line = rampState();
  line.gc_cpu_share = 0.109;
  EXPECT_EQ(formatProgressLine(line), "[2/4 ramp] 12.3/20.0s  run 22/75s  GC 10.9% CPU");
}

TEST(Progress, TheLineShowsStageTimePressureUsageLatencyAndHeap) {
  ProgressState s = rampState();
  EXPECT_EQ(formatProgressLine(s), "[2/4 ramp] 12.3/20.0s  run 22/75s");
  s.pressure_bytes = 220725248;
  s.usage_bytes = 268435456;
  s.limit_bytes = 536870912;
  s.p99_ms = 4.386;
  s.heap_objects = 87692;
  EXPECT_EQ(formatProgressLine(s),
            "[2/4 ramp] 12.3/20.0s  run 22/75s  pressure 210.5 MiB  usage 256.0 MiB / 512.0 MiB (50.0%)  p99 4.39 ms  heap 87,692 objects");
  EXPECT_EQ(formatProgressLine(s, 40).size(), 40U);
  s.clock.stage = "a\x1b[2Jb";
  EXPECT_EQ(formatProgressLine(s).rfind("[2/4 a?[2Jb]", 0), 0U);
}

TEST(Progress, TerminalModeRewritesOneLineAboutOnceASecond) {
  std::vector<std::string> out;
  TextProgress p({true, std::chrono::milliseconds(1000), 30, [&](std::string_view t) { out.emplace_back(t); }});
  p.observeSample(json{{"kind", "cgroup"}, {"measured_usage_bytes", 268435456}, {"effective_limit_bytes", 536870912}});
  for (double t : {0.0, 0.05, 0.5, 1.0, 1.9, 2.5}) {
    ProgressClock c = rampState().clock;
    c.run_elapsed_s = t;
    p.tick(c);
  }
  p.finish();
  ASSERT_EQ(out.size(), 4U);  // at 0, 1.0 and 2.5, then the clearing
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].front(), '\r');
    EXPECT_EQ(out[i].substr(out[i].size() - 3), "\x1b[K");
    // Cut to width - 1 so that the terminal does not wrap.
    EXPECT_EQ(out[i].size(), 1 + 29 + 3U) << out[i];
  }
  EXPECT_EQ(out[3], "\r\x1b[K");
}

TEST(Progress, LogModeWritesPlainLinesAtItsInterval) {
  std::vector<std::string> out;
  TextProgress p({false, std::chrono::milliseconds(5000), 0, [&](std::string_view t) { out.emplace_back(t); }});
  for (int t = 0; t <= 12; ++t) {
    ProgressClock c = rampState().clock;
    c.run_elapsed_s = t;
    p.tick(c);
  }
  p.finish();
  ASSERT_EQ(out.size(), 3U);  // 0, 5, 10; finish writes nothing
  for (const auto& l : out) {
    EXPECT_EQ(l.find('\r'), std::string::npos);
    EXPECT_EQ(l.find('\x1b'), std::string::npos);
    EXPECT_EQ(l.rfind("[2/4 ramp]", 0), 0U);
  }
  EXPECT_NE(out[2].find("run 10/75s"), std::string::npos);
}

}  // namespace
}  // namespace memstrain
