#include "memstrain/actuators/setpoint.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace memstrain {
namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t MiB = 1ULL << 20;

TEST(Setpoint, RampIsLinearAndClamped) {
  EXPECT_EQ(rampValue(100, 200, 0s, 10s), 100U);
  EXPECT_EQ(rampValue(100, 200, 5s, 10s), 150U);
  EXPECT_EQ(rampValue(100, 200, 10s, 10s), 200U);
  EXPECT_EQ(rampValue(100, 200, 20s, 10s), 200U);
  EXPECT_EQ(rampValue(200, 100, 5s, 10s), 150U);  // ramps down too
  EXPECT_EQ(rampValue(100, 200, 1s, 0s), 200U);   // no ramp: at once
}

TEST(Setpoint, RateRampMovesAtMostTheRateThenHolds) {
  EXPECT_EQ(rateValue(100 * MiB, 600 * MiB, 0s, 100 * MiB), 100 * MiB);
  EXPECT_EQ(rateValue(100 * MiB, 600 * MiB, 2s, 100 * MiB), 300 * MiB);
  EXPECT_EQ(rateValue(100 * MiB, 600 * MiB, 500ms, 100 * MiB), 150 * MiB);
  EXPECT_EQ(rateValue(100 * MiB, 600 * MiB, 5s, 100 * MiB), 600 * MiB);
  EXPECT_EQ(rateValue(100 * MiB, 600 * MiB, 60s, 100 * MiB), 600 * MiB);  // and stays there
  EXPECT_EQ(rateValue(600 * MiB, 100 * MiB, 1s, 100 * MiB), 500 * MiB);   // down too
  EXPECT_EQ(rateValue(600 * MiB, 100 * MiB, 10s, 100 * MiB), 100 * MiB);
  EXPECT_EQ(rateValue(100, 200, 1s, 0), 200U);  // no rate: at once
}

TEST(Setpoint, ClosedLoopCorrectsAFractionOfTheError) {
  ControlInput in{.usage_bytes = 300 * MiB,
                  .stressor_bytes = 100 * MiB,
                  .effective_limit_bytes = 1024 * MiB,
                  .safety_margin_bytes = 32 * MiB,
                  .allow_oom = false};
  PressureGoal goal{.usage_setpoint_bytes = 400 * MiB, .stressor_bytes = std::nullopt};
  EXPECT_EQ(nextStressorBytes(goal, in, {.gain = 1.0, .deadband_bytes = 0}), 200 * MiB);
  EXPECT_EQ(nextStressorBytes(goal, in, {.gain = 0.5, .deadband_bytes = 0}), 150 * MiB);
  // Above the setpoint the stressor shrinks, never below zero.
  in.usage_bytes = 700 * MiB;
  EXPECT_EQ(nextStressorBytes(goal, in, {.gain = 1.0, .deadband_bytes = 0}), 0U);
}

TEST(Setpoint, DeadbandLeavesSmallErrorsAlone) {
  ControlInput in{.usage_bytes = 400 * MiB + 1000,
                  .stressor_bytes = 100 * MiB,
                  .effective_limit_bytes = 1024 * MiB,
                  .safety_margin_bytes = 0,
                  .allow_oom = false};
  PressureGoal goal{.usage_setpoint_bytes = 400 * MiB, .stressor_bytes = std::nullopt};
  EXPECT_EQ(nextStressorBytes(goal, in), 100 * MiB);
}

TEST(Setpoint, NeverPastTheLimitMinusMarginUnlessAllowed) {
  ControlInput in{.usage_bytes = 600 * MiB,
                  .stressor_bytes = 200 * MiB,
                  .effective_limit_bytes = 1024 * MiB,
                  .safety_margin_bytes = 24 * MiB,
                  .allow_oom = false};
  PressureGoal open{.usage_setpoint_bytes = std::nullopt, .stressor_bytes = 2048 * MiB};
  // Others use 400 MiB; the ceiling is 1000 MiB; so the stressor gets at most 600 MiB.
  EXPECT_EQ(nextStressorBytes(open, in), 600 * MiB);
  in.allow_oom = true;
  EXPECT_EQ(nextStressorBytes(open, in), 2048 * MiB);
  // A target that alone is above the ceiling leaves the stressor nothing.
  in.allow_oom = false;
  in.usage_bytes = 1300 * MiB;  // others: 1100 MiB, above the 1000 MiB ceiling
  EXPECT_EQ(nextStressorBytes(open, in), 0U);
}

TEST(Setpoint, NoGoalMeansRelease) {
  ControlInput in{.usage_bytes = 600 * MiB,
                  .stressor_bytes = 200 * MiB,
                  .effective_limit_bytes = 1024 * MiB,
                  .safety_margin_bytes = 0,
                  .allow_oom = false};
  EXPECT_EQ(nextStressorBytes(PressureGoal{}, in), 0U);
}

// A simulated cgroup: the target's own usage moves up and down by 100 MiB every 2 s, the stressor
// reaches whatever it is told within one tick but at most 2 GiB/s. Mirrors the precision benchmark.
TEST(Setpoint, HoldsEightyPercentWhileTheTargetMoves) {
  const std::uint64_t limit = 1024 * MiB;
  const std::uint64_t margin = 32 * MiB;
  const std::uint64_t setpoint = limit * 8 / 10;
  const double tick_s = 0.05;
  const std::uint64_t max_step = static_cast<std::uint64_t>(2048.0 * MiB * tick_s);
  std::uint64_t stressor = 0;
  double err_sum = 0;
  double err_max = 0;
  int n = 0;
  std::uint64_t usage_max = 0;
  for (int i = 0; i < 1200; ++i) {  // 60 s
    const double t = i * tick_s;
    const std::uint64_t target = 150 * MiB + ((static_cast<int>(t / 2.0) % 2) ? 100 * MiB : 0);
    const std::uint64_t usage = target + stressor;
    usage_max = std::max(usage_max, usage);
    if (t >= 1.0) {
      const double e = std::fabs(static_cast<double>(usage) - static_cast<double>(setpoint));
      err_sum += e;
      err_max = std::max(err_max, e);
      ++n;
    }
    ControlInput in{.usage_bytes = usage,
                    .stressor_bytes = stressor,
                    .effective_limit_bytes = limit,
                    .safety_margin_bytes = margin,
                    .allow_oom = false};
    const std::uint64_t want = nextStressorBytes({.usage_setpoint_bytes = setpoint, .stressor_bytes = std::nullopt}, in);
    stressor = want > stressor ? std::min(want, stressor + max_step) : want;
  }
  const double mean_err_fraction = err_sum / n / static_cast<double>(limit);
  EXPECT_LT(mean_err_fraction, 0.01) << "mean abs error " << mean_err_fraction * 100 << "% of the limit";
  EXPECT_LE(usage_max, limit - margin);
  EXPECT_LE(err_max, 100.0 * MiB + 1);  // a step of the target is corrected within a few ticks
}

}  // namespace
}  // namespace memstrain
