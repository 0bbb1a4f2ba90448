#include "memstrain/report/summary_md.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>

#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/report/escape.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {
namespace {

std::string fixed(double v, int decimals) {
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string limitCell(const CheckResult& r) {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : ", ") + part; };
  if (r.max) add("≤ " + formatMetricValue(r.unit, *r.max));
  if (r.min) add("≥ " + formatMetricValue(r.unit, *r.min));
  if (!r.equals.empty()) add("= " + r.equals);
  if (!r.relative_text.empty()) {
    add("≤ " + r.relative_text + " of baseline" +
        (r.relative_max ? " (" + formatMetricValue(r.unit, *r.relative_max) + ")" : std::string()));
  }
  return s.empty() ? "-" : s;
}

}  // namespace

std::string renderSummaryMarkdown(const RunRecord& rec, const RunAnalysis& analysis, int exit_code) {
  std::ostringstream o;
  const CheckTally tally = tallyChecks(analysis.checks);
  o << "## memstrain: " << markdownCell(rec.plan.name) << " — verdict **" << toString(analysis.verdict.verdict) << "**\n\n";
  o << "Run " << toString(rec.status) << ", cleanup " << (rec.cleanup_ok ? "ok" : "**failed**") << ", exit " << exit_code << ", checks "
    << tally.passed << "/" << tally.total << " passed";
  if (rec.resolution.effective_limit_bytes != kUnlimited) o << ", limit " << formatBytes(rec.resolution.effective_limit_bytes);
  o << ".\n\n";

  o << "### Stages\n\n";
  o << "| stage | time s | pressure | usage max MiB | reached MiB | OOM kills target/stressor | p50 ms | p99 ms | max ms | errors |\n";
  o << "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& s : analysis.stages) {
    std::string pressure = "-";
    if (s.requested_setpoint_bytes && s.pressure && s.pressure->level_fraction) {
      pressure = std::string(toString(s.pressure->placement)) + " " + fixed(*s.pressure->level_fraction * 100, 0) + "%";
    } else if (s.requested_size_bytes && s.pressure) {
      pressure = std::string(toString(s.pressure->placement)) + " " + formatBytes(*s.requested_size_bytes);
    }
    // One row per probe (the first carries the stage's own figures), or one row without latency.
    const std::size_t rows = s.latency.empty() ? 1 : s.latency.size();
    for (std::size_t i = 0; i < rows; ++i) {
      o << "| " << markdownCell(s.name) << " | " << fixed(s.end_s - s.start_s, 1) << " | " << markdownCell(pressure) << " | "
        << (s.usage.n ? formatMiB(s.usage.max) : "-") << " | " << (s.reached_bytes ? formatMiB(*s.reached_bytes) : "-") << " | "
        << s.oom_kills_target << "/" << s.oom_kills_stressor << " | ";
      if (s.latency.empty()) {
        o << "- | - | - | - |\n";
        continue;
      }
      const StageLatency& l = s.latency[i];
      auto ms = [](double ns) { return fixed(ns / 1e6, 2); };
      const std::string probe = s.latency.size() > 1 ? " (" + markdownCell(l.probe) + ")" : "";
      o << ms(static_cast<double>(l.corrected.p50_ns)) << probe << " | " << ms(static_cast<double>(l.corrected.p99_ns)) << " | "
        << ms(static_cast<double>(l.corrected.max_ns)) << " | " << fixed(l.error_rate * 100, 2) << "% |\n";
    }
  }

  // The target cgroup's page cache: a working set squeezed out of memory shows here (major
  // faults, refaults) before anything is OOM-killed.
  bool page_cache_header = false;
  for (const auto& s : analysis.stages) {
    if (!s.page_cache || !s.page_cache->file_bytes.n) continue;
    if (!page_cache_header) {
      o << "\n### Page cache of the target's cgroup\n\n";
      o << "| stage | file min MiB | file max MiB | major faults/s | file refaults/s |\n";
      o << "|---|---:|---:|---:|---:|\n";
      page_cache_header = true;
    }
    const StagePageCache& pc = *s.page_cache;
    auto rate = [](const std::optional<double>& r) { return r ? fixed(*r, 1) : std::string("-"); };
    o << "| " << markdownCell(s.name) << " | " << formatMiB(pc.file_bytes.min) << " | " << formatMiB(pc.file_bytes.max) << " | "
      << rate(pc.major_faults_per_s) << " | " << rate(pc.refaults_per_s) << " |\n";
  }

  // The Go runtime per stage. Live objects (read after a forced GC) are what the stage retained;
  // all objects (HeapObjects) include garbage not yet swept, so they follow churn and GC timing.
  bool heap_header = false;
  for (const auto& s : analysis.stages) {
    if (!s.heap) continue;
    if (!heap_header) {
      o << "\n### Go runtime\n\n";
      o << "| stage | live objects end | live Δ | live bytes Δ | retention | all objects/s (churn) | GC cycles | GC CPU | HeapInuse end "
           "MiB | "
           "goroutines |\n";
      o << "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n";
      heap_header = true;
    }
    const StageHeapStats& h = *s.heap;
    auto count = [](auto v) { return v ? std::to_string(*v) : std::string("-"); };
    auto signedCount = [](const std::optional<std::int64_t>& v) { return v ? (*v > 0 ? "+" : "") + std::to_string(*v) : std::string("-"); };
    std::string live_bytes = "-";
    if (h.live_bytes_delta)
      live_bytes = (*h.live_bytes_delta < 0 ? "-" : "+") + formatMiB(std::abs(static_cast<double>(*h.live_bytes_delta))) + " MiB";
    const std::string retention = h.live_objects_slope ? retentionSentence(h) : "-";
    o << "| " << markdownCell(s.name) << " | " << count(h.live_objects_end) << " | " << signedCount(h.live_objects_delta) << " | "
      << live_bytes << " | " << markdownCell(retention) << " | " << (h.objects_slope_per_s ? fixed(*h.objects_slope_per_s, 0) : "-")
      << " | " << count(h.gc_cycles) << " | " << (h.gc_cpu_fraction ? fixed(*h.gc_cpu_fraction * 100, 1) + "%" : "-") << " | "
      << (h.heap_inuse_end ? formatMiB(static_cast<double>(*h.heap_inuse_end)) : "-") << " | " << count(h.goroutines_end) << " |\n";
  }

  const bool retaining = std::any_of(analysis.stages.begin(), analysis.stages.end(), [](const StageStats& s) {
    return s.heap && s.heap->live_objects_slope && s.heap->live_objects_slope->slope - s.heap->live_objects_slope->half_width > 0;
  });
  if (retaining && analysis.heap_diff) {
    const std::string fns = growingFunctions(*analysis.heap_diff);
    if (!fns.empty())
      o << "\nIn-use objects grown most from " << markdownCell(analysis.heap_diff->base_stage) << " to "
        << markdownCell(analysis.heap_diff->stage) << " (heap profile, sampled): " << markdownCell(fns) << "\n";
  }

  bool release_header = false;
  for (const auto& s : analysis.stages) {
    if (!s.release) continue;
    if (!release_header) o << "\n### Release\n\n";
    release_header = true;
    o << "- **" << markdownCell(s.name) << ": " << toString(s.release->outcome) << "** — " << markdownCell(s.release->explanation) << "\n";
    if (s.reclaim)
      o << "  - reclaim: " << markdownCell(s.reclaim->explanation) << "\n";
    else if (!s.reclaim_skipped_reason.empty())
      o << "  - reclaim not run: " << markdownCell(s.reclaim_skipped_reason) << "\n";
  }
  if (analysis.stressor_release) {
    const StressorReleaseResult& sr = *analysis.stressor_release;
    o << "\nStressor release: " << (sr.ok ? "ok" : "**leak**") << " — " << formatBytes(sr.leaked_bytes)
      << " still charged after the stressor let go (tolerance " << formatBytes(sr.tolerance_bytes) << ").\n";
  }
  if (!analysis.checks.empty()) {
    o << "\n### Checks\n\n";
    o << "| result | check | stage | observed | limit | baseline | explanation |\n";
    o << "|---|---|---|---:|---|---:|---|\n";
    for (CheckOutcome want : {CheckOutcome::kFail, CheckOutcome::kNoData, CheckOutcome::kPass}) {
      for (const auto& c : analysis.checks) {
        if (c.outcome != want) continue;
        const char* mark = want == CheckOutcome::kFail ? "❌ fail" : want == CheckOutcome::kPass ? "✅ pass" : "⚠️ no data";
        o << "| " << mark << " | " << markdownCell(c.check) << " | " << markdownCell(c.stage)
          << (c.baseline_stage && c.stage != "baseline" ? " (baseline)" : "") << " | "
          << (!c.observed_text.empty() ? markdownCell(c.observed_text)
              : c.observed             ? formatMetricValue(c.unit, *c.observed)
                                       : "-")
          << " | " << markdownCell(limitCell(c)) << " | " << (c.baseline ? formatMetricValue(c.unit, *c.baseline) : "-") << " | "
          << markdownCell(c.explanation) << " |\n";
      }
    }
  }
  if (!analysis.verdict.reasons.empty() || !rec.cleanup_errors.empty()) {
    o << "\n### Why\n\n";
    for (const auto& r : analysis.verdict.reasons) o << "- " << markdownCell(r) << "\n";
    for (const auto& e : rec.cleanup_errors) o << "- cleanup: " << markdownCell(e) << "\n";
  }
  return o.str();
}

}  // namespace memstrain
