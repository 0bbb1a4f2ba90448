// CPU quota parsing and the walk over a cgroup's ancestors, on literal text and fixture trees.

#include "memstrain/cgroup/cpu_allowance.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "support/fs_fixture.hpp"

namespace memstrain {
namespace {

using namespace memstrain::testing;

TEST(CpuAllowance, ParsesV2CpuMax) {
  EXPECT_FALSE(parseCpuMax("max 100000\n")->has_value());
  EXPECT_DOUBLE_EQ(**parseCpuMax("150000 100000\n"), 1.5);
  EXPECT_DOUBLE_EQ(**parseCpuMax("50000 100000"), 0.5);
  EXPECT_FALSE(parseCpuMax("").ok());
  EXPECT_FALSE(parseCpuMax("150000").ok());
  EXPECT_FALSE(parseCpuMax("lots 100000").ok());
  EXPECT_FALSE(parseCpuMax("150000 0").ok());
}

TEST(CpuAllowance, ParsesV1CfsQuota) {
  EXPECT_FALSE(parseCfsQuota("-1\n", "100000\n")->has_value());
  EXPECT_DOUBLE_EQ(**parseCfsQuota("200000\n", "100000\n"), 2.0);
  EXPECT_FALSE(parseCfsQuota("x", "100000").ok());
  EXPECT_FALSE(parseCfsQuota("100000", "").ok());
}

TEST(CpuAllowance, ThreadsAreTheQuotaRoundedUpCappedByCpus) {
  EXPECT_EQ(usableThreads(std::nullopt, 2), 2U);
  EXPECT_EQ(usableThreads(1.5, 8), 2U);
  EXPECT_EQ(usableThreads(0.5, 8), 1U);
  EXPECT_EQ(usableThreads(16.0, 4), 4U);
  EXPECT_EQ(usableThreads(std::nullopt, 0), 1U);
  EXPECT_GE(affinityCpus(), 1U);
}

// A v1 host: the cpu hierarchy at /cpu, our cgroup /pods/a/app; the pod level (/pods/a) has the
// smallest quota, the top (/pods) a larger one, the leaf none.
TEST(CpuAllowance, V1TakesTheSmallestQuotaOnTheWayUp) {
  FsFixture fx(
      {dir("cpu", {file("cpu.cfs_quota_us", "-1\n"), file("cpu.cfs_period_us", "100000\n"),
                   dir("pods", {file("cpu.cfs_quota_us", "400000\n"), file("cpu.cfs_period_us", "100000\n"),
                                dir("a", {file("cpu.cfs_quota_us", "150000\n"), file("cpu.cfs_period_us", "100000\n"),
                                          dir("app", {file("cpu.cfs_quota_us", "-1\n"), file("cpu.cfs_period_us", "100000\n")})})})}),
       dir("proc", {dir("42", {file("cgroup", "4:memory:/elsewhere\n3:cpu,cpuacct:/pods/a/app\n0::/\n")})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  ASSERT_TRUE(
      fx.add("", file("mountinfo", "30 25 0:26 / " + fx.path("cpu") + " rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n")).ok());
  auto q = cgroupCpuQuota(42, fx.path("proc"), fx.path("mountinfo"));
  ASSERT_TRUE(q.has_value());
  EXPECT_DOUBLE_EQ(*q, 1.5);
}

TEST(CpuAllowance, V2ReadsCpuMaxAndNoneMeansNoQuota) {
  FsFixture fx({dir("cg", {dir("kubepods", {file("cpu.max", "max 100000\n"), dir("pod", {file("cpu.max", "250000 100000\n")})}),
                           dir("free", {file("cpu.max", "max 100000\n")})}),
                dir("proc", {dir("7", {file("cgroup", "0::/kubepods/pod\n")}), dir("8", {file("cgroup", "0::/free\n")})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  ASSERT_TRUE(fx.add("", file("mountinfo", "31 25 0:27 / " + fx.path("cg") + " rw,relatime shared:9 - cgroup2 cgroup2 rw\n")).ok());
  auto q = cgroupCpuQuota(7, fx.path("proc"), fx.path("mountinfo"));
  ASSERT_TRUE(q.has_value());
  EXPECT_DOUBLE_EQ(*q, 2.5);
  EXPECT_FALSE(cgroupCpuQuota(8, fx.path("proc"), fx.path("mountinfo")).has_value());
  EXPECT_FALSE(cgroupCpuQuota(9, fx.path("proc"), fx.path("mountinfo")).has_value()) << "a pid that is gone has no quota to size for";
}

}  // namespace
}  // namespace memstrain
