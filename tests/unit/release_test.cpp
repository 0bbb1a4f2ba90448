// The release verdict on synthetic series: returned, lazy, not_returned, nothing_released, no_data,
// plus reclaim and the stressor's own release.

#include "memstrain/analysis/release.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>

#include "memstrain/analysis/checks.hpp"
#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/plan/plan_parse.hpp"

namespace memstrain {
namespace {

constexpr std::uint64_t MiB = 1ULL << 20;

ReleaseOsPoint os(double t, std::uint64_t rss_mib, std::uint64_t lazy_mib, std::uint64_t cg_mib, std::uint64_t inactive_mib = 0) {
  ReleaseOsPoint p;
  p.t_s = t;
  p.rss_bytes = rss_mib * MiB;
  p.lazyfree_bytes = lazy_mib * MiB;
  p.cgroup_usage_bytes = cg_mib * MiB;
  p.cgroup_inactive_file_bytes = inactive_mib * MiB;
  return p;
}

ReleaseRuntimePoint rt(double t, std::uint64_t released_mib, std::uint64_t inuse_mib = 2) {
  return {t, released_mib * MiB, released_mib * MiB, inuse_mib * MiB};
}

// Window: before at 1.0 s, trigger at 1.5 s, deadline 11.5 s.
ReleaseInput window() {
  ReleaseInput in;
  in.window_start_s = 1.0;
  in.trigger_s = 1.5;
  in.deadline_s = 11.5;
  in.returned_ratio = 0.8;
  in.triggered = true;
  return in;
}

TEST(ReleaseAnalysis, DontNeedReturnsWithTimeFromTheTrigger) {
  ReleaseInput in = window();
  in.runtime = {rt(0.9, 1), rt(1.7, 151), rt(2.5, 151)};
  in.os = {os(0.95, 170, 0, 168), os(1.6, 169, 0, 167), os(1.8, 20, 0, 18), os(5.0, 19, 0, 17)};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kReturned);
  EXPECT_EQ(r.runtime_released_bytes, 150 * MiB);
  ASSERT_TRUE(r.time_to_return_s);
  EXPECT_NEAR(*r.time_to_return_s, 0.3, 1e-9);  // the 1.8 s sample, counted from the trigger
  EXPECT_EQ(r.rss_dropped_bytes, std::optional<std::uint64_t>(151 * MiB));
  EXPECT_EQ(r.cgroup_dropped_bytes, std::optional<std::uint64_t>(151 * MiB));
  ASSERT_TRUE(r.returned_ratio);
  EXPECT_NEAR(*r.returned_ratio, 151.0 / 150.0, 1e-9);
  EXPECT_NE(r.explanation.find("150 MiB released"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("goes back to the OS"), std::string::npos) << r.explanation;
}

TEST(ReleaseAnalysis, MadvFreeIsLazyWithTheSentence) {
  ReleaseInput in = window();
  in.runtime = {rt(0.9, 0), rt(1.7, 179), rt(6.0, 179)};
  in.os = {os(0.95, 180, 0, 178, 1), os(2.0, 180, 166, 178, 166), os(11.4, 179, 166, 178, 166)};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kLazy);
  EXPECT_FALSE(r.time_to_return_s);
  EXPECT_EQ(r.lazy_bytes, std::optional<std::uint64_t>(166 * MiB));
  EXPECT_EQ(r.lazy_source, "smaps_rollup");
  EXPECT_EQ(r.cgroup_inactive_file_delta_bytes, std::optional<std::int64_t>(165 * static_cast<std::int64_t>(MiB)));
  EXPECT_EQ(r.explanation,
            "179 MiB released by the Go runtime after the trigger, 166 MiB still resident as LazyFree after 10 s: the process uses "
            "MADV_FREE; set GODEBUG=madvdontneed=1 or expect the cgroup to count these pages until reclaim.");
}

TEST(ReleaseAnalysis, LazyFromTheV1InactiveFileListWithoutSmaps) {
  ReleaseInput in = window();
  in.runtime = {rt(1.0, 0), rt(2.0, 100)};
  ReleaseOsPoint a = os(1.0, 0, 0, 120, 2), b = os(3.0, 0, 0, 120, 98);
  a.rss_bytes.reset();
  a.lazyfree_bytes.reset();
  b.rss_bytes.reset();
  b.lazyfree_bytes.reset();
  in.os = {a, b};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kLazy);
  EXPECT_EQ(r.lazy_source, "cgroup_inactive_file");
  EXPECT_EQ(r.lazy_bytes, std::optional<std::uint64_t>(96 * MiB));
  EXPECT_FALSE(r.rss_dropped_bytes);
}

TEST(ReleaseAnalysis, LazyFromV2CountersInPages) {
  ReleaseInput in = window();
  in.runtime = {rt(1.0, 0), rt(2.0, 64)};
  ReleaseOsPoint a = os(1.0, 0, 0, 80), b = os(3.0, 0, 0, 80);
  for (ReleaseOsPoint* p : {&a, &b}) {
    p->rss_bytes.reset();
    p->lazyfree_bytes.reset();
  }
  a.cgroup_pglazyfree = 100;
  a.cgroup_pglazyfreed = 10;
  b.cgroup_pglazyfree = 100 + 16384;  // 64 MiB of 4 KiB pages marked
  b.cgroup_pglazyfreed = 10 + 256;    // 1 MiB of them reclaimed
  in.os = {a, b};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kLazy);
  EXPECT_EQ(r.lazy_source, "cgroup_pglazyfree");
  EXPECT_EQ(r.lazy_bytes, std::optional<std::uint64_t>(63 * MiB));
  EXPECT_EQ(r.cgroup_pglazyfree_delta, std::optional<std::int64_t>(16384));
}

TEST(ReleaseAnalysis, ReleasedButStillChargedIsNotReturned) {
  ReleaseInput in = window();
  in.runtime = {rt(1.0, 0), rt(2.0, 100)};
  in.os = {os(1.0, 120, 0, 120), os(3.0, 115, 1, 116), os(11.0, 114, 1, 115)};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kNotReturned);
  ASSERT_TRUE(r.returned_ratio);
  EXPECT_NEAR(*r.returned_ratio, 0.05, 1e-9);  // the smaller drop (RSS 6 MiB, cgroup 5 MiB) at its best
  EXPECT_NE(r.explanation.find("only 5.0 MiB (5%)"), std::string::npos) << r.explanation;
}

// Measured in the cgroup v2 guest under THP `always` (Go 1.19 demo target): after FreeOSMemory RSS
// fell 25.8 MiB while memory.current rose 3.6 MiB; the target had 138 MiB in huge pages.
TEST(ReleaseAnalysis, PiecesOfHugePagesKeptChargedAreHugePagesHeld) {
  ReleaseInput in = window();
  in.runtime = {rt(1.0, 2), rt(2.0, 32)};
  ReleaseOsPoint before = os(1.0, 150, 0, 152), mid = os(3.0, 126, 0, 155), after = os(11.0, 124, 0, 155);
  before.target_anon_huge_bytes = 138 * MiB;
  before.cgroup_anon_thp_bytes = 138 * MiB;
  after.target_anon_huge_bytes = 112 * MiB;
  after.cgroup_anon_thp_bytes = 112 * MiB;
  in.os = {before, mid, after};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kHugePagesHeld);
  EXPECT_STREQ(toString(r.outcome), "huge_pages_held");
  EXPECT_EQ(r.huge_page_held_bytes, 26 * MiB);  // RSS fell 26 MiB, the cgroup none
  EXPECT_EQ(heldAfterRelease(r), 26 * MiB);
  EXPECT_TRUE(reclaimFollows(r.outcome));
  EXPECT_NE(r.explanation.find("26 MiB stays charged as transparent huge pages"), std::string::npos) << r.explanation;
}

// The same release while the target grows back (its heap allocates again in the window): RSS and
// the charge both rise by what it allocates, so the endpoints show little; the charge it no longer
// maps (charge - anonymous - page cache) still grew by the pieces of huge pages.
TEST(ReleaseAnalysis, HugePagesHeldWhileTheTargetGrowsBackAreCountedFromTheUnmappedCharge) {
  ReleaseInput in = window();
  in.runtime = {rt(1.0, 2), rt(2.0, 32)};
  ReleaseOsPoint before = os(1.0, 150, 0, 160), after = os(11.0, 150, 0, 176);
  before.target_anon_bytes = 148 * MiB;  // + 8 MiB page cache + 4 MiB unmapped = 160
  before.cgroup_file_bytes = 8 * MiB;
  after.target_anon_bytes = 148 * MiB;  // freed 16 MiB of pieces, allocated 16 MiB elsewhere
  after.cgroup_file_bytes = 8 * MiB;
  before.target_anon_huge_bytes = after.target_anon_huge_bytes = 100 * MiB;
  in.os = {before, after};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.huge_page_held_bytes, 16 * MiB);  // unmapped 4 -> 20 MiB
  EXPECT_EQ(r.outcome, ReleaseOutcome::kHugePagesHeld) << r.explanation;
}

// Measured in the v2 guest under THP `always` (the demo target, 32 MiB baseline, under pressure):
// 29 MiB released, 23 MiB (78%) left RSS and the cgroup, 3 MiB stayed charged in huge pages. Less
// than kMinReleasedBytes, but more than one huge page and half of what did not come back.
TEST(ReleaseAnalysis, AFewHugePagesHeldAreHeldNotNotReturned) {
  ReleaseInput in = window();
  in.runtime = {rt(1.0, 1), rt(2.0, 30)};
  ReleaseOsPoint before = os(1.0, 75, 0, 120), after = os(11.0, 52, 0, 97);
  before.target_anon_bytes = 72 * MiB;
  before.cgroup_file_bytes = 40 * MiB;  // unmapped 8 MiB
  after.target_anon_bytes = 49 * MiB;   // 23 MiB unmapped and uncharged ...
  after.cgroup_file_bytes = 37 * MiB;   // ... 3 MiB of page cache gone, 3 MiB more unmapped
  before.target_anon_huge_bytes = 64 * MiB;
  after.target_anon_huge_bytes = 38 * MiB;
  in.os = {before, after};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.huge_page_held_bytes, 3 * MiB);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kHugePagesHeld) << r.explanation;
  // Less than one huge page held is not huge pages kept whole.
  after.cgroup_file_bytes = 38 * MiB + 512 * 1024;
  in.os = {before, after};
  EXPECT_EQ(analyzeRelease(in).outcome, ReleaseOutcome::kNotReturned);
}

TEST(ReleaseAnalysis, HugePagesWithoutTheGapAreNotReturned) {
  // The same THP use, but RSS did not fall either: nothing says huge pages hold it.
  ReleaseInput in = window();
  in.runtime = {rt(1.0, 2), rt(2.0, 32)};
  ReleaseOsPoint before = os(1.0, 150, 0, 152), after = os(11.0, 149, 0, 152);
  before.target_anon_huge_bytes = 138 * MiB;
  in.os = {before, after};
  EXPECT_EQ(analyzeRelease(in).outcome, ReleaseOutcome::kNotReturned);
}

TEST(ReleaseAnalysis, OnlyOneViewDroppingIsNotReturned) {
  // The cgroup drops (say, page cache or a shrinking stressor) but the process keeps its pages.
  ReleaseInput in = window();
  in.runtime = {rt(1.0, 0), rt(2.0, 100)};
  in.os = {os(1.0, 120, 0, 220), os(3.0, 119, 0, 100)};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kNotReturned);
  EXPECT_EQ(r.cgroup_dropped_bytes, std::optional<std::uint64_t>(120 * MiB));
  EXPECT_EQ(r.rss_dropped_bytes, std::optional<std::uint64_t>(1 * MiB));
}

TEST(ReleaseAnalysis, NothingDroppedNoTriggerIsNeverReturned) {
  ReleaseInput in = window();
  in.triggered = false;
  in.trigger_s = in.window_start_s;
  in.runtime = {rt(0.5, 3), rt(1.5, 3), rt(5.0, 4)};  // the scavenger's trickle: 1 MiB
  in.os = {os(1.0, 30, 0, 30), os(2.0, 28, 0, 28), os(9.0, 27, 0, 27)};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kNothingReleased);
  EXPECT_FALSE(r.time_to_return_s);
  EXPECT_EQ(r.runtime_released_bytes, 1 * MiB);
  EXPECT_NE(r.explanation.find("give a trigger"), std::string::npos) << r.explanation;
}

TEST(ReleaseAnalysis, ARequestInFlightAtTheTriggerDoesNotHideTheRelease) {
  // Stamped 0.95 s (before the window's start) but answered after FreeOSMemory: the lowest
  // HeapReleased of the last second before the window is the "before".
  ReleaseInput in = window();
  in.runtime = {rt(0.4, 2), rt(0.95, 150), rt(2.0, 150)};
  in.os = {os(1.0, 160, 0, 160), os(2.0, 12, 0, 12)};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.runtime_released_bytes, 148 * MiB);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kReturned);
}

TEST(ReleaseAnalysis, NoRuntimeReadingIsNoData) {
  ReleaseInput in = window();
  in.os = {os(1.0, 160, 0, 160), os(2.0, 12, 0, 12)};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kNoData);
  EXPECT_STREQ(toString(r.outcome), "no_data");
  EXPECT_NE(r.explanation.find("MemStats"), std::string::npos);
}

TEST(ReleaseAnalysis, SamplesAfterTheDeadlineDoNotCount) {
  ReleaseInput in = window();
  in.runtime = {rt(1.0, 0), rt(2.0, 100)};
  in.os = {os(1.0, 120, 0, 120), os(11.0, 119, 0, 119), os(12.0, 10, 0, 10)};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kNotReturned);
  EXPECT_EQ(r.rss_after_bytes, std::optional<std::uint64_t>(119 * MiB));
}

TEST(ReclaimAnalysis, LazyPagesTakenBackAndTargetSurvives) {
  ReclaimInput in;
  in.start_s = 10;
  in.end_s = 15;
  in.stressor_requested_bytes = 480 * MiB;
  in.stressor_reached_bytes = 480 * MiB;
  in.os = {os(9.9, 178, 151, 178), os(11, 100, 70, 100), os(14, 35, 15, 35), os(16, 30, 0, 30)};
  const ReclaimResult r = analyzeReclaim(in);
  EXPECT_EQ(r.lazy_before_bytes, std::optional<std::uint64_t>(151 * MiB));
  EXPECT_EQ(r.lazy_after_bytes, std::optional<std::uint64_t>(15 * MiB));
  EXPECT_EQ(r.reclaimed_lazy_bytes, 136 * MiB);
  EXPECT_FALSE(r.target_oom_killed);
  EXPECT_NE(r.explanation.find("took back 136 MiB of 151 MiB"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("the target survived"), std::string::npos) << r.explanation;
}

TEST(ReclaimAnalysis, TargetKilledIsSaid) {
  ReclaimInput in;
  in.start_s = 0;
  in.end_s = 5;
  in.target_oom_killed = true;
  in.os = {os(0, 100, 50, 100)};
  const ReclaimResult r = analyzeReclaim(in);
  EXPECT_TRUE(r.target_oom_killed);
  EXPECT_EQ(r.reclaimed_lazy_bytes, 0u);
  EXPECT_NE(r.explanation.find("OOM-killed"), std::string::npos);
}

TEST(ReclaimAnalysis, HugePageChargeTakenBackUnderPressureGaveBack) {
  // No LazyFree at all (madvdontneed=1): what comes back is the target's charge (usage without the
  // stressor's pages), as the kernel splits the partly freed huge pages.
  ReclaimInput in;
  in.start_s = 10;
  in.end_s = 20;
  in.held_bytes = 26 * MiB;
  in.os = {os(9.9, 124, 0, 155), os(12, 124, 0, 140), os(15, 124, 0, 128), os(19, 124, 0, 129)};
  const ReclaimResult r = analyzeReclaim(in);
  EXPECT_EQ(r.charge_before_bytes, std::optional<std::uint64_t>(155 * MiB));
  EXPECT_EQ(r.charge_after_bytes, std::optional<std::uint64_t>(128 * MiB));
  EXPECT_EQ(r.reclaimed_charge_bytes, 27 * MiB);
  EXPECT_TRUE(r.gave_back);
  EXPECT_NE(r.explanation.find("27 MiB of the target's charge"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("comes back when the cgroup needs it"), std::string::npos) << r.explanation;
  EXPECT_STREQ(comesBack(ReleaseOutcome::kHugePagesHeld, &r), "yes");
}

// Measured in the v2 guest under THP `always`: in the reclaim phase the target grew back 15 MiB
// (its charge did not fall) and the stressor was OOM-killed. What says whether the held pieces of
// huge pages came back is the charge the target does not map, not the charge.
TEST(ReclaimAnalysis, UnmappedChargeJudgesHugePagesWhateverTheTargetAllocates) {
  ReclaimInput in;
  in.start_s = 10;
  in.end_s = 20;
  in.held_bytes = 14 * MiB;
  auto point = [](double t, std::uint64_t anon_mib, std::uint64_t file_mib, std::uint64_t charge_mib) {
    ReleaseOsPoint p = os(t, anon_mib + 4, 0, charge_mib);
    p.target_anon_bytes = anon_mib * MiB;
    p.cgroup_file_bytes = file_mib * MiB;
    return p;
  };
  // Unmapped 126 - 62 - 30 = 34 MiB at the start; the kernel splits the huge pages (-13 MiB) while
  // the target allocates 15 MiB: the charge goes up.
  in.os = {point(9.9, 62, 30, 126), point(14, 70, 30, 127), point(19, 77, 30, 128)};
  const ReclaimResult back = analyzeReclaim(in);
  EXPECT_EQ(back.reclaimed_charge_bytes, 0U);
  EXPECT_EQ(back.unmapped_charge_before_bytes, std::optional<std::uint64_t>(34 * MiB));
  EXPECT_EQ(back.unmapped_charge_after_bytes, std::optional<std::uint64_t>(21 * MiB));
  EXPECT_EQ(back.reclaimed_unmapped_bytes, std::optional<std::uint64_t>(13 * MiB));
  EXPECT_TRUE(back.gave_back) << back.explanation;
  EXPECT_NE(back.explanation.find("(13 MiB of it not mapped by the target)"), std::string::npos) << back.explanation;
  // Pressure evicts 25 MiB of page cache and nothing else: the charge falls, the held pages stay.
  in.os = {point(9.9, 62, 30, 126), point(14, 62, 5, 101)};
  const ReclaimResult cache = analyzeReclaim(in);
  EXPECT_EQ(cache.reclaimed_charge_bytes, 25 * MiB);
  EXPECT_EQ(cache.reclaimed_unmapped_bytes, std::optional<std::uint64_t>(0));
  EXPECT_FALSE(cache.gave_back) << "evicted page cache is not the held memory coming back";
}

// A stressor the OOM killer ended still shows its last report (what it held) until the controller
// reaps it; its process has no anonymous memory left. It must not be taken off the target's charge.
TEST(ReleaseOsPoint, AStressorThatIsGoneHoldsNothing) {
  Sample s;
  s.t_s = 3;
  s.target_cgroup.usage_bytes = 126 * MiB;
  s.stressor_populated_bytes = 131 * MiB;
  s.stressor_process = ProcessMemory{};  // read after the kill: no RssAnon
  EXPECT_EQ(releaseOsPoint(s).cgroup_usage_bytes, std::optional<std::uint64_t>(126 * MiB));
  s.target_cgroup.usage_bytes = 257 * MiB;
  s.stressor_process->anonymous_bytes = 132 * MiB;  // alive: its report counts
  EXPECT_EQ(releaseOsPoint(s).cgroup_usage_bytes, std::optional<std::uint64_t>(126 * MiB));
  s.stressor_process.reset();  // not read: the report alone
  EXPECT_EQ(releaseOsPoint(s).cgroup_usage_bytes, std::optional<std::uint64_t>(126 * MiB));
}

TEST(ReclaimAnalysis, TooLittleBackOrTargetKilledDidNotGiveBack) {
  ReclaimInput in;
  in.start_s = 10;
  in.end_s = 20;
  in.held_bytes = 26 * MiB;
  in.os = {os(9.9, 124, 0, 155), os(15, 124, 0, 150)};
  const ReclaimResult few = analyzeReclaim(in);
  EXPECT_EQ(few.reclaimed_charge_bytes, 5 * MiB);
  EXPECT_FALSE(few.gave_back);
  EXPECT_STREQ(comesBack(ReleaseOutcome::kHugePagesHeld, &few), "no");
  in.os = {os(9.9, 124, 0, 155), os(15, 10, 0, 10)};
  in.target_oom_killed = true;
  const ReclaimResult killed = analyzeReclaim(in);
  EXPECT_FALSE(killed.gave_back) << "an OOM kill of the target is not giving memory back";
  EXPECT_STREQ(comesBack(ReleaseOutcome::kLazy, &killed), "no");
  EXPECT_STREQ(comesBack(ReleaseOutcome::kLazy, nullptr), "no") << "held, and no reclaim phase ran";
  EXPECT_STREQ(comesBack(ReleaseOutcome::kReturned, nullptr), "yes");
  EXPECT_STREQ(comesBack(ReleaseOutcome::kNothingReleased, nullptr), "nothing_released");
}

TEST(StressorRelease, BackToBaselineWithinToleranceEvenWhenTheTargetShrank) {
  const auto r = judgeStressorRelease(170 * MiB, 168 * MiB, 20 * MiB, 18 * MiB, 512 * MiB);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.leaked_bytes, 0u);
  EXPECT_EQ(r.tolerance_bytes, 16 * MiB);
}

TEST(StressorRelease, ChargeLeftBehindIsALeak) {
  const auto r = judgeStressorRelease(20 * MiB, 18 * MiB, 120 * MiB, 18 * MiB, 512 * MiB);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.leaked_bytes, 100 * MiB);
}

TEST(StressorRelease, ToleranceGrowsWithTheLimit) {
  const auto r = judgeStressorRelease(0, 0, 30 * MiB, 0, 2048 * MiB);
  EXPECT_EQ(r.tolerance_bytes, 2048 * MiB / 50);
  EXPECT_TRUE(r.ok);
}

constexpr const char* kPlanHead = R"({"name": "r", "target": {"launch": {"command": ["t"], "memory_limit": "512MiB"},
  "pprof_url": "http://127.0.0.1:6060/debug/pprof"},)";

TEST(ReleasePlan, ParsesTriggerExpectAndReclaim) {
  const std::string text = std::string(kPlanHead) + R"("stages": [
    {"name": "free", "duration": "30s", "actions": [{"url": "http://127.0.0.1:6060/drop"}],
     "release": {"trigger": {"url": "http://127.0.0.1:6060/debug/free", "at": "1s"},
                 "expect": {"returned_ratio": "90%", "within": "5s"}, "reclaim": {"duration": "8s", "size": "300MiB"}}},
    {"name": "sig", "duration": "12s", "release": {"trigger": {"signal": "SIGUSR1"}}},
    {"name": "cmd", "duration": "12s", "release": {"trigger": {"command": ["curl", "-X", "POST", "x"]}}},
    {"name": "watch", "duration": "12s", "release": {}}],
  "checks": [{"name": "o", "metric": "release.outcome", "equals": "returned"},
             {"name": "t", "metric": "release.time_to_return", "max": "2s"}]})";
  auto plan = parsePlan(text);
  ASSERT_TRUE(plan) << plan.error().message;
  const ReleaseSpec& r = *plan->stages[0].release;
  ASSERT_TRUE(r.trigger);
  EXPECT_EQ(r.trigger->kind, ReleaseTrigger::Kind::kHttp);
  EXPECT_EQ(r.trigger->method, "POST");
  EXPECT_EQ(r.trigger->at, std::chrono::seconds(1));
  EXPECT_DOUBLE_EQ(r.returned_ratio, 0.9);
  EXPECT_EQ(r.within, std::chrono::seconds(5));
  ASSERT_TRUE(r.reclaim);
  EXPECT_EQ(r.reclaim->duration, std::chrono::seconds(8));
  EXPECT_EQ(r.reclaim->size_bytes, std::optional<std::uint64_t>(300 * MiB));
  EXPECT_EQ(plan->stages[1].release->trigger->signal, SIGUSR1);
  EXPECT_EQ(plan->stages[2].release->trigger->command.size(), 4u);
  EXPECT_FALSE(plan->stages[3].release->trigger);
  EXPECT_DOUBLE_EQ(plan->stages[3].release->returned_ratio, 0.8);
  EXPECT_EQ(plan->checks[0].equals, std::optional<std::string>("returned"));
  EXPECT_EQ(plan->checks[1].unit, MetricUnit::kDuration);
}

TEST(ReleasePlan, ShippedReleaseCheckPlanIsValid) {
  auto p = loadPlan(std::string(MEMSTRAIN_SOURCE_DIR) + "/plans/release-check.json");
  ASSERT_TRUE(p) << p.error().message;
  const StageSpec& last = p->stages.back();
  ASSERT_TRUE(last.release);
  ASSERT_TRUE(last.release->trigger);
  EXPECT_EQ(last.release->trigger->kind, ReleaseTrigger::Kind::kHttp);
  EXPECT_TRUE(last.release->reclaim);
  EXPECT_TRUE(std::any_of(p->checks.begin(), p->checks.end(), [](const CheckSpec& c) { return c.metric == "release.outcome"; }));
}

TEST(ReleasePlan, WordMetricTakesOnlyEquals) {
  const std::string text = std::string(kPlanHead) + R"("stages": [{"name": "s", "duration": "20s", "release": {}}],
  "checks": [{"name": "a", "metric": "release.outcome", "max": 1},
             {"name": "b", "metric": "release.lazy_bytes", "equals": "lazy", "max": "1MiB"},
             {"name": "c", "metric": "release.outcome", "equals": "gone"}]})";
  std::vector<PlanIssue> issues;
  auto plan = parsePlan(text, &issues);
  ASSERT_FALSE(plan);
  std::vector<std::string> ptrs;
  for (const auto& i : issues) ptrs.push_back(i.pointer);
  EXPECT_EQ(ptrs, (std::vector<std::string>{"/checks/0/max", "/checks/0/equals", "/checks/1/equals", "/checks/2/equals"}));
}

StageStats releaseStage(ReleaseOutcome o, std::optional<double> ttr) {
  StageStats st;
  st.name = "release";
  ReleaseResult r;
  r.outcome = o;
  r.time_to_return_s = ttr;
  r.trigger_s = 1;
  r.deadline_s = 11;
  r.returned_ratio = 0.02;
  r.lazy_bytes = 150 * MiB;
  st.release = r;
  return st;
}

TEST(ReleaseChecks, OutcomeEqualsAndNeverReturnedFailsATimeLimit) {
  CheckSpec outcome;
  outcome.name = "returned";
  outcome.metric = "release.outcome";
  outcome.unit = MetricUnit::kText;
  outcome.equals = "returned";
  CheckSpec time;
  time.name = "fast";
  time.metric = "release.time_to_return";
  time.unit = MetricUnit::kDuration;
  time.max = 2e9;
  CheckSpec lazy;
  lazy.name = "lazy";
  lazy.metric = "release.lazy_bytes";
  lazy.unit = MetricUnit::kBytes;
  lazy.max = static_cast<double>(10 * MiB);
  StageStats plain;
  plain.name = "hold";
  const auto res =
      evaluateChecks({outcome, time, lazy}, {plain, releaseStage(ReleaseOutcome::kLazy, std::nullopt)}, {"hold", "release"}, "");
  ASSERT_EQ(res.size(), 6u);
  EXPECT_EQ(res[0].outcome, CheckOutcome::kNoData);  // hold is not a release stage
  EXPECT_EQ(res[1].outcome, CheckOutcome::kFail);
  EXPECT_EQ(res[1].observed_text, "lazy");
  EXPECT_EQ(res[1].explanation, "release.outcome lazy != returned");
  EXPECT_EQ(res[3].outcome, CheckOutcome::kFail);
  EXPECT_NE(res[3].explanation.find("never reached"), std::string::npos) << res[3].explanation;
  EXPECT_EQ(res[5].outcome, CheckOutcome::kFail);
  EXPECT_EQ(res[5].observed, std::optional<double>(static_cast<double>(150 * MiB)));

  const auto ok = evaluateChecks({outcome, time}, {releaseStage(ReleaseOutcome::kReturned, 0.3)}, {"release"}, "");
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[0].outcome, CheckOutcome::kPass);
  EXPECT_EQ(ok[1].outcome, CheckOutcome::kPass);
  EXPECT_DOUBLE_EQ(*ok[1].observed, 0.3e9);
}

TEST(ReleaseChecks, ComesBackSaysWhichWayItWent) {
  CheckSpec back;
  back.name = "comes back";
  back.metric = "release.comes_back";
  back.unit = MetricUnit::kText;
  back.equals = "yes";
  StageStats held = releaseStage(ReleaseOutcome::kHugePagesHeld, std::nullopt);
  ReclaimResult rc;
  rc.held_bytes = 26 * MiB;
  rc.reclaimed_charge_bytes = 27 * MiB;
  rc.gave_back = true;
  held.reclaim = rc;
  const auto yes = evaluateChecks({back}, {held}, {"release"}, "");
  ASSERT_EQ(yes.size(), 1u);
  EXPECT_EQ(yes[0].outcome, CheckOutcome::kPass);
  EXPECT_EQ(yes[0].explanation, "release.comes_back yes == yes (outcome huge_pages_held, then reclaimed under pressure)");
  const auto no = evaluateChecks({back}, {releaseStage(ReleaseOutcome::kHugePagesHeld, std::nullopt)}, {"release"}, "");
  EXPECT_EQ(no[0].outcome, CheckOutcome::kFail);
  EXPECT_EQ(no[0].explanation, "release.comes_back no != yes (outcome huge_pages_held, no reclaim phase ran)");
  const auto ret = evaluateChecks({back}, {releaseStage(ReleaseOutcome::kReturned, 0.3)}, {"release"}, "");
  EXPECT_EQ(ret[0].outcome, CheckOutcome::kPass);
  EXPECT_EQ(ret[0].explanation, "release.comes_back yes == yes (outcome returned)");
}

TEST(ReleasePlan, ComesBackTakesItsOwnWords) {
  const std::string text = std::string(kPlanHead) + R"("stages": [{"name": "s", "duration": "20s", "release": {}}],
  "checks": [{"name": "a", "metric": "release.comes_back", "equals": "yes"},
             {"name": "b", "metric": "release.comes_back", "equals": "returned"},
             {"name": "c", "metric": "release.outcome", "equals": "huge_pages_held"}]})";
  std::vector<PlanIssue> issues;
  auto plan = parsePlan(text, &issues);
  ASSERT_FALSE(plan);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/checks/1/equals");
  EXPECT_NE(issues[0].message.find("expected one of yes, no, nothing_released, no_data"), std::string::npos) << issues[0].message;
}

}  // namespace
}  // namespace memstrain
