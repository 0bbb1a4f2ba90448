#include "memstrain/analysis/heap_stats.hpp"

#include <algorithm>
#include <cmath>

namespace memstrain {

std::optional<double> leastSquaresSlope(const std::vector<std::pair<double, double>>& points) {
  if (points.size() < 2) return std::nullopt;
  double mx = 0, my = 0;
  for (const auto& [x, y] : points) {
    mx += x;
    my += y;
  }
  mx /= static_cast<double>(points.size());
  my /= static_cast<double>(points.size());
  double sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) {
    sxx += (x - mx) * (x - mx);
    sxy += (x - mx) * (y - my);
  }
  if (sxx <= 0) return std::nullopt;
  return sxy / sxx;
}

std::optional<double> gcCpuSeconds(const GoMemStats& s, std::int64_t process_start_unix_ns) {
  if (!s.last_gc_unix_ns) return std::nullopt;
  if (*s.last_gc_unix_ns == 0 || s.num_gc == 0) return 0.0;
  const double up_s = (static_cast<double>(*s.last_gc_unix_ns) - static_cast<double>(process_start_unix_ns)) * 1e-9;
  if (!(up_s > 0) || !(s.gc_cpu_fraction >= 0)) return std::nullopt;  // clocks disagree, or a NaN
  return s.gc_cpu_fraction * up_s;
}

std::optional<double> gcCpuShare(double t0_s, double cpu0_s, double t1_s, double cpu1_s) {
  if (!(t1_s > t0_s)) return std::nullopt;
  return std::clamp((cpu1_s - cpu0_s) / (t1_s - t0_s), 0.0, 1.0);
}

std::vector<StageHeapStats> analyzeHeap(const std::vector<MemStatsSample>& readings, const std::vector<PprofFailure>& failures,
                                        std::size_t stage_count, std::optional<std::int64_t> process_start_unix_ns) {
  std::vector<StageHeapStats> out(stage_count);
  std::optional<std::uint64_t> num_gc_before;      // NumGC at the last reading of earlier stages
  const MemStatsSample* reading_before = nullptr;  // that reading
  for (std::size_t i = 0; i < stage_count; ++i) {
    StageHeapStats& h = out[i];
    std::vector<std::pair<double, double>> pts;
    const MemStatsSample* first = nullptr;
    const MemStatsSample* last = nullptr;
    for (const auto& r : readings) {
      if (r.stage != i) continue;
      if (!first) first = &r;
      last = &r;
      pts.emplace_back(r.t_s, static_cast<double>(r.stats.heap_objects));
    }
    for (const auto& f : failures) h.pprof_errors += f.stage == i ? 1 : 0;
    h.samples = pts.size();
    if (!first) continue;
    h.objects_start = first->stats.heap_objects;
    h.objects_end = last->stats.heap_objects;
    h.objects_delta = static_cast<std::int64_t>(last->stats.heap_objects) - static_cast<std::int64_t>(first->stats.heap_objects);
    h.objects_slope_per_s = leastSquaresSlope(pts);
    h.heap_inuse_start = first->stats.heap_inuse_bytes;
    h.heap_inuse_end = last->stats.heap_inuse_bytes;
    h.heap_released_start = first->stats.heap_released_bytes;
    h.heap_released_end = last->stats.heap_released_bytes;
    const std::uint64_t gc_base = num_gc_before.value_or(first->stats.num_gc);
    h.gc_cycles = last->stats.num_gc >= gc_base ? last->stats.num_gc - gc_base : 0;
    num_gc_before = last->stats.num_gc;
    if (process_start_unix_ns) {
      const MemStatsSample* from = reading_before ? reading_before : first;
      auto c0 = gcCpuSeconds(from->stats, *process_start_unix_ns);
      auto c1 = gcCpuSeconds(last->stats, *process_start_unix_ns);
      if (c0 && c1) h.gc_cpu_fraction = gcCpuShare(from->t_s, *c0, last->t_s, *c1);
    }
    reading_before = last;
    h.goroutines_start = first->goroutines;
    h.goroutines_end = last->goroutines;
  }
  return out;
}

Result<HeapDiff> diffBaselineToLargest(const std::vector<ProfileSnapshot>& snapshots, const std::vector<std::string>& stage_names,
                                       std::size_t top_n, const PprofLimits& limits) {
  // First pass: each stage-end profile's total, one profile in memory at a time.
  struct Seen {
    const ProfileSnapshot* snap;
    std::int64_t inuse_space;
  };
  std::vector<Seen> seen;
  for (const auto& s : snapshots) {
    if (s.reason != "stage_end") continue;
    auto p = readProfileFile(s.path, limits);
    if (!p) return Error{"diff: " + s.path + ": " + p.error().message};
    auto top = computeTop(*p, "inuse_space");
    if (!top) return Error{"diff: " + s.path + ": " + top.error().message};
    seen.push_back({&s, top->total});
  }
  if (seen.size() < 2) return Error{"diff: needs the end-of-stage profiles of two stages, have " + std::to_string(seen.size())};
  auto nameOf = [&](std::size_t stage) { return stage < stage_names.size() ? stage_names[stage] : std::to_string(stage); };
  std::size_t base = 0;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (nameOf(seen[i].snap->stage) == "baseline") {
      base = i;
      break;
    }
  }
  std::size_t largest = base == 0 ? 1 : 0;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (i != base && seen[i].inuse_space > seen[largest].inuse_space) largest = i;
  }
  // Second pass: the two compared.
  auto base_profile = readProfileFile(seen[base].snap->path, limits);
  if (!base_profile) return Error{"diff: " + seen[base].snap->path + ": " + base_profile.error().message};
  auto profile = readProfileFile(seen[largest].snap->path, limits);
  if (!profile) return Error{"diff: " + seen[largest].snap->path + ": " + profile.error().message};
  HeapDiff d;
  d.base_stage = nameOf(seen[base].snap->stage);
  d.stage = nameOf(seen[largest].snap->stage);
  d.base_path = seen[base].snap->path;
  d.path = seen[largest].snap->path;
  auto objects = computeDiff(*base_profile, *profile, "inuse_objects");
  if (!objects) return Error{"diff: " + objects.error().message};
  auto space = computeDiff(*base_profile, *profile, "inuse_space");
  if (!space) return Error{"diff: " + space.error().message};
  d.inuse_objects = std::move(*objects);
  d.inuse_space = std::move(*space);
  if (d.inuse_objects.rows.size() > top_n) d.inuse_objects.rows.resize(top_n);
  if (d.inuse_space.rows.size() > top_n) d.inuse_space.rows.resize(top_n);
  return d;
}

}  // namespace memstrain
