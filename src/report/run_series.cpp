#include "memstrain/report/run_series.hpp"

#include <algorithm>

#include <fstream>

#include <nlohmann/json.hpp>

#include "memstrain/util/json_read.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

using nlohmann::json;

// Samples may come from another version or be cut short: util/json_read.hpp reads them safely.
using json_read::at;
using json_read::num;

bool addCgroup(RunSeries& s, const json& j) {
  auto t = num(j, "t");
  auto usage = num(j, "measured_usage_bytes");
  if (!t || !usage) return false;
  CgroupPoint p;
  p.t_s = *t;
  p.usage_bytes = *usage;
  p.limit_bytes = num(j, "effective_limit_bytes");
  p.stressor_bytes = num(at(j, "stressor"), "populated_bytes").value_or(0);
  p.setpoint_bytes = num(j, "setpoint_bytes");
  p.target_file_bytes = num(at(j, "target_cgroup"), "file_bytes");
  const json& tp = at(j, "target_process");
  p.target_rss_bytes = num(tp, "rss_bytes");
  p.target_lazyfree_bytes = num(tp, "lazyfree_bytes");
  // PSI of the cgroup the pressure level refers to (the parent with beside placement).
  const json& measured = at(j, "measured_cgroup").is_object() ? at(j, "measured_cgroup") : at(j, "target_cgroup");
  p.psi_some_avg10 = num(measured, "psi_some_avg10");
  p.psi_full_avg10 = num(measured, "psi_full_avg10");
  s.cgroup.push_back(p);
  return true;
}

bool addMemstats(RunSeries& s, const json& j) {
  auto t = num(j, "t");
  auto objects = num(j, "heap_objects");
  if (!t || !objects) return false;
  MemstatsPoint p;
  p.t_s = *t;
  p.heap_objects = *objects;
  p.heap_inuse_bytes = num(j, "heap_inuse_bytes").value_or(0);
  p.heap_released_bytes = num(j, "heap_released_bytes").value_or(0);
  p.num_gc = num(j, "num_gc").value_or(0);
  p.gc_cpu_fraction = num(j, "gc_cpu_fraction").value_or(0);
  if (auto last = num(j, "last_gc_unix_ns"); last && *last >= 0) p.last_gc_unix_ns = static_cast<std::uint64_t>(*last);
  s.memstats.push_back(p);
  return true;
}

bool addLive(RunSeries& s, const json& j) {
  auto t = num(j, "t");
  auto objects = num(j, "live_objects");
  if (!t || !objects) return false;
  // Boundary readings are queued and may arrive after an interval reading: keep time order.
  LivePoint p{*t, *objects, num(j, "live_bytes").value_or(0)};
  auto at = std::upper_bound(s.live.begin(), s.live.end(), p.t_s, [](double t_s, const LivePoint& q) { return t_s < q.t_s; });
  s.live.insert(at, p);
  return true;
}

bool addLatency(RunSeries& s, const json& j) {
  auto t = num(j, "t");
  const json& probe = at(j, "probe");
  if (!t || !probe.is_string()) return false;
  const std::string name = probe.get<std::string>();
  std::size_t k = 0;
  while (k < s.probes.size() && s.probes[k] != name) ++k;
  if (k == s.probes.size()) {
    if (s.probes.size() >= kMaxSeriesProbes) return false;
    s.probes.push_back(name);
    s.latency.emplace_back();
  }
  LatencyPoint p;
  p.t_s = *t;
  p.p50_ms = num(j, "p50_ms").value_or(0);
  p.p99_ms = num(j, "p99_ms").value_or(0);
  p.completed = num(j, "completed").value_or(0);
  p.errors = num(j, "errors").value_or(0);
  s.latency[k].push_back(p);
  return true;
}

}  // namespace

void addSampleLine(RunSeries& series, std::string_view line) {
  line = trim(line);
  if (line.empty()) return;
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    ++series.bad_lines;
    return;
  }
  const json& kind = at(j, "kind");
  if (!kind.is_string()) {
    ++series.bad_lines;
    return;
  }
  const std::string& k = kind.get_ref<const std::string&>();
  bool ok = true;
  if (k == "cgroup")
    ok = addCgroup(series, j);
  else if (k == "memstats")
    ok = addMemstats(series, j);
  else if (k == "live_heap")
    ok = addLive(series, j);
  else if (k == "latency")
    ok = addLatency(series, j);
  else if (k == "pprof_error")
    ++series.pprof_errors;
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
