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
    if (fs_) {
      EXPECT_TRUE(testing::removeCgroupTree(fs_->mount() + base_)) << base_ << " was left behind";
    }
  }

  // Polls until the stressor reports `bytes` populated or has been waiting 5 min (a busy CI box:
  // at load 20 on 2 cores a 2 GiB populate was seen to take minutes).
  bool waitPopulated(std::uint64_t bytes) {
    for (int i = 0; i < 30000; ++i) {
      if (stressor_->pollPopulated() == bytes) return true;
      if (stressor_->checkExited()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // The cgroup's anonymous memory (v1 total_rss): usage also holds the page cache of the memstrain
  // binary the stressor ran from, which stays charged after it exits.
  std::uint64_t anon() const {
    auto s = fs_->sample(rel_);
    return s ? s->stat.anon_bytes : UINT64_MAX;
  }
  // Polls until the cgroup's anonymous memory is at most `bytes` (uncharging may lag a moment).
  std::uint64_t waitAnonAtMost(std::uint64_t bytes) {
    std::uint64_t a = UINT64_MAX;
    for (int i = 0; i < 3000; ++i) {
      a = anon();
      if (a <= bytes) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return a;
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
  EXPECT_GE(*usage, kGiB) << "the cgroup's usage holds the spike";
  const std::uint64_t held = anon();
  EXPECT_GE(held, kGiB) << "as anonymous memory";
  EXPECT_LT(held, kGiB + 32 * kMiB) << "and not much more (thread stacks, page tables, the heap)";

  // Half back, then all back: MADV_DONTNEED hands the pages to the kernel at once.
  ASSERT_TRUE(stressor_->setTarget(kGiB / 2).ok());
  ASSERT_TRUE(waitPopulated(kGiB / 2));
  EXPECT_LE(waitAnonAtMost(kGiB / 2 + 32 * kMiB), kGiB / 2 + 32 * kMiB);
  ASSERT_TRUE(stressor_->setTarget(0).ok());
  ASSERT_TRUE(waitPopulated(0));
  EXPECT_LE(waitAnonAtMost(32 * kMiB), 32 * kMiB);

  // And a second spike after the release fills again (the reservation is reused).
  ASSERT_TRUE(stressor_->setTarget(kGiB).ok());
  ASSERT_TRUE(waitPopulated(kGiB));
  const ExitInfo exit = stressor_->stop();
  EXPECT_TRUE(!exit.signaled && exit.code == 0) << exit.describe();
  EXPECT_LE(waitAnonAtMost(1 * kMiB), 1 * kMiB) << "a quit stressor leaves no anonymous memory charged";
}

// 0: sized from the cgroup's CPU quota and the affinity mask; 1 and 2: forced, so that both the
// single-thread and the parallel path run here whatever the host gives.
INSTANTIATE_TEST_SUITE_P(Threads, StressorFill, ::testing::Values(0U, 1U, 2U));

}  // namespace
}  // namespace memstrain
