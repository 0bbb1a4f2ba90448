// Memory PSI: host-wide /proc/pressure/memory read from a fixture proc root, a cgroup v2
// memory.pressure read from a fixture hierarchy, and the per-stage figures built from samples.

#include <gtest/gtest.h>

#include "memstrain/analysis/checks.hpp"
#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/proc/proc_pressure.hpp"
#include "support/fs_fixture.hpp"

namespace memstrain {
namespace {

using namespace memstrain::testing;

TEST(SystemPressure, ReadsProcPressureMemory) {
  FsFixture fx({dir("proc", {dir("pressure", {file("memory",
                                                   "some avg10=1.50 avg60=0.80 avg300=0.10 total=269823\n"
                                                   "full avg10=0.25 avg60=0.00 avg300=0.00 total=70813\n")})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  auto p = readSystemMemoryPressure(fx.path("proc"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_TRUE(p->has_value());
  EXPECT_DOUBLE_EQ((*p)->some.avg10, 1.5);
  EXPECT_EQ((*p)->some.total_us, 269823U);
  ASSERT_TRUE((*p)->full.has_value());
  EXPECT_EQ((*p)->full->total_us, 70813U);
}

TEST(SystemPressure, AbsentOnKernelsWithoutPsiAndAnErrorWhenGarbled) {
  FsFixture none({dir("proc", {dir("pressure", {file("cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")})})});
  ASSERT_TRUE(none.ok()) << none.error();
  auto p = readSystemMemoryPressure(none.path("proc"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->has_value());
  FsFixture bad({dir("proc", {dir("pressure", {file("memory", "some avg10=lots\n")})})});
  ASSERT_TRUE(bad.ok()) << bad.error();
  auto b = readSystemMemoryPressure(bad.path("proc"));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("pressure/memory"), std::string::npos) << b.error().message;
}

TEST(CgroupV2Pressure, SampledFromMemoryPressure) {
  FsFixture fx({dir("cg", {file("memory.current", "1048576\n"), file("memory.max", "max\n"),
                           file("memory.stat", "anon 4096\nfile 8192\ninactive_file 0\n"),
                           file("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
                           file("memory.pressure",
                                "some avg10=12.00 avg60=3.00 avg300=1.00 total=5000000\n"
                                "full avg10=4.00 avg60=1.00 avg300=0.00 total=2000000\n")})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.root(), CgroupVersion::kV2);
  auto s = fs.sample("/cg");
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(s->pressure.has_value());
  EXPECT_DOUBLE_EQ(s->pressure->some.avg10, 12.0);
  EXPECT_EQ(s->pressure->full->total_us, 2000000U);
}

Psi psi(double some10, std::uint64_t some_total, double full10, std::uint64_t full_total) {
  Psi p;
  p.some.avg10 = some10;
  p.some.total_us = some_total;
  p.full = PsiLine{};
  p.full->avg10 = full10;
  p.full->total_us = full_total;
  return p;
}

TEST(StagePsi, CgroupPsiWinsOverTheHostsAndTotalsBecomeStallTime) {
  std::vector<Sample> samples(3);
  samples[0].target_cgroup.pressure = psi(1.0, 1000000, 0.0, 500000);
  samples[1].target_cgroup.pressure = psi(20.0, 1800000, 5.0, 700000);
  samples[2].target_cgroup.pressure = psi(8.0, 2500000, 2.0, 900000);
  for (auto& s : samples) s.system_pressure = psi(90, 0, 90, 0);  // must be ignored
  std::vector<const Sample*> ptrs = {&samples[0], &samples[1], &samples[2]};
  auto p = stagePsi(ptrs);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->source, "cgroup");
  EXPECT_DOUBLE_EQ(p->some_avg10_max, 0.20);
  EXPECT_DOUBLE_EQ(*p->full_avg10_max, 0.05);
  EXPECT_DOUBLE_EQ(p->some_stall_s, 1.5);
  EXPECT_DOUBLE_EQ(*p->full_stall_s, 0.4);
}

TEST(StagePsi, HostPsiOnV1IsLabelledSystemAndFeedsTheMetrics) {
  std::vector<Sample> samples(2);
  samples[0].system_pressure = psi(0.5, 100, 0.1, 50);
  samples[1].system_pressure = psi(3.0, 300100, 1.0, 100050);
  std::vector<const Sample*> ptrs = {&samples[0], &samples[1]};
  StageStats st;
  st.psi = stagePsi(ptrs);
  ASSERT_TRUE(st.psi.has_value());
  EXPECT_EQ(st.psi->source, "system");
  EXPECT_DOUBLE_EQ(*metricValue("psi.some_avg10.max", "", st), 0.03);
  EXPECT_DOUBLE_EQ(*metricValue("psi.full_avg10.max", "", st), 0.01);
  EXPECT_DOUBLE_EQ(*metricValue("psi.some_stall", "", st), 0.3e9);  // 0.3 s in ns
  EXPECT_DOUBLE_EQ(*metricValue("psi.full_stall", "", st), 0.1e9);
  EXPECT_FALSE(stagePsi({}).has_value());
  StageStats none;
  EXPECT_FALSE(metricValue("psi.some_avg10.max", "", none).has_value());
}

}  // namespace
}  // namespace memstrain
