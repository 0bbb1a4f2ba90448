#include "memstrain/sweep/sweep_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include "memstrain/report/escape.hpp"
#include "memstrain/util/units.hpp"
#include "memstrain/version.hpp"

namespace memstrain {

using nlohmann::json;

namespace {

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json spreadJson(const std::optional<Spread>& s) {
  if (!s) return nullptr;
  return {{"min", s->min}, {"median", s->median}, {"max", s->max}, {"n", s->n}};
}

}  // namespace

json sweepRunJson(const SweepRunFigures& r) {
  return {{"dir", r.dir},
          {"exit_code", r.exit_code},
          {"verdict", r.verdict},
          {"status", r.status.empty() ? json(nullptr) : json(r.status)},
          {"error", r.error.empty() ? json(nullptr) : json(r.error)},
          {"duration_s", r.duration_s},
          {"first_target_oom_s", opt(r.first_target_oom_s)},
          {"target_exit", opt(r.target_exit)},
          {"gc_cycles", opt(r.gc_cycles)},
          {"gc_pause_total_ns", opt(r.gc_pause_total_ns)},
          {"gc_cpu_max", opt(r.gc_cpu_max)},
          {"gc_cpu_max_stage", r.gc_cpu_max ? json(r.gc_cpu_max_stage) : json(nullptr)},
          {"peak_usage_bytes", opt(r.peak_usage_bytes)},
          {"peak_target_bytes", opt(r.peak_target_bytes)},
          {"limit_bytes", opt(r.limit_bytes)},
          {"headroom_bytes", opt(r.headroom_bytes)},
          {"p99_ms", r.p99_ms},
          {"live_objects_per_s", r.live_growth_per_s},
          {"release", r.release}};
}

namespace {

// `v` with `decimals` digits after the point, then `suffix`.
std::string fixed(double v, int decimals, const char* suffix = "") {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, v, suffix);
  return buf;
}

std::string mib(double bytes) { return fixed(bytes / (1024.0 * 1024.0), 1, " MiB"); }
std::string count(double v) { return fixed(v, std::fabs(v - std::round(v)) < 1e-9 ? 0 : 1); }

// "median" when every repeat agrees (or there is one), else "median (min–max)".
std::string spreadText(const std::optional<Spread>& s, const std::function<std::string(double)>& one) {
  if (!s) return "-";
  if (s->n == 1 || s->min == s->max) return one(s->median);
  return one(s->median) + " (" + one(s->min) + " – " + one(s->max) + ")";
}

std::string verdictText(const SweepSettingSummary& s) {
  if (s.runs.size() <= 1) return s.verdict;
  return s.verdict + " (" + std::to_string(s.passed) + "/" + std::to_string(s.runs.size()) + " passed)";
}

std::string oomText(const SweepSettingSummary& s) {
  if (s.runs.empty()) return "-";
  if (s.oom_runs == 0) {
    for (const auto& r : s.runs) {
      if (r.target_exit) return "died: " + *r.target_exit;
    }
    return "survived";
  }
  std::string t = "OOM at " + spreadText(s.oom_time_s, [](double v) { return fixed(v, 1, " s"); });
  if (s.oom_runs != 1 || s.runs.size() != 1) t += ", " + std::to_string(s.oom_runs) + "/" + std::to_string(s.runs.size()) + " runs";
  return t;
}

std::string slopeText(const SweepSettingSummary& s, const std::string& baseline_stage) {
  // The stage whose median slope is largest: where the heap grew fastest. The baseline stage
  // (start-up allocations) only when no other stage has a slope.
  const std::pair<const std::string, Spread>* worst = nullptr;
  for (bool with_baseline : {false, true}) {
    for (const auto& kv : s.live_growth_per_s) {
      if (!with_baseline && kv.first == baseline_stage) continue;
      if (worst == nullptr || kv.second.median > worst->second.median) worst = &kv;
    }
    if (worst != nullptr) break;
  }
  if (worst == nullptr) return "-";
  return worst->first + ": " + spreadText(worst->second, [](double v) { return (v >= 0 ? "+" : "") + fixed(v, 0, "/s"); });
}

std::string releaseText(const SweepSettingSummary& s, bool repeats) {
  if (s.release.empty()) return "-";
  std::string t;
  for (const auto& [stage, outcomes] : s.release) {
    for (const auto& [outcome, n] : outcomes) {
      if (!t.empty()) t += ", ";
      t += stage + ": " + outcome;
      if (repeats) t += " ×" + std::to_string(n);
    }
  }
  return t;
}

// Per-stage latency keys in plan order ("stage", or "stage/probe" with several probes).
std::vector<std::string> latencyKeys(const SweepDocument& doc) {
  std::vector<std::string> keys;
  auto add = [&](const std::string& k) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  };
  for (const auto& stage : doc.stage_names) {
    for (const auto& s : doc.settings) {
      for (const auto& kv : s.p99_ms) {
        if (kv.first == stage || kv.first.rfind(stage + "/", 0) == 0) add(kv.first);
      }
    }
  }
  for (const auto& s : doc.settings) {
    for (const auto& kv : s.p99_ms) add(kv.first);
  }
  return keys;
}

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> recommended;
};

Table buildTable(const SweepDocument& doc) {
  Table t;
  t.header = {"setting", "verdict", "first OOM kill", "GC cycles", "GC pause", "GC CPU (worst stage)", "peak usage", "headroom"};
  const auto keys = latencyKeys(doc);
  for (const auto& k : keys) t.header.push_back("p99 " + k);
  t.header.push_back("live objects growth");
  t.header.push_back("release");
  for (std::size_t i = 0; i < doc.settings.size(); ++i) {
    const auto& s = doc.settings[i];
    std::vector<std::string> row = {s.setting.label(),
                                    verdictText(s),
                                    oomText(s),
                                    spreadText(s.gc_cycles, count),
                                    spreadText(s.gc_pause_ms, [](double v) { return fixed(v, 1, " ms"); }),
                                    spreadText(s.gc_cpu_max, [](double v) { return fixed(v * 100, 1, "%"); }),
                                    spreadText(s.peak_usage_bytes, mib),
                                    spreadText(s.headroom_bytes, mib)};
    for (const auto& k : keys) {
      auto it = s.p99_ms.find(k);
      row.push_back(it == s.p99_ms.end() ? "-" : spreadText(it->second, [](double v) { return fixed(v, 2, " ms"); }));
    }
    row.push_back(slopeText(s, doc.baseline_stage));
    row.push_back(releaseText(s, doc.repeat > 1));
    t.rows.push_back(std::move(row));
    t.recommended.push_back(doc.recommendation.index && *doc.recommendation.index == i);
  }
  return t;
}

std::string axesText(const SweepDocument& doc) {
  std::string t;
  for (const auto& a : doc.axes) {
    if (!t.empty()) t += " × ";
    t += a.name + " ∈ {";
    for (std::size_t i = 0; i < a.values.size(); ++i) t += (i ? ", " : "") + a.values[i];
    t += "}";
  }
  return t;
}

}  // namespace

json sweepJson(const SweepDocument& doc) {
  json j;
  j["schema"] = "memstrain-sweep";
  j["schema_version"] = kSweepSchemaVersion;
  j["tool"] = {{"name", "memstrain"}, {"version", kVersion}};
  j["plan"] = {{"path", doc.plan_path},
               {"name", doc.plan_name},
               {"memory_limit_bytes", doc.memory_limit_bytes},
               {"stages", doc.stage_names},
               {"baseline_stage", doc.baseline_stage.empty() ? json(nullptr) : json(doc.baseline_stage)}};
  json axes = json::array();
  for (const auto& a : doc.axes) axes.push_back({{"name", a.name}, {"values", a.values}});
  j["axes"] = axes;
  j["repeat"] = doc.repeat;
  j["interrupted"] = doc.interrupted;
  j["headroom_definition"] = kHeadroomDefinition;
  json settings = json::array();
  for (const auto& s : doc.settings) {
    json values = json::object();
    for (const auto& [k, v] : s.setting.values) values[k] = v;
    json p99 = json::object(), slope = json::object();
    for (const auto& [k, v] : s.p99_ms) p99[k] = spreadJson(v);
    for (const auto& [k, v] : s.live_growth_per_s) slope[k] = spreadJson(v);
    json runs = json::array();
    for (const auto& r : s.runs) runs.push_back(sweepRunJson(r));
    settings.push_back({{"label", s.setting.label()},
                        {"dir", s.setting.dirName()},
                        {"values", values},
                        {"env", s.env},
                        {"verdict", s.verdict},
                        {"runs_total", s.runs.size()},
                        {"passed", s.passed},
                        {"failed", s.failed},
                        {"inconclusive", s.inconclusive},
                        {"errors", s.errors},
                        {"oom_runs", s.oom_runs},
                        {"first_oom_s", spreadJson(s.oom_time_s)},
                        {"gc_cycles", spreadJson(s.gc_cycles)},
                        {"gc_pause_ms", spreadJson(s.gc_pause_ms)},
                        {"gc_cpu_max", spreadJson(s.gc_cpu_max)},
                        {"peak_usage_bytes", spreadJson(s.peak_usage_bytes)},
                        {"peak_target_bytes", spreadJson(s.peak_target_bytes)},
                        {"headroom_bytes", spreadJson(s.headroom_bytes)},
                        {"p99_ms", p99},
                        {"live_objects_per_s", slope},
                        {"release", s.release},
                        {"runs", runs}});
  }
  j["settings"] = settings;
  const auto& rec = doc.recommendation;
  j["recommendation"] = {{"index", opt(rec.index)},
                         {"setting", rec.index ? json(doc.settings[*rec.index].setting.label()) : json(nullptr)},
                         {"line", rec.line}};
  return j;
}

std::string renderSweepMarkdown(const SweepDocument& doc) {
  std::ostringstream o;
  o << "# memstrain sweep: " << markdownCell(doc.plan_name) << "\n\n";
  o << "Plan `" << markdownCell(doc.plan_path) << "`, memory limit " << formatBytes(doc.memory_limit_bytes) << "; "
    << markdownCell(axesText(doc)) << "; " << doc.repeat << " run(s) per setting.";
  if (doc.interrupted) o << " **Interrupted: later runs are missing.**";
  o << "\n\n";
  const Table t = buildTable(doc);
  o << "|";
  for (const auto& h : t.header) o << " " << markdownCell(h) << " |";
  o << "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) o << (i == 0 ? " --- |" : " ---: |");
  o << "\n";
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    o << "|";
    for (std::size_t c = 0; c < t.rows[r].size(); ++c) {
      const std::string cell = markdownCell(t.rows[r][c]);
      o << " " << (c == 0 && t.recommended[r] ? "**" + cell + "**" : cell) << " |";
    }
    o << "\n";
  }
  o << "\n**" << markdownCell(doc.recommendation.line) << "**\n\n";
  o << "Figures over repeats read median (min – max). First OOM kill: seconds from the first stage to the kernel's first OOM "
       "kill in the target's cgroup. GC cycles and pause: NumGC and PauseTotalNs between the first and last MemStats reading. "
    << kGcCpuDefinition << " " << markdownCell(kHeadroomDefinition) << ". Each run's own report is in its directory (see sweep.json).\n";
  return o.str();
}

std::string renderSweepHtml(const SweepDocument& doc) {
  std::ostringstream o;
  const auto e = [](const std::string& s) { return htmlEscape(s); };
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>memstrain sweep: " << e(doc.plan_name) << "</title>\n"
    << "<style>\n"
       "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\n"
       "table{border-collapse:collapse;font-size:14px}\n"
       "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;white-space:nowrap}\n"
       "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}\n"
       "tr.pass td:nth-child(2){color:#17692e}tr.fail td:nth-child(2){color:#a31515;font-weight:bold}\n"
       "tr.rec{background:#eaf6ea}p.rec{font-weight:bold}\n"
       ".note{color:#555;font-size:13px;max-width:60em}\n"
       "</style></head><body>\n";
  o << "<h1>memstrain sweep: " << e(doc.plan_name) << "</h1>\n";
  o << "<p>Plan <code>" << e(doc.plan_path) << "</code>, memory limit " << e(formatBytes(doc.memory_limit_bytes)) << "; "
    << e(axesText(doc)) << "; " << doc.repeat << " run(s) per setting.";
  if (doc.interrupted) o << " <strong>Interrupted: later runs are missing.</strong>";
  o << "</p>\n<table>\n<tr>";
  const Table t = buildTable(doc);
  for (const auto& h : t.header) o << "<th>" << e(h) << "</th>";
  o << "</tr>\n";
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    std::string cls = doc.settings[r].verdict == "pass" ? "pass" : doc.settings[r].verdict == "fail" ? "fail" : "other";
    if (t.recommended[r]) cls += " rec";
    o << "<tr class=\"" << cls << "\">";
    for (const auto& cell : t.rows[r]) o << "<td>" << e(cell) << "</td>";
    o << "</tr>\n";
  }
  o << "</table>\n<p class=\"rec\">" << e(doc.recommendation.line) << "</p>\n";
  o << "<p class=\"note\">Figures over repeats read median (min – max). First OOM kill: seconds from the first stage to the "
       "kernel's first OOM kill in the target's cgroup. GC cycles and pause: NumGC and PauseTotalNs between the first and last "
       "MemStats reading. "
    << e(kGcCpuDefinition) << " " << e(kHeadroomDefinition) << ".</p>\n";
  o << "<p class=\"note\">Runs:";
  for (const auto& s : doc.settings) {
    for (const auto& r : s.runs) {
      o << "<br>" << e(s.setting.label()) << ": <code>" << e(r.dir) << "</code> " << e(r.verdict);
      if (!r.error.empty()) o << " (" << e(r.error) << ")";
    }
  }
  o << "</p>\n</body></html>\n";
  return o.str();
}

}  // namespace memstrain
