#include "memstrain/analysis/heap_stats.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "profile.pb.h"
#include "support/gzip.hpp"

namespace memstrain {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
// The process started at Unix second 1000; the run clock (t_s) starts at Unix second 1010.
constexpr std::int64_t kStart = 1000 * kSecond;

// A reading at run time `t_s` whose runtime reports `num_gc` GCs, the last ending at run time
// `last_gc_t_s`, with a lifetime GC share of `fraction`.
MemStatsSample reading(std::size_t stage, double t_s, std::uint64_t objects, std::uint64_t num_gc, double last_gc_t_s, double fraction) {
  MemStatsSample r;
  r.stage = stage;
  r.t_s = t_s;
  r.stats.heap_objects = objects;
  r.stats.num_gc = num_gc;
  r.stats.gc_cpu_fraction = fraction;
  r.stats.last_gc_unix_ns = num_gc ? static_cast<std::uint64_t>(kStart + static_cast<std::int64_t>((10 + last_gc_t_s) * 1e9)) : 0;
  return r;
}

TEST(GcCpuSeconds, IsTheLifetimeShareTimesTheUptimeAtTheLastGc) {
  GoMemStats s;
  s.num_gc = 3;
  s.gc_cpu_fraction = 0.02;
  s.last_gc_unix_ns = static_cast<std::uint64_t>(kStart + 50 * kSecond);
  ASSERT_TRUE(gcCpuSeconds(s, kStart).has_value());
  EXPECT_DOUBLE_EQ(*gcCpuSeconds(s, kStart), 1.0);  // 2% of 50 s
  s.num_gc = 0;
  s.last_gc_unix_ns = 0;
  EXPECT_EQ(gcCpuSeconds(s, kStart), 0.0) << "no GC yet, no GC time";
  s.last_gc_unix_ns.reset();
  EXPECT_FALSE(gcCpuSeconds(s, kStart).has_value()) << "a page without LastGC";
  s.num_gc = 1;
  s.last_gc_unix_ns = static_cast<std::uint64_t>(kStart - kSecond);
  EXPECT_FALSE(gcCpuSeconds(s, kStart).has_value()) << "a GC before the process started: the clocks disagree";
}

TEST(AnalyzeHeap, ObjectsGcCyclesAndGcShareAreCountedPerStage) {
  // Stage 0 (10 s): one GC at t=5 with a lifetime share of 1% → 0.15 s of GC by then.
  // Stage 1 (10 s): GCs until t=19, lifetime share 10% → 2.9 s of GC: 2.75 s in 10 s = 27.5%.
  // Stage 2: no GC; the same LastGC and share → 0%.
  const std::vector<MemStatsSample> readings = {
      reading(0, 0.0, 1000, 0, 0, 0.0),        reading(0, 10.0, 1100, 1, 5.0, 0.01),    reading(1, 15.0, 9000, 40, 14.0, 0.08),
      reading(1, 20.0, 21000, 90, 19.0, 0.10), reading(2, 25.0, 21000, 90, 19.0, 0.10), reading(2, 30.0, 21000, 90, 19.0, 0.10),
  };
  auto h = analyzeHeap(readings, {}, 4, kStart);
  ASSERT_EQ(h.size(), 4U);
  EXPECT_EQ(h[0].samples, 2U);
  EXPECT_EQ(h[0].objects_delta, 100);
  EXPECT_EQ(h[1].objects_delta, 12000);
  ASSERT_TRUE(h[1].objects_slope_per_s.has_value());
  EXPECT_DOUBLE_EQ(*h[1].objects_slope_per_s, 2400.0);
  EXPECT_EQ(h[0].gc_cycles, 1U);
  EXPECT_EQ(h[1].gc_cycles, 89U) << "from the last reading of stage 0";
  EXPECT_EQ(h[2].gc_cycles, 0U);

  ASSERT_TRUE(h[0].gc_cpu_fraction.has_value());
  EXPECT_NEAR(*h[0].gc_cpu_fraction, 0.015, 1e-9);  // 0.15 s over 10 s
  ASSERT_TRUE(h[1].gc_cpu_fraction.has_value());
  EXPECT_NEAR(*h[1].gc_cpu_fraction, (0.10 * 29 - 0.01 * 15) / 10.0, 1e-9);
  ASSERT_TRUE(h[2].gc_cpu_fraction.has_value());
  EXPECT_NEAR(*h[2].gc_cpu_fraction, 0.0, 1e-12);
  EXPECT_EQ(h[3].samples, 0U);
  EXPECT_FALSE(h[3].gc_cpu_fraction.has_value()) << "no readings, no share";
}

TEST(AnalyzeHeap, NoGcShareWithoutTheProcessStartOrLastGc) {
  std::vector<MemStatsSample> readings = {reading(0, 0.0, 10, 1, 0.0, 0.01), reading(0, 5.0, 10, 2, 4.0, 0.02)};
  auto without_start = analyzeHeap(readings, {}, 1);
  EXPECT_EQ(without_start[0].gc_cycles, 1U);
  EXPECT_FALSE(without_start[0].gc_cpu_fraction.has_value());
  for (auto& r : readings) r.stats.last_gc_unix_ns.reset();
  EXPECT_FALSE(analyzeHeap(readings, {}, 1, kStart)[0].gc_cpu_fraction.has_value());
}

TEST(AnalyzeHeap, ShareStaysWithinZeroAndOne) {
  // A share that falls (a restarted counter, a skewed clock) reads 0, and one above the whole CPU 1.
  std::vector<MemStatsSample> falling = {reading(0, 0.0, 10, 5, 0.0, 0.5), reading(0, 5.0, 10, 6, 4.0, 0.01)};
  EXPECT_DOUBLE_EQ(*analyzeHeap(falling, {}, 1, kStart)[0].gc_cpu_fraction, 0.0);
  std::vector<MemStatsSample> rising = {reading(0, 0.0, 10, 5, 0.0, 0.0), reading(0, 1.0, 10, 6, 1.0, 0.9)};
  EXPECT_DOUBLE_EQ(*analyzeHeap(rising, {}, 1, kStart)[0].gc_cpu_fraction, 1.0);
}

TEST(AnalyzeHeap, PprofErrorsAreCountedInTheirStage) {
  std::vector<PprofFailure> failures(3);
  failures[2].stage = 1;
  auto h = analyzeHeap({}, failures, 2);
  EXPECT_EQ(h[0].pprof_errors, 2U);
  EXPECT_EQ(h[1].pprof_errors, 1U);
  EXPECT_FALSE(h[0].gc_cycles.has_value());
}

// --- live heap: slope with its interval -------------------------------------------------------

TEST(SlopeWithInterval, TooFewPointsGiveNoRate) {
  EXPECT_FALSE(slopeWithInterval({}).has_value());
  EXPECT_FALSE(slopeWithInterval({{0, 1}}).has_value());
  EXPECT_FALSE(slopeWithInterval({{0, 1}, {1, 3}}).has_value()) << "two points: a slope, but no error to state";
  EXPECT_FALSE(slopeWithInterval({{2, 1}, {2, 3}, {2, 5}}).has_value()) << "one distinct time";
}

TEST(SlopeWithInterval, ExactLineHasZeroWidth) {
  auto e = slopeWithInterval({{0, 100}, {1, 300}, {2, 500}, {3, 700}});
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->slope, 200);
  EXPECT_NEAR(e->half_width, 0, 1e-9);
  EXPECT_EQ(e->points, 4U);
}

TEST(SlopeWithInterval, MatchesTheTextbookInterval) {
  // y = 10 + 2x with residuals +1, -1, -1, +1 at x = 0..3: Sxx = 5, RSS = 4, slope 2,
  // SE = sqrt(4 / 2 / 5) = 0.632456, t(0.975, 2) = 4.303, half width 2.72145.
  auto e = slopeWithInterval({{0, 11}, {1, 11}, {2, 13}, {3, 17}});
  ASSERT_TRUE(e.has_value());
  EXPECT_NEAR(e->slope, 2.0, 1e-12);
  EXPECT_NEAR(e->half_width, 4.303 * std::sqrt(4.0 / 2 / 5), 1e-9);
  EXPECT_DOUBLE_EQ(e->confidence, 0.95);
}

TEST(StudentT, TableAndExpansionAgree) {
  EXPECT_DOUBLE_EQ(studentTQuantile(0.95, 1), 12.706);
  EXPECT_DOUBLE_EQ(studentTQuantile(0.95, 30), 2.042);
  EXPECT_NEAR(studentTQuantile(0.95, 31), 2.0395, 1e-3);
  EXPECT_NEAR(studentTQuantile(0.95, 60), 2.0003, 1e-3);
  EXPECT_NEAR(studentTQuantile(0.95, 1000000), 1.95996, 1e-4);
  EXPECT_NEAR(studentTQuantile(0.90, 20), 1.7247, 2e-3);
  EXPECT_TRUE(std::isnan(studentTQuantile(0.95, 0)));
}

TEST(SlopeWithInterval, CoversTheTrueRateAboutNineteenTimesInTwenty) {
  // 2000 synthetic stages, 10 readings each, rate 500/s plus Gaussian noise (sd 300 objects):
  // the 95% interval should cover 500/s in 95% ± 1.5% of them.
  std::mt19937_64 rng(22);
  std::normal_distribution<double> noise(0.0, 300.0);
  int covered = 0;
  constexpr int kStages = 2000;
  for (int k = 0; k < kStages; ++k) {
    std::vector<std::pair<double, double>> pts;
    for (int i = 0; i < 10; ++i) pts.emplace_back(0.5 * i, 20000 + 500 * 0.5 * i + noise(rng));
    auto e = slopeWithInterval(pts);
    ASSERT_TRUE(e.has_value());
    covered += std::abs(e->slope - 500) <= e->half_width;
  }
  EXPECT_NEAR(covered / static_cast<double>(kStages), 0.95, 0.015);
}

LiveHeapReading live(double t, std::size_t stage, const char* kind, std::uint64_t objects) {
  return LiveHeapReading{t, stage, kind, objects, objects * 64, 3, 2.0};
}

TEST(AnalyzeLiveHeap, BoundariesSplitStagesAndIntervalsGiveTheSlope) {
  std::vector<LiveHeapReading> r = {live(0.0, 0, "start", 1000),      live(3.01, 0, "stage_end", 1010),
                                    live(4.0, 1, "interval", 3010),   live(5.0, 1, "interval", 5010),
                                    live(6.0, 1, "interval", 7010),   live(6.9, 2, "interval", 8810),  // after the end, tagged late
                                    live(6.02, 1, "stage_end", 7050), live(9.0, 2, "stage_end", 7040)};
  std::vector<StageHeapStats> h(3);
  analyzeLiveHeap(r, h);
  EXPECT_EQ(h[0].live_objects_start, 1000U);
  EXPECT_EQ(h[0].live_objects_delta, 10);
  EXPECT_EQ(h[0].live_bytes_delta, 640);
  EXPECT_EQ(h[0].live_readings, 2U);
  EXPECT_FALSE(h[0].live_objects_slope.has_value()) << "two readings: no rate";
  EXPECT_EQ(h[1].live_objects_start, 1010U);
  EXPECT_EQ(h[1].live_objects_delta, 6040);
  EXPECT_EQ(h[1].live_readings, 5U) << "start, three intervals, end; not the late one";
  ASSERT_TRUE(h[1].live_objects_slope.has_value());
  EXPECT_NEAR(h[1].live_objects_slope->slope, 2000, 30);
  EXPECT_EQ(h[2].live_readings, 3U) << "the interval reading after stage 1's end belongs to stage 2";
  EXPECT_EQ(h[2].live_objects_delta, -10);
  EXPECT_NE(retentionSentence(h[1]).find("retaining 2,0"), std::string::npos) << retentionSentence(h[1]);
  EXPECT_EQ(retentionSentence(h[0]), "");
}

TEST(AnalyzeLiveHeap, MissingBoundariesLeaveNoDelta) {
  std::vector<StageHeapStats> h(2);
  analyzeLiveHeap({live(1.0, 0, "stage_end", 500)}, h);
  EXPECT_FALSE(h[0].live_objects_delta.has_value()) << "no start reading";
  EXPECT_EQ(h[0].live_objects_end, 500U);
  EXPECT_EQ(h[1].live_objects_start, 500U);
  EXPECT_FALSE(h[1].live_objects_delta.has_value());
}

TEST(RetentionSentence, SaysWhenTheIntervalCoversZero) {
  StageHeapStats h;
  h.live_objects_slope = SlopeEstimate{12.4, 310.0, 0.95, 9};
  EXPECT_EQ(retentionSentence(h), "no retention beyond the noise: 12 objects/s ± 310 (95%, 9 live readings)");
  h.live_objects_slope = SlopeEstimate{19870, 420, 0.95, 9};
  EXPECT_EQ(retentionSentence(h), "retaining 19,870 objects/s ± 420 (95%, 9 live readings)");
}

}  // namespace
}  // namespace memstrain

namespace memstrain {
namespace {

namespace pb = perftools::profiles;

// A gzipped heap profile of one function holding `objects`, padded with `padding` bytes of string
// table (which gzip shrinks to almost nothing).
std::string heapProfileFile(std::int64_t objects, std::size_t padding) {
  pb::Profile p;
  for (const char* s : {"", "inuse_objects", "count", "inuse_space", "bytes", "main.leak"}) p.add_string_table(s);
  p.add_string_table(std::string(padding, 'p'));
  for (int t : {1, 3}) {
    auto* vt = p.add_sample_type();
    vt->set_type(t);
    vt->set_unit(t + 1);
  }
  auto* f = p.add_function();
  f->set_id(1);
  f->set_name(5);
  auto* l = p.add_location();
  l->set_id(1);
  l->add_line()->set_function_id(1);
  auto* s = p.add_sample();
  s->add_location_id(1);
  s->add_value(objects);
  s->add_value(objects * 64);
  return memstrain::testing::gzip(p.SerializeAsString());
}

// Issue 15, item 3: the post-run diff read every stage-end profile into memory, ignoring the
// plan's pprof caps.
TEST(HeapDiff, ReadsProfilesWithinThePlansCaps) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / ("memstrain-heapdiff-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::vector<ProfileSnapshot> snaps;
  const std::vector<std::string> names = {"baseline", "hold", "release"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string path = (dir / (names[i] + ".pb.gz")).string();
    std::ofstream(path) << heapProfileFile(10 + 100 * static_cast<std::int64_t>(i == 1), i == 2 ? (4 << 20) : 0);
    snaps.push_back({1.0 * static_cast<double>(i), i, "stage_end", path});
  }
  // The release profile decompresses to 4 MiB: over a 1 MiB cap the diff says so instead.
  auto capped = diffBaselineToLargest(snaps, names, 10, PprofLimits{1 << 20, 1 << 20});
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.error().message.find("release.pb.gz"), std::string::npos) << capped.error().message;
  EXPECT_NE(capped.error().message.find("exceeds the cap of 1048576 bytes"), std::string::npos) << capped.error().message;
  auto d = diffBaselineToLargest(snaps, names, 10);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->base_stage, "baseline");
  EXPECT_EQ(d->stage, "hold");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace memstrain
