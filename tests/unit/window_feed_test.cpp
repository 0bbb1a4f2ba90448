// Feeding the window checks: each sample and probe window goes into exactly one slice, PSI and
// GC CPU come from the right place, and latency is kept only when a check reads it.

#include "memstrain/executor/window_feed.hpp"

#include <gtest/gtest.h>

#include "memstrain/analysis/heap_stats.hpp"

namespace memstrain {
namespace {

Sample sample(double t, std::uint64_t usage, std::optional<std::uint64_t> rss = std::nullopt) {
  Sample s;
  s.t_s = t;
  s.target_cgroup.usage_bytes = usage;
  if (rss) {
    ProcessMemory p;
    p.rss_bytes = *rss;
    s.target_process = p;
  }
  return s;
}

ProbeWindow window(std::uint64_t completed, std::uint64_t errors, std::uint64_t latency_ns) {
  ProbeWindow w;
  w.sent = w.completed = completed;
  w.errors.timeout = errors;
  w.ok = completed - errors;
  for (std::uint64_t i = 0; i < completed; ++i) w.corrected.record(latency_ns);
  return w;
}

TEST(WindowFeed, EachSampleGoesIntoOneSliceAndTheSliceLengthIsTheTimeSinceTheLastCut) {
  WindowFeeder feeder(0, /*keep_latency=*/false);
  for (const Sample& s : {sample(0.25, 100, 10), sample(0.5, 300, 30), sample(0.75, 200)}) feeder.addSample(s);
  WindowSlice a = feeder.cut(1.0, 0, nullptr, std::nullopt);
  EXPECT_DOUBLE_EQ(a.end_s, 1.0);
  EXPECT_DOUBLE_EQ(a.seconds, 1.0);
  EXPECT_EQ(a.stage, 0U);
  EXPECT_EQ(a.usage.n, 3U);
  EXPECT_DOUBLE_EQ(a.usage.min, 100);
  EXPECT_DOUBLE_EQ(a.usage.max, 300);
  EXPECT_EQ(a.target_rss.n, 2U) << "a sample without the target's memory has no RSS";
  EXPECT_TRUE(a.probes.empty());
  feeder.addSample(sample(1.25, 50));
  WindowSlice b = feeder.cut(1.6, 1, nullptr, std::nullopt);
  EXPECT_NEAR(b.seconds, 0.6, 1e-12);
  EXPECT_EQ(b.usage.n, 1U) << "only the sample taken since the last cut";
  EXPECT_DOUBLE_EQ(b.usage.max, 50);
  WindowSlice c = feeder.cut(2.6, 1, nullptr, std::nullopt);
  EXPECT_EQ(c.usage.n, 0U);
}

TEST(WindowFeed, PsiIsTheMeasuredCgroupsOwnElseTheHostsAsAFraction) {
  WindowFeeder feeder(0, false);
  Sample v2 = sample(0.1, 1);
  Psi own;
  own.some.avg10 = 12.5;
  v2.target_cgroup.pressure = own;
  Sample v1 = sample(0.2, 1);
  Psi host;
  host.some.avg10 = 40;
  host.full = PsiLine{20, 0, 0, 0};
  v1.system_pressure = host;
  Sample beside = sample(0.3, 1);
  CgroupSample parent;
  Psi parent_psi;
  parent_psi.some.avg10 = 60;
  parent.pressure = parent_psi;
  beside.measured_cgroup = parent;
  beside.system_pressure = host;  // ignored: the measured cgroup has its own
  feeder.addSample(v2);
  feeder.addSample(v1);
  WindowSlice s = feeder.cut(1.0, 0, nullptr, std::nullopt);
  EXPECT_DOUBLE_EQ(*s.psi_some_avg10, 0.40);
  EXPECT_DOUBLE_EQ(*s.psi_full_avg10, 0.20);
  WindowFeeder other(0, false);
  other.addSample(beside);
  WindowSlice t = other.cut(1.0, 0, nullptr, std::nullopt);
  EXPECT_DOUBLE_EQ(*t.psi_some_avg10, 0.60);
  EXPECT_FALSE(t.psi_full_avg10);
}

TEST(WindowFeed, ProbeWindowsAreKeptOnlyWhenACheckReadsLatencyAndMergedUntilTheCut) {
  WindowFeeder without(2, /*keep_latency=*/false);
  without.addProbeWindow(0, window(10, 0, 1'000'000));
  EXPECT_TRUE(without.cut(1.0, 0, nullptr, std::nullopt).probes.empty());

  WindowFeeder feeder(2, /*keep_latency=*/true);
  feeder.addProbeWindow(0, window(10, 1, 1'000'000));
  feeder.addProbeWindow(0, window(30, 3, 2'000'000));
  feeder.addProbeWindow(5, window(1, 1, 1));  // no such probe: ignored
  WindowSlice s = feeder.cut(1.0, 0, nullptr, std::nullopt);
  ASSERT_EQ(s.probes.size(), 2U) << "one per probe, in the plan's order";
  EXPECT_EQ(s.probes[0].completed, 40U);
  EXPECT_EQ(s.probes[0].errors.total(), 4U);
  EXPECT_EQ(s.probes[0].corrected.count(), 40U);
  EXPECT_EQ(s.probes[1].completed, 0U) << "a probe with no window this second";
  WindowSlice next = feeder.cut(2.0, 0, nullptr, std::nullopt);
  ASSERT_EQ(next.probes.size(), 2U);
  EXPECT_EQ(next.probes[0].completed, 0U) << "a window goes into one slice only";
}

TEST(WindowFeed, GcCpuIsTheNewestReadingsAndStaysUntilANewerOneComes) {
  constexpr std::int64_t kStartNs = 1'000'000'000'000;
  auto reading = [&](double t, double fraction, std::int64_t last_gc_after_start_ns) {
    MemStatsSample m;
    m.t_s = t;
    m.stats.num_gc = 3;
    m.stats.gc_cpu_fraction = fraction;
    m.stats.last_gc_unix_ns = static_cast<std::uint64_t>(kStartNs + last_gc_after_start_ns);
    return m;
  };
  WindowFeeder feeder(0, false);
  EXPECT_DOUBLE_EQ(feeder.newReadingsAfter(), 0.0);
  const std::vector<MemStatsSample> first = {reading(0.4, 0.01, 4'000'000'000), reading(0.9, 0.02, 5'000'000'000)};
  WindowSlice a = feeder.cut(1.0, 0, &first, kStartNs);
  ASSERT_TRUE(a.gc_cpu);
  EXPECT_DOUBLE_EQ(a.gc_cpu->first, 0.9);
  EXPECT_DOUBLE_EQ(a.gc_cpu->second, *gcCpuSeconds(first.back().stats, kStartNs));
  EXPECT_DOUBLE_EQ(feeder.newReadingsAfter(), 0.9 + 1e-6) << "the next readings are those after the newest seen";
  const std::vector<MemStatsSample> none;
  WindowSlice b = feeder.cut(2.0, 0, &none, kStartNs);
  ASSERT_TRUE(b.gc_cpu);
  EXPECT_DOUBLE_EQ(b.gc_cpu->first, 0.9) << "no new reading: the last one still holds";
  // Without pprof or the target's start, slices carry no GC figure at all.
  EXPECT_FALSE(feeder.cut(3.0, 0, nullptr, kStartNs).gc_cpu);
  EXPECT_FALSE(feeder.cut(4.0, 0, &first, std::nullopt).gc_cpu);
}

}  // namespace
}  // namespace memstrain
