// The release phase as a state machine on a fake clock: what is due when, and what it waits for.

#include "memstrain/executor/release_phase.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "support/fake_clock.hpp"

namespace memstrain {
namespace {

using namespace std::chrono_literals;
using Due = ReleasePhase::Due;
using State = ReleasePhase::State;
using testing::FakeClock;

ReleaseSpec httpTrigger(std::chrono::nanoseconds at, std::chrono::nanoseconds within) {
  ReleaseSpec spec;
  ReleaseTrigger t;
  t.kind = ReleaseTrigger::Kind::kHttp;
  t.url = "http://127.0.0.1:6060/debug/free";
  t.at = at;
  spec.trigger = t;
  spec.within = within;
  return spec;
}

constexpr ReleasePhase::Readings kReady{true, true};

TEST(ReleasePhase, TheBeforeWaitsForAMemStatsReadingAndADrainedStressor) {
  FakeClock clock;
  ReleasePhase phase(httpTrigger(500ms, 10s), clock.now(), 20s, 2s);
  EXPECT_TRUE(phase.waitingForBefore());
  EXPECT_EQ(phase.due(clock.now(), {false, true}), Due::kNothing) << "no runtime reading of this stage yet";
  EXPECT_EQ(phase.due(clock.now(), {true, false}), Due::kNothing) << "the stressor still gives its pages back";
  EXPECT_EQ(phase.wakeBy(), std::nullopt) << "it waits on readings, not on a time";
  EXPECT_EQ(phase.due(clock.now(), kReady), Due::kOpenWindow);
  phase.windowOpened();
  EXPECT_EQ(phase.state(), State::kArmed);
  EXPECT_FALSE(phase.waitingForBefore()) << "the stage's actions may go now";
}

TEST(ReleasePhase, TheBeforeIsGivenUpAfterAPprofRequestAndHalfASecondAtMostAQuarterOfTheStage) {
  FakeClock clock;
  const auto start = clock.now();
  ReleasePhase phase(httpTrigger(500ms, 10s), start, 20s, 2s);
  EXPECT_EQ(phase.due(start + 2499ms, {}), Due::kNothing);
  EXPECT_EQ(phase.due(start + 2500ms, {}), Due::kOpenWindow);
  ReleasePhase short_stage(httpTrigger(500ms, 1s), start, 4s, 2s);  // a quarter of 4 s is less
  EXPECT_EQ(short_stage.due(start + 999ms, {}), Due::kNothing);
  EXPECT_EQ(short_stage.due(start + 1s, {}), Due::kOpenWindow);
}

TEST(ReleasePhase, TheTriggerFiresAtItsTimeAndTheDeadlineCountsFromWhenItFired) {
  FakeClock clock;
  const auto start = clock.now();
  ReleasePhase phase(httpTrigger(500ms, 10s), start, 30s, 2s);
  ASSERT_EQ(phase.due(start + 100ms, kReady), Due::kOpenWindow);
  phase.windowOpened();
  EXPECT_EQ(phase.due(start + 499ms), Due::kNothing);
  EXPECT_EQ(phase.wakeBy(), start + 500ms);
  EXPECT_EQ(phase.due(start + 500ms), Due::kTrigger);
  phase.watchFrom(start + 503ms);  // firing took the executor 3 ms
  EXPECT_EQ(phase.state(), State::kWatching);
  EXPECT_EQ(phase.deadline(), start + 10503ms);
  EXPECT_EQ(phase.wakeBy(), start + 10503ms);
  EXPECT_EQ(phase.due(start + 10502ms), Due::kNothing);
  EXPECT_EQ(phase.due(start + 10503ms), Due::kJudge);
  phase.judged();
  EXPECT_EQ(phase.state(), State::kDone);
  EXPECT_EQ(phase.due(start + 20s), Due::kNothing);
  EXPECT_EQ(phase.wakeBy(), std::nullopt);
}

TEST(ReleasePhase, WithoutATriggerTheWindowIsWatchedFromItsOpening) {
  FakeClock clock;
  const auto start = clock.now();
  ReleaseSpec spec;
  spec.within = 5s;
  ReleasePhase phase(spec, start, 30s, 2s);
  ASSERT_EQ(phase.due(start + 200ms, kReady), Due::kOpenWindow);
  phase.windowOpened();
  EXPECT_EQ(phase.due(start + 200ms), Due::kTrigger) << "nothing to wait for: watch at once";
  phase.watchFrom(start + 201ms);
  EXPECT_EQ(phase.due(start + 5201ms), Due::kJudge);
}

TEST(ReleasePhase, ALazyOutcomeGetsAReclaimPhaseThatEndsOnTime) {
  FakeClock clock;
  const auto start = clock.now();
  ReleasePhase phase(httpTrigger(0s, 2s), start, 30s, 2s);
  phase.windowOpened();
  phase.watchFrom(start);
  ASSERT_EQ(phase.due(start + 2s), Due::kJudge);
  phase.judged(start + 2s + 10s);
  EXPECT_EQ(phase.state(), State::kReclaim);
  EXPECT_EQ(phase.wakeBy(), start + 12s);
  EXPECT_EQ(phase.due(start + 11s), Due::kNothing);
  EXPECT_EQ(phase.due(start + 12s), Due::kEndReclaim);
  phase.reclaimEnded();
  EXPECT_EQ(phase.state(), State::kDone);
}

TEST(ReleasePhase, ReportsOutOfOrderChangeNothing) {
  FakeClock clock;
  const auto start = clock.now();
  ReleasePhase phase(httpTrigger(1s, 2s), start, 30s, 2s);
  phase.watchFrom(start);  // before the window opened
  phase.judged();
  phase.reclaimEnded();
  EXPECT_EQ(phase.state(), State::kBefore);
  phase.windowOpened();
  phase.windowOpened();
  EXPECT_EQ(phase.state(), State::kArmed);
}

// The executor's loop on a fake clock: ticks every 50 ms, sleeping until the earlier of the next
// tick and what the phase wakes for; MemStats answers at 300 ms, the stressor is drained at 450 ms.
TEST(ReleasePhase, DrivenLikeTheExecutorEveryStepHappensOnce) {
  FakeClock clock;
  const auto start = clock.now();
  const auto stage_end = start + 20s;
  ReleasePhase phase(httpTrigger(500ms, 3s), start, 20s, 2s);
  std::vector<std::pair<Due, std::chrono::milliseconds>> done;
  auto since = [&] { return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start); };
  while (clock.now() < stage_end) {
    const auto now = clock.now();
    const ReleasePhase::Readings r{now >= start + 300ms, now >= start + 450ms};
    if (phase.waitingForBefore() && phase.due(now, r) == Due::kOpenWindow) {
      done.emplace_back(Due::kOpenWindow, since());
      phase.windowOpened();
    }
    if (phase.due(now) == Due::kTrigger) {
      done.emplace_back(Due::kTrigger, since());
      phase.watchFrom(now);
    }
    if (phase.due(now) == Due::kJudge) {
      done.emplace_back(Due::kJudge, since());
      phase.judged();
    }
    auto wake = std::min(now + 50ms, stage_end);
    if (auto w = phase.wakeBy()) wake = std::min(wake, *w);
    clock.sleepUntil(wake);
  }
  const std::vector<std::pair<Due, std::chrono::milliseconds>> want = {
      {Due::kOpenWindow, 450ms}, {Due::kTrigger, 500ms}, {Due::kJudge, 3500ms}};
  EXPECT_EQ(done, want);
}

Sample sampleAt(std::uint64_t usage, std::uint64_t stressor, std::optional<std::uint64_t> lazy) {
  Sample s;
  s.target_cgroup.usage_bytes = usage;
  s.stressor_populated_bytes = stressor;
  ProcessMemory p;
  p.lazyfree_bytes = lazy;
  s.target_process = p;
  return s;
}

TEST(ReclaimFill, FillsToTheLimitLessTheMarginCountingLazyFreeAsFree) {
  constexpr std::uint64_t MiB = 1 << 20;
  // 300 MiB in the cgroup, 20 of it the stressor's, 100 of the rest LazyFree: 180 MiB the kernel
  // cannot take; 512 - 16 - 180 = 316 MiB for the stressor.
  EXPECT_EQ(reclaimFillBytes(sampleAt(300 * MiB, 20 * MiB, 100 * MiB), std::nullopt, 512 * MiB, 16 * MiB, std::nullopt), 316 * MiB);
  // No LazyFree line in the sample: the judged figure stands in.
  EXPECT_EQ(reclaimFillBytes(sampleAt(300 * MiB, 20 * MiB, std::nullopt), 100 * MiB, 512 * MiB, 16 * MiB, std::nullopt), 316 * MiB);
  // The plan's size wins.
  EXPECT_EQ(reclaimFillBytes(sampleAt(300 * MiB, 20 * MiB, 100 * MiB), std::nullopt, 512 * MiB, 16 * MiB, 64 * MiB), 64 * MiB);
  // Already above the ceiling, or a margin above the limit: nothing, never an underflow.
  EXPECT_EQ(reclaimFillBytes(sampleAt(600 * MiB, 0, 0), std::nullopt, 512 * MiB, 16 * MiB, std::nullopt), 0U);
  EXPECT_EQ(reclaimFillBytes(sampleAt(10 * MiB, 0, 0), std::nullopt, 8 * MiB, 16 * MiB, std::nullopt), 0U);
  // After huge_pages_held the bytes held in partly freed huge pages count as free, not LazyFree.
  EXPECT_EQ(reclaimFillBytes(sampleAt(300 * MiB, 20 * MiB, 0), std::nullopt, 512 * MiB, 16 * MiB, std::nullopt, 100 * MiB), 316 * MiB);
}

}  // namespace
}  // namespace memstrain
