#pragma once
// What a stage showed, as plain data: usage, the stressor, the target's RSS, OOM kills, latency,
// the Go heap, memory pressure, the page cache and a release stage's outcome. Analysis computes
// these figures from a RunRecord; checks, reports and the metric table read them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memstrain/model/plan.hpp"
#include "memstrain/model/run_record.hpp"

namespace memstrain {

/// min / mean / max of a series; n == 0 means no data.
struct Summary {
  double min = 0, mean = 0, max = 0;
  std::size_t n = 0;
};

/// Memory pressure (PSI) over a stage. Whose pressure it is matters: `source` "cgroup" is the
/// measured cgroup's own memory.pressure (cgroup v2); "system" is /proc/pressure/memory, the whole
/// host (cgroup v1 has no PSI per cgroup, so other workloads on the host show up in it too).
struct StagePsi {
  std::string source;
  double some_avg10_max = 0;             ///< fraction of time (0..1), largest sampled avg10
  std::optional<double> full_avg10_max;  ///< absent when the kernel has no "full" line
  /// Stall time accumulated between the stage's first and last sample (PSI `total`), seconds.
  double some_stall_s = 0;
  std::optional<double> full_stall_s;
};

/// The target cgroup's page cache over a stage: how much file memory it kept, and how often
/// pages it needed had to come back from disk. A squeezed page cache raises latency long before
/// anyone is OOM-killed.
struct StagePageCache {
  Summary file_bytes;  ///< v1 total_cache, v2 file
  /// Counter increases between the stage's first and last sample; absent when memory.stat has no
  /// such key. The rates divide by the time between those samples.
  std::optional<std::uint64_t> major_faults;
  std::optional<double> major_faults_per_s;
  std::optional<std::uint64_t> refaults;
  std::optional<double> refaults_per_s;
};

/// A least-squares slope with its two-sided confidence interval: slope ± half_width covers the
/// true rate with probability `confidence` if the readings scatter independently around a line.
struct SlopeEstimate {
  double slope = 0;       ///< per second
  double half_width = 0;  ///< t(confidence, n-2) × standard error of the slope
  double confidence = 0.95;
  std::size_t points = 0;
};

struct StageHeapStats {
  std::size_t samples = 0;
  /// MemStats HeapObjects at the stage's first and last ordinary reading. HeapObjects counts
  /// garbage not yet swept too, so these follow allocation churn and GC timing (GC pressure);
  /// what is still reachable is live_objects_*.
  std::optional<std::uint64_t> objects_start, objects_end;
  std::optional<std::int64_t> objects_delta;
  std::optional<double> objects_slope_per_s;  ///< least squares over the stage's readings
  /// Live objects and bytes (HeapObjects / HeapAlloc right after a forced GC) at the stage's start
  /// (the reading before the first stage, or the one that ended the stage before) and its end.
  std::optional<std::uint64_t> live_objects_start, live_objects_end;
  std::optional<std::int64_t> live_objects_delta;
  std::optional<std::uint64_t> live_bytes_start, live_bytes_end;
  std::optional<std::int64_t> live_bytes_delta;
  std::size_t live_readings = 0;  ///< live readings from the stage's start to its end, both included
  /// Retention rate over those readings; needs three or more (pprof.live_interval).
  std::optional<SlopeEstimate> live_objects_slope, live_bytes_slope;
  std::optional<std::uint64_t> heap_inuse_start, heap_inuse_end;
  std::optional<std::uint64_t> heap_released_start, heap_released_end;
  /// GC cycles completed during the stage: NumGC at its last reading minus NumGC at the last
  /// reading before it (or its own first reading for the first stage).
  std::optional<std::uint64_t> gc_cycles;
  /// Share of the CPU the Go runtime could use (GOMAXPROCS × time) that GC took during the stage,
  /// between the same two readings as gc_cycles; see gcCpuSeconds(). Needs the process start.
  std::optional<double> gc_cpu_fraction;
  std::optional<std::uint64_t> goroutines_start, goroutines_end;
  std::size_t pprof_errors = 0;
};

enum class ReleaseOutcome {
  kReturned,     ///< the OS-visible drop reached returned_ratio of the released bytes in time
  kLazy,         ///< released, still resident as LazyFree (MADV_FREE): reclaimable under pressure
  kNotReturned,  ///< released per the runtime, neither dropped nor LazyFree
  /// Gone from the process's RSS but still charged to the cgroup: the runtime released pieces of
  /// transparent huge pages, which the kernel keeps (and charges) whole until pressure splits them.
  kHugePagesHeld,
  kNothingReleased,  ///< the runtime released less than kMinReleasedBytes: nothing to verify
  kNoData,           ///< no runtime or OS reading around the window
};
/// "returned", "lazy", "not_returned", "huge_pages_held", "nothing_released", "no_data"
const char* toString(ReleaseOutcome o);

struct ReleaseResult {
  ReleaseOutcome outcome = ReleaseOutcome::kNoData;
  std::uint64_t runtime_released_bytes = 0;  ///< max HeapReleased in the window minus just before it
  std::optional<std::uint64_t> heap_released_before_bytes, heap_released_after_bytes;
  std::optional<std::uint64_t> heap_idle_unreleased_before_bytes;  ///< HeapIdle - HeapReleased
  std::optional<std::uint64_t> heap_inuse_before_bytes, heap_inuse_after_bytes;
  std::optional<std::uint64_t> rss_before_bytes, rss_after_bytes;
  std::optional<std::uint64_t> rss_dropped_bytes;  ///< largest RSS drop in the window (>= 0)
  std::optional<std::uint64_t> cgroup_before_bytes, cgroup_after_bytes;
  std::optional<std::uint64_t> cgroup_dropped_bytes;  ///< largest cgroup usage drop in the window
  /// Largest OS-visible drop (the smaller of the RSS and cgroup drops at one instant) over the
  /// runtime-released bytes; nullopt when nothing was released.
  std::optional<double> returned_ratio;
  std::optional<double> time_to_return_s;         ///< from the trigger (0 if already back by then); nullopt when never returned
  std::optional<std::uint64_t> lazy_bytes;        ///< LazyFree at the deadline
  std::optional<std::uint64_t> lazy_added_bytes;  ///< LazyFree at the deadline minus before
  std::string lazy_source;                        ///< "smaps_rollup", "cgroup_inactive_file", "cgroup_pglazyfree" or ""
  std::optional<std::int64_t> cgroup_inactive_file_delta_bytes;
  std::optional<std::int64_t> cgroup_pglazyfree_delta, cgroup_pglazyfreed_delta;  ///< pages
  /// Transparent huge pages around the window: the target's AnonHugePages and the cgroup's THP
  /// before and at the deadline, and `held` — what left RSS but not the cgroup while THP was in use:
  /// pieces of 2 MiB pages the runtime released, unmapped by the kernel but kept charged as whole
  /// huge pages until memory pressure splits them (deferred split).
  std::optional<std::uint64_t> target_anon_huge_before_bytes, target_anon_huge_after_bytes;
  std::uint64_t cgroup_anon_thp_before_bytes = 0, cgroup_anon_thp_after_bytes = 0;
  std::uint64_t huge_page_held_bytes = 0;
  double window_start_s = 0, trigger_s = 0, deadline_s = 0;
  std::string explanation;  ///< one plain sentence
};

struct ReclaimResult {
  std::optional<std::uint64_t> lazy_before_bytes;  ///< LazyFree at the phase's start
  std::optional<std::uint64_t> lazy_after_bytes;   ///< the lowest LazyFree in the phase
  std::uint64_t reclaimed_lazy_bytes = 0;
  /// What the release left charged when the phase began: LazyFree after `lazy`, the huge-page
  /// held bytes after `huge_pages_held`.
  std::uint64_t held_bytes = 0;
  /// The target's charge (the cgroup's usage without the stressor's pages) at the phase's start and
  /// its lowest in the phase, and the difference: what pressure took back from the target.
  std::optional<std::uint64_t> charge_before_bytes, charge_after_bytes;
  std::uint64_t reclaimed_charge_bytes = 0;
  /// The charge that is neither the target's anonymous memory nor page cache (the target's charge
  /// minus its Anonymous/RssAnon minus the cgroup's file pages): where pieces of huge pages the
  /// target no longer maps stay charged. At the phase's start, its lowest in the phase, and the
  /// drop. Unlike the charge, it does not move when the target grows back or page cache is
  /// evicted. nullopt without the target's anonymous figure.
  std::optional<std::uint64_t> unmapped_charge_before_bytes, unmapped_charge_after_bytes;
  std::optional<std::uint64_t> reclaimed_unmapped_bytes;
  /// What came back reached half of held_bytes and the target was not OOM-killed: the held memory
  /// comes back under pressure. What came back: the larger of reclaimed_lazy_bytes and
  /// reclaimed_unmapped_bytes (reclaimed_charge_bytes where that is unknown).
  bool gave_back = false;
  std::optional<std::uint64_t> rss_before_bytes, rss_after_bytes;
  std::uint64_t stressor_requested_bytes = 0, stressor_reached_bytes = 0;
  bool target_oom_killed = false;
  bool stressor_oom_killed = false;
  double start_s = 0, end_s = 0;
  std::string explanation;
};

/// Did the released memory come back to the OS, promptly or under pressure? The word of the
/// `release.comes_back` metric: "yes" when the outcome was `returned`, or `lazy` / `huge_pages_held`
/// and the reclaim phase then took back at least half of what was held without an OOM kill of the
/// target; "no" otherwise; "nothing_released" and "no_data" as the outcome.
const char* comesBack(ReleaseOutcome o, const ReclaimResult* reclaim);

/// What analysis made of one stage: its StageBasics as recorded, and the figures computed from
/// its samples, heap readings and release windows.
struct StageStats : StageBasics {
  std::size_t samples = 0;
  std::optional<PressureSpec> pressure;
  std::optional<std::uint64_t> requested_setpoint_bytes;  ///< closed loop
  std::optional<std::uint64_t> requested_size_bytes;      ///< open loop
  std::optional<std::uint64_t> hysteresis_bytes;          ///< closed loop: the hold's hysteresis
  Summary usage;                                          ///< measured cgroup usage (bytes)
  Summary stressor;                                       ///< bytes the stressor reported holding
  /// Mean usage (closed loop) or stressor size (open loop) after the ramp and settling time.
  std::optional<double> reached_bytes;
  /// Closed loop: |usage - setpoint| over samples after settling, in bytes and as a fraction of
  /// the effective limit.
  std::optional<double> setpoint_error_mean_abs_bytes;
  std::optional<double> setpoint_error_max_abs_bytes;
  std::optional<double> setpoint_error_mean_abs_fraction;
  Summary target_rss;  ///< bytes
  std::uint32_t oom_kills_target = 0;
  std::uint32_t oom_kills_stressor = 0;
  std::optional<StageHeapStats> heap;    ///< when the plan reads pprof
  std::optional<ReleaseResult> release;  ///< release stages: the outcome (and reclaim, if it ran)
  std::optional<ReclaimResult> reclaim;  ///< release stages whose reclaim phase ran
  bool reclaim_configured = false;       ///< the plan asked for reclaim (report: skipped vs absent)
  std::string reclaim_skipped_reason;
  std::optional<StagePsi> psi;  ///< when the kernel reports memory PSI
  std::optional<StagePageCache> page_cache;
  std::optional<StageFill> fill;  ///< pressure stages: how fast the level was reached
};

}  // namespace memstrain
