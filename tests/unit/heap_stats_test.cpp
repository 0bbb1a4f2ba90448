#include "memstrain/analysis/heap_stats.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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
