// The stressor on a real memory cgroup (v1 here, v2 in `make test-cgroup2`'s guest): a 1 GiB spike, filled by parallel populate threads,
// reaches its level in the cgroup's own usage, and giving it back (a lower target, then quit)
// returns the memory. The cgroup is capped at 1.25 GiB (below the few GiB the team rules allow).

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
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
    auto fs = testing::realMemoryHierarchy();
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
  // The cgroup's anonymous memory (v1 total_rss, v2 anon): usage also holds the page cache of the memstrain
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

  // A stressor with a 1 GiB reservation and the parameter's populate threads, in the test's cgroup.
  void spawnStressor() {
    Stressor::Options o;
    o.self_exe = MEMSTRAIN_BINARY;
    o.reserve_bytes = kGiB;
    o.populate_threads = GetParam();
    auto s = Stressor::spawn(o, *editor_, rel_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    stressor_ = std::move(*s);
  }

  std::optional<CgroupFs> fs_;
  std::unique_ptr<CgroupEditor> editor_;
  std::string base_;
  std::string rel_;
  std::unique_ptr<Stressor> stressor_;
};

TEST_P(StressorFill, OneGibSpikeReachesTheLevelAndIsGivenBack) {
  ASSERT_NO_FATAL_FAILURE(spawnStressor());

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

  // Half back, then all back: MADV_DONTNEED hands the pages to the kernel at once. Judged against
  // what was held: the stressor's own memory besides the spike (thread stacks, page tables, the
  // heap; under ASan also its shadow and allocator caches, ~45 MiB) stays.
  ASSERT_TRUE(stressor_->setTarget(kGiB / 2).ok());
  ASSERT_TRUE(waitPopulated(kGiB / 2));
  EXPECT_LE(waitAnonAtMost(held - kGiB / 2 + 2 * kMiB), held - kGiB / 2 + 2 * kMiB);
  ASSERT_TRUE(stressor_->setTarget(0).ok());
  ASSERT_TRUE(waitPopulated(0));
  const std::uint64_t rest = waitAnonAtMost(held - kGiB + 2 * kMiB);
  EXPECT_LE(rest, held - kGiB + 2 * kMiB) << "all of the spike given back";
  EXPECT_LT(rest, 64 * kMiB) << "and the stressor itself is small";

  // And a second spike after the release fills again (the reservation is reused).
  ASSERT_TRUE(stressor_->setTarget(kGiB).ok());
  ASSERT_TRUE(waitPopulated(kGiB));
  const ExitInfo exit = stressor_->stop();
  EXPECT_TRUE(!exit.signaled && exit.code == 0) << exit.describe();
  EXPECT_LE(waitAnonAtMost(1 * kMiB), 1 * kMiB) << "a quit stressor leaves no anonymous memory charged";
}

// The controller hears of a fill while it runs, not once per step (a step is 64 MiB per thread):
// a 1 GiB spike sends many "P" reports, and what it reports is never far behind what the cgroup
// has charged. And a target of 0 sent mid-step is "drained" only once the stressor has read it and
// given everything back: a stale 0, or the count of a step still in flight, does not pass.
TEST_P(StressorFill, ProgressIsReportedDuringAStepAndDrainedWaitsForTheLastCommand) {
  ASSERT_NO_FATAL_FAILURE(spawnStressor());
  EXPECT_TRUE(stressor_->drained()) << "nothing asked, nothing held";
  // A first small fill and back, so that the stressor's own memory (its populate threads' stacks;
  // under ASan its shadow and allocator caches, ~45 MiB) is in the baseline the lag is judged from.
  ASSERT_TRUE(stressor_->setTarget(64 * kMiB).ok());
  ASSERT_TRUE(waitPopulated(64 * kMiB));
  ASSERT_TRUE(stressor_->setTarget(0).ok());
  ASSERT_TRUE(waitPopulated(0));
  const std::uint64_t base_anon = anon();

  ASSERT_TRUE(stressor_->setTarget(kGiB).ok());
  EXPECT_FALSE(stressor_->drained()) << "a target not yet read is not drained";
  std::uint64_t last = 0, distinct = 0;
  std::uint64_t worst_lag = 0;
  for (int i = 0; i < 300000 && last < kGiB; ++i) {
    const std::uint64_t a = anon();  // charged before the report is read: the report can only be ahead
    const std::uint64_t p = stressor_->pollPopulated();
    if (p != last) {
      ++distinct;
      last = p;
    }
    if (a != UINT64_MAX && a > base_anon + p) worst_lag = std::max(worst_lag, a - base_anon - p);
    if (stressor_->checkExited()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(last, kGiB);
  const std::uint64_t held = anon();
  const unsigned threads = std::max(1U, stressor_->populateThreads());
  // Reports only after each step (64 MiB per thread) would give at most this many figures; 8 MiB
  // pieces give up to 128.
  const std::uint64_t per_step_only = kGiB / (64 * kMiB * threads);
  EXPECT_GT(distinct, per_step_only) << "progress within steps";
  // A report lags the charge by what the threads faulted since the last ~1 ms report, plus the
  // time this poll took to get the CPU: at most a piece per thread (8 MiB) on a quiet machine; a
  // whole step (64 MiB per thread) would mean no progress reports at all.
  EXPECT_LT(worst_lag, threads * 64 * kMiB) << "charged ahead of the last report by " << worst_lag;

  // Down to 0, then at once up and down again: the stressor may be mid-step toward 512 MiB when
  // the last 0 is sent. drained() must wait until it has read that 0 and given back the step; a
  // figure of 0 it reported earlier (between the two commands) must not count.
  ASSERT_TRUE(stressor_->setTarget(0).ok());
  ASSERT_TRUE(stressor_->setTarget(kGiB / 2).ok());
  ASSERT_TRUE(stressor_->setTarget(0).ok());
  bool drained = false;
  for (int i = 0; i < 30000 && !drained; ++i) {
    stressor_->pollPopulated();
    drained = stressor_->drained();
    if (!drained) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(drained);
  // Final: no report of held pages comes after it.
  std::uint64_t later = 0;
  for (int i = 0; i < 30; ++i) {
    later = std::max(later, stressor_->pollPopulated());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(later, 0U) << "the stressor reported holding pages after drained()";
  // All of the spike is given back (the stressor's own memory, ~45 MiB under ASan, stays).
  EXPECT_LE(waitAnonAtMost(held - kGiB + 4 * kMiB), held - kGiB + 4 * kMiB);
}

// 0: sized from the cgroup's CPU quota and the affinity mask; 1 and 2: forced, so that both the
// single-thread and the parallel path run here whatever the host gives.
INSTANTIATE_TEST_SUITE_P(Threads, StressorFill, ::testing::Values(0U, 1U, 2U));

}  // namespace
}  // namespace memstrain
