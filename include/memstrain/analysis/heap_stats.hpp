#pragma once
// What the Go runtime did in each stage, from the MemStats series, and which functions grew the
// heap: pure functions over observer data and saved profiles.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "memstrain/model/heap.hpp"
#include "memstrain/model/stage_stats.hpp"
#include "memstrain/pprof/pprof_top.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Slope of the least-squares line through (x, y) points; nullopt with fewer than two distinct x.
std::optional<double> leastSquaresSlope(const std::vector<std::pair<double, double>>& points);

/// Two-sided quantile of Student's t distribution: the t with P(|T| <= t) = confidence for
/// `dof` degrees of freedom (dof >= 1). Exact to 3 decimals for confidence 0.95 up to 30 dof
/// (a table), then the Cornish–Fisher expansion around the normal quantile (error < 1e-3).
/// Other confidences use the expansion throughout. Returns NaN for dof == 0.
double studentTQuantile(double confidence, std::size_t dof);

/// The least-squares slope through (x, y) points with its confidence interval: half_width =
/// t(confidence, n−2) · sqrt(RSS / (n−2) / Sxx). nullopt with fewer than three points or fewer
/// than two distinct x: two points give a slope but no error, and a rate without one is not
/// reported.
std::optional<SlopeEstimate> slopeWithInterval(const std::vector<std::pair<double, double>>& points, double confidence = 0.95);

/// Fills the live_* figures of `stages` (one per stage) from GC-forced readings: a stage's start is
/// the "start" reading (first stage) or the "stage_end" reading of the stage before, its end its
/// own "stage_end" reading; the slope runs over those and the "interval" readings between them.
void analyzeLiveHeap(const std::vector<LiveHeapReading>& readings, std::vector<StageHeapStats>& stages);

/// "retaining 19,870 objects/s ± 420 (95%, 9 live readings)", or "no retention beyond the noise:
/// 12 objects/s ± 310 ..." when the interval covers zero; empty without a slope.
std::string retentionSentence(const StageHeapStats& h);

/// GC CPU time up to a reading, in seconds per GOMAXPROCS. Go updates GCCPUFraction only when a
/// GC ends, as GC CPU over GOMAXPROCS × (that moment − runtime start), so the product with
/// (LastGC − process start) is cumulative and differences of it hold per interval. Zero before
/// the first GC; nullopt without LastGC.
std::optional<double> gcCpuSeconds(const GoMemStats& s, std::int64_t process_start_unix_ns);

/// GC's share of GOMAXPROCS × time between two readings of gcCpuSeconds, `cpu0_s` at `t0_s` and
/// `cpu1_s` at `t1_s`, held within [0, 1]; nullopt unless t1_s > t0_s.
std::optional<double> gcCpuShare(double t0_s, double cpu0_s, double t1_s, double cpu1_s);

/// One entry per stage (`stage_count` of them), from readings tagged with their stage index.
/// `process_start_unix_ns`, when known, enables gc_cpu_fraction.
std::vector<StageHeapStats> analyzeHeap(const std::vector<MemStatsSample>& readings, const std::vector<PprofFailure>& failures,
                                        std::size_t stage_count, std::optional<std::int64_t> process_start_unix_ns = std::nullopt);

/// Top heap-growth functions between two saved profiles, like `go tool pprof -diff_base`.
struct HeapDiff {
  std::string base_stage, stage;
  std::string base_path, path;
  TopReport inuse_objects;  ///< rows cut to the top N
  TopReport inuse_space;
};

/// The functions that grew the most in-use objects in `diff` (positive flat only), at most `n`:
/// "main.leakObjects +98,304, main.retainObjects +1,024"; empty when none grew.
std::string growingFunctions(const HeapDiff& diff, std::size_t n = 3);

/// Compares the end-of-stage snapshot of the baseline (the stage named "baseline", else the first
/// with a snapshot) with the stage-end snapshot holding the most inuse_space. Profiles are read from
/// disk within `limits` (the plan's pprof caps) one at a time, and only the two compared are decoded
/// together: memory is that of two profiles whatever the number of stages. Error when fewer than
/// two stage-end snapshots exist or one does not decode.
Result<HeapDiff> diffBaselineToLargest(const std::vector<ProfileSnapshot>& snapshots, const std::vector<std::string>& stage_names,
                                       std::size_t top_n, const PprofLimits& limits = {});

}  // namespace memstrain
