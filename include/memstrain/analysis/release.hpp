#pragma once
// Release verification: did memory the Go runtime says it released (MemStats HeapReleased) leave
// the process and its cgroup? Pure functions from sampled series to an outcome; no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memstrain/model/stage_stats.hpp"

namespace memstrain {

/// One OS-side observation of the target.
struct ReleaseOsPoint {
  double t_s = 0;
  std::optional<std::uint64_t> rss_bytes;       ///< target process (smaps_rollup Rss)
  std::optional<std::uint64_t> lazyfree_bytes;  ///< target process (smaps_rollup LazyFree)
  /// The target's own charge in its cgroup: usage minus what the stressor holds when it shares
  /// the cgroup. nullopt when not sampled.
  std::optional<std::uint64_t> cgroup_usage_bytes;
  std::uint64_t cgroup_anon_bytes = 0;
  std::uint64_t cgroup_file_bytes = 0;
  std::uint64_t cgroup_inactive_file_bytes = 0;    ///< v1 total_inactive_file holds MADV_FREE pages
  std::optional<std::uint64_t> cgroup_pglazyfree;  ///< v2 counters, in pages
  std::optional<std::uint64_t> cgroup_pglazyfreed;
  std::uint64_t cgroup_anon_thp_bytes = 0;              ///< v2 anon_thp, v1 total_rss_huge
  std::optional<std::uint64_t> target_anon_huge_bytes;  ///< target process (smaps_rollup AnonHugePages)
  std::optional<std::uint64_t> target_anon_bytes;       ///< target process (smaps_rollup Anonymous, status RssAnon)
};

/// One Go runtime observation (pprof MemStats).
struct ReleaseRuntimePoint {
  double t_s = 0;
  std::uint64_t heap_released_bytes = 0;
  std::uint64_t heap_idle_bytes = 0;
  std::uint64_t heap_inuse_bytes = 0;
};

/// What to judge: the series (any order of time, but each sorted ascending) and the window.
struct ReleaseInput {
  std::vector<ReleaseOsPoint> os;
  std::vector<ReleaseRuntimePoint> runtime;
  double window_start_s = 0;  ///< "before": the stage's start (its actions, e.g. a drop, come after)
  double trigger_s = 0;       ///< time_to_return counts from here (window_start_s without a trigger)
  double deadline_s = 0;      ///< trigger_s + within
  double returned_ratio = 0.8;
  bool triggered = false;           ///< a trigger was fired (for the explanation)
  std::uint64_t page_bytes = 4096;  ///< v2 pglazyfree counts pages
};

/// Below this many bytes of HeapReleased growth the runtime "released nothing meaningful": the
/// scavenger returns a few pages all the time, and judging those would give a false `returned`.
inline constexpr std::uint64_t kMinReleasedBytes = 4ULL << 20;

/// One transparent huge page (x86-64): less than this held cannot be a huge page kept whole.
inline constexpr std::uint64_t kHugePageBytes = 2ULL << 20;

/// Judges the window: returned when min(RSS drop, cgroup drop) reaches returned_ratio x released
/// bytes by the deadline (time_to_return_s is the first such sample); else lazy when the LazyFree
/// growth covers at least half of what did not drop (and kMinReleasedBytes); else huge_pages_held
/// when the target had huge pages and the charge it stopped mapping covers at least half of what
/// did not drop (and one huge page); else not_returned.
/// nothing_released when HeapReleased grew by less than kMinReleasedBytes.
ReleaseResult analyzeRelease(const ReleaseInput& in);

/// Pressure-assisted reclaim after a lazy outcome.
struct ReclaimInput {
  std::vector<ReleaseOsPoint> os;
  double start_s = 0, end_s = 0;
  std::uint64_t stressor_requested_bytes = 0;
  std::uint64_t stressor_reached_bytes = 0;  ///< most the stressor reported holding in the phase
  bool target_oom_killed = false;            ///< an OOM kill counted against the target, or its death, in the phase
  bool stressor_oom_killed = false;
  std::uint64_t held_bytes = 0;  ///< what the release left charged (LazyFree, or huge-page held bytes)
};

/// Judges the reclaim phase: how much LazyFree and how much of the target's charge pressure took
/// back, and whether that is at least half of `held_bytes` with the target alive (gave_back).
ReclaimResult analyzeReclaim(const ReclaimInput& in);
/// What a release left charged for a reclaim phase to take back: LazyFree after `lazy`, the
/// huge-page held bytes after `huge_pages_held`, 0 after any other outcome.
std::uint64_t heldAfterRelease(const ReleaseResult& r);
/// True for the outcomes after which a reclaim phase runs (`lazy`, `huge_pages_held`).
inline bool reclaimFollows(ReleaseOutcome o) { return o == ReleaseOutcome::kLazy || o == ReleaseOutcome::kHugePagesHeld; }

/// Did the stressor give back what it held? Compares, before the first pressure stage and after
/// the stressor was told to hold nothing, the measured cgroup's anonymous memory not mapped by the
/// target (memory.stat anon minus the target's RssAnon): the stressor's pages are anonymous and,
/// with MADV_NOHUGEPAGE, mapped exactly while charged. The usage figures (usage minus the target's
/// RSS) are kept beside it: under THP `always` they also count the target's own huge pages that the
/// Go runtime released in pieces (charged, no longer mapped) and would blame the stressor for them.
struct StressorReleaseResult {
  std::uint64_t baseline_usage_bytes = 0, after_usage_bytes = 0;
  std::uint64_t baseline_target_rss_bytes = 0, after_target_rss_bytes = 0;
  /// The anonymous-memory figures, when they were measured (basis "anon").
  std::optional<std::uint64_t> baseline_anon_bytes, after_anon_bytes, baseline_target_anon_bytes, after_target_anon_bytes;
  std::string basis = "usage";           ///< "anon" or "usage": what leaked_bytes compares
  std::uint64_t leaked_bytes = 0;        ///< growth of the non-target charge on `basis`, 0 when it shrank
  std::uint64_t usage_growth_bytes = 0;  ///< growth of usage minus the target's RSS, whatever the basis
  std::uint64_t tolerance_bytes = 0;
  bool ok = true;  ///< leaked_bytes <= tolerance_bytes
};
/// The anonymous-memory account of the measured cgroup and the target, before and after.
struct AnonAccount {
  std::uint64_t cgroup_before = 0, target_before = 0, cgroup_after = 0, target_after = 0;
};
/// Tolerance: 16 MiB (v1 charge batching, page cache of the stressor binary) or 2% of the limit.
/// With `anon`, leaked_bytes is judged on it (basis "anon"); else on usage.
StressorReleaseResult judgeStressorRelease(std::uint64_t baseline_usage, std::uint64_t baseline_target_rss, std::uint64_t after_usage,
                                           std::uint64_t after_target_rss, std::uint64_t effective_limit_bytes,
                                           const std::optional<AnonAccount>& anon = std::nullopt);

// From a run's record to the series above (plain copies; still no I/O).

/// The OS view of one sample: the target's RSS/LazyFree and its cgroup's usage less what an
/// inside stressor holds.
ReleaseOsPoint releaseOsPoint(const Sample& s);
ReleaseRuntimePoint releaseRuntimePoint(const MemStatsSample& m);
/// The input of release stage `stage_idx` of `rec` (which has a release record), judged against
/// `memstats` (the run's MemStats readings; passed separately so the executor can judge while
/// the observer still runs).
ReleaseInput releaseInputFor(const RunRecord& rec, std::size_t stage_idx, const std::vector<MemStatsSample>& memstats);
/// The reclaim phase of release stage `stage_idx` (which has a reclaim record): target OOM kills,
/// target death and stressor OOM kills are read from the run's events in the phase (+1 s grace).
ReclaimInput reclaimInputFor(const RunRecord& rec, std::size_t stage_idx);

}  // namespace memstrain
