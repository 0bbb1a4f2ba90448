#include "memstrain/report/html.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <sstream>

#include "memstrain/analysis/checks.hpp"
#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/report/chart_scale.hpp"
#include "memstrain/report/svg_chart.hpp"
#include "memstrain/util/json_read.hpp"

namespace memstrain {
namespace {

using nlohmann::json;

// Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
constexpr const char* kBlack = "#000000";
constexpr const char* kOrange = "#E69F00";
constexpr const char* kSky = "#56B4E9";
constexpr const char* kGreen = "#009E73";
constexpr const char* kBlue = "#0072B2";
constexpr const char* kVermillion = "#D55E00";
constexpr const char* kPurple = "#CC79A7";
constexpr const char* kGrey = "#777777";

// Untrusted JSON: wrong types read as absent, never throw (util/json_read.hpp).
using json_read::at;
using json_read::num;
using json_read::str;

std::string esc(std::string_view s) { return htmlEscape(s); }

[[gnu::format(printf, 1, 2)]] std::string fmt(const char* f, ...) {
  char b[96];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(b, sizeof b, f, ap);
  va_end(ap);
  return b;
}

std::string bytes(std::optional<double> v) { return v ? formatValue(ValueKind::kBytes, *v) : "–"; }
std::string msText(std::optional<double> v) { return v ? formatValue(ValueKind::kMilliseconds, *v) : "–"; }

std::string durationText(double s) {
  if (s < 120) return fmt("%.1f s", s);
  const long total = std::lround(s);
  char b[64];
  if (total < 3600)
    std::snprintf(b, sizeof b, "%ld min %ld s", total / 60, total % 60);
  else
    std::snprintf(b, sizeof b, "%ld h %ld min", total / 3600, (total % 3600) / 60);
  return b;
}

MetricUnit metricUnitOf(const std::string& name) {
  if (name == "ns") return MetricUnit::kDuration;
  if (name == "bytes") return MetricUnit::kBytes;
  if (name == "per_s") return MetricUnit::kRate;
  if (name == "fraction") return MetricUnit::kRatio;
  return MetricUnit::kCount;
}

// A value of report.json whose meaning the renderer does not know (newer fields, the release
// verifier's `expect` and `reclaim`): shown as key: value pairs, with units guessed from the key.
std::string genericValue(const json& j, const std::string& key, int depth) {
  if (j.is_null()) return "–";
  if (j.is_number()) {
    const double v = j.get<double>();
    auto ends = [&](const char* suffix) {
      const std::string s = suffix;
      return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0;
    };
    if (ends("_bytes")) return formatValue(ValueKind::kBytes, v);
    if (ends("_ratio") || ends("_fraction")) return fmt("%.1f %%", v * 100);
    if (ends("_s")) return fmt("%.2f s", v);
    if (ends("_ms")) return formatValue(ValueKind::kMilliseconds, v);
    return esc(str(j));
  }
  if (j.is_string() || j.is_boolean()) return esc(str(j));
  if (depth >= 3) return "…";
  std::string out;
  if (j.is_array()) {
    for (std::size_t i = 0; i < j.size() && i < 50; ++i) out += (i ? ", " : "") + genericValue(j[i], key, depth + 1);
    return out.empty() ? "–" : out;
  }
  out += "<dl class=\"kv\">";
  for (auto it = j.begin(); it != j.end(); ++it) {
    out += "<dt>" + esc(it.key()) + "</dt><dd>" + genericValue(it.value(), it.key(), depth + 1) + "</dd>";
  }
  return out + "</dl>";
}

// ---- Header ----

struct Badge {
  std::string css;
  std::string icon;
};

Badge verdictBadge(const std::string& v) {
  if (v == "pass") return {"pass", "\u2714"};
  if (v == "fail") return {"fail", "\u2716"};
  if (v == "inconclusive") return {"inconclusive", "?"};
  return {"unknown", "?"};
}

std::string statusClass(const std::string& s) {
  if (s == "completed") return "ok";
  if (s == "interrupted" || s == "aborted") return "warn";
  if (s == "error") return "bad";
  return "unknown";
}

void renderHeader(std::ostringstream& o, const json& r) {
  const json& plan = at(r, "plan");
  const json& run = at(r, "run");
  const std::string verdict = str(r, "verdict");
  const Badge b = verdictBadge(verdict);
  const json& tally = at(r, "checks_summary");
  o << "<header class=\"top\">\n<div class=\"title\"><div class=\"kicker\">memstrain run report</div><h1>" << esc(str(plan, "name"))
    << "</h1>";
  const std::string desc = str(at(at(plan, "source"), "description"));
  if (!desc.empty()) o << "<p class=\"desc\">" << esc(desc) << "</p>";
  o << "</div>\n<div id=\"verdict\" class=\"verdict " << b.css << "\"><span class=\"icon\">" << b.icon << "</span><span class=\"word\">"
    << esc(verdict.empty() ? "no verdict" : verdict) << "</span>";
  if (auto total = num(tally, "total")) {
    o << "<small>checks " << esc(str(tally, "passed")) << "/" << esc(str(tally, "total")) << " passed";
    if (num(tally, "failed").value_or(0) > 0) o << ", " << esc(str(tally, "failed")) << " failed";
    o << "</small>";
  }
  o << "</div>\n</header>\n";

  // Facts about the run.
  const std::string status = str(run, "status");
  o << "<section id=\"facts\" class=\"facts\"><dl>\n";
  o << "<div><dt>Run status</dt><dd><span id=\"run-status\" class=\"pill " << statusClass(status) << "\">"
    << esc(status.empty() ? "unknown" : status) << "</span>";
  if (at(r, "cleanup").is_object()) {
    const std::string c = str(at(r, "cleanup"), "status");
    o << " <span class=\"pill " << (c == "ok" ? "ok" : "bad") << "\">cleanup " << esc(c) << "</span>";
  }
  o << "</dd></div>\n";
  if (auto d = num(run, "duration_s")) o << "<div><dt>Duration</dt><dd>" << durationText(*d) << "</dd></div>\n";
  o << "<div><dt>Started</dt><dd>" << esc(str(run, "started_at")) << "</dd></div>\n";
  const json& target = at(r, "target");
  const json& cg = at(r, "cgroup");
  std::string target_text;
  if (str(target, "mode") == "launch" && at(target, "command").is_array()) {
    for (const auto& a : at(target, "command")) target_text += (target_text.empty() ? "" : " ") + str(a);
    target_text = "launched: " + target_text;
  } else {
    target_text = "attached: " + str(cg, "target");
  }
  o << "<div class=\"wide\"><dt>Target</dt><dd><code>" << esc(target_text) << "</code>";
  if (!str(target, "pid").empty()) o << " (pid " << esc(str(target, "pid")) << ")";
  if (!str(target, "exit").empty()) o << " — <strong>" << esc(str(target, "exit")) << "</strong>";
  o << "</dd></div>\n";
  o << "<div class=\"wide\"><dt>cgroup</dt><dd>" << esc(str(cg, "version")) << " <code>" << esc(str(cg, "measured")) << "</code>";
  if (!str(cg, "placement").empty()) o << ", stressor " << esc(str(cg, "placement"));
  o << "</dd></div>\n";
  std::string limits = "effective " + bytes(num(cg, "effective_limit_bytes"));
  if (!num(cg, "effective_limit_bytes")) limits = "no limit";
  if (auto m = num(cg, "safety_margin_bytes")) limits += ", safety margin " + bytes(m);
  if (auto l = num(target, "memory_limit_bytes")) limits += ", plan memory_limit " + bytes(l);
  o << "<div><dt>Limits</dt><dd id=\"limits\">" << esc(limits) << "</dd></div>\n";
  std::string go;
  if (at(target, "env").is_object()) {
    for (auto it = at(target, "env").begin(); it != at(target, "env").end(); ++it) {
      if (it.key().rfind("GO", 0) == 0) go += (go.empty() ? "" : " ") + it.key() + "=" + str(it.value());
    }
  }
  if (go.empty()) go = str(target, "mode") == "launch" ? "Go defaults (the plan sets no GO* variable)" : "not known (attached target)";
  o << "<div><dt>Go settings</dt><dd id=\"go-settings\"><code>" << esc(go) << "</code></dd></div>\n";
  const json& host = at(r, "host");
  o << "<div><dt>Host</dt><dd>" << esc(str(host, "hostname")) << ", kernel " << esc(str(host, "kernel")) << "</dd></div>\n";
  const json& thp = at(host, "thp");
  const std::string thp_text = thp.is_object() ? "enabled " + str(thp, "enabled") + ", defrag " + str(thp, "defrag")
                                               : std::string("not known (older report, or no THP)");
  o << "<div><dt>Huge pages</dt><dd id=\"thp\">" << esc(thp_text) << "</dd></div>\n";
  o << "<div><dt>Run id</dt><dd><code>" << esc(str(run, "id")) << "</code></dd></div>\n";
  o << "</dl></section>\n";

  // Why: the verdict's reasons and the run's error.
  const json& reasons = at(r, "verdict_reasons");
  const std::string error = str(run, "error");
  if ((reasons.is_array() && !reasons.empty()) || !error.empty()) {
    o << "<section id=\"why\" class=\"why " << b.css << "\"><h2>Why</h2><ul>";
    if (!error.empty()) o << "<li>run: " << esc(error) << "</li>";
    if (reasons.is_array()) {
      for (const auto& x : reasons) o << "<li>" << esc(str(x)) << "</li>";
    }
    for (const auto& e : at(at(r, "cleanup"), "errors")) o << "<li>cleanup: " << esc(str(e)) << "</li>";
    o << "</ul></section>\n";
  }
}

// ---- Checks ----

void renderChecks(std::ostringstream& o, const json& r) {
  o << "<section id=\"checks\"><h2>Checks</h2>\n";
  const json& checks = at(r, "checks");
  if (!checks.is_array() || checks.empty()) {
    o << "<p class=\"note\">The plan has no checks.</p></section>\n";
    return;
  }
  o << "<table class=\"checks\"><thead><tr><th>result</th><th>check</th><th>stage</th><th class=\"num\">observed</th><th>limit</th>"
       "<th class=\"num\">baseline</th><th>explanation</th></tr></thead><tbody>\n";
  // Failures first, then no data, then unknown outcomes, then passes.
  auto rank = [](const std::string& outcome) { return outcome == "fail" ? 0 : outcome == "no_data" ? 1 : outcome == "pass" ? 3 : 2; };
  std::vector<const json*> rows;
  for (const auto& c : checks) rows.push_back(&c);
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const json* a, const json* b) { return rank(str(*a, "outcome")) < rank(str(*b, "outcome")); });
  for (const json* cp : rows) {
    const json& c = *cp;
    const std::string outcome = str(c, "outcome");
    const MetricUnit unit = metricUnitOf(str(c, "unit"));
    auto value = [&](const json& v) { return num(v) ? esc(formatMetricValue(unit, *num(v))) : std::string("–"); };
    std::string limit;
    const json& l = at(c, "limit");
    auto add = [&](const std::string& part) { limit += (limit.empty() ? "" : ", ") + part; };
    if (num(l, "max")) add("≤ " + value(at(l, "max")));
    if (num(l, "min")) add("≥ " + value(at(l, "min")));
    // Word metrics (release.outcome): observed_text and limit.equals instead of numbers.
    if (!str(l, "equals").empty()) add("= " + esc(str(l, "equals")));
    if (at(l, "max_vs_baseline").is_object()) {
      const json& rel = at(l, "max_vs_baseline");
      std::string part = "≤ " + esc(str(rel, "text")) + " of baseline";
      if (num(rel, "value")) part += " (" + value(at(rel, "value")) + ")";
      add(part);
    }
    const char* label = outcome == "fail" ? "\u2716 fail" : outcome == "pass" ? "\u2714 pass" : outcome == "no_data" ? "? no data" : "?";
    o << "<tr class=\"outcome-" << (rank(outcome) == 2 ? std::string("unknown") : esc(outcome)) << "\"><td class=\"result\">"
      << (rank(outcome) == 2 ? esc(outcome) : label) << "</td><td>" << esc(str(c, "name")) << "<div class=\"metric\">"
      << esc(str(c, "metric")) << (str(c, "probe").empty() ? "" : " · probe " + esc(str(c, "probe"))) << "</div></td><td>"
      << esc(str(c, "stage")) << "</td><td class=\"num\">"
      << (str(c, "observed_text").empty() ? value(at(c, "observed")) : esc(str(c, "observed_text"))) << "</td><td>"
      << (limit.empty() ? "–" : limit) << "</td><td class=\"num\">" << value(at(c, "baseline")) << "</td><td class=\"expl\">"
      << esc(str(c, "explanation")) << "</td></tr>\n";
  }
  o << "</tbody></table></section>\n";
}

// ---- Charts ----

struct ChartContext {
  double t1 = 1;
  std::vector<ChartBand> bands;
  std::vector<ChartMarker> markers;  ///< with labels (first chart)
  std::size_t max_points = 600;
};

ChartContext chartContext(const json& r, const RunSeries* s, std::size_t max_points) {
  ChartContext c;
  c.max_points = std::max<std::size_t>(max_points, 4);
  double t1 = 0;
  for (const auto& st : at(r, "stages")) {
    auto a = num(st, "start_s"), b = num(st, "end_s");
    if (!a || !b) continue;
    c.bands.push_back({*a, *b, str(st, "name")});
    t1 = std::max(t1, *b);
  }
  if (s) {
    if (!s->cgroup.empty()) t1 = std::max(t1, s->cgroup.back().t_s);
    if (!s->memstats.empty()) t1 = std::max(t1, s->memstats.back().t_s);
    for (const auto& l : s->latency) {
      if (!l.empty()) t1 = std::max(t1, l.back().t_s);
    }
  }
  for (const auto& e : at(r, "events")) {
    auto t = num(e, "t_s");
    if (!t) continue;
    t1 = std::max(t1, *t);
    const std::string kind = str(e, "kind");
    ChartMarker m;
    m.t = *t;
    m.detail = kind + " (" + str(e, "stage") + "): " + str(e, "detail");
    if (kind.find("oom") != std::string::npos) {
      m.color = kVermillion;
      m.label = kind.find("stressor") != std::string::npos ? "OOM kill (stressor)" : "OOM kill (target)";
    } else if (kind.find("abort") != std::string::npos) {
      m.color = kPurple;
      m.label = "abort";
    } else if (kind == "target_exit" || kind == "interrupted") {
      m.color = kBlack;
      m.label = kind == "interrupted" ? "interrupted" : "target exit";
    } else if (kind.rfind("action", 0) == 0) {
      m.color = kGrey;
      m.label = kind == "action_error" ? "action failed" : "action";
      m.major = false;
    } else {
      continue;  // listed in the events table only
    }
    c.markers.push_back(std::move(m));
  }
  c.t1 = t1 > 0 ? t1 : 1;
  return c;
}

ChartSpec baseSpec(const ChartContext& c, const std::string& id, const std::string& title, bool marker_labels) {
  ChartSpec spec;
  spec.id = id;
  spec.title = title;
  spec.t0 = 0;
  spec.t1 = c.t1;
  spec.bands = c.bands;
  spec.markers = c.markers;
  if (!marker_labels) {
    for (auto& m : spec.markers) m.label.clear();
  }
  return spec;
}

// Builds a series from the points of `pts` at `idx`, with value `get`.
template <class P, class F>
ChartSeries seriesAt(const std::vector<P>& pts, const std::vector<std::size_t>& idx, F get) {
  ChartSeries s;
  for (std::size_t i : idx) {
    s.t.push_back(pts[i].t_s);
    s.v.push_back(get(pts[i]));
  }
  return s;
}

template <class P, class F>
std::vector<std::size_t> pick(const std::vector<P>& pts, std::size_t max_points, F get) {
  std::vector<double> v;
  v.reserve(pts.size());
  for (const auto& p : pts) v.push_back(get(p));
  return downsampleIndices(v, max_points);
}

struct LegendItem {
  std::string name;
  std::string color;
  std::string style;  ///< "line", "dashed", "area", "rule"
};

void renderFigure(std::ostringstream& o, const std::string& fig_id, const std::string& title, const std::string& subtitle,
                  const std::optional<ChartSpec>& spec, const std::vector<LegendItem>& legend, const std::string& empty_note) {
  o << "<figure class=\"chart-fig\" id=\"" << fig_id << "\"><figcaption><span class=\"chart-title\">" << esc(title) << "</span>";
  if (!subtitle.empty()) o << " <span class=\"sub\">" << esc(subtitle) << "</span>";
  o << "</figcaption>\n";
  if (!spec) {
    o << "<div class=\"no-data\">" << esc(empty_note) << "</div></figure>\n";
    return;
  }
  o << "<ul class=\"legend\">";
  for (const auto& l : legend) {
    o << "<li><span class=\"sw " << l.style << "\" style=\"--c:" << esc(l.color) << "\"></span>" << esc(l.name) << "</li>";
  }
  o << "</ul>\n" << renderSvgChart(*spec);
  o << "<div class=\"readout\" aria-live=\"polite\"></div>\n";
  o << "<script type=\"application/json\" class=\"chart-data\">" << jsonForScript(chartReadoutData(*spec)) << "</script>\n";
  o << "</figure>\n";
}

void renderCharts(std::ostringstream& o, const json& r, const RunSeries* s, const HtmlReportOptions& opt) {
  o << "<section id=\"charts\"><h2>Timeline</h2>\n";
  if (!s) {
    o << "<div class=\"no-data missing-samples\">"
      << esc(opt.missing_series_note.empty() ? "No samples: the charts need samples.jsonl." : opt.missing_series_note)
      << "</div>\n</section>\n";
    return;
  }
  const ChartContext c = chartContext(r, s, opt.max_points_per_series);
  o << "<p class=\"note\">Seconds since the first stage started; stages shaded; hover a chart for values at that time (all charts "
       "follow).";
  if (s->bad_lines) o << " " << s->bad_lines << " unreadable line(s) of samples.jsonl were skipped.";
  o << "</p>\n";

  // (1) cgroup usage vs the effective limit, the stressor's bytes stacked under the rest.
  {
    std::optional<ChartSpec> spec;
    std::vector<LegendItem> legend;
    if (!s->cgroup.empty()) {
      spec = baseSpec(c, "svg-cgroup", "cgroup memory", true);
      const auto idx = pick(s->cgroup, c.max_points, [](const CgroupPoint& p) { return p.usage_bytes; });
      ChartSeries st = seriesAt(s->cgroup, idx, [](const CgroupPoint& p) { return p.stressor_bytes; });
      st.name = "stressor";
      st.key = "stressor";
      st.color = kSky;
      st.style = ChartSeries::Style::kArea;
      ChartSeries us = seriesAt(s->cgroup, idx, [](const CgroupPoint& p) { return p.usage_bytes; });
      us.name = "usage";
      us.key = "usage";
      us.color = kBlue;
      us.style = ChartSeries::Style::kArea;
      for (std::size_t i = 0; i < us.v.size(); ++i) us.base.push_back(std::min(st.v[i], us.v[i]));
      spec->series.push_back(std::move(st));
      spec->series.push_back(std::move(us));
      legend.push_back({"stressor", kSky, "area"});
      legend.push_back({"rest of the cgroup's usage (target, page cache)", kBlue, "area"});
      // A line over the samples that have an optional field (the setpoint only while the
      // controller holds; the page cache only where the sample has the target cgroup's stat).
      auto optionalLine = [&](std::optional<double> CgroupPoint::*field, const char* name, const char* key, const char* color,
                              ChartSeries::Style style, const char* legend_text) {
        std::vector<std::size_t> have;
        for (std::size_t i : idx) {
          if (s->cgroup[i].*field) have.push_back(i);
        }
        if (have.empty()) return;
        ChartSeries line = seriesAt(s->cgroup, have, [field](const CgroupPoint& p) { return *(p.*field); });
        line.name = name;
        line.key = key;
        line.color = color;
        line.style = style;
        spec->series.push_back(std::move(line));
        legend.push_back({legend_text, color, style == ChartSeries::Style::kDashed ? "dashed" : "line"});
      };
      optionalLine(&CgroupPoint::setpoint_bytes, "setpoint", "setpoint", kOrange, ChartSeries::Style::kDashed, "controller setpoint");
      // The page cache inside that usage: a working set squeezed out (plans/page-cache.json) shows
      // as this line falling while usage stays at the limit.
      optionalLine(&CgroupPoint::target_file_bytes, "page cache", "page-cache", kGreen, ChartSeries::Style::kLine,
                   "page cache (file) of the target's cgroup");
      std::optional<double> limit = num(at(r, "cgroup"), "effective_limit_bytes");
      if (!limit) limit = s->cgroup.back().limit_bytes;
      if (limit) {
        spec->rules.push_back({*limit, "limit " + formatValue(ValueKind::kBytes, *limit), kVermillion, 0});
        legend.push_back({"effective limit", kVermillion, "rule"});
      }
    }
    renderFigure(o, "chart-cgroup", "cgroup usage vs limit", "stressor bytes stacked under the rest", spec, legend,
                 "No cgroup samples in samples.jsonl.");
  }

  // (2) latency per second and error rate.
  {
    std::optional<ChartSpec> spec;
    std::vector<LegendItem> legend;
    const char* colors[] = {kBlue, kOrange, kPurple, kGreen, kSky};
    bool any = false;
    for (const auto& l : s->latency) any = any || !l.empty();
    if (any) {
      spec = baseSpec(c, "svg-latency", "latency", false);
      spec->left = {ValueKind::kMilliseconds, "", std::nullopt};
      spec->right = ChartAxis{ValueKind::kPercent, "", std::nullopt};
      ChartSeries err;
      err.name = "errors";
      err.key = "errors";
      err.color = kVermillion;
      err.style = ChartSeries::Style::kBars;
      err.axis = 1;
      double max_err = 0;
      for (std::size_t k = 0; k < s->latency.size(); ++k) {
        const auto& pts = s->latency[k];
        if (pts.empty()) continue;
        const std::string probe = s->probes[k];
        const std::string suffix = s->probes.size() > 1 ? " " + probe : "";
        const char* color = colors[k % 5];
        const auto idx = pick(pts, c.max_points, [](const LatencyPoint& p) { return p.p99_ms; });
        ChartSeries p99 = seriesAt(pts, idx, [](const LatencyPoint& p) { return p.p99_ms; });
        p99.name = "p99" + suffix;
        p99.key = "p99-" + std::to_string(k);
        p99.color = color;
        ChartSeries p50 = seriesAt(pts, idx, [](const LatencyPoint& p) { return p.p50_ms; });
        p50.name = "p50" + suffix;
        p50.key = "p50-" + std::to_string(k);
        p50.color = color;
        p50.style = ChartSeries::Style::kDashed;
        legend.push_back({"p99 per second" + suffix, color, "line"});
        legend.push_back({"p50 per second" + suffix, color, "dashed"});
        spec->series.push_back(std::move(p99));
        spec->series.push_back(std::move(p50));
        if (k == 0) {
          // Error rate of the first probe as bars (percent, right axis).
          ChartSeries e = seriesAt(pts, idx, [](const LatencyPoint& p) { return p.errorRate() * 100; });
          err.t = std::move(e.t);
          err.v = std::move(e.v);
          for (double v : err.v) max_err = std::max(max_err, v);
          err.name = "errors" + suffix;
        }
      }
      // A run without errors keeps a small axis so that "0" reads as none, not as missing.
      if (max_err < 1) spec->right->max = 1;
      spec->series.push_back(std::move(err));
      legend.push_back({max_err > 0 ? "error rate (right axis)" : "error rate (right axis): no errors", kVermillion, "area"});
    }
    renderFigure(o, "chart-latency", "latency", "corrected for coordinated omission, per one-second window", spec, legend,
                 "No latency probes in this plan (target.probe).");
  }

  // (3) Go heap: objects, HeapInuse, HeapReleased.
  {
    std::optional<ChartSpec> spec;
    std::vector<LegendItem> legend;
    if (!s->memstats.empty()) {
      spec = baseSpec(c, "svg-heap", "Go heap", false);
      spec->left = {ValueKind::kCount, "objects", std::nullopt};
      spec->right = ChartAxis{ValueKind::kBytes, "", std::nullopt};
      const auto idx = pick(s->memstats, c.max_points, [](const MemstatsPoint& p) { return p.heap_objects; });
      ChartSeries obj = seriesAt(s->memstats, idx, [](const MemstatsPoint& p) { return p.heap_objects; });
      obj.name = "heap objects";
      obj.key = "heap-objects";
      obj.color = kBlue;
      ChartSeries inuse = seriesAt(s->memstats, idx, [](const MemstatsPoint& p) { return p.heap_inuse_bytes; });
      inuse.name = "HeapInuse";
      inuse.key = "heap-inuse";
      inuse.color = kOrange;
      inuse.axis = 1;
      ChartSeries rel = seriesAt(s->memstats, idx, [](const MemstatsPoint& p) { return p.heap_released_bytes; });
      rel.name = "HeapReleased";
      rel.key = "heap-released";
      rel.color = kGreen;
      rel.axis = 1;
      rel.style = ChartSeries::Style::kDashed;
      spec->series = {obj, inuse, rel};
      legend = {{"heap objects (left axis)", kBlue, "line"},
                {"HeapInuse (right axis)", kOrange, "line"},
                {"HeapReleased (right axis)", kGreen, "dashed"}};
    }
    renderFigure(o, "chart-heap", "Go heap", "MemStats read through pprof", spec, legend,
                 "No Go MemStats: the plan has no target.pprof_url, or no reading succeeded.");
  }

  // (4) target RSS and LazyFree.
  {
    std::optional<ChartSpec> spec;
    std::vector<LegendItem> legend;
    std::vector<std::size_t> have;
    for (std::size_t i = 0; i < s->cgroup.size(); ++i) {
      if (s->cgroup[i].target_rss_bytes) have.push_back(i);
    }
    if (!have.empty()) {
      std::vector<CgroupPoint> pts;
      for (std::size_t i : have) pts.push_back(s->cgroup[i]);
      spec = baseSpec(c, "svg-rss", "target process memory", false);
      const auto idx = pick(pts, c.max_points, [](const CgroupPoint& p) { return *p.target_rss_bytes; });
      ChartSeries rss = seriesAt(pts, idx, [](const CgroupPoint& p) { return *p.target_rss_bytes; });
      rss.name = "RSS";
      rss.key = "rss";
      rss.color = kBlue;
      ChartSeries lazy = seriesAt(pts, idx, [](const CgroupPoint& p) { return p.target_lazyfree_bytes.value_or(0); });
      lazy.name = "LazyFree";
      lazy.key = "lazyfree";
      lazy.color = kPurple;
      lazy.style = ChartSeries::Style::kArea;
      spec->series = {lazy, rss};
      legend = {{"RSS", kBlue, "line"}, {"LazyFree (MADV_FREE pages still resident)", kPurple, "area"}};
    }
    renderFigure(o, "chart-rss", "target RSS and LazyFree", "from /proc/PID/smaps_rollup", spec, legend,
                 "No target process readings (no target pid).");
  }

  // (5) GC cycles per second and PSI.
  {
    std::optional<ChartSpec> spec;
    std::vector<LegendItem> legend;
    struct RatePoint {
      double t_s, v;
    };
    std::vector<RatePoint> gc;
    for (std::size_t i = 1; i < s->memstats.size(); ++i) {
      const double dt = s->memstats[i].t_s - s->memstats[i - 1].t_s;
      const double dn = s->memstats[i].num_gc - s->memstats[i - 1].num_gc;
      if (dt > 0) gc.push_back({s->memstats[i].t_s, std::max(0.0, dn / dt)});
    }
    // GC CPU share per interval, as heap.gc_cpu_fraction per stage: needs the target's start.
    std::vector<RatePoint> gc_cpu;
    if (auto start_ms = num(at(r, "target"), "started_unix_ms")) {
      const auto start_ns = static_cast<std::int64_t>(*start_ms * 1e6);
      auto cumulative = [&](const MemstatsPoint& p) {
        GoMemStats m;
        m.num_gc = static_cast<std::uint64_t>(p.num_gc);
        m.gc_cpu_fraction = p.gc_cpu_fraction;
        m.last_gc_unix_ns = p.last_gc_unix_ns;
        return gcCpuSeconds(m, start_ns);
      };
      for (std::size_t i = 1; i < s->memstats.size(); ++i) {
        auto c0 = cumulative(s->memstats[i - 1]);
        auto c1 = cumulative(s->memstats[i]);
        auto share = c0 && c1 ? gcCpuShare(s->memstats[i - 1].t_s, *c0, s->memstats[i].t_s, *c1) : std::nullopt;
        if (share) gc_cpu.push_back({s->memstats[i].t_s, *share * 100});
      }
    }
    std::vector<CgroupPoint> psi;
    for (const auto& p : s->cgroup) {
      if (p.psi_some_avg10) psi.push_back(p);
    }
    if (!gc.empty() || !psi.empty()) {
      spec = baseSpec(c, "svg-gc", "GC and pressure stall", false);
      spec->left = {ValueKind::kPerSecond, "", std::nullopt};
      if (!gc.empty()) {
        const auto idx = pick(gc, c.max_points, [](const RatePoint& p) { return p.v; });
        ChartSeries g = seriesAt(gc, idx, [](const RatePoint& p) { return p.v; });
        g.name = "GC cycles/s";
        g.key = "gc";
        g.color = kGreen;
        g.style = ChartSeries::Style::kBars;
        spec->series.push_back(std::move(g));
        legend.push_back({"GC cycles per second (left axis)", kGreen, "area"});
      }
      if (!gc_cpu.empty()) {
        spec->right = ChartAxis{ValueKind::kPercent, "", std::nullopt};
        const auto idx = pick(gc_cpu, c.max_points, [](const RatePoint& p) { return p.v; });
        ChartSeries g = seriesAt(gc_cpu, idx, [](const RatePoint& p) { return p.v; });
        g.name = "GC CPU";
        g.key = "gc-cpu";
        g.color = kBlue;
        g.axis = 1;
        spec->series.push_back(std::move(g));
        legend.push_back({"GC share of GOMAXPROCS x time (right axis)", kBlue, "line"});
      }
      if (!psi.empty()) {
        if (!spec->right) spec->right = ChartAxis{ValueKind::kPercent, "", std::nullopt};
        const auto idx = pick(psi, c.max_points, [](const CgroupPoint& p) { return *p.psi_some_avg10; });
        ChartSeries some = seriesAt(psi, idx, [](const CgroupPoint& p) { return *p.psi_some_avg10; });
        some.name = "PSI some avg10";
        some.key = "psi-some";
        some.color = kOrange;
        some.axis = 1;
        ChartSeries full = seriesAt(psi, idx, [](const CgroupPoint& p) { return p.psi_full_avg10.value_or(0); });
        full.name = "PSI full avg10";
        full.key = "psi-full";
        full.color = kVermillion;
        full.axis = 1;
        full.style = ChartSeries::Style::kDashed;
        double hi = 0;
        for (double v : some.v) hi = std::max(hi, v);
        for (const auto& p : gc_cpu) hi = std::max(hi, p.v);
        if (hi < 1) spec->right->max = 1;
        spec->series.push_back(std::move(some));
        spec->series.push_back(std::move(full));
        legend.push_back({"memory PSI some, avg10 (right axis)", kOrange, "line"});
        legend.push_back({"memory PSI full, avg10 (right axis)", kVermillion, "dashed"});
      }
    }
    std::string sub = std::string(gc_cpu.empty() ? "GC from MemStats.NumGC" : "GC from MemStats.NumGC and GCCPUFraction") +
                      (psi.empty() ? "; PSI not available (cgroup v1 has no memory.pressure)" : "; PSI from memory.pressure");
    renderFigure(o, "chart-gc", "GC cycles and memory pressure stall", sub, spec, legend,
                 "Neither GC counts (needs target.pprof_url) nor PSI (needs cgroup v2) were recorded.");
  }
  o << "</section>\n";
}

// ---- Stages ----

// "33.7k", "1.25M", "812": counts in a narrow cell.
std::string compactCount(double v) {
  if (v >= 1e6) return fmt("%.2fM", v / 1e6);
  if (v >= 1e4) return fmt("%.1fk", v / 1e3);
  return fmt("%.0f", v);
}

// The target cgroup's page cache per stage, when report.json has it: a working set squeezed out
// of memory shows as major faults and refaults while nothing is OOM-killed.
void renderPageCache(std::ostringstream& o, const json& stages) {
  bool any = false;
  for (const auto& st : stages) any = any || at(st, "page_cache").is_object();
  if (!any) return;
  auto rate = [](std::optional<double> v) { return v ? fmt("%.1f", *v) : std::string("–"); };
  o << "<h3>Page cache of the target's cgroup</h3>\n<div class=\"scroll\"><table class=\"page-cache\"><thead><tr><th>stage</th>"
       "<th class=\"num\">file min</th><th class=\"num\">file max</th><th class=\"num\">major faults/s</th>"
       "<th class=\"num\">file refaults/s</th></tr></thead><tbody>\n";
  for (const auto& st : stages) {
    const json& pc = at(st, "page_cache");
    if (!pc.is_object()) continue;
    const json& file = at(pc, "file_bytes");
    o << "<tr><th scope=\"row\">" << esc(str(st, "name")) << "</th><td class=\"num\">" << bytes(num(file, "min"))
      << "</td><td class=\"num\">" << bytes(num(file, "max")) << "</td><td class=\"num\">" << rate(num(pc, "major_faults_per_s"))
      << "</td><td class=\"num\">" << rate(num(pc, "refaults_per_s")) << "</td></tr>\n";
  }
  o << "</tbody></table></div>\n";
}

void renderStages(std::ostringstream& o, const json& r) {
  o << "<section id=\"stages\"><h2>Stages</h2>\n";
  const json& stages = at(r, "stages");
  if (!stages.is_array() || stages.empty()) {
    o << "<p class=\"note\">No stage ran.</p></section>\n";
    return;
  }
  o << "<div class=\"scroll\"><table class=\"stages\"><thead><tr><th>stage</th><th class=\"num\">time</th><th>pressure</th>"
       "<th class=\"num\">reached</th><th class=\"num\">usage max</th><th class=\"num\">stressor mean</th><th class=\"num\">RSS max</th>"
       "<th class=\"num\">OOM kills t/s</th><th>probe</th><th class=\"num\">p50 / p99 / max</th>"
       "<th class=\"num\">errors</th><th class=\"num\">heap objects</th>"
       "<th class=\"num\">objects/s</th><th class=\"num\">HeapInuse end</th><th "
       "class=\"num\">GCs</th><th>release</th></tr></thead><tbody>\n";
  for (const auto& st : stages) {
    std::string pressure = "–", reached = "–";
    const json& p = at(st, "pressure");
    if (p.is_object()) {
      pressure = str(p, "placement") + " ";
      if (auto lf = num(p, "level_fraction"))
        pressure += fmt("%.0f%%", *lf * 100);
      else
        pressure += bytes(num(p, "requested_bytes"));
      if (num(p, "reached_bytes")) reached = bytes(num(p, "reached_bytes"));
    }
    const double dur = num(st, "end_s").value_or(0) - num(st, "start_s").value_or(0);
    const json& heap = at(st, "heap");
    std::string heap_objects = "–", slope = "–", inuse = "–", gcs = "–";
    if (heap.is_object()) {
      if (num(heap, "objects_start") && num(heap, "objects_end")) {
        heap_objects = compactCount(*num(heap, "objects_start")) + " → " + compactCount(*num(heap, "objects_end"));
        if (auto d = num(heap, "objects_delta"))
          heap_objects += " (" + std::string(*d >= 0 ? "+" : "−") + compactCount(std::fabs(*d)) + ")";
      }
      if (auto v = num(heap, "objects_slope_per_s")) slope = fmt("%.0f", *v);
      inuse = bytes(num(heap, "heap_inuse_end_bytes"));
      if (num(heap, "gc_cycles")) gcs = str(heap, "gc_cycles");
      if (auto f = num(heap, "gc_cpu_fraction")) gcs += fmt(" (%.1f%% CPU)", *f * 100);
    }
    std::string release = "–";
    if (at(st, "release").is_object()) {
      const std::string outcome = str(at(st, "release"), "outcome");
      release = "<span class=\"pill release-" + esc(outcome) + "\">" + esc(outcome.empty() ? "?" : outcome) + "</span>";
    }
    const json& lat = at(st, "latency");
    const std::size_t rows = lat.is_array() && !lat.empty() ? lat.size() : 1;
    for (std::size_t i = 0; i < rows; ++i) {
      o << "<tr>";
      if (i == 0) {
        const std::string span = rows > 1 ? " rowspan=\"" + std::to_string(rows) + "\"" : "";
        o << "<th scope=\"row\"" << span << ">" << esc(str(st, "name"))
          << (at(st, "completed").is_boolean() && !at(st, "completed").get<bool>() ? " <span class=\"pill warn\">cut short</span>" : "")
          << "</th><td class=\"num\"" << span << ">" << fmt("%.1f s", dur) << "</td><td" << span << ">" << esc(pressure)
          << "</td><td class=\"num\"" << span << ">" << reached << "</td><td class=\"num\"" << span << ">"
          << bytes(num(at(st, "usage_bytes"), "max")) << "</td><td class=\"num\"" << span << ">"
          << bytes(num(at(st, "stressor_bytes"), "mean")) << "</td><td class=\"num\"" << span << ">"
          << bytes(num(at(st, "target_rss_bytes"), "max")) << "</td><td class=\"num\"" << span << ">"
          << esc(str(at(st, "oom_kills"), "target")) << "/" << esc(str(at(st, "oom_kills"), "stressor")) << "</td>";
      }
      if (lat.is_array() && i < lat.size()) {
        const json& l = lat[i];
        const json& corr = at(l, "corrected");
        o << "<td>" << esc(str(l, "probe")) << "</td><td class=\"num\">" << msText(num(corr, "p50_ms")) << " / <strong>"
          << msText(num(corr, "p99_ms")) << "</strong> / " << msText(num(corr, "max_ms")) << "</td><td class=\"num\">"
          << (num(l, "error_rate") ? fmt("%.2f %%", *num(l, "error_rate") * 100) : "–") << "</td>";
      } else {
        o << "<td>–</td><td class=\"num\">–</td><td class=\"num\">–</td>";
      }
      if (i == 0) {
        const std::string span = rows > 1 ? " rowspan=\"" + std::to_string(rows) + "\"" : "";
        o << "<td class=\"num\"" << span << ">" << heap_objects << "</td><td class=\"num\"" << span << ">" << slope
          << "</td><td class=\"num\"" << span << ">" << inuse << "</td><td class=\"num\"" << span << ">" << esc(gcs) << "</td><td" << span
          << ">" << release << "</td>";
      }
      o << "</tr>\n";
    }
  }
  o << "</tbody></table></div>\n";
  renderPageCache(o, stages);
  o << "</section>\n";
}

// ---- Heap growth by function ----

void renderTopTable(std::ostringstream& o, const json& top, const char* title, bool is_bytes) {
  o << "<div class=\"top-table\"><h3>" << title << "</h3>";
  const json& rows = at(top, "rows");
  if (!rows.is_array() || rows.empty()) {
    o << "<p class=\"note\">No function's figure changed between the two profiles.</p></div>\n";
    return;
  }
  double hi = 0;
  for (const auto& row : rows) hi = std::max(hi, std::fabs(num(row, "flat").value_or(0)));
  auto value = [&](std::optional<double> v) {
    if (!v) return std::string("–");
    const std::string s = is_bytes ? formatValue(ValueKind::kBytes, std::fabs(*v)) : formatValue(ValueKind::kCount, std::fabs(*v));
    return std::string(*v < 0 ? "−" : "+") + s;
  };
  o << "<table class=\"growth\"><thead><tr><th>function</th><th class=\"num\">flat</th><th class=\"num\">cum</th></tr></thead><tbody>\n";
  for (const auto& row : rows) {
    const double flat = num(row, "flat").value_or(0);
    const double w = hi > 0 ? 100 * std::fabs(flat) / hi : 0;
    o << "<tr><td class=\"fn\"><span class=\"bar" << (flat < 0 ? " neg" : "") << "\" style=\"width:" << fmt("%.1f", w)
      << "%\"></span><code>" << esc(str(row, "function")) << "</code></td><td class=\"num\">" << value(num(row, "flat"))
      << "</td><td class=\"num\">" << value(num(row, "cum")) << "</td></tr>\n";
  }
  o << "</tbody></table></div>\n";
}

void renderHeapGrowth(std::ostringstream& o, const json& r) {
  o << "<section id=\"heap-growth\"><h2>Heap growth by function</h2>\n";
  const json& pprof = at(r, "pprof");
  if (!pprof.is_object()) {
    o << "<p class=\"note\">No heap profiles: the plan has no target.pprof_url.</p></section>\n";
    return;
  }
  const json& diff = at(pprof, "diff");
  if (!diff.is_object()) {
    o << "<p class=\"note\">No diff: " << esc(str(pprof, "diff_error").empty() ? "fewer than two heap profiles" : str(pprof, "diff_error"))
      << "</p></section>\n";
    return;
  }
  o << "<p class=\"note\">In-use figures of the heap profile at the end of <strong>" << esc(str(diff, "stage"))
    << "</strong> minus those at the end of <strong>" << esc(str(diff, "base_stage"))
    << "</strong> (like <code>go tool pprof -diff_base</code>).</p>\n";
  o << "<div class=\"two\">";
  renderTopTable(o, at(diff, "inuse_objects"), "in-use objects", false);
  renderTopTable(o, at(diff, "inuse_space"), "in-use bytes", true);
  o << "</div></section>\n";
}

// ---- Release ----

void renderReleaseCard(std::ostringstream& o, const json& rel, const std::string& title) {
  const std::string outcome = str(rel, "outcome");
  o << "<div class=\"release-card\"><h3>" << esc(title) << " <span class=\"pill release-" << esc(outcome) << "\">"
    << esc(outcome.empty() ? "no outcome" : outcome) << "</span></h3>\n";
  if (!str(rel, "explanation").empty()) o << "<p class=\"explanation\">" << esc(str(rel, "explanation")) << "</p>\n";
  o << "<dl class=\"kv\">";
  struct Field {
    const char* key;
    const char* label;
  };
  static const Field kKnown[] = {{"runtime_released_bytes", "released by the Go runtime"},
                                 {"rss_dropped_bytes", "RSS dropped"},
                                 {"cgroup_dropped_bytes", "cgroup usage dropped"},
                                 {"returned_ratio", "returned ratio"},
                                 {"time_to_return_s", "time to return"},
                                 {"lazy_bytes", "still resident as LazyFree"}};
  for (const Field& f : kKnown) {
    const json& v = at(rel, f.key);
    if (v.is_null()) continue;
    o << "<dt>" << f.label << "</dt><dd>" << genericValue(v, f.key, 0) << "</dd>";
  }
  for (auto it = rel.begin(); it != rel.end(); ++it) {
    const std::string& k = it.key();
    if (k == "outcome" || k == "explanation" ||
        std::any_of(std::begin(kKnown), std::end(kKnown), [&](const Field& f) { return k == f.key; }))
      continue;
    if (it.value().is_null()) continue;
    o << "<dt>" << esc(k) << "</dt><dd>" << genericValue(it.value(), k, 0) << "</dd>";
  }
  o << "</dl></div>\n";
}

void renderRelease(std::ostringstream& o, const json& r) {
  o << "<section id=\"release\"><h2>Release</h2>\n";
  bool any = false;
  for (const auto& st : at(r, "stages")) {
    const json& rel = at(st, "release");
    if (!rel.is_object()) continue;
    any = true;
    renderReleaseCard(o, rel, "stage " + str(st, "name"));
  }
  const json& sr = at(r, "stressor_release");
  if (sr.is_object()) {
    any = true;
    renderReleaseCard(o, sr, "the stressor's own release");
  } else if (!sr.is_null()) {
    any = true;
    o << "<div class=\"release-card\"><h3>the stressor's own release</h3><p>" << genericValue(sr, "stressor_release", 0) << "</p></div>\n";
  }
  if (!any) o << "<p class=\"note\">This run verified no release (no stage has a release block).</p>\n";
  o << "</section>\n";
}

// ---- Events ----

void renderEvents(std::ostringstream& o, const json& r) {
  o << "<section id=\"events\"><h2>Events</h2>\n";
  const json& ev = at(r, "events");
  if (!ev.is_array() || ev.empty()) {
    o << "<p class=\"note\">No events: no OOM kill, abort, action or early end.</p></section>\n";
    return;
  }
  o << "<table class=\"events\"><thead><tr><th class=\"num\">t</th><th>event</th><th>stage</th><th>detail</th></tr></thead><tbody>\n";
  for (const auto& e : ev) {
    const std::string kind = str(e, "kind");
    const bool bad = kind.find("oom") != std::string::npos || kind.find("abort") != std::string::npos || kind == "target_exit";
    o << "<tr" << (bad ? " class=\"bad\"" : "") << "><td class=\"num\">" << (num(e, "t_s") ? fmt("%.2f s", *num(e, "t_s")) : "–")
      << "</td><td>" << esc(kind) << "</td><td>" << esc(str(e, "stage")) << "</td><td>" << esc(str(e, "detail")) << "</td></tr>\n";
  }
  o << "</tbody></table></section>\n";
}

constexpr const char* kCss = R"CSS(
:root{--pass:#009E73;--fail:#D55E00;--inc:#E69F00;--ink:#1d1d1f;--mute:#5f6368;--line:#d9dce1;--bg:#fff;--band:#eef2f7}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:20px 24px 40px;background:var(--bg)}
h1{margin:0;font-size:28px;word-break:break-word}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:10px 0 6px}
.kicker{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.08em}
.desc{color:var(--mute);margin:4px 0 0}
header.top{display:flex;justify-content:space-between;align-items:center;gap:20px}
.verdict{display:flex;flex-direction:column;align-items:center;min-width:190px;padding:12px 22px;border-radius:12px;color:#fff;text-transform:uppercase}
.verdict .icon{font-size:30px;line-height:1}.verdict .word{font-size:30px;font-weight:800;letter-spacing:.06em}
.verdict small{text-transform:none;font-size:13px;opacity:.95}
.verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}.verdict.inconclusive{background:var(--inc);color:#000}
.verdict.unknown{background:#777}
.facts dl{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:6px 18px;margin:16px 0 0}
.facts dl>div{min-width:0}.facts .wide{grid-column:span 3}
dt{color:var(--mute);font-size:12px}dd{margin:0;word-break:break-word}
code{font:12.5px ui-monospace,"DejaVu Sans Mono",monospace}
.pill{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12.5px;font-weight:600;background:#ddd;color:#000}
.pill.ok,.pill.release-returned{background:var(--pass);color:#fff}.pill.bad,.pill.release-not_returned{background:var(--fail);color:#fff}
.pill.warn,.pill.release-lazy{background:var(--inc);color:#000}
.why{margin-top:14px;padding:8px 14px;border-left:5px solid #777;background:#f6f6f6}.why h2{border:0;margin:4px 0;font-size:15px}
.why.fail{border-color:var(--fail)}.why.inconclusive{border-color:var(--inc)}.why ul{margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
table.stages{font-size:12.5px}table.stages td,table.stages th{padding:5px 6px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{background:#f0f2f5;font-weight:600;font-size:12px;color:#333}
td.num,th.num{text-align:right;white-space:nowrap}
.scroll{overflow-x:auto}
tr.outcome-fail td{background:#fbe3d6}tr.outcome-no_data td,tr.outcome-unknown td{background:#fdf1d3}
td.result{white-space:nowrap;font-weight:700}tr.outcome-fail td.result{color:#a33f00}tr.outcome-pass td.result{color:#00694d}
.metric{color:var(--mute);font-size:12px}.expl{color:#333}
tr.bad td{color:#a33f00}
figure.chart-fig{margin:8px 0 18px;break-inside:avoid}
figcaption{font-weight:600}figcaption .sub{font-weight:400;color:var(--mute);font-size:12.5px}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 16px;margin:4px 0 0;padding:0;font-size:12.5px}
.sw{display:inline-block;width:18px;height:10px;margin-right:5px;vertical-align:middle}
.sw.line{border-top:2.5px solid var(--c);height:0}.sw.dashed{border-top:2.5px dashed var(--c);height:0}
.sw.area{background:var(--c);opacity:.7}.sw.rule{border-top:2px dashed var(--c);height:0}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#333}
svg.chart .tick.y-left,svg.chart .axis-unit.left{text-anchor:end}svg.chart .tick.x{text-anchor:middle}
svg.chart .axis-unit{font-weight:600}
svg.chart .stage-band.even{fill:var(--band)}svg.chart .stage-band.odd{fill:#fafbfc}
svg.chart .stage-label{font-weight:600;fill:#444}
svg.chart .grid line{stroke:#d5d9df;stroke-width:.6}svg.chart .x-tick{stroke:#999}
svg.chart polyline.series{stroke-width:1.8;stroke-linejoin:round}
svg.chart path.series{opacity:.62}
svg.chart .rule{stroke-width:1.5;stroke-dasharray:7 3}svg.chart .rule-label{text-anchor:end;font-weight:600}
svg.chart .marker.major{stroke-width:1.6;stroke-dasharray:4 2}svg.chart .marker.minor{stroke-width:1;stroke-dasharray:2 3}
svg.chart .marker-label{font-size:10.5px;font-weight:600}
svg.chart .frame{fill:none;stroke:#aab}
svg.chart .cursor{stroke:#000;stroke-width:.8;stroke-dasharray:2 2}
.readout{min-height:1.4em;font:12px ui-monospace,"DejaVu Sans Mono",monospace;color:#333;white-space:pre-wrap}
.no-data{padding:14px;border:1px dashed #bbb;color:var(--mute);background:#fafafa;margin:6px 0}
.missing-samples{border-color:var(--inc);color:#000;background:#fdf1d3}
.note{color:var(--mute);font-size:13px}
.two{display:grid;grid-template-columns:1fr 1fr;gap:18px}
td.fn{position:relative;word-break:break-all}
td.fn .bar{position:absolute;left:0;top:3px;bottom:3px;background:#E69F00;opacity:.28;border-radius:2px}td.fn .bar.neg{background:#56B4E9}
td.fn code{position:relative}
.release-card{border:1px solid var(--line);border-radius:8px;padding:6px 14px;margin:8px 0}
.release-card .explanation{font-size:15px;margin:4px 0 8px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:4px 0}dl.kv dt{font-size:13px}
footer{margin-top:30px;color:var(--mute);font-size:12px}
@media (max-width:760px){.two{grid-template-columns:1fr}.facts dl{grid-template-columns:1fr}.facts .wide{grid-column:span 1}header.top{flex-direction:column;align-items:flex-start}}
@media print{body{background:#fff}main{max-width:none;padding:0}.readout,svg.chart .cursor{display:none}
.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}section{break-inside:auto}}
)CSS";

// The hover read-out: every chart follows the pointer's time; each shows its series' values at the
// nearest point. Text is set with textContent (names in the data are untrusted).
constexpr const char* kScript = R"JS(
(function(){
var figs=[].slice.call(document.querySelectorAll('figure.chart-fig'));
var data=figs.map(function(f){var s=f.querySelector('script.chart-data');return s?JSON.parse(s.textContent):null;});
function fmt(kind,noun,v){
if(kind==='bytes'){var u=['B','KiB','MiB','GiB','TiB'],i=0;while(Math.abs(v)>=1024&&i<4){v/=1024;i++;}return (i?v.toFixed(1):v.toFixed(0))+' '+u[i];}
if(kind==='ms')return v.toFixed(v<10?2:1)+' ms';
if(kind==='percent')return v.toFixed(1)+' %';
if(kind==='per_s')return v.toFixed(2)+'/s';
return Math.round(v).toLocaleString('en-US')+(noun?' '+noun:'');}
function nearest(t,ts){var lo=0,hi=ts.length-1;while(hi-lo>1){var m=(lo+hi)>>1;if(ts[m]<t)lo=m;else hi=m;}return Math.abs(ts[lo]-t)<=Math.abs(ts[hi]-t)?lo:hi;}
function show(t,cursor){figs.forEach(function(f,i){var d=data[i];if(!d)return;
var c=f.querySelector('line.cursor');if(c){var x=cursor?d.x0+(t-d.t0)/(d.t1-d.t0)*(d.x1-d.x0):-10;c.setAttribute('x1',x);c.setAttribute('x2',x);}
var parts=['t='+t.toFixed(1)+'s'];d.series.forEach(function(s){if(!s.t.length)return;var k=nearest(t,s.t);parts.push(s.name+' '+fmt(s.kind,s.noun,s.v[k]));});
var out=f.querySelector('.readout');if(out)out.textContent=parts.join('  \u00b7  ');});}
figs.forEach(function(f,i){var svg=f.querySelector('svg');var d=data[i];if(!svg||!d)return;
svg.addEventListener('mousemove',function(e){var r=svg.getBoundingClientRect();if(!r.width)return;var xv=(e.clientX-r.left)/r.width*d.w;
var t=d.t0+(xv-d.x0)/(d.x1-d.x0)*(d.t1-d.t0);show(Math.max(d.t0,Math.min(d.t1,t)),true);});
svg.addEventListener('mouseleave',function(){show(d.t1,false);});});
var first=data.filter(function(d){return d;})[0];if(first)show(first.t1,false);
document.body.setAttribute('data-script','ok');
})();
)JS";

}  // namespace

std::string renderHtmlReport(const json& report, const RunSeries* series, const HtmlReportOptions& options) {
  std::ostringstream o;
  const std::string name = str(at(report, "plan"), "name");
  const std::string verdict = str(report, "verdict");
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>memstrain: "
    << esc(name) << " — " << esc(verdict.empty() ? "no verdict" : verdict) << "</title>\n";
  // Any script error is recorded on the page, where a headless browser test can see it.
  o << "<script>window.addEventListener('error',function(e){document.documentElement.setAttribute('data-js-error',String(e.message));});</"
       "script>\n";
  o << "<style>" << kCss << "</style>\n</head>\n<body>\n<main>\n";
  renderHeader(o, report);
  renderChecks(o, report);
  renderCharts(o, report, series, options);
  renderStages(o, report);
  renderHeapGrowth(o, report);
  renderRelease(o, report);
  renderEvents(o, report);
  const json& tool = at(report, "tool");
  o << "<footer>memstrain " << esc(str(tool, "version")) << " · report schema " << esc(str(report, "schema_version")) << " · plan "
    << esc(str(at(report, "plan"), "path"));
  if (!str(report, "plan_sha256").empty()) o << " (sha256 <code>" << esc(str(report, "plan_sha256").substr(0, 16)) << "…</code>)";
  o << " · made from report.json" << (series ? " and samples.jsonl" : "") << "</footer>\n</main>\n";
  o << "<script>" << kScript << "</script>\n</body>\n</html>\n";
  return o.str();
}

std::string samplesPathFor(const std::string& report_json_path) {
  const auto slash = report_json_path.find_last_of('/');
  return slash == std::string::npos ? "samples.jsonl" : report_json_path.substr(0, slash + 1) + "samples.jsonl";
}

std::string renderHtmlReportWithSamples(const json& report, const std::string& samples_path, std::string* warning) {
  auto series = readSamplesFile(samples_path);
  HtmlReportOptions opt;
  if (!series) {
    opt.missing_series_note =
        "No time series: " + series.error().message +
        ". The charts are drawn from samples.jsonl, which memstrain run writes beside report.json; keep both files together. "
        "The tables below come from report.json alone.";
    if (warning) *warning = "charts left out: " + series.error().message;
    return renderHtmlReport(report, nullptr, opt);
  }
  return renderHtmlReport(report, &*series, opt);
}

}  // namespace memstrain
