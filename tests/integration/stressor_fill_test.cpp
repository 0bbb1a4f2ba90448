// The stressor on a real v1 memory cgroup: a 1 GiB spike, filled by parallel populate threads,
// reaches its level in the cgroup's own usage, and giving it back (a lower target, then quit)
// returns the memory. The cgroup is capped at 1.25 GiB (below the few GiB the team rules allow).

#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "memstrain/actuators/stressor.hpp"
#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/cgroup/cpu_allowance.hpp"
#include "support/real_cgroup.hpp"

namespace memstrain {
namespace {

constexpr std::uint64_t kMiB = 1ULL << 20;
constexpr std::uint64_t kGiB = 1ULL << 30;

class StressorFill : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    auto fs = testing::realV1MemoryHierarchy();
    if (!fs.ok()) GTEST_SKIP() << fs.error().message;
    fs_.emplace(*fs);
    editor_ = makeDirectEditor(*fs_);
    base_ = testing::testCgroupBase();
    rel_ = base_ + "/stressor-fill-" + std::to_string(GetParam());
    ASSERT_TRUE(editor_->create(rel_).ok());
    ASSERT_TRUE(editor_->setLimit(rel_, kGiB + kGiB / 4).ok());
  }
  void TearDown() override {
    stressor_.reset();  // quits (or kills) the stressor before its cgroup goes
    if (fs_) EXPECT_TRUE(testing::removeCgroupTree(fs_->mount() + base_)) << base_ << " was left behind";
  }

  // Polls until the stressor reports `bytes` populated or has been waiting 60 s (a busy CI box).
  bool waitPopulated(std::uint64_t bytes) {
    for (int i = 0; i < 6000; ++i) {
      if (stressor_->pollPopulated() == bytes) return true;
      if (stressor_->checkExited()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // Polls until the cgroup's usage is at most `bytes` (the kernel uncharges freed pages lazily).
  std::uint64_t waitUsageAtMost(std::uint64_t bytes) {
    std::uint64_t u = UINT64_MAX;
    for (int i = 0; i < 500; ++i) {
      if (auto now = fs_->usage(rel_)) u = *now;
      if (u <= bytes) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return u;
  }

  std::optional<CgroupFs> fs_;
  std::unique_ptr<CgroupEditor> editor_;
  std::string base_;
  std::string rel_;
  std::unique_ptr<Stressor> stressor_;
};

TEST_P(StressorFill, OneGibSpikeReachesTheLevelAndIsGivenBack) {
  Stressor::Options o;
  o.self_exe = MEMSTRAIN_BINARY;
  o.reserve_bytes = kGiB;
  o.populate_threads = GetParam();
  auto s = Stressor::spawn(o, *editor_, rel_);
  ASSERT_TRUE(s.ok()) << s.error().message;
  stressor_ = std::move(*s);

  ASSERT_TRUE(stressor_->setTarget(kGiB).ok());
  ASSERT_TRUE(waitPopulated(kGiB)) << "populated " << stressor_->populatedBytes() << ", errno " << stressor_->lastPopulateErrno();
  const unsigned want_threads = GetParam() > 0 ? GetParam() : usableThreads(cgroupCpuQuota(stressor_->pid()), affinityCpus());
  EXPECT_EQ(stressor_->populateThreads(), want_threads);
  EXPECT_EQ(stressor_->lastPopulateErrno(), 0);
  auto usage = fs_->usage(rel_);
  ASSERT_TRUE(usage.ok()) << usage.error().message;
  EXPECT_GE(*usage, kGiB) << "the cgroup holds the spike";
  EXPECT_LT(*usage, kGiB + 64 * kMiB) << "and not much more (page tables, the binary)";

  // Half back, then all back: MADV_DONTNEED hands the pages to the kernel at once.
  ASSERT_TRUE(stressor_->setTarget(kGiB / 2).ok());
  ASSERT_TRUE(waitPopulated(kGiB / 2));
  EXPECT_LE(waitUsageAtMost(kGiB / 2 + 64 * kMiB), kGiB / 2 + 64 * kMiB);
  ASSERT_TRUE(stressor_->setTarget(0).ok());
  ASSERT_TRUE(waitPopulated(0));
  EXPECT_LE(waitUsageAtMost(64 * kMiB), 64 * kMiB);

  // And a second spike after the release fills again (the reservation is reused).
  ASSERT_TRUE(stressor_->setTarget(kGiB).ok());
  ASSERT_TRUE(waitPopulated(kGiB));
  const ExitInfo exit = stressor_->stop();
  EXPECT_TRUE(!exit.signaled && exit.code == 0) << exit.describe();
  EXPECT_LE(waitUsageAtMost(16 * kMiB), 16 * kMiB) << "a quit stressor leaves nothing charged";
}

// 0: sized from the cgroup's CPU quota and the affinity mask; 1 and 2: forced, so that both the
// single-thread and the parallel path run here whatever the host gives.
INSTANTIATE_TEST_SUITE_P(Threads, StressorFill, ::testing::Values(0U, 1U, 2U));

}  // namespace
}  // namespace memstrain
