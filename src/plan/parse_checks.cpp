// The checks section: metrics from the metric table, limits in their units, windows.

#include "parse_sections.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <limits>
#include <set>

#include "memstrain/discovery/locate.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain::plan_parsing {
namespace {

// Reads a limit written in the metric's unit into its canonical unit (ns, bytes, /s, count,
// fraction). Returns the Error text to report when the text does not fit the unit.
Result<double> parseMetricValue(MetricUnit unit, const json& j) {
  const bool is_num = j.is_number();
  const std::string text = j.is_string() ? j.get<std::string>() : std::string();
  if (!is_num && !j.is_string()) return Error{"expected a number or a string, got " + typeName(j)};
  auto finiteNumber = [](const std::string& s) -> std::optional<double> {
    auto v = parseDouble(trim(s));
    if (!v || !std::isfinite(*v)) return std::nullopt;
    return v;
  };
  switch (unit) {
    case MetricUnit::kDuration: {
      if (is_num && j.get<double>() == 0) return 0.0;
      if (is_num) return Error{"expected a duration like \"250ms\" (the unit is required), got a number"};
      auto d = parseDuration(text);
      if (!d) return Error{d.error().message};
      return static_cast<double>(d->count());
    }
    case MetricUnit::kBytes: {
      if (is_num) {
        if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() == 0)) {
          return Error{"expected a size like \"400MiB\" or a whole number of bytes"};
        }
        return static_cast<double>(j.get<std::uint64_t>());
      }
      auto b = parseSize(text);
      if (!b) return Error{b.error().message};
      return static_cast<double>(*b);
    }
    case MetricUnit::kRate: {
      if (is_num) return j.get<double>();
      std::string_view t = trim(text);
      if (t.size() > 2 && t.substr(t.size() - 2) == "/s") t.remove_suffix(2);
      if (auto v = finiteNumber(std::string(t))) return *v;
      return Error{"expected a rate like \"2000/s\" or a number, got \"" + text + "\""};
    }
    case MetricUnit::kByteRate: {
      if (is_num) return j.get<double>();
      std::string_view t = trim(text);
      if (t.size() < 3 || t.substr(t.size() - 2) != "/s")
        return Error{"expected a size per second like \"1GiB/s\" or a number, got \"" + text + "\""};
      auto b = parseSize(std::string(t.substr(0, t.size() - 2)));
      if (!b) return Error{b.error().message};
      return static_cast<double>(*b);
    }
    case MetricUnit::kCount: {
      if (is_num) return j.get<double>();
      if (auto v = finiteNumber(text)) return *v;
      return Error{"expected a number, got \"" + text + "\""};
    }
    case MetricUnit::kText: return Error{"this metric is a word: check it with \"equals\""};
    case MetricUnit::kRatio: {
      if (is_num) return j.get<double>();
      if (looksLikePercent(text)) {
        auto p = parsePercent(text);
        if (!p) return Error{p.error().message};
        return *p;
      }
      if (auto v = finiteNumber(text)) return *v;
      return Error{"expected a fraction like 0.01 or a percent like \"1%\", got \"" + text + "\""};
    }
  }
  return Error{"unknown unit"};
}

// "2x", "2x+5ms", "+10%", "1.5x+10MiB", "1.2x-1ms": baseline * factor (+ percent of the baseline)
// (+ an amount in the metric's unit).
Result<RelativeLimit> parseRelativeLimit(MetricUnit unit, const std::string& text) {
  const char* expected = "expected a limit relative to the baseline like \"2x\", \"2x+5ms\", \"+10%\" or \"1.5x+10MiB\"";
  RelativeLimit r;
  r.text = text;
  std::string_view t = trim(text);
  if (t.empty()) return Error{expected};
  if (auto x = t.find('x'); x != std::string_view::npos) {
    auto f = parseDouble(trim(t.substr(0, x)));
    if (!f || !std::isfinite(*f) || *f < 0) return Error{std::string(expected) + ", got \"" + text + "\""};
    r.factor = *f;
    t = trim(t.substr(x + 1));
  }
  if (t.empty()) return r;
  if (t.front() != '+' && t.front() != '-') return Error{std::string(expected) + ", got \"" + text + "\""};
  const double sign = t.front() == '-' ? -1.0 : 1.0;
  const std::string term(trim(t.substr(1)));
  if (looksLikePercent(term)) {
    auto p = parsePercent(term);
    if (!p) return Error{p.error().message};
    r.factor += sign * *p;
    return r;
  }
  auto v = parseMetricValue(unit, json(term));
  if (!v || !std::isfinite(*v)) return Error{std::string(expected) + ", got \"" + text + "\"" + (v ? "" : ": " + v.error().message)};
  r.add = sign * *v;
  return r;
}

}  // namespace

void parseChecks(Checker& c, const json& j, const std::string& ptr, const Plan& plan, std::vector<CheckSpec>& out) {
  if (!j.is_array()) {
    c.issue(ptr, "expected an array of checks, got " + typeName(j));
    return;
  }
  if (j.size() > kMaxChecks) {
    c.issue(ptr, "at most " + std::to_string(kMaxChecks) + " checks are allowed, got " + std::to_string(j.size()));
    return;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string cp = ptr + "/" + std::to_string(i);
    const json& cj = j[i];
    if (!c.checkObject(
            cj, cp, {"name", "metric", "stages", "probe", "max", "min", "max_vs_baseline", "equals", "description", "window", "abort"})) {
      continue;
    }
    CheckSpec ck;
    if (!cj.contains("name")) {
      c.issue(cp + "/name", "required: a name for the check, e.g. \"p99 under pressure\"");
    } else if (auto n = c.str(cj["name"], cp + "/name", 128)) {
      if (n->empty())
        c.issue(cp + "/name", "must not be empty");
      else if (n->find('"') != std::string::npos || n->find('\n') != std::string::npos) {
        c.issue(cp + "/name", "must not contain a double quote or a newline (it is quoted in the last output line)");
      } else if (!names.insert(*n).second)
        c.issue(cp + "/name", "duplicate check name \"" + *n + "\"");
      else
        ck.name = *n;
    }
    const MetricInfo* metric = nullptr;
    if (!cj.contains("metric")) {
      c.issue(cp + "/metric", "required: the metric to check, e.g. \"latency.p99\"");
    } else if (auto m = c.str(cj["metric"], cp + "/metric", 128)) {
      metric = findMetric(*m);
      if (!metric) {
        std::string list;
        for (const auto& k : knownMetrics()) list += std::string(list.empty() ? "" : ", ") + k.name;
        c.issue(cp + "/metric", "unknown metric \"" + *m + "\" (known: " + list + ")");
      } else {
        ck.metric = metric->name;
        ck.unit = metric->unit;
      }
    }
    if (cj.contains("description")) {
      if (auto d = c.str(cj["description"], cp + "/description")) ck.description = *d;
    }
    if (cj.contains("stages")) {
      const json& s = cj["stages"];
      if (!s.is_array() || s.empty()) {
        c.issue(cp + "/stages", "expected a non-empty array of stage names, got " + typeName(s));
      } else {
        for (std::size_t k = 0; k < s.size(); ++k) {
          const std::string sp = cp + "/stages/" + std::to_string(k);
          auto n = c.str(s[k], sp, 64);
          if (!n) continue;
          const bool exists = std::any_of(plan.stages.begin(), plan.stages.end(), [&](const StageSpec& st) { return st.name == *n; });
          if (!exists)
            c.issue(sp, "no stage named \"" + *n + "\" in /stages");
          else if (std::find(ck.stages.begin(), ck.stages.end(), *n) != ck.stages.end())
            c.issue(sp, "stage \"" + *n + "\" is listed twice");
          else
            ck.stages.push_back(*n);
        }
      }
    }
    if (cj.contains("probe")) {
      if (auto p = c.str(cj["probe"], cp + "/probe", 128)) {
        if (metric && !metric->latency) {
          c.issue(cp + "/probe", "only latency metrics read a probe; \"" + ck.metric + "\" does not");
        } else if (std::none_of(plan.target.probes.begin(), plan.target.probes.end(), [&](const ProbeSpec& ps) { return ps.name == *p; })) {
          c.issue(cp + "/probe", "no probe named \"" + *p + "\" in /target/probe");
        } else {
          ck.probe = *p;
        }
      }
    } else if (metric && metric->latency) {
      if (plan.target.probes.empty())
        c.issue(cp + "/metric", "latency metrics need a probe: add /target/probe");
      else
        ck.probe = plan.target.probes.front().name;
    }
    const bool text_metric = metric && metric->unit == MetricUnit::kText;
    if (text_metric) {
      for (const char* key : {"max", "min", "max_vs_baseline"}) {
        if (cj.contains(key)) c.issue(cp + "/" + key, "\"" + ck.metric + "\" is a word, not a number: use \"equals\"");
      }
      if (!cj.contains("equals")) {
        c.issue(cp + "/equals", "required for \"" + ck.metric + "\": the expected value, e.g. \"returned\"");
      } else if (auto e = c.str(cj["equals"], cp + "/equals", 64)) {
        static const std::vector<std::string> kOutcomes = {"returned",         "lazy",   "not_returned", "huge_pages_held",
                                                           "nothing_released", "no_data"};
        static const std::vector<std::string> kComesBack = {"yes", "no", "nothing_released", "no_data"};
        const auto& words = ck.metric == "release.comes_back" ? kComesBack : kOutcomes;
        if (std::find(words.begin(), words.end(), *e) == words.end()) {
          std::string list;
          for (const auto& w : words) list += (list.empty() ? "" : ", ") + w;
          c.issue(cp + "/equals", "expected one of " + list + ", got \"" + *e + "\"");
        } else {
          ck.equals = *e;
        }
      }
    } else if (cj.contains("equals")) {
      c.issue(cp + "/equals", "only word metrics (release.outcome, release.comes_back) take \"equals\"; use \"max\" or \"min\"");
    } else if (!cj.contains("max") && !cj.contains("min") && !cj.contains("max_vs_baseline")) {
      c.issue(cp, "give a limit: \"max\", \"min\" and/or \"max_vs_baseline\"");
    }
    if (metric && !text_metric) {
      for (const char* key : {"max", "min"}) {
        if (!cj.contains(key)) continue;
        auto v = parseMetricValue(metric->unit, cj[key]);
        if (!v)
          c.issue(cp + "/" + key, v.error().message);
        else
          (std::string(key) == "max" ? ck.max : ck.min) = *v;
      }
      if (ck.max && ck.min && *ck.min > *ck.max) c.issue(cp + "/min", "min is above max");
      if (cj.contains("max_vs_baseline")) {
        const std::string bp = cp + "/max_vs_baseline";
        if (auto t = c.str(cj["max_vs_baseline"], bp, 64)) {
          auto r = parseRelativeLimit(metric->unit, *t);
          if (!r)
            c.issue(bp, r.error().message);
          else
            ck.max_vs_baseline = *r;
          if (plan.baseline_stage.empty()) {
            c.issue(bp, "needs a baseline stage: name a stage \"baseline\" or set /baseline_stage");
          }
        }
      }
    }
    // Sliding windows: judged live from per-second data, so only metrics made of per-second data
    // that merge, and only absolute limits (a baseline stage's figure is not known live).
    if (cj.contains("window")) {
      // A window keeps each second's probe histograms (about 0.8 MiB per probe per second): 60 s
      // bounds that memory.
      if (auto w = c.duration(cj["window"], cp + "/window", std::chrono::seconds(1), std::chrono::seconds(60))) ck.window = *w;
      if (metric && !windowableMetric(metric->name)) {
        c.issue(cp + "/window", "metric \"" + std::string(metric->name) + "\" cannot be judged over a window (windows take " +
                                    windowableMetricList() + ")");
      }
      if (cj.contains("max_vs_baseline")) c.issue(cp + "/max_vs_baseline", "a window check takes absolute limits (max, min) only");
    }
    if (cj.contains("abort")) {
      if (!cj["abort"].is_boolean())
        c.issue(cp + "/abort", "expected true or false, got " + typeName(cj["abort"]));
      else
        ck.abort = cj["abort"].get<bool>();
      if (ck.abort && !cj.contains("window")) c.issue(cp + "/abort", "abort needs a \"window\": the check is judged live over it");
    }
    out.push_back(std::move(ck));
  }
}

}  // namespace memstrain::plan_parsing
