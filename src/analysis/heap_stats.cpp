#include "memstrain/analysis/heap_stats.hpp"

#include <algorithm>
#include <cmath>
#include <string>

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

double studentTQuantile(double confidence, std::size_t dof) {
  if (dof == 0) return std::nan("");
  // t(0.975, dof) for dof 1..30.
  static constexpr double kT975[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                     2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                     2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (std::abs(confidence - 0.95) < 1e-12 && dof <= 30) return kT975[dof - 1];
  // The normal quantile z for p = (1 + confidence) / 2 (Acklam's rational approximation, central
  // region; confidences between 0.5 and 0.9999 stay in it), then Cornish–Fisher in 1/dof.
  const double p = (1 + confidence) / 2;
  const double q = p - 0.5, r = q * q;
  const double z = (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r -
                     3.066479806614716e+01) *
                        r +
                    2.506628277459239e+00) *
                   q /
                   (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r -
                     1.328068155288572e+01) *
                        r +
                    1.0);
  const double d = static_cast<double>(dof);
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d * d) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * d * d * d);
}

std::optional<SlopeEstimate> slopeWithInterval(const std::vector<std::pair<double, double>>& points, double confidence) {
  const std::size_t n = points.size();
  if (n < 3) return std::nullopt;
  double mx = 0, my = 0;
  for (const auto& [x, y] : points) {
    mx += x;
    my += y;
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) {
    sxx += (x - mx) * (x - mx);
    sxy += (x - mx) * (y - my);
  }
  if (!(sxx > 0)) return std::nullopt;
  const double slope = sxy / sxx;
  const double intercept = my - slope * mx;
  double rss = 0;
  for (const auto& [x, y] : points) {
    const double e = y - (intercept + slope * x);
    rss += e * e;
  }
  const double se = std::sqrt(rss / static_cast<double>(n - 2) / sxx);
  return SlopeEstimate{slope, studentTQuantile(confidence, n - 2) * se, confidence, n};
}

void analyzeLiveHeap(const std::vector<LiveHeapReading>& readings, std::vector<StageHeapStats>& stages) {
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const LiveHeapReading* start = nullptr;
    const LiveHeapReading* end = nullptr;
    for (const auto& r : readings) {
      if ((i == 0 && r.kind == "start") || (i > 0 && r.kind == "stage_end" && r.stage == i - 1)) start = &r;
      if (r.kind == "stage_end" && r.stage == i) end = &r;
    }
    // Interval readings between the boundaries (by time: a boundary reading is queued at the
    // stage's end and may come after an interval reading already tagged with the next stage).
    std::vector<std::pair<double, double>> objects, bytes;
    for (const auto& r : readings) {
      const bool after_start = start ? r.t_s > start->t_s : r.stage == i;
      const bool before_end = end ? r.t_s < end->t_s : r.stage == i;
      if (!(&r == start || &r == end || (r.kind == "interval" && after_start && before_end))) continue;
      objects.emplace_back(r.t_s, static_cast<double>(r.objects));
      bytes.emplace_back(r.t_s, static_cast<double>(r.bytes));
    }
    StageHeapStats& h = stages[i];
    h.live_readings = objects.size();
    if (start) {
      h.live_objects_start = start->objects;
      h.live_bytes_start = start->bytes;
    }
    if (end) {
      h.live_objects_end = end->objects;
      h.live_bytes_end = end->bytes;
    }
    if (start && end) {
      h.live_objects_delta = static_cast<std::int64_t>(end->objects) - static_cast<std::int64_t>(start->objects);
      h.live_bytes_delta = static_cast<std::int64_t>(end->bytes) - static_cast<std::int64_t>(start->bytes);
    }
    h.live_objects_slope = slopeWithInterval(objects);
    h.live_bytes_slope = slopeWithInterval(bytes);
  }
}

namespace {
std::string grouped(double v) {
  const long long n = std::llround(std::abs(v));
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (v < 0 && n != 0 ? "-" : "") + out;
}
}  // namespace

std::string retentionSentence(const StageHeapStats& h) {
  if (!h.live_objects_slope) return "";
  const SlopeEstimate& e = *h.live_objects_slope;
  const std::string rate = grouped(e.slope) + " objects/s ± " + grouped(e.half_width) + " (" +
                           std::to_string(static_cast<int>(std::lround(e.confidence * 100))) + "%, " + std::to_string(e.points) +
                           " live readings)";
  if (e.slope - e.half_width > 0) return "retaining " + rate;
  if (e.slope + e.half_width < 0) return "releasing " + rate;
  return "no retention beyond the noise: " + rate;
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

std::string growingFunctions(const HeapDiff& diff, std::size_t n) {
  std::string out;
  std::size_t listed = 0;
  for (const auto& row : diff.inuse_objects.rows) {
    if (row.flat <= 0 || listed == n) continue;
    out += (listed++ ? ", " : "") + row.name + " +" + grouped(static_cast<double>(row.flat));
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
