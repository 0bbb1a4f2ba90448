#include "memstrain/headroom/headroom_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "memstrain/report/escape.hpp"
#include "memstrain/report/svg_chart.hpp"
#include "memstrain/sweep/sweep_report.hpp"
#include "memstrain/util/units.hpp"
#include "memstrain/version.hpp"

namespace memstrain {

using nlohmann::json;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string fixed(double v, int decimals, const char* suffix = "") {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, v, suffix);
  return buf;
}

std::string pct(double fraction) { return fixed(fraction * 100, 1, "%"); }

// The value without spaces, for the machine line: "72.5%", "304MiB", "318767105B".
std::string machineValue(const HeadroomRange& r, const std::optional<double>& v) {
  if (!v) return "none";
  if (r.percent) return headroomValueText(r, *v);
  const auto bytes = static_cast<std::uint64_t>(std::llround(*v));
  return bytes % (1u << 20) == 0 ? std::to_string(bytes >> 20) + "MiB" : std::to_string(bytes) + "B";
}

std::optional<double> worstP99(const SweepRunFigures& f) {
  std::optional<double> m;
  for (const auto& [k, v] : f.p99_ms) {
    if (!m || v > *m) m = v;
  }
  return m;
}

// The limit a value means in bytes (percents are of the plan's memory_limit).
double bytesOf(const HeadroomDocument& d, double v) { return d.range.percent ? v * static_cast<double>(d.memory_limit_bytes) : v; }

std::vector<const HeadroomTrial*> trialsAt(const HeadroomDocument& d, double v) {
  std::vector<const HeadroomTrial*> out;
  for (const auto& t : d.outcome.trials) {
    if (t.value == v) out.push_back(&t);
  }
  return out;
}

std::string variableName(HeadroomVariable v) {
  switch (v) {
    case HeadroomVariable::kLevel: return "pressure level";
    case HeadroomVariable::kMemoryLimit: return "memory_limit";
    case HeadroomVariable::kGomemlimit: return "GOMEMLIMIT";
  }
  return "?";
}

std::string failedChecksText(const SweepRunFigures& f) {
  std::string s;
  for (const auto& c : f.failed_checks) s += (s.empty() ? "" : "; ") + c.name + (c.stage.empty() ? "" : " @ " + c.stage);
  return s;
}

}  // namespace

std::string kubernetesMebibytes(double bytes) { return std::to_string(static_cast<std::uint64_t>(std::ceil(bytes / kMiB))) + "Mi"; }

HeadroomAnswer answerHeadroom(const HeadroomDocument& d) {
  HeadroomAnswer a;
  const auto& o = d.outcome;
  const auto& r = d.range;
  const std::string what = variableName(r.variable);
  const std::string le = o.pass_low ? "<=" : ">=";
  auto val = [&](double v) { return formatHeadroomValue(r, v); };
  switch (o.end) {
    case SearchEnd::kEdge:
    case SearchEnd::kBudget:
      a.headline = "every check passed at " + what + " " + val(*o.passing) + " and a check failed at " + val(*o.failing) + " (" +
                   std::to_string(o.trials.size()) + " runs" +
                   (o.end == SearchEnd::kBudget ? "; the run budget ended the search before the resolution of " + val(r.resolution)
                                                : "; resolution " + val(r.resolution)) +
                   ")";
      break;
    case SearchEnd::kAllPass:
      a.headline =
          "every check passed at both ends of the range (" + val(r.from) + " and " + val(r.to) + "): the edge is beyond " + val(*o.passing);
      break;
    case SearchEnd::kAllFail: a.headline = "no value in the range passed every check (" + val(r.from) + " to " + val(r.to) + ")"; break;
    case SearchEnd::kNotJudged:
      a.headline = "a run could not be judged (no report, an error or an inconclusive verdict); the search stopped after " +
                   std::to_string(o.trials.size()) + " runs";
      break;
    case SearchEnd::kInterrupted: a.headline = "interrupted after " + std::to_string(o.trials.size()) + " runs"; break;
  }
  (void)le;
  if (o.passing && (o.end == SearchEnd::kEdge || o.end == SearchEnd::kBudget || o.end == SearchEnd::kAllPass)) {
    const double p = *o.passing;
    const auto at = trialsAt(d, p);
    if (r.variable == HeadroomVariable::kLevel) {
      const double limit = static_cast<double>(d.memory_limit_bytes);
      std::optional<std::uint64_t> taken;
      for (const auto* t : at) {
        if (t->verdict == TrialVerdict::kPass && t->figures.peak_stressor_bytes && (!taken || *t->figures.peak_stressor_bytes < *taken))
          taken = t->figures.peak_stressor_bytes;
      }
      std::string line = "headroom: the cgroup can be held at " + val(p) + " of its " + formatBytes(d.memory_limit_bytes) + " limit (" +
                         formatBytes(static_cast<std::uint64_t>(p * limit)) + " in use) before a check fails";
      if (taken && limit > 0) {
        line += "; the stressor took " + formatBytes(*taken) + " = " + pct(static_cast<double>(*taken) / limit) +
                " of the limit there (the smallest over the passing runs)";
      }
      a.details.push_back(line);
    } else if (r.variable == HeadroomVariable::kMemoryLimit) {
      if (o.end == SearchEnd::kAllPass && !o.pass_low) {
        a.details.push_back("the smallest limit tried (" + val(p) + ") passed: search lower to find the edge");
      }
      std::optional<std::uint64_t> peak;
      for (const auto* t : at) {
        if (t->figures.peak_target_bytes && (!peak || *t->figures.peak_target_bytes > *peak)) peak = t->figures.peak_target_bytes;
      }
      const double rec = p * (1 + d.margin);
      a.details.push_back("recommendation: resources.requests.memory = resources.limits.memory = " + kubernetesMebibytes(rec) +
                          " (the smallest passing limit " + val(p) + " + " + fixed(d.margin * 100, 0, "%") +
                          " margin; requests equal to limits so that the pod is not evicted for going past its request)" +
                          (peak ? "; the target peaked at " + formatBytes(*peak) + " under the passing limit" : ""));
    } else {
      a.details.push_back("GOMEMLIMIT " + (o.pass_low ? std::string("up to ") : std::string("of at least ")) + val(p) + " (" +
                          std::to_string(static_cast<std::uint64_t>(bytesOf(d, p))) + " bytes) passed every check" +
                          (d.memory_limit_bytes ? " under the " + formatBytes(d.memory_limit_bytes) + " limit" : ""));
    }
  }
  if (o.failing) {
    std::set<std::string> seen;
    for (const auto* t : trialsAt(d, *o.failing)) {
      if (t->verdict != TrialVerdict::kFail) continue;
      if (t->figures.first_target_oom_s) {
        const std::string s = "the target was OOM-killed " + fixed(*t->figures.first_target_oom_s, 1, " s") + " into the run (run " +
                              std::to_string(t->seq) + ")";
        if (seen.insert("oom").second) a.why.push_back(s);
      } else if (t->figures.target_exit && seen.insert("exit").second) {
        a.why.push_back("the target " + *t->figures.target_exit + " (run " + std::to_string(t->seq) + ")");
      }
      for (const auto& c : t->figures.failed_checks) {
        if (!seen.insert(c.name + "@" + c.stage).second) continue;
        a.why.push_back(c.name + (c.stage.empty() ? "" : " (" + c.stage + ")") + ": " + c.explanation);
      }
    }
    if (!a.why.empty()) a.why.insert(a.why.begin(), "at " + val(*o.failing) + ":");
  }
  return a;
}

json headroomJson(const HeadroomDocument& d, int exit_code) {
  const auto& r = d.range;
  const auto& o = d.outcome;
  auto valueJson = [&](const std::optional<double>& v) -> json {
    if (!v) return nullptr;
    return {{"value", r.percent ? json(*v) : json(std::llround(*v))},
            {"text", formatHeadroomValue(r, *v)},
            {"bytes", std::llround(bytesOf(d, *v))}};
  };
  json trials = json::array();
  for (const auto& t : o.trials) {
    json j = sweepRunJson(t.figures);
    json checks = json::array();
    for (const auto& c : t.figures.failed_checks) {
      checks.push_back(
          {{"name", c.name}, {"metric", c.metric}, {"stage", c.stage}, {"outcome", c.outcome}, {"explanation", c.explanation}});
    }
    j["failed_checks"] = checks;
    j["peak_stressor_bytes"] = t.figures.peak_stressor_bytes ? json(*t.figures.peak_stressor_bytes) : json(nullptr);
    auto p99 = worstP99(t.figures);
    trials.push_back({{"seq", t.seq},
                      {"value", valueJson(t.value)},
                      {"purpose", toString(t.purpose)},
                      {"attempt", t.attempt},
                      {"verdict", toString(t.verdict)},
                      {"took_s", t.took_s},
                      {"worst_p99_ms", p99 ? json(*p99) : json(nullptr)},
                      {"run", j}});
  }
  const HeadroomAnswer a = answerHeadroom(d);
  json flaky = json::array();
  for (double v : o.flaky_values) flaky.push_back(valueJson(v));
  return {
      {"schema_version", kHeadroomSchemaVersion},
      {"tool", {{"name", "memstrain"}, {"version", kVersion}}},
      {"plan", {{"path", d.plan_path}, {"name", d.plan_name}, {"memory_limit_bytes", d.memory_limit_bytes}}},
      {"vary", toString(r.variable)},
      {"unit", r.percent ? "fraction_of_limit" : "bytes"},
      {"range", {{"from", valueJson(r.from)}, {"to", valueJson(r.to)}, {"resolution", valueJson(r.resolution)}}},
      {"options", {{"repeat", d.options.repeat}, {"max_runs", d.options.max_runs}, {"rechecks", d.options.rechecks}, {"margin", d.margin}}},
      {"end", toString(o.end)},
      {"passing_side", o.pass_low ? "low" : "high"},
      {"passing", valueJson(o.passing)},
      {"failing", valueJson(o.failing)},
      {"runs", o.trials.size()},
      {"took_s", d.took_s},
      {"exit_code", exit_code},
      {"non_monotonic", o.non_monotonic},
      {"flaky", flaky},
      {"notes", o.notes},
      {"answer", {{"headline", a.headline}, {"details", a.details}, {"why", a.why}}},
      {"trials", trials}};
}

std::string renderHeadroomMarkdown(const HeadroomDocument& d) {
  const auto& r = d.range;
  const auto& o = d.outcome;
  const HeadroomAnswer a = answerHeadroom(d);
  std::ostringstream s;
  s << "# memstrain headroom: " << markdownCell(d.plan_name) << "\n\n";
  s << "Varied: " << variableName(r.variable) << " from " << formatHeadroomValue(r, r.from) << " to " << formatHeadroomValue(r, r.to)
    << ", resolution " << formatHeadroomValue(r, r.resolution) << ", " << d.options.repeat << " run(s) per point, budget "
    << d.options.max_runs << " runs; plan " << markdownCell(d.plan_path) << ".\n\n";
  s << "**" << markdownCell(a.headline) << "**\n\n";
  for (const auto& l : a.details) s << "- " << markdownCell(l) << "\n";
  if (!a.why.empty()) {
    s << "- why it failed " << markdownCell(a.why.front()) << "\n";
    for (std::size_t i = 1; i < a.why.size(); ++i) s << "  - " << markdownCell(a.why[i]) << "\n";
  }
  if (!o.non_monotonic.empty()) {
    s << "- not monotonic:\n";
    for (const auto& l : o.non_monotonic) s << "  - " << markdownCell(l) << "\n";
  }
  for (const auto& l : o.notes) s << "- note: " << markdownCell(l) << "\n";
  s << "\n| run | " << markdownCell(toString(r.variable))
    << " | step | verdict | first OOM kill | worst p99 | GC CPU (worst stage) | peak usage | "
    << (r.variable == HeadroomVariable::kLevel ? "stressor peak | " : "") << "failed checks | took |\n";
  s << "| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | " << (r.variable == HeadroomVariable::kLevel ? "---: | " : "")
    << "--- | ---: |\n";
  for (const auto& t : o.trials) {
    const auto& f = t.figures;
    const auto p99 = worstP99(f);
    s << "| " << t.seq << " | " << formatHeadroomValue(r, t.value) << " | " << toString(t.purpose) << " | " << toString(t.verdict) << " | "
      << (f.first_target_oom_s ? fixed(*f.first_target_oom_s, 1, " s") : (f.target_exit ? markdownCell(*f.target_exit) : "survived"))
      << " | " << (p99 ? fixed(*p99, 2, " ms") : "-") << " | " << (f.gc_cpu_max ? pct(*f.gc_cpu_max) : "-") << " | "
      << (f.peak_usage_bytes ? formatBytes(*f.peak_usage_bytes) : "-") << " | ";
    if (r.variable == HeadroomVariable::kLevel) s << (f.peak_stressor_bytes ? formatBytes(*f.peak_stressor_bytes) : "-") << " | ";
    const std::string checks = failedChecksText(f);
    s << (checks.empty() ? (f.error.empty() ? "-" : markdownCell(f.error)) : markdownCell(checks)) << " | " << fixed(t.took_s, 0, " s")
      << " |\n";
  }
  s << "\nA point passes only when every run at it passed; the search stops at the first failing run of a point. Runs: " << o.trials.size()
    << ", " << fixed(d.took_s, 0, " s") << " in all. Each run's report is in its directory under " << markdownCell(d.out_dir) << ".\n";
  return s.str();
}

std::string renderHeadroomHtml(const HeadroomDocument& d) {
  const auto& r = d.range;
  const auto& o = d.outcome;
  const HeadroomAnswer a = answerHeadroom(d);
  const double lo = std::min(r.from, r.to), hi = std::max(r.from, r.to);
  // The x axis: percents drawn as 0..100, sizes as bytes.
  const double xs = r.percent ? 100 : 1;
  ChartAxis xaxis{r.percent ? ValueKind::kPercent : ValueKind::kBytes, "", std::nullopt};
  std::vector<const HeadroomTrial*> sorted;
  for (const auto& t : o.trials) sorted.push_back(&t);
  std::stable_sort(sorted.begin(), sorted.end(), [](const HeadroomTrial* x, const HeadroomTrial* y) { return x->value < y->value; });

  auto chart = [&](const std::string& id, const std::string& title, ChartAxis left, auto figure) {
    ChartSpec c;
    c.id = id;
    c.title = title;
    c.t0 = lo * xs;
    c.t1 = hi * xs;
    c.x_axis = xaxis;
    c.left = left;
    ChartSeries pass{"passing runs", "pass", "#2b8a3e", ChartSeries::Style::kLine, 0, {}, {}, {}};
    ChartSeries fail{"failing runs", "fail", "#c92a2a", ChartSeries::Style::kDashed, 0, {}, {}, {}};
    for (const auto* t : sorted) {
      auto v = figure(t->figures);
      if (!v) continue;
      ChartSeries& s = t->verdict == TrialVerdict::kPass ? pass : fail;
      s.t.push_back(t->value * xs);
      s.v.push_back(*v);
    }
    for (const auto& s : {pass, fail}) {
      if (!s.t.empty()) c.series.push_back(s);
    }
    if (o.passing) c.markers.push_back({*o.passing * xs, "passing", "the passing value nearest the edge", "#2b8a3e", true});
    if (o.failing) c.markers.push_back({*o.failing * xs, "failing", "the failing value nearest the edge", "#c92a2a", true});
    return "<h2>" + htmlEscape(title) + "</h2>\n" + renderSvgChart(c);
  };
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>memstrain headroom: " << htmlEscape(d.plan_name)
    << "</title>\n<style>body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1000px;color:#222}"
       "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
       "td.l,th.l{text-align:left}.pass{color:#2b8a3e}.fail{color:#c92a2a}svg{width:100%;height:auto}"
       ".stage-band.even{fill:#f4f4f4}.stage-band.odd{fill:#fafafa}.grid line{stroke:#e4e4e4}.tick{font-size:11px;fill:#555}"
       ".tick.y-left,.axis-unit.left{text-anchor:end}.tick.x{text-anchor:middle}.series{fill:none;stroke-width:2}"
       ".marker{stroke-width:1.5}</style></head><body>\n";
  s << "<h1>memstrain headroom: " << htmlEscape(d.plan_name) << "</h1>\n<p>Varied " << htmlEscape(variableName(r.variable)) << " from "
    << htmlEscape(formatHeadroomValue(r, r.from)) << " to " << htmlEscape(formatHeadroomValue(r, r.to)) << ", resolution "
    << htmlEscape(formatHeadroomValue(r, r.resolution)) << ", " << d.options.repeat << " run(s) per point.</p>\n";
  s << "<p><strong>" << htmlEscape(a.headline) << "</strong></p>\n<ul>\n";
  for (const auto& l : a.details) s << "<li>" << htmlEscape(l) << "</li>\n";
  for (const auto& l : a.why) s << "<li class=\"fail\">" << htmlEscape(l) << "</li>\n";
  for (const auto& l : o.non_monotonic) s << "<li>not monotonic: " << htmlEscape(l) << "</li>\n";
  for (const auto& l : o.notes) s << "<li>note: " << htmlEscape(l) << "</li>\n";
  s << "</ul>\n";
  s << chart("p99", "Worst stage p99 latency (corrected)", ChartAxis{ValueKind::kMilliseconds, "", std::nullopt},
             [](const SweepRunFigures& f) { return worstP99(f); });
  s << chart("gccpu", "GC CPU share (worst stage)", ChartAxis{ValueKind::kPercent, "", std::nullopt},
             [](const SweepRunFigures& f) { return f.gc_cpu_max ? std::optional<double>(*f.gc_cpu_max * 100) : std::nullopt; });
  s << chart("usage", "Peak usage of the measured cgroup", ChartAxis{ValueKind::kBytes, "", std::nullopt}, [](const SweepRunFigures& f) {
    return f.peak_usage_bytes ? std::optional<double>(static_cast<double>(*f.peak_usage_bytes)) : std::nullopt;
  });
  s << chart("oom", "Target OOM-killed (1) or not (0)", ChartAxis{ValueKind::kCount, "runs", 1.0},
             [](const SweepRunFigures& f) { return std::optional<double>(f.first_target_oom_s ? 1.0 : 0.0); });
  {
    // The search path: the value each run tried, in the order run.
    ChartSpec c;
    c.id = "path";
    c.title = "Search path";
    c.t0 = 1;
    c.t1 = std::max<double>(2, static_cast<double>(o.trials.size()));
    c.x_axis = ChartAxis{ValueKind::kCount, "runs", std::nullopt};
    c.left = xaxis;
    ChartSeries path{"value tried", "value", "#1c7ed6", ChartSeries::Style::kLine, 0, {}, {}, {}};
    for (const auto& t : o.trials) {
      path.t.push_back(static_cast<double>(t.seq));
      path.v.push_back(t.value * xs);
      if (t.verdict != TrialVerdict::kPass) {
        c.markers.push_back({static_cast<double>(t.seq), toString(t.verdict), formatHeadroomValue(r, t.value), "#c92a2a", false});
      }
    }
    c.series.push_back(path);
    s << "<h2>Search path (value by run; red marks: runs that did not pass)</h2>\n" << renderSvgChart(c);
  }
  s << "<h2>Runs</h2>\n<table><tr><th>run</th><th>" << htmlEscape(toString(r.variable))
    << "</th><th class=\"l\">step</th><th class=\"l\">verdict</th><th>first OOM kill</th><th>worst p99</th><th>GC CPU</th><th>peak "
       "usage</th><th class=\"l\">failed checks</th><th class=\"l\">report</th></tr>\n";
  for (const auto& t : o.trials) {
    const auto& f = t.figures;
    const auto p99 = worstP99(f);
    s << "<tr><td>" << t.seq << "</td><td>" << htmlEscape(formatHeadroomValue(r, t.value)) << "</td><td class=\"l\">" << toString(t.purpose)
      << "</td><td class=\"l " << (t.verdict == TrialVerdict::kPass ? "pass" : "fail") << "\">" << toString(t.verdict) << "</td><td>"
      << (f.first_target_oom_s ? fixed(*f.first_target_oom_s, 1, " s") : "survived") << "</td><td>" << (p99 ? fixed(*p99, 2, " ms") : "-")
      << "</td><td>" << (f.gc_cpu_max ? pct(*f.gc_cpu_max) : "-") << "</td><td>"
      << (f.peak_usage_bytes ? htmlEscape(formatBytes(*f.peak_usage_bytes)) : "-") << "</td><td class=\"l\">"
      << htmlEscape(failedChecksText(f).empty() ? f.error : failedChecksText(f)) << "</td><td class=\"l\">" << htmlEscape(f.dir)
      << "</td></tr>\n";
  }
  s << "</table>\n</body></html>\n";
  return s.str();
}

std::string headroomMachineLine(const HeadroomDocument& d, int exit_code) {
  const auto& o = d.outcome;
  const std::string pass_op = o.pass_low ? "<=" : ">=", fail_op = o.pass_low ? ">=" : "<=";
  std::string headroom = machineValue(d.range, o.passing);
  if (o.end == SearchEnd::kAllFail || o.end == SearchEnd::kNotJudged || o.end == SearchEnd::kInterrupted) headroom = "none";
  return "memstrain: headroom=" + headroom + " passing" + pass_op + machineValue(d.range, o.passing) + " failing" + fail_op +
         machineValue(d.range, o.failing) + " runs=" + std::to_string(o.trials.size()) + " variable=" + toString(d.range.variable) +
         " end=" + toString(o.end) + " exit=" + std::to_string(exit_code) + " out=" + d.out_dir;
}

}  // namespace memstrain
