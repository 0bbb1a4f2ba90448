#include "memstrain/sweep/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "memstrain/model/report_view.hpp"
#include "memstrain/model/samples_format.hpp"
#include "memstrain/util/text.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {

using nlohmann::json;

namespace {

constexpr std::uint64_t kMaxGogc = 1000000;

bool isKeyChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }
bool isValueChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// Checks one value of a variable; the message says what was expected (the caller adds context).
Status checkValue(const std::string& name, const std::string& value) {
  if (value == "none") return {};
  if (name == "GOGC") {
    if (value == "off") return {};
    auto v = parseUint64(value);
    if (!v || *v > kMaxGogc) return Error{"expected an integer percent 0.." + std::to_string(kMaxGogc) + " like 50, or off, or none"};
    return {};
  }
  if (name == "GOMEMLIMIT") {
    if (looksLikePercent(value)) {
      auto p = parsePercent(value);
      if (!p || *p <= 0 || *p > 1) return Error{"expected a percent of the target's memory limit above 0% and at most 100%"};
      return {};
    }
    auto s = parseSize(value);
    if (!s) return Error{"expected a size like 400MiB, a percent of the target's memory limit like 90%, or none"};
    if (*s == 0) return Error{"a limit of 0 bytes would make the Go runtime collect without pause; give a size above 0"};
    return {};
  }
  // GODEBUG: one key=value setting.
  const auto eq = value.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == value.size() ||
      !std::all_of(value.begin(), value.begin() + static_cast<std::ptrdiff_t>(eq), isKeyChar) ||
      !std::all_of(value.begin() + static_cast<std::ptrdiff_t>(eq) + 1, value.end(), isValueChar)) {
    return Error{"expected one setting key=value like madvdontneed=1, or none"};
  }
  return {};
}

std::vector<std::string> splitOn(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    const std::size_t j = s.find(sep, i);
    out.emplace_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return s;
}

void maxInto(std::optional<std::uint64_t>& slot, std::uint64_t v) {
  if (!slot || v > *slot) slot = v;
}

}  // namespace

const std::vector<std::string>& sweepableVariables() {
  static const std::vector<std::string> names = {"GOGC", "GOMEMLIMIT", "GODEBUG"};
  return names;
}

Result<SweepAxis> parseSweepSet(std::string_view text) {
  const std::string arg = "--set " + std::string(text);
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Error{arg + ": expected NAME=VALUE[,VALUE...], e.g. --set GOGC=50,100,off"};
  }
  SweepAxis axis;
  axis.name = std::string(text.substr(0, eq));
  const auto& known = sweepableVariables();
  if (std::find(known.begin(), known.end(), axis.name) == known.end()) {
    return Error{arg + ": a sweep varies " + joinNames(known) + ", not \"" + axis.name + "\""};
  }
  std::set<std::string> seen;
  for (auto& v : splitOn(text.substr(eq + 1), ',')) {
    if (v.empty()) return Error{arg + ": empty value (values are separated by single commas)"};
    if (auto st = checkValue(axis.name, v); !st) {
      return Error{arg + ": \"" + v + "\" is not a " + axis.name + " value: " + st.error().message};
    }
    if (!seen.insert(v).second) return Error{arg + ": \"" + v + "\" is given twice"};
    axis.values.push_back(std::move(v));
  }
  return axis;
}

Result<std::vector<SweepAxis>> parseSweepSets(const std::vector<std::string>& texts) {
  if (texts.empty()) return Error{"nothing to sweep: give at least one --set NAME=V1,V2 (NAME: " + joinNames(sweepableVariables()) + ")"};
  std::vector<SweepAxis> axes;
  for (const auto& t : texts) {
    auto a = parseSweepSet(t);
    if (!a) return a.error();
    for (const auto& prev : axes) {
      if (prev.name == a->name)
        return Error{"--set " + t + ": " + a->name + " is already swept by an earlier --set; list all its values in one"};
    }
    axes.push_back(std::move(*a));
  }
  return axes;
}

std::string SweepSetting::label() const {
  std::string s;
  for (const auto& [name, value] : values) s += (s.empty() ? "" : " ") + name + "=" + value;
  return s;
}

std::string SweepSetting::dirName() const {
  std::string s;
  for (const auto& [name, value] : values) {
    if (!s.empty()) s += "_";
    s += name + "-";
    for (char c : value) {
      if (c == '%') {
        s += "pct";
      } else if (c == '=') {
        s += "-";
      } else if (isValueChar(c)) {
        s += c;
      } else {
        s += "_";
      }
    }
  }
  return s.empty() ? "default" : s;
}

std::vector<SweepSetting> expandSweep(const std::vector<SweepAxis>& axes) {
  std::vector<SweepSetting> out;
  if (axes.empty()) return out;
  for (const auto& a : axes) {
    if (a.values.empty()) return out;
  }
  std::vector<std::size_t> idx(axes.size(), 0);
  while (true) {
    SweepSetting s;
    for (std::size_t i = 0; i < axes.size(); ++i) s.values.emplace_back(axes[i].name, axes[i].values[idx[i]]);
    out.push_back(std::move(s));
    // Odometer: the last axis turns fastest, so the first varies slowest.
    std::size_t k = axes.size();
    while (k > 0) {
      --k;
      if (++idx[k] < axes[k].values.size()) break;
      idx[k] = 0;
      if (k == 0) return out;
    }
  }
}

Result<std::optional<std::uint64_t>> resolveMemLimit(std::string_view value, std::uint64_t memory_limit_bytes) {
  if (value == "none") return std::optional<std::uint64_t>();
  if (looksLikePercent(value)) {
    auto p = parsePercent(value);
    if (!p) return p.error();
    const double bytes = std::floor(*p * static_cast<double>(memory_limit_bytes));
    if (bytes < 1)
      return Error{"GOMEMLIMIT=" + std::string(value) + " of a memory limit of " + formatBytes(memory_limit_bytes) + " is 0 bytes"};
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(bytes));
  }
  auto s = parseSize(value);
  if (!s) return s.error();
  return std::optional<std::uint64_t>(*s);
}

Result<std::map<std::string, std::string>> settingEnvironment(const SweepSetting& setting, const LaunchSpec& launch) {
  std::map<std::string, std::string> env = launch.env;
  for (const auto& [name, value] : setting.values) {
    if (value == "none") {
      env.erase(name);
    } else if (name == "GOMEMLIMIT") {
      auto bytes = resolveMemLimit(value, launch.memory_limit_bytes);
      if (!bytes) return Error{"GOMEMLIMIT=" + value + ": " + bytes.error().message};
      env[name] = std::to_string(**bytes);
    } else if (name == "GODEBUG") {
      // Replace the same key in the plan's GODEBUG, keep its other settings in order.
      const std::string key = value.substr(0, value.find('='));
      std::vector<std::string> parts;
      bool replaced = false;
      if (auto it = env.find("GODEBUG"); it != env.end() && !it->second.empty()) {
        for (auto& p : splitOn(it->second, ',')) {
          if (p.empty()) continue;
          if (p.substr(0, p.find('=')) == key) {
            if (!replaced) parts.push_back(value);
            replaced = true;
          } else {
            parts.push_back(std::move(p));
          }
        }
      }
      if (!replaced) parts.push_back(value);
      std::string joined;
      for (const auto& p : parts) joined += (joined.empty() ? "" : ",") + p;
      env["GODEBUG"] = joined;
    } else {
      env[name] = value;
    }
  }
  return env;
}

Result<json> settingPlanJson(const json& source, const std::map<std::string, std::string>& env, const std::string& cwd) {
  json copy = source;
  if (!copy.is_object() || !copy.contains("target") || !copy["target"].is_object() || !copy["target"].contains("launch") ||
      !copy["target"]["launch"].is_object()) {
    return Error{"the plan has no target.launch: a sweep sets the environment of a target it launches"};
  }
  json& launch = copy["target"]["launch"];
  if (env.empty()) {
    launch.erase("env");
  } else {
    launch["env"] = env;
  }
  namespace fs = std::filesystem;
  auto absolute = [&](const std::string& p) { return (fs::path(cwd) / p).lexically_normal().string(); };
  if (launch.contains("command") && launch["command"].is_array() && !launch["command"].empty() && launch["command"][0].is_string()) {
    const std::string prog = launch["command"][0].get<std::string>();
    // A bare name is searched in PATH, as `memstrain run` does; only paths are made absolute.
    if (prog.find('/') != std::string::npos && prog.front() != '/') launch["command"][0] = absolute(prog);
  }
  if (launch.contains("workdir") && launch["workdir"].is_string()) {
    const std::string wd = launch["workdir"].get<std::string>();
    if (!wd.empty() && wd.front() != '/') launch["workdir"] = absolute(wd);
  }
  return copy;
}

void SampleDigest::addLine(std::string_view line) {
  const std::optional<SampleLine> decoded = decodeSampleLine(line);
  if (!decoded) {
    ++bad_lines_;
    return;
  }
  if (const auto* m = std::get_if<MemstatsLine>(&*decoded)) {
    if (m->num_gc) {
      if (!first_gc_) first_gc_ = m->num_gc;
      last_gc_ = m->num_gc;
    }
    if (m->pause_total_ns) {
      if (!first_pause_) first_pause_ = m->pause_total_ns;
      last_pause_ = m->pause_total_ns;
    }
  } else if (const auto* c = std::get_if<CgroupLine>(&*decoded)) {
    if (auto u = c->measured_usage_bytes) maxInto(peak_usage_, *u);
    const auto populated = c->stressor_populated_bytes;
    if (populated) maxInto(peak_stressor_, *populated);
    if (auto t = c->target_usage_bytes) {
      std::uint64_t own = *t;
      // Inside placement (no separate stressor cgroup): the stressor's pages are in the target's
      // cgroup; what is left is the target's own.
      if (!c->has_stressor_cgroup && populated) own = own > *populated ? own - *populated : 0;
      maxInto(peak_target_, own);
    }
  }
}

std::optional<std::uint64_t> SampleDigest::gcCycles() const {
  if (!first_gc_ || !last_gc_ || *last_gc_ < *first_gc_) return std::nullopt;
  return *last_gc_ - *first_gc_;
}

std::optional<std::uint64_t> SampleDigest::gcPauseTotalNs() const {
  if (!first_pause_ || !last_pause_ || *last_pause_ < *first_pause_) return std::nullopt;
  return *last_pause_ - *first_pause_;
}

SweepRunFigures runFigures(const json& report_json, const SampleDigest& samples) {
  const ReportView report = decodeReport(report_json);
  SweepRunFigures f;
  f.verdict = report.verdict.empty() ? "error" : report.verdict;
  if (report.has_run) {
    f.status = report.run_status;
    f.duration_s = report.run_duration_s.value_or(0.0);
    f.dir = report.run_out_dir;
  }
  for (const auto& e : report.events) {
    if (e.kind != "target_oom_kill") continue;
    if (e.t_s && (!f.first_target_oom_s || *e.t_s < *f.first_target_oom_s)) f.first_target_oom_s = e.t_s;
  }
  if (report.has_target) {
    if (report.target_exit) f.target_exit = *report.target_exit;
    f.limit_bytes = report.effective_limit_bytes ? report.effective_limit_bytes : report.target_memory_limit_bytes;
  }
  f.gc_cycles = samples.gcCycles();
  f.gc_pause_total_ns = samples.gcPauseTotalNs();
  f.peak_usage_bytes = samples.peakUsageBytes();
  f.peak_target_bytes = samples.peakTargetBytes();
  f.peak_stressor_bytes = samples.peakStressorBytes();
  for (const auto& c : report.checks) {
    if (c.outcome != "fail") continue;
    f.failed_checks.push_back({c.name, c.metric, c.stage, c.outcome, c.explanation});
  }
  const bool usage_from_report = !f.peak_usage_bytes;
  for (const auto& s : report.stages) {
    if (usage_from_report) {
      // No samples file: the report's per-stage maximum of the same usage.
      if (auto m = reportBytes(s.usage_bytes.max); m && (!f.peak_usage_bytes || *m > *f.peak_usage_bytes)) f.peak_usage_bytes = m;
    }
    for (const auto& l : s.latency) {
      if (!l.p99_ms || !(l.count.value_or(0) >= 1)) continue;
      f.p99_ms[s.latency.size() == 1 ? s.name : s.name + "/" + l.probe] = *l.p99_ms;
    }
    // Retention, not churn: the live slope when the plan took readings during stages, else the
    // live delta over the stage's time (HeapObjects growth follows allocation churn).
    const ReportHeapView heap = s.heap.value_or(ReportHeapView{});
    const double stage_s = s.end_s.value_or(0) - s.start_s.value_or(0);
    if (heap.live_objects_slope && heap.live_objects_slope->per_s)
      f.live_growth_per_s[s.name] = *heap.live_objects_slope->per_s;
    else if (heap.live_objects_delta && stage_s > 0)
      f.live_growth_per_s[s.name] = *heap.live_objects_delta / stage_s;
    if (heap.gc_cpu_fraction && (!f.gc_cpu_max || *heap.gc_cpu_fraction > *f.gc_cpu_max)) {
      f.gc_cpu_max = heap.gc_cpu_fraction;
      f.gc_cpu_max_stage = s.name;
    }
    if (!s.release_outcome.empty()) f.release[s.name] = s.release_outcome;
  }
  if (f.limit_bytes && f.peak_target_bytes) {
    f.headroom_bytes = static_cast<std::int64_t>(*f.limit_bytes) - static_cast<std::int64_t>(*f.peak_target_bytes);
  }
  return f;
}

std::optional<Spread> spreadOf(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  Spread s;
  s.n = values.size();
  s.min = values.front();
  s.max = values.back();
  const std::size_t mid = s.n / 2;
  s.median = s.n % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return s;
}

SweepSettingSummary summarizeSetting(SweepSetting setting, std::map<std::string, std::string> env, std::vector<SweepRunFigures> runs) {
  SweepSettingSummary s;
  s.setting = std::move(setting);
  s.env = std::move(env);
  s.runs = std::move(runs);
  std::vector<double> oom, gc, pause, gc_cpu, peak, peak_target, headroom;
  std::map<std::string, std::vector<double>> p99, slope;
  for (const auto& r : s.runs) {
    if (r.verdict == "pass") {
      ++s.passed;
    } else if (r.verdict == "fail") {
      ++s.failed;
    } else if (r.verdict == "inconclusive") {
      ++s.inconclusive;
    } else {
      ++s.errors;
    }
    if (r.first_target_oom_s) {
      ++s.oom_runs;
      oom.push_back(*r.first_target_oom_s);
    }
    if (r.gc_cycles) gc.push_back(static_cast<double>(*r.gc_cycles));
    if (r.gc_pause_total_ns) pause.push_back(static_cast<double>(*r.gc_pause_total_ns) / 1e6);
    if (r.gc_cpu_max) gc_cpu.push_back(*r.gc_cpu_max);
    if (r.peak_usage_bytes) peak.push_back(static_cast<double>(*r.peak_usage_bytes));
    if (r.peak_target_bytes) peak_target.push_back(static_cast<double>(*r.peak_target_bytes));
    if (r.headroom_bytes) headroom.push_back(static_cast<double>(*r.headroom_bytes));
    for (const auto& [k, v] : r.p99_ms) p99[k].push_back(v);
    for (const auto& [k, v] : r.live_growth_per_s) slope[k].push_back(v);
    for (const auto& [k, v] : r.release) ++s.release[k][v];
  }
  if (s.runs.empty()) {
    s.verdict = "not run";
  } else if (s.failed > 0) {
    s.verdict = "fail";
  } else if (s.errors > 0) {
    s.verdict = "error";
  } else if (s.inconclusive > 0) {
    s.verdict = "inconclusive";
  } else {
    s.verdict = "pass";
  }
  s.oom_time_s = spreadOf(oom);
  s.gc_cycles = spreadOf(gc);
  s.gc_pause_ms = spreadOf(pause);
  s.gc_cpu_max = spreadOf(gc_cpu);
  s.peak_usage_bytes = spreadOf(peak);
  s.peak_target_bytes = spreadOf(peak_target);
  s.headroom_bytes = spreadOf(headroom);
  for (auto& [k, v] : p99) s.p99_ms[k] = *spreadOf(v);
  for (auto& [k, v] : slope) s.live_growth_per_s[k] = *spreadOf(v);
  return s;
}

SweepRecommendation recommendSetting(const std::vector<SweepSettingSummary>& settings) {
  SweepRecommendation rec;
  std::optional<double> best;
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const auto& s = settings[i];
    if (s.runs.empty() || s.passed != s.runs.size() || !s.headroom_bytes || s.headroom_bytes->n != s.runs.size()) continue;
    if (!best || s.headroom_bytes->min > *best) {
      best = s.headroom_bytes->min;
      rec.index = i;
    }
  }
  if (!rec.index) {
    const bool any_pass_without_figures = std::any_of(
        settings.begin(), settings.end(), [](const SweepSettingSummary& s) { return !s.runs.empty() && s.passed == s.runs.size(); });
    rec.line = any_pass_without_figures ? "no recommendation: the settings that passed have no usage samples to compare headroom"
                                        : "no recommendation: no setting passed every run";
    return rec;
  }
  const auto& s = settings[*rec.index];
  auto signedBytes = [](double b) {
    return b < 0 ? "-" + formatBytes(static_cast<std::uint64_t>(-b)) : formatBytes(static_cast<std::uint64_t>(b));
  };
  rec.line = "recommended: " + s.setting.label() + " — passed " + std::to_string(s.passed) + "/" + std::to_string(s.runs.size()) +
             " run(s) with at least " + signedBytes(s.headroom_bytes->min) + " of headroom";
  if (s.peak_target_bytes && !s.runs.empty() && s.runs.front().limit_bytes) {
    rec.line += " (peak " + formatBytes(static_cast<std::uint64_t>(s.peak_target_bytes->max)) + " of " +
                formatBytes(*s.runs.front().limit_bytes) + ")";
  }
  return rec;
}

}  // namespace memstrain
