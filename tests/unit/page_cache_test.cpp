// The target cgroup's page cache per stage: file bytes, major faults and file refaults from the
// samples' memory.stat counters, and the check metrics built on them.

#include <gtest/gtest.h>

#include "memstrain/analysis/checks.hpp"
#include "memstrain/analysis/stage_stats.hpp"

namespace memstrain {
namespace {

TEST(StagePageCache, FileBytesSummaryAndCounterRatesFeedTheMetrics) {
  std::vector<Sample> samples(3);
  const std::uint64_t file[] = {128u << 20, 60u << 20, 47u << 20};
  const std::uint64_t majflt[] = {100, 2100, 5100};
  const std::uint64_t refault[] = {0, 4000, 10000};
  for (int i = 0; i < 3; ++i) {
    samples[i].t_s = 10.0 + 2.5 * i;
    samples[i].target_cgroup.stat.file_bytes = file[i];
    samples[i].target_cgroup.stat.major_faults = majflt[i];
    samples[i].target_cgroup.stat.refaults_file = refault[i];
  }
  std::vector<const Sample*> ptrs = {&samples[0], &samples[1], &samples[2]};
  StageStats st;
  st.page_cache = stagePageCache(ptrs);
  ASSERT_TRUE(st.page_cache.has_value());
  EXPECT_DOUBLE_EQ(st.page_cache->file_bytes.min, 47.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(st.page_cache->file_bytes.max, 128.0 * (1 << 20));
  EXPECT_EQ(st.page_cache->major_faults, std::optional<std::uint64_t>(5000));
  EXPECT_DOUBLE_EQ(*st.page_cache->major_faults_per_s, 1000.0);  // 5000 over 5 s
  EXPECT_EQ(st.page_cache->refaults, std::optional<std::uint64_t>(10000));
  EXPECT_DOUBLE_EQ(*st.page_cache->refaults_per_s, 2000.0);
  EXPECT_DOUBLE_EQ(*metricValue("cgroup.file.min", "", st), 47.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(*metricValue("cgroup.major_faults.rate", "", st), 1000.0);
  EXPECT_DOUBLE_EQ(*metricValue("cgroup.refaults.rate", "", st), 2000.0);
}

TEST(StagePageCache, MissingCountersOneSampleAndResetsGiveNoRateOrZero) {
  std::vector<Sample> samples(2);
  samples[0].t_s = 1;
  samples[1].t_s = 2;
  samples[0].target_cgroup.stat.major_faults = 500;  // a counter that went down: a different file
  samples[1].target_cgroup.stat.major_faults = 20;
  std::vector<const Sample*> ptrs = {&samples[0], &samples[1]};
  StageStats st;
  st.page_cache = stagePageCache(ptrs);
  ASSERT_TRUE(st.page_cache.has_value());
  EXPECT_EQ(st.page_cache->major_faults, std::optional<std::uint64_t>(0));
  EXPECT_FALSE(st.page_cache->refaults.has_value());
  EXPECT_FALSE(metricValue("cgroup.refaults.rate", "", st).has_value());
  // One sample: counts of 0 over no time, so no rate.
  auto one = stagePageCache({&samples[1]});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->major_faults, std::optional<std::uint64_t>(0));
  EXPECT_FALSE(one->major_faults_per_s.has_value());
  EXPECT_FALSE(stagePageCache({}).has_value());
  StageStats none;
  EXPECT_FALSE(metricValue("cgroup.file.min", "", none).has_value());
}

}  // namespace
}  // namespace memstrain
