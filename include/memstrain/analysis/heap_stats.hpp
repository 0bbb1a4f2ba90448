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

/// Compares the end-of-stage snapshot of the baseline (the stage named "baseline", else the first
/// with a snapshot) with the stage-end snapshot holding the most inuse_space. Error when fewer
/// than two stage-end snapshots exist or one does not decode.
Result<HeapDiff> diffBaselineToLargest(const std::vector<ProfileSnapshot>& snapshots, const std::vector<std::string>& stage_names,
                                       std::size_t top_n);

}  // namespace memstrain
