// report.html's tables: the checks (failed first), the stages, the page cache, heap growth by
// function, release outcomes and the events, all from report.json.

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "html_parts.hpp"
#include "memstrain/model/metrics.hpp"
#include "memstrain/report/chart_scale.hpp"

namespace memstrain::html {

void renderChecks(std::ostringstream& o, const ReportView& r) {
  o << "<section id=\"checks\"><h2>Checks</h2>\n";
  if (r.checks.empty()) {
    o << "<p class=\"note\">The plan has no checks.</p></section>\n";
    return;
  }
  o << "<table class=\"checks\"><thead><tr><th>result</th><th>check</th><th>stage</th><th class=\"num\">observed</th><th>limit</th>"
       "<th class=\"num\">baseline</th><th>explanation</th></tr></thead><tbody>\n";
  // Failures first, then no data, then unknown outcomes, then passes.
  auto rank = [](const std::string& outcome) { return outcome == "fail" ? 0 : outcome == "no_data" ? 1 : outcome == "pass" ? 3 : 2; };
  std::vector<const ReportCheckView*> rows;
  for (const auto& c : r.checks) rows.push_back(&c);
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const ReportCheckView* a, const ReportCheckView* b) { return rank(a->outcome) < rank(b->outcome); });
  for (const ReportCheckView* cp : rows) {
    const ReportCheckView& c = *cp;
    const std::string& outcome = c.outcome;
    const MetricUnit unit = unitFromName(c.unit);
    auto value = [&](std::optional<double> v) { return v ? esc(formatMetricValue(unit, *v)) : std::string("–"); };
    std::string limit;
    auto add = [&](const std::string& part) { limit += (limit.empty() ? "" : ", ") + part; };
    if (c.limit_max) add("≤ " + value(c.limit_max));
    if (c.limit_min) add("≥ " + value(c.limit_min));
    // Word metrics (release.outcome): observed_text and limit.equals instead of numbers.
    if (!c.limit_equals.empty()) add("= " + esc(c.limit_equals));
    if (c.has_limit_vs_baseline) {
      std::string part = "≤ " + esc(c.limit_vs_baseline_text) + " of baseline";
      if (c.limit_vs_baseline_value) part += " (" + value(c.limit_vs_baseline_value) + ")";
      add(part);
    }
    const char* label = outcome == "fail" ? "\u2716 fail" : outcome == "pass" ? "\u2714 pass" : outcome == "no_data" ? "? no data" : "?";
    o << "<tr class=\"outcome-" << (rank(outcome) == 2 ? std::string("unknown") : esc(outcome)) << "\"><td class=\"result\">"
      << (rank(outcome) == 2 ? esc(outcome) : label) << "</td><td>" << esc(c.name) << "<div class=\"metric\">" << esc(c.metric)
      << (c.probe.empty() ? "" : " · probe " + esc(c.probe)) << "</div></td><td>" << esc(c.stage) << "</td><td class=\"num\">"
      << (c.observed_text.empty() ? value(c.observed) : esc(c.observed_text)) << "</td><td>" << (limit.empty() ? "–" : limit)
      << "</td><td class=\"num\">" << value(c.baseline) << "</td><td class=\"expl\">" << esc(c.explanation) << "</td></tr>\n";
  }
  o << "</tbody></table></section>\n";
}

namespace {

// "33.7k", "1.25M", "812": counts in a narrow cell.
std::string compactCount(double v) {
  if (v >= 1e6) return fmt("%.2fM", v / 1e6);
  if (v >= 1e4) return fmt("%.1fk", v / 1e3);
  return fmt("%.0f", v);
}

}  // namespace

namespace {

// The target cgroup's page cache per stage, when report.json has it: a working set squeezed out
// of memory shows as major faults and refaults while nothing is OOM-killed.
void renderPageCache(std::ostringstream& o, const std::vector<ReportStageView>& stages) {
  bool any = false;
  for (const auto& st : stages) any = any || st.page_cache.has_value();
  if (!any) return;
  auto rate = [](std::optional<double> v) { return v ? fmt("%.1f", *v) : std::string("–"); };
  o << "<h3>Page cache of the target's cgroup</h3>\n<div class=\"scroll\"><table class=\"page-cache\"><thead><tr><th>stage</th>"
       "<th class=\"num\">file min</th><th class=\"num\">file max</th><th class=\"num\">major faults/s</th>"
       "<th class=\"num\">file refaults/s</th></tr></thead><tbody>\n";
  for (const auto& st : stages) {
    if (!st.page_cache) continue;
    const ReportPageCacheView& pc = *st.page_cache;
    o << "<tr><th scope=\"row\">" << esc(st.name) << "</th><td class=\"num\">" << bytes(pc.file_bytes.min) << "</td><td class=\"num\">"
      << bytes(pc.file_bytes.max) << "</td><td class=\"num\">" << rate(pc.major_faults_per_s) << "</td><td class=\"num\">"
      << rate(pc.refaults_per_s) << "</td></tr>\n";
  }
  o << "</tbody></table></div>\n";
}

}  // namespace

void renderStages(std::ostringstream& o, const ReportView& r) {
  o << "<section id=\"stages\"><h2>Stages</h2>\n";
  if (r.stages.empty()) {
    o << "<p class=\"note\">No stage ran.</p></section>\n";
    return;
  }
  // Twelve columns, secondary figures in a second line of their cell, so the table fits a
  // 1280 px window without scrolling sideways.
  o << "<div class=\"scroll\"><table class=\"stages\"><thead><tr><th>stage</th><th>pressure</th>"
       "<th class=\"num\">usage max</th><th class=\"num\">RSS max</th><th class=\"num\">OOM kills<small>target/stressor</small></th>"
       "<th>probe</th><th class=\"num\">p50 / p99 / max</th><th class=\"num\">errors</th>"
       "<th class=\"num\" title=\"objects still reachable after a forced GC at the stage's end; change over the stage\">live objects"
       "<small>after GC · Δ</small></th>"
       "<th class=\"num\" title=\"MemStats HeapObjects growth per second: live objects plus garbage not yet swept\">all objects/s"
       "<small>churn, GC pressure</small></th>"
       "<th class=\"num\">HeapInuse end<small>GC cycles</small></th><th>release</th></tr></thead><tbody>\n";
  for (const auto& st : r.stages) {
    std::string pressure = "–", pressure_sub;
    if (const auto& p = st.pressure) {
      pressure = p->placement + " ";
      if (p->level_fraction)
        pressure += fmt("%.0f%%", *p->level_fraction * 100);
      else
        pressure += bytes(p->requested_bytes);
      if (p->reached_bytes) pressure_sub = "reached " + bytes(p->reached_bytes);
    }
    if (const auto sm = st.stressor_bytes.mean; sm && *sm > 0)
      pressure_sub += (pressure_sub.empty() ? "" : " · ") + std::string("stressor ") + bytes(sm);
    const double dur = st.end_s.value_or(0) - st.start_s.value_or(0);
    std::string live = "–", live_sub, slope = "–", inuse = "–", gcs;
    if (const auto& heap = st.heap) {
      if (heap->live_objects_end) live = compactCount(*heap->live_objects_end);
      if (const auto d = heap->live_objects_delta) live_sub = std::string(*d >= 0 ? "+" : "−") + compactCount(std::fabs(*d));
      if (const auto& e = heap->live_objects_slope) {
        const double per_s = e->per_s.value_or(0);
        live_sub += (live_sub.empty() ? "" : " · ") + std::string(per_s >= 0 ? "+" : "−") + compactCount(std::fabs(per_s)) + "/s ± " +
                    compactCount(e->half_width_per_s.value_or(0));
      }
      if (const auto v = heap->objects_slope_per_s) slope = (*v < 0 ? "−" : "") + compactCount(std::fabs(*v));
      inuse = bytes(heap->heap_inuse_end_bytes);
      if (heap->gc_cycles) gcs = countText(heap->gc_cycles) + " GCs";
      if (const auto f = heap->gc_cpu_fraction) gcs += fmt(" · %.1f%% CPU", *f * 100);
    }
    auto sub = [](const std::string& text) { return text.empty() ? std::string() : "<small>" + esc(text) + "</small>"; };
    std::string release = "–";
    if (st.release.is_object()) {
      const std::string& outcome = st.release_outcome;
      release = "<span class=\"pill release-" + esc(outcome) + "\">" + esc(outcome.empty() ? "?" : outcome) + "</span>";
    }
    const std::size_t rows = st.latency.empty() ? 1 : st.latency.size();
    for (std::size_t i = 0; i < rows; ++i) {
      o << "<tr>";
      const std::string span = rows > 1 ? " rowspan=\"" + std::to_string(rows) + "\"" : "";
      if (i == 0) {
        o << "<th scope=\"row\"" << span << ">" << esc(st.name)
          << (st.completed == false ? " <span class=\"pill warn\">cut short</span>" : "") << sub(fmt("%.1f s", dur)) << "</th><td" << span
          << ">" << esc(pressure) << sub(pressure_sub) << "</td><td class=\"num\"" << span << ">" << bytes(st.usage_bytes.max)
          << "</td><td class=\"num\"" << span << ">" << bytes(st.target_rss_bytes.max) << "</td><td class=\"num\"" << span << ">"
          << esc(countText(st.oom_kills_target)) << "/" << esc(countText(st.oom_kills_stressor)) << "</td>";
      }
      if (i < st.latency.size()) {
        const ReportLatencyView& l = st.latency[i];
        o << "<td>" << esc(l.probe) << "</td><td class=\"num\">" << msText(l.p50_ms) << " / <strong>" << msText(l.p99_ms) << "</strong> / "
          << msText(l.max_ms) << "</td><td class=\"num\">" << (l.error_rate ? fmt("%.2f %%", *l.error_rate * 100) : "–") << "</td>";
      } else {
        o << "<td>–</td><td class=\"num\">–</td><td class=\"num\">–</td>";
      }
      if (i == 0) {
        o << "<td class=\"num\"" << span << ">" << live << sub(live_sub) << "</td><td class=\"num\"" << span << ">" << slope
          << "</td><td class=\"num\"" << span << ">" << inuse << sub(gcs) << "</td><td" << span << ">" << release << "</td>";
      }
      o << "</tr>\n";
    }
  }
  o << "</tbody></table></div>\n";
  renderPageCache(o, r.stages);
  o << "</section>\n";
}

namespace {

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

}  // namespace

void renderHeapGrowth(std::ostringstream& o, const ReportView& r) {
  o << "<section id=\"heap-growth\"><h2>Heap growth by function</h2>\n";
  const json& pprof = r.pprof;
  if (!pprof.is_object()) {
    o << "<p class=\"note\">No heap profiles: the plan has no target.pprof_url.</p></section>\n";
    return;
  }
  // Retention rates (pprof.live_interval), one line a stage: the answer to "is it leaking?".
  bool any_rate = false;
  for (const auto& st : r.stages) {
    if (!st.heap || !st.heap->retention) continue;
    const std::string& retention = *st.heap->retention;
    if (!any_rate) o << "<ul class=\"retention\">";
    any_rate = true;
    const bool leak = retention.rfind("retaining", 0) == 0;
    o << "<li" << (leak ? " class=\"bad\"" : "") << "><strong>" << esc(st.name) << "</strong>: " << esc(retention) << "</li>";
  }
  if (any_rate) o << "</ul>\n";
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

namespace {

// A signed byte change for a table cell: "−312.0 MiB", "+4.0 KiB", "0 B".
std::string bytesChange(std::optional<double> before, std::optional<double> after) {
  if (!before || !after) return "–";
  const double d = *after - *before;
  if (d == 0) return "0 B";
  return std::string(d < 0 ? "−" : "+") + formatValue(ValueKind::kBytes, std::fabs(d));
}

// One row of a before/after table; rows without either figure are left out.
void beforeAfterRow(std::ostringstream& o, const char* label, const char* hint, std::optional<double> before, std::optional<double> after,
                    std::optional<double> largest_drop = std::nullopt) {
  if (!before && !after) return;
  o << "<tr><th scope=\"row\">" << label;
  if (hint && *hint) o << "<small>" << hint << "</small>";
  o << "</th><td class=\"num\">" << bytes(before) << "</td><td class=\"num\">" << bytes(after) << "</td><td class=\"num\">"
    << bytesChange(before, after) << "</td><td class=\"num\">"
    << (largest_drop ? "−" + formatValue(ValueKind::kBytes, *largest_drop) : std::string("–")) << "</td></tr>\n";
}

// A release stage: the verdict in words, then what the Go runtime and the OS showed before and
// after the trigger, then the yardsticks (ratio, time, LazyFree) with plain labels. The raw keys
// stay in report.json; this is for people.
void renderReleaseCard(std::ostringstream& o, const json& rel, const std::string& title) {
  const std::string outcome = str(rel, "outcome");
  o << "<div class=\"release-card\"><h3>" << esc(title) << " <span class=\"pill release-" << esc(outcome) << "\">"
    << esc(outcome.empty() ? "no outcome" : outcome) << "</span></h3>\n";
  if (!str(rel, "explanation").empty()) o << "<p class=\"explanation\">" << esc(str(rel, "explanation")) << "</p>\n";
  const json& rt = at(rel, "runtime");
  const json& os = at(rel, "os");
  o << "<table class=\"before-after\"><thead><tr><th></th><th class=\"num\">before</th><th class=\"num\">after</th>"
       "<th class=\"num\">change</th><th class=\"num\">largest drop</th></tr></thead><tbody>\n";
  o << "<tr class=\"group\"><th colspan=\"5\">Go runtime (MemStats)</th></tr>\n";
  beforeAfterRow(o, "heap in use", "HeapInuse", num(rt, "heap_inuse_before_bytes"), num(rt, "heap_inuse_after_bytes"));
  beforeAfterRow(o, "given back to the OS", "HeapReleased", num(rt, "heap_released_before_bytes"), num(rt, "heap_released_after_bytes"));
  beforeAfterRow(o, "idle, not yet given back", "HeapIdle − HeapReleased", num(rt, "heap_idle_unreleased_before_bytes"), std::nullopt);
  o << "<tr class=\"group\"><th colspan=\"5\">what the OS saw</th></tr>\n";
  beforeAfterRow(o, "target RSS", "", num(os, "rss_before_bytes"), num(os, "rss_after_bytes"), num(rel, "rss_dropped_bytes"));
  beforeAfterRow(o, "cgroup usage", "", num(os, "cgroup_before_bytes"), num(os, "cgroup_after_bytes"), num(rel, "cgroup_dropped_bytes"));
  o << "</tbody></table>\n";
  const json& expect = at(rel, "expect");
  o << "<dl class=\"kv\">";
  o << "<dt>released by the Go runtime</dt><dd>" << bytes(num(rel, "runtime_released_bytes")) << "</dd>";
  if (auto ratio = num(rel, "returned_ratio")) {
    o << "<dt>returned to the OS</dt><dd>" << fmt("%.0f%%", *ratio * 100) << " of it";
    if (auto want = num(expect, "returned_ratio")) o << " (needed " << fmt("%.0f%%", *want * 100) << ")";
    o << "</dd>";
  }
  if (auto t = num(rel, "time_to_return_s")) {
    o << "<dt>time to return</dt><dd>" << fmt("%.2f s", *t);
    if (auto within = num(expect, "within_s")) o << " (allowed " << fmt("%.0f s", *within) << ")";
    o << "</dd>";
  } else if (auto within = num(expect, "within_s")) {
    o << "<dt>time to return</dt><dd>not within " << fmt("%.0f s", *within) << "</dd>";
  }
  if (auto lazy = num(rel, "lazy_bytes")) {
    static const std::map<std::string, std::string> kSource = {{"smaps_rollup", "the target's smaps_rollup (LazyFree)"},
                                                               {"cgroup_inactive_file", "the cgroup's inactive_file growth"},
                                                               {"cgroup_pglazyfree", "the cgroup's pglazyfree counter"}};
    auto src = kSource.find(str(rel, "lazy_source"));
    o << "<dt>freed lazily, still resident</dt><dd>" << bytes(lazy);
    if (auto added = num(rel, "lazy_added_bytes")) o << " (" << bytesChange(0.0, added) << " in the window)";
    if (src != kSource.end()) o << ", read from " << src->second;
    o << "</dd>";
  }
  const json& window = at(rel, "window");
  if (auto trig = num(window, "trigger_s")) {
    o << "<dt>window</dt><dd>trigger at " << fmt("%.2f s", *trig) << ", deadline " << fmt("%.2f s", num(window, "deadline_s").value_or(0))
      << " (run clock)</dd>";
  }
  const json& reclaim = at(rel, "reclaim");
  if (reclaim.is_object()) {
    o << "<dt>pressure-assisted reclaim</dt><dd>";
    if (at(reclaim, "ran").is_boolean() && at(reclaim, "ran").get<bool>())
      o << esc(str(reclaim, "explanation"));
    else
      o << "skipped: " << esc(str(reclaim, "skipped_reason"));
    o << "</dd>";
  }
  o << "</dl></div>\n";
}

// The stressor's own release after the run: usage and the target's RSS back at their baseline?
void renderStressorReleaseCard(std::ostringstream& o, const json& sr) {
  const bool ok = at(sr, "ok").is_boolean() && at(sr, "ok").get<bool>();
  o << "<div class=\"release-card\"><h3>the stressor's own release <span class=\"pill "
    << (ok ? "release-returned\">returned" : "warn\">kept") << "</span></h3>\n";
  o << "<table class=\"before-after\"><thead><tr><th></th><th class=\"num\">baseline</th><th class=\"num\">after the run</th>"
       "<th class=\"num\">change</th><th class=\"num\">largest drop</th></tr></thead><tbody>\n";
  beforeAfterRow(o, "cgroup usage", "", num(sr, "baseline_usage_bytes"), num(sr, "after_usage_bytes"));
  beforeAfterRow(o, "target RSS", "", num(sr, "baseline_target_rss_bytes"), num(sr, "after_target_rss_bytes"));
  o << "</tbody></table>\n<dl class=\"kv\"><dt>left behind</dt><dd>" << bytes(num(sr, "leaked_bytes")) << " (tolerance "
    << bytes(num(sr, "tolerance_bytes")) << ")</dd></dl></div>\n";
}

}  // namespace

void renderRelease(std::ostringstream& o, const ReportView& r) {
  o << "<section id=\"release\"><h2>Release</h2>\n";
  bool any = false;
  for (const auto& st : r.stages) {
    if (!st.release.is_object()) continue;
    any = true;
    renderReleaseCard(o, st.release, "stage " + st.name);
  }
  const json& sr = r.stressor_release;
  if (sr.is_object()) {
    any = true;
    renderStressorReleaseCard(o, sr);
  } else if (!sr.is_null()) {
    any = true;
    o << "<div class=\"release-card\"><h3>the stressor's own release</h3><p>" << genericValue(sr, "stressor_release", 0) << "</p></div>\n";
  }
  if (!any) o << "<p class=\"note\">This run verified no release (no stage has a release block).</p>\n";
  o << "</section>\n";
}

void renderEvents(std::ostringstream& o, const ReportView& r) {
  o << "<section id=\"events\"><h2>Events</h2>\n";
  if (r.events.empty()) {
    o << "<p class=\"note\">No events: no OOM kill, abort, action or early end.</p></section>\n";
    return;
  }
  o << "<table class=\"events\"><thead><tr><th class=\"num\">t</th><th>event</th><th>stage</th><th>detail</th></tr></thead><tbody>\n";
  for (const auto& e : r.events) {
    const std::string& kind = e.kind;
    const bool bad = kind.find("oom") != std::string::npos || kind.find("abort") != std::string::npos || kind == "target_exit";
    o << "<tr" << (bad ? " class=\"bad\"" : "") << "><td class=\"num\">" << (e.t_s ? fmt("%.2f s", *e.t_s) : "–") << "</td><td>"
      << esc(kind) << "</td><td>" << esc(e.stage) << "</td><td>" << esc(e.detail) << "</td></tr>\n";
  }
  o << "</tbody></table></section>\n";
}

}  // namespace memstrain::html
