#include "memstrain/report/run_series.hpp"

#include <algorithm>

#include <fstream>

#include "memstrain/model/samples_format.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

// Samples may come from another version or be cut short: model/samples_format decodes them, with
// every field optional; each kind below names the fields a chart cannot do without.

bool add(RunSeries& s, const CgroupLine& c) {
  if (!c.t_s || !c.measured_usage_bytes) return false;
  CgroupPoint p;
  p.t_s = *c.t_s;
  p.usage_bytes = *c.measured_usage_bytes;
  p.limit_bytes = c.effective_limit_bytes;
  p.stressor_bytes = c.stressor_populated_bytes.value_or(0);
  p.setpoint_bytes = c.setpoint_bytes;
  p.target_file_bytes = c.target_file_bytes;
  p.target_rss_bytes = c.target_rss_bytes;
  p.target_lazyfree_bytes = c.target_lazyfree_bytes;
  p.psi_some_avg10 = c.psi_some_avg10;
  p.psi_full_avg10 = c.psi_full_avg10;
  s.cgroup.push_back(p);
  return true;
}

bool add(RunSeries& s, const MemstatsLine& m) {
  if (!m.t_s || !m.heap_objects) return false;
  MemstatsPoint p;
  p.t_s = *m.t_s;
  p.heap_objects = *m.heap_objects;
  p.heap_inuse_bytes = m.heap_inuse_bytes.value_or(0);
  p.heap_released_bytes = m.heap_released_bytes.value_or(0);
  p.num_gc = m.num_gc ? static_cast<double>(*m.num_gc) : 0;
  p.gc_cpu_fraction = m.gc_cpu_fraction.value_or(0);
  p.last_gc_unix_ns = m.last_gc_unix_ns;
  s.memstats.push_back(p);
  return true;
}

bool add(RunSeries& s, const LiveHeapLine& l) {
  if (!l.t_s || !l.objects) return false;
  // Boundary readings are queued and may arrive after an interval reading: keep time order.
  LivePoint p{*l.t_s, *l.objects, l.bytes.value_or(0)};
  auto at = std::upper_bound(s.live.begin(), s.live.end(), p.t_s, [](double t_s, const LivePoint& q) { return t_s < q.t_s; });
  s.live.insert(at, p);
  return true;
}

bool add(RunSeries& s, const LatencyLine& l) {
  if (!l.t_s || !l.probe) return false;
  std::size_t k = 0;
  while (k < s.probes.size() && s.probes[k] != *l.probe) ++k;
  if (k == s.probes.size()) {
    if (s.probes.size() >= kMaxSeriesProbes) return false;
    s.probes.push_back(*l.probe);
    s.latency.emplace_back();
  }
  LatencyPoint p;
  p.t_s = *l.t_s;
  p.p50_ms = l.p50_ms.value_or(0);
  p.p99_ms = l.p99_ms.value_or(0);
  p.completed = l.completed.value_or(0);
  p.errors = l.errors.value_or(0);
  s.latency[k].push_back(p);
  return true;
}

bool add(RunSeries& s, const PprofErrorLine&) {
  ++s.pprof_errors;
  return true;
}

bool add(RunSeries&, const OtherLine&) { return true; }

}  // namespace

void addSampleLine(RunSeries& series, std::string_view line) {
  const std::optional<SampleLine> decoded = decodeSampleLine(line);
  const bool ok = decoded && std::visit([&](const auto& l) { return add(series, l); }, *decoded);
  if (!ok) ++series.bad_lines;
}

RunSeries parseSamples(std::string_view text) {
  RunSeries s;
  for (std::string_view line : splitLines(text)) addSampleLine(s, line);
  return s;
}

Result<RunSeries> readSamplesFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::fromErrno("open " + path);
  RunSeries s;
  std::string line;
  constexpr std::size_t kMaxLine = 1 << 20;
  while (std::getline(in, line)) {
    if (line.size() > kMaxLine) return Error{path + ": a line longer than 1 MiB; not a memstrain samples file"};
    addSampleLine(s, line);
  }
  if (in.bad()) return Error::fromErrno("read " + path);
  return s;
}

}  // namespace memstrain
