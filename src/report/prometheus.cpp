#include "memstrain/report/prometheus.hpp"

#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "memstrain/report/escape.hpp"
#include "memstrain/util/json_read.hpp"

namespace memstrain {
namespace {

using nlohmann::json;
using Labels = std::vector<std::pair<std::string, std::string>>;

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double ("0.0125", not "0.012500000000000001").
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// report.json as read back: wrong types read as absent (util/json_read.hpp).
using json_read::at;
using json_read::items;
using json_read::num;
using json_read::str;

// Families in the order they are first declared; samples in the order they were added.
class Exposition {
 public:
  explicit Exposition(std::string plan) : plan_(std::move(plan)) {}

  void family(const std::string& name, const std::string& help) {
    index_[name] = families_.size();
    families_.push_back({name, help, {}});
  }
  void add(const std::string& name, Labels labels, double value) {
    auto it = index_.find(name);
    if (it == index_.end()) return;  // a family must be declared first
    std::string line = name + "{plan=\"" + prometheusLabel(plan_) + "\"";
    for (const auto& [k, v] : labels) line += "," + k + "=\"" + prometheusLabel(v) + "\"";
    line += "} " + formatValue(value) + "\n";
    families_[it->second].samples.push_back(std::move(line));
  }
  void add(const std::string& name, Labels labels, const std::optional<double>& value) {
    if (value) add(name, std::move(labels), *value);
  }
  std::string str() const {
    std::ostringstream o;
    for (const auto& f : families_) {
      if (f.samples.empty()) continue;
      o << "# HELP " << f.name << " " << f.help << "\n# TYPE " << f.name << " gauge\n";
      for (const auto& s : f.samples) o << s;
    }
    return o.str();
  }

 private:
  struct Family {
    std::string name, help;
    std::vector<std::string> samples;
  };
  std::string plan_;
  std::vector<Family> families_;
  std::map<std::string, std::size_t> index_;
};

// report.json check units to Prometheus base units, with the divisor that converts: durations are
// nanoseconds in report.json. Dividing rounds once, so 12500000 ns becomes exactly "0.0125".
std::pair<std::string, double> baseUnit(const std::string& unit) {
  if (unit == "ns") return {"seconds", 1e9};
  if (unit == "bytes") return {"bytes", 1};
  if (unit == "fraction") return {"ratio", 1};
  if (unit == "per_s") return {"per_second", 1};
  return {unit.empty() ? "count" : unit, 1};
}

}  // namespace

std::string renderPrometheusText(const json& report, int exit_code, double end_unix_s) {
  const std::string plan = str(at(report, "plan"), "name");
  Exposition e(plan);
  e.family("memstrain_run_info", "A finished memstrain run; its verdict, status and cleanup are labels.");
  e.family("memstrain_run_passed", "1 when the run's verdict is pass, else 0.");
  e.family("memstrain_run_exit_code",
           "Exit code of memstrain run (0 pass, 1 fail, 3 error, 4 interrupted, 5 inconclusive, 6 cleanup failed, 7 aborted).");
  e.family("memstrain_run_duration_seconds", "Wall time of the run.");
  e.family("memstrain_run_end_time_seconds", "When the run ended, Unix time.");
  e.family("memstrain_checks", "Check results (check x stage) by outcome.");
  e.family("memstrain_check_failed", "1 when the check failed in the stage, 0 when it passed.");
  e.family("memstrain_check_observed", "The value a check judged, in the base unit named by the unit label.");
  e.family("memstrain_stage_latency_seconds", "Probe latency in the stage, corrected for coordinated omission.");
  e.family("memstrain_stage_error_ratio", "Failed probe requests / completed requests in the stage.");
  e.family("memstrain_stage_usage_max_bytes", "Largest usage of the measured cgroup in the stage.");
  e.family("memstrain_stage_oom_kills", "OOM kills in the stage, of the target or of the stressor.");
  e.family("memstrain_stage_page_cache_min_bytes", "Smallest page cache (file memory) of the target's cgroup in the stage.");
  e.family("memstrain_stage_major_faults_per_second", "Page faults in the target's cgroup that waited for I/O.");
  e.family("memstrain_stage_refaults_per_second", "Evicted file pages of the target's cgroup read back.");
  e.family("memstrain_stage_gc_cycles", "Go GC cycles completed in the stage.");
  e.family("memstrain_stage_gc_cpu_ratio", "Share of the Go runtime's CPU (GOMAXPROCS x time) spent in GC in the stage.");
  e.family("memstrain_stage_heap_objects_delta", "Go heap objects at the stage's end minus its start.");
  e.family("memstrain_stage_release_returned_ratio", "Release stages: OS-visible drop / bytes the Go runtime released.");

  const json& run = at(report, "run");
  const std::string verdict = str(report, "verdict");
  e.add("memstrain_run_info",
        {{"run_id", str(run, "id")},
         {"verdict", verdict},
         {"status", str(run, "status")},
         {"cleanup", str(at(report, "cleanup"), "status")},
         {"cgroup_version", str(at(report, "cgroup"), "version")}},
        1.0);
  e.add("memstrain_run_passed", {}, verdict == "pass" ? 1.0 : 0.0);
  e.add("memstrain_run_exit_code", {}, static_cast<double>(exit_code));
  e.add("memstrain_run_duration_seconds", {}, num(run, "duration_s"));
  e.add("memstrain_run_end_time_seconds", {}, end_unix_s);

  std::map<std::string, double> tally = {{"pass", 0}, {"fail", 0}, {"no_data", 0}};
  for (const auto& c : items(report, "checks")) {
    const std::string outcome = str(c, "outcome");
    tally[outcome] += 1;
    if (outcome != "pass" && outcome != "fail") continue;
    Labels l = {{"check", str(c, "name")}, {"stage", str(c, "stage")}, {"probe", str(c, "probe")}};
    e.add("memstrain_check_failed", l, outcome == "fail" ? 1.0 : 0.0);
    if (auto v = num(c, "observed")) {
      auto [unit, divisor] = baseUnit(str(c, "unit"));
      l.emplace_back("unit", unit);
      e.add("memstrain_check_observed", l, *v / divisor);
    }
  }
  for (const auto& [outcome, n] : tally) e.add("memstrain_checks", {{"outcome", outcome}}, n);

  for (const auto& s : items(report, "stages")) {
    const std::string stage = str(s, "name");
    for (const auto& l : items(s, "latency")) {
      const std::string probe = str(l, "probe");
      const json& c = at(l, "corrected");
      if (num(c, "count").value_or(0) > 0) {
        static const std::pair<const char*, const char*> kQuantiles[] = {
            {"0.5", "p50_ms"}, {"0.9", "p90_ms"}, {"0.99", "p99_ms"}, {"0.999", "p999_ms"}, {"1", "max_ms"}};
        for (const auto& [q, key] : kQuantiles) {
          if (auto v = num(c, key))
            e.add("memstrain_stage_latency_seconds", {{"stage", stage}, {"probe", probe}, {"quantile", q}}, *v / 1e3);
        }
      }
      e.add("memstrain_stage_error_ratio", {{"stage", stage}, {"probe", probe}}, num(l, "error_rate"));
    }
    const json& usage = at(s, "usage_bytes");
    if (num(usage, "n").value_or(0) > 0) e.add("memstrain_stage_usage_max_bytes", {{"stage", stage}}, num(usage, "max"));
    const json& oom = at(s, "oom_kills");
    e.add("memstrain_stage_oom_kills", {{"stage", stage}, {"who", "target"}}, num(oom, "target"));
    e.add("memstrain_stage_oom_kills", {{"stage", stage}, {"who", "stressor"}}, num(oom, "stressor"));
    const json& pc = at(s, "page_cache");
    if (pc.is_object()) {
      const json& file = at(pc, "file_bytes");
      if (num(file, "n").value_or(0) > 0) e.add("memstrain_stage_page_cache_min_bytes", {{"stage", stage}}, num(file, "min"));
      e.add("memstrain_stage_major_faults_per_second", {{"stage", stage}}, num(pc, "major_faults_per_s"));
      e.add("memstrain_stage_refaults_per_second", {{"stage", stage}}, num(pc, "refaults_per_s"));
    }
    const json& heap = at(s, "heap");
    e.add("memstrain_stage_gc_cycles", {{"stage", stage}}, num(heap, "gc_cycles"));
    e.add("memstrain_stage_gc_cpu_ratio", {{"stage", stage}}, num(heap, "gc_cpu_fraction"));
    e.add("memstrain_stage_heap_objects_delta", {{"stage", stage}}, num(heap, "objects_delta"));
    e.add("memstrain_stage_release_returned_ratio", {{"stage", stage}}, num(at(s, "release"), "returned_ratio"));
  }
  return e.str();
}

std::string prometheusFileName(const std::string& plan_name) {
  std::string out = "memstrain_";
  for (char c : plan_name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  return out + ".prom";
}

}  // namespace memstrain
