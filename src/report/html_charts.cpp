// report.html's charts: five figures on one time axis, drawn from samples.jsonl's series, with the
// stages shaded and the run's events as markers.

#include <algorithm>
#include <cmath>
#include <sstream>

#include "html_parts.hpp"
#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/report/chart_scale.hpp"
#include "memstrain/report/svg_chart.hpp"

namespace memstrain::html {
namespace {

struct ChartContext {
  double t1 = 1;
  std::vector<ChartBand> bands;
  std::vector<ChartMarker> markers;  ///< with labels (first chart)
  std::size_t max_points = 600;
};

ChartContext chartContext(const ReportView& r, const RunSeries* s, std::size_t max_points) {
  ChartContext c;
  c.max_points = std::max<std::size_t>(max_points, 4);
  double t1 = 0;
  for (const auto& st : r.stages) {
    if (!st.start_s || !st.end_s) continue;
    c.bands.push_back({*st.start_s, *st.end_s, st.name});
    t1 = std::max(t1, *st.end_s);
  }
  if (s) {
    if (!s->cgroup.empty()) t1 = std::max(t1, s->cgroup.back().t_s);
    if (!s->memstats.empty()) t1 = std::max(t1, s->memstats.back().t_s);
    for (const auto& l : s->latency) {
      if (!l.empty()) t1 = std::max(t1, l.back().t_s);
    }
  }
  for (const auto& e : r.events) {
    if (!e.t_s) continue;
    t1 = std::max(t1, *e.t_s);
    const std::string& kind = e.kind;
    ChartMarker m;
    m.t = *e.t_s;
    m.detail = kind + " (" + e.stage + "): " + e.detail;
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

// (1) cgroup usage vs the effective limit, the stressor's bytes stacked under the rest.
void renderCgroupChart(std::ostringstream& o, const ReportView& r, const RunSeries* s, const ChartContext& c) {
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
    std::optional<double> limit =
        r.effective_limit_bytes ? std::optional<double>(static_cast<double>(*r.effective_limit_bytes)) : std::nullopt;
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
void renderLatencyChart(std::ostringstream& o, const RunSeries* s, const ChartContext& c) {
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

// (3) Go heap: all objects (HeapObjects, garbage included), live objects (after a forced GC),
// HeapInuse, HeapReleased.
void renderHeapChart(std::ostringstream& o, const RunSeries* s, const ChartContext& c) {
  std::optional<ChartSpec> spec;
  std::vector<LegendItem> legend;
  if (!s->memstats.empty()) {
    spec = baseSpec(c, "svg-heap", "Go heap", false);
    spec->left = {ValueKind::kCount, "objects", std::nullopt};
    spec->right = ChartAxis{ValueKind::kBytes, "", std::nullopt};
    const auto idx = pick(s->memstats, c.max_points, [](const MemstatsPoint& p) { return p.heap_objects; });
    ChartSeries obj = seriesAt(s->memstats, idx, [](const MemstatsPoint& p) { return p.heap_objects; });
    obj.name = "all objects (incl. garbage)";
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
    legend = {{"all objects, incl. garbage not yet swept (left axis)", kBlue, "line"},
              {"HeapInuse (right axis)", kOrange, "line"},
              {"HeapReleased (right axis)", kGreen, "dashed"}};
    if (!s->live.empty()) {
      // Readings after a forced GC: stage boundaries, plus pprof.live_interval. Few points, so
      // all of them (no picking).
      ChartSeries live;
      for (const auto& p : s->live) {
        live.t.push_back(p.t_s);
        live.v.push_back(p.objects);
      }
      live.name = "live objects (after GC)";
      live.key = "live-objects";
      live.color = kPurple;
      spec->series.insert(spec->series.begin() + 1, std::move(live));
      legend.insert(legend.begin() + 1, {"live objects, read after a forced GC (left axis)", kPurple, "line"});
    }
  }
  renderFigure(o, "chart-heap", "Go heap", "MemStats read through pprof", spec, legend,
               "No Go MemStats: the plan has no target.pprof_url, or no reading succeeded.");
}

// (4) target RSS and LazyFree.
void renderRssChart(std::ostringstream& o, const RunSeries* s, const ChartContext& c) {
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
struct RatePoint {
  double t_s, v;
};

// GC cycles per second between consecutive MemStats readings.
std::vector<RatePoint> gcCycleRates(const std::vector<MemstatsPoint>& m) {
  std::vector<RatePoint> gc;
  for (std::size_t i = 1; i < m.size(); ++i) {
    const double dt = m[i].t_s - m[i - 1].t_s;
    const double dn = m[i].num_gc - m[i - 1].num_gc;
    if (dt > 0) gc.push_back({m[i].t_s, std::max(0.0, dn / dt)});
  }
  return gc;
}

// GC CPU share per interval in percent, as heap.gc_cpu_fraction per stage: needs the target's
// start (report.json's target.started_unix_ms).
std::vector<RatePoint> gcCpuPercents(const ReportView& r, const std::vector<MemstatsPoint>& m) {
  std::vector<RatePoint> gc_cpu;
  auto start_ms = r.target_started_unix_ms;
  if (!start_ms) return gc_cpu;
  const auto start_ns = static_cast<std::int64_t>(*start_ms * 1e6);
  auto cumulative = [&](const MemstatsPoint& p) {
    GoMemStats g;
    g.num_gc = static_cast<std::uint64_t>(p.num_gc);
    g.gc_cpu_fraction = p.gc_cpu_fraction;
    g.last_gc_unix_ns = p.last_gc_unix_ns;
    return gcCpuSeconds(g, start_ns);
  };
  for (std::size_t i = 1; i < m.size(); ++i) {
    auto c0 = cumulative(m[i - 1]);
    auto c1 = cumulative(m[i]);
    auto share = c0 && c1 ? gcCpuShare(m[i - 1].t_s, *c0, m[i].t_s, *c1) : std::nullopt;
    if (share) gc_cpu.push_back({m[i].t_s, *share * 100});
  }
  return gc_cpu;
}

void renderGcChart(std::ostringstream& o, const ReportView& r, const RunSeries* s, const ChartContext& c) {
  std::optional<ChartSpec> spec;
  std::vector<LegendItem> legend;
  const std::vector<RatePoint> gc = gcCycleRates(s->memstats);
  const std::vector<RatePoint> gc_cpu = gcCpuPercents(r, s->memstats);
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

}  // namespace

void renderCharts(std::ostringstream& o, const ReportView& r, const RunSeries* s, const HtmlReportOptions& opt) {
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

  renderCgroupChart(o, r, s, c);
  renderLatencyChart(o, s, c);
  renderHeapChart(o, s, c);
  renderRssChart(o, s, c);
  renderGcChart(o, r, s, c);
  o << "</section>\n";
}
}  // namespace memstrain::html
