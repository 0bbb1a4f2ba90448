// Whose OOM kill: the target cgroup's counter against stressor deaths, with the grace time.

#include "memstrain/executor/oom_attribution.hpp"

#include <gtest/gtest.h>

namespace memstrain {
namespace {

TEST(OomAttribution, TheFirstReadingIsTheBaselineAndNothingCountsBeforeTheFirstStage) {
  OomAttribution oom(/*stressor_in_target_cgroup=*/false);
  EXPECT_FALSE(oom.observe(0.0, 3, std::nullopt));  // three old kills: history, not this run
  EXPECT_FALSE(oom.observe(0.1, 4, std::nullopt));  // no stage yet
  EXPECT_FALSE(oom.observe(0.2, 4, 0));
  EXPECT_FALSE(oom.observe(10.0, 4, 0, /*final=*/true));
}

TEST(OomAttribution, AKillNoStressorDeathExplainsIsTheTargetsAfterTheGraceTime) {
  OomAttribution oom(/*stressor_in_target_cgroup=*/true, /*grace_s=*/0.5);
  oom.observe(0.0, 0, 0);
  EXPECT_FALSE(oom.observe(1.0, 1, 1)) << "waits for a stressor death to explain it";
  EXPECT_FALSE(oom.observe(1.25, 1, 1));
  auto kills = oom.observe(1.5, 1, 2);
  ASSERT_TRUE(kills);
  EXPECT_EQ(kills->count, 1U);
  EXPECT_DOUBLE_EQ(kills->since_s, 1.0) << "when it first showed";
  EXPECT_EQ(kills->stage, 1U) << "the stage it first showed in";
  EXPECT_FALSE(oom.observe(2.0, 1, 2)) << "counted once";
}

TEST(OomAttribution, InsideTheStressorsDeathExplainsOneKillInTheTargetsCounter) {
  OomAttribution oom(/*stressor_in_target_cgroup=*/true, /*grace_s=*/0.5);
  oom.observe(0.0, 0, 0);
  EXPECT_FALSE(oom.observe(1.0, 1, 0));  // the counter first...
  oom.stressorOomKilled();               // ...then the stressor is reaped
  EXPECT_FALSE(oom.observe(2.0, 1, 0));
  EXPECT_FALSE(oom.observe(3.0, 1, 0, /*final=*/true));
  // A stressor death seen first explains the next kill, and only one.
  oom.stressorOomKilled();
  auto kills = oom.observe(4.0, 3, 1);
  EXPECT_FALSE(kills);
  kills = oom.observe(4.5, 3, 1);
  ASSERT_TRUE(kills);
  EXPECT_EQ(kills->count, 1U);
  EXPECT_DOUBLE_EQ(kills->since_s, 4.0);
}

TEST(OomAttribution, BesideTheStressorsDeathsExplainNothingInTheTargetsCounter) {
  OomAttribution oom(/*stressor_in_target_cgroup=*/false, /*grace_s=*/0.5);
  oom.observe(0.0, 0, 0);
  oom.stressorOomKilled();
  EXPECT_FALSE(oom.observe(1.0, 1, 0));
  auto kills = oom.observe(1.6, 1, 0);
  ASSERT_TRUE(kills);
  EXPECT_EQ(kills->count, 1U);
}

TEST(OomAttribution, TheFinalReadingCountsWhatIsPendingAtOnce) {
  OomAttribution oom(/*stressor_in_target_cgroup=*/true, /*grace_s=*/0.5);
  oom.observe(0.0, 0, 0);
  auto kills = oom.observe(5.0, 2, 3, /*final=*/true);
  ASSERT_TRUE(kills);
  EXPECT_EQ(kills->count, 2U);
  EXPECT_EQ(kills->stage, 3U);
}

TEST(OomAttribution, ACounterThatGoesBackIsNoKillAndTheGraceIsAParameter) {
  OomAttribution oom(/*stressor_in_target_cgroup=*/false, /*grace_s=*/2.0);
  oom.observe(0.0, 5, 0);
  EXPECT_FALSE(oom.observe(1.0, 2, 0)) << "a new cgroup with a fresh counter";
  EXPECT_FALSE(oom.observe(2.0, 3, 0));
  EXPECT_FALSE(oom.observe(3.5, 3, 0));
  EXPECT_TRUE(oom.observe(4.0, 3, 0));
}

}  // namespace
}  // namespace memstrain
