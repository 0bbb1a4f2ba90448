#include "memstrain/analysis/checks.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "memstrain/analysis/release.hpp"
#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/model/run_record.hpp"

namespace memstrain {

const char* toString(CheckOutcome o) {
  switch (o) {
    case CheckOutcome::kPass: return "pass";
    case CheckOutcome::kFail: return "fail";
    case CheckOutcome::kNoData: return "no_data";
  }
  return "no_data";
}

namespace {

const StageLatency* findProbe(const StageStats& s, const std::string& probe) {
  for (const auto& l : s.latency) {
    if (l.probe == probe) return &l;
  }
  return nullptr;
}

template <class T>
std::optional<double> asDouble(const std::optional<T>& v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

}  // namespace

std::optional<double> metricValue(const std::string& metric, const std::string& probe, const StageStats& s) {
  if (metric.rfind("latency.", 0) == 0) {
    const StageLatency* l = findProbe(s, probe);
    if (!l) return std::nullopt;
    if (metric == "latency.errors") {
      return static_cast<double>(l->errors_timeout + l->errors_connect + l->errors_http_status + l->errors_other);
    }
    if (metric == "latency.missed") return static_cast<double>(l->missed);
    // Rates and percentiles of nothing are no data, not zero: a probe that completed no request
    // says nothing about latency.
    if (l->completed == 0) return std::nullopt;
    if (metric == "latency.error_rate") return l->error_rate;
    const bool uncorrected = metric.rfind("latency.uncorrected.", 0) == 0;
    const LatencySummary& q = uncorrected ? l->uncorrected : l->corrected;
    const std::string which = metric.substr(uncorrected ? 20 : 8);
    if (q.count == 0) return std::nullopt;
    if (which == "p50") return static_cast<double>(q.p50_ns);
    if (which == "p90") return static_cast<double>(q.p90_ns);
    if (which == "p99") return static_cast<double>(q.p99_ns);
    if (which == "p999") return static_cast<double>(q.p999_ns);
    if (which == "max") return static_cast<double>(q.max_ns);
    if (which == "mean") return q.mean_ns;
    return std::nullopt;
  }
  if (metric.rfind("heap.", 0) == 0 || metric.rfind("goroutines.", 0) == 0) {
    if (!s.heap || s.heap->samples == 0) return std::nullopt;
    const StageHeapStats& h = *s.heap;
    if (metric == "heap.objects.delta") return asDouble(h.objects_delta);
    if (metric == "heap.objects.slope") return h.objects_slope_per_s;
    if (metric == "heap.inuse.end") return asDouble(h.heap_inuse_end);
    if (metric == "heap.gc_cycles") return asDouble(h.gc_cycles);
    if (metric == "heap.gc_cpu_fraction") return h.gc_cpu_fraction;
    if (metric == "goroutines.end") return asDouble(h.goroutines_end);
    if (metric == "goroutines.delta") {
      if (!h.goroutines_start || !h.goroutines_end) return std::nullopt;
      return static_cast<double>(*h.goroutines_end) - static_cast<double>(*h.goroutines_start);
    }
    return std::nullopt;
  }
  if (metric == "cgroup.usage.max") return s.usage.n ? std::optional<double>(s.usage.max) : std::nullopt;
  if (metric == "cgroup.usage.mean") return s.usage.n ? std::optional<double>(s.usage.mean) : std::nullopt;
  if (metric == "cgroup.file.min")
    return s.page_cache && s.page_cache->file_bytes.n ? std::optional<double>(s.page_cache->file_bytes.min) : std::nullopt;
  if (metric == "cgroup.major_faults.rate") return s.page_cache ? s.page_cache->major_faults_per_s : std::nullopt;
  if (metric == "cgroup.refaults.rate") return s.page_cache ? s.page_cache->refaults_per_s : std::nullopt;
  if (metric == "target.rss.max") return s.target_rss.n ? std::optional<double>(s.target_rss.max) : std::nullopt;
  if (metric == "target.oom_kills") return static_cast<double>(s.oom_kills_target);
  if (metric == "stressor.oom_kills") return static_cast<double>(s.oom_kills_stressor);
  if (metric == "setpoint.error") return s.setpoint_error_mean_abs_fraction;
  if (metric.rfind("release.", 0) == 0) {
    if (!s.release || s.release->outcome == ReleaseOutcome::kNoData) return std::nullopt;
    const ReleaseResult& r = *s.release;
    if (metric == "release.returned_ratio") return r.returned_ratio;
    if (metric == "release.time_to_return") return r.time_to_return_s ? std::optional<double>(*r.time_to_return_s * 1e9) : std::nullopt;
    if (metric == "release.lazy_bytes") return asDouble(r.lazy_bytes);
    return std::nullopt;
  }
  if (metric.rfind("psi.", 0) == 0) {
    if (!s.psi) return std::nullopt;
    if (metric == "psi.some_avg10.max") return s.psi->some_avg10_max;
    if (metric == "psi.full_avg10.max") return s.psi->full_avg10_max;
    if (metric == "psi.some_stall") return s.psi->some_stall_s * 1e9;
    if (metric == "psi.full_stall") return s.psi->full_stall_s ? std::optional<double>(*s.psi->full_stall_s * 1e9) : std::nullopt;
  }
  return std::nullopt;
}

std::string formatMetricValue(MetricUnit unit, double v) {
  char b[64];
  switch (unit) {
    case MetricUnit::kDuration: {
      const double ms = v / 1e6;
      std::snprintf(b, sizeof b, std::fabs(ms) >= 1 || ms == 0 ? "%.1f ms" : "%.3f ms", ms);
      return b;
    }
    case MetricUnit::kBytes: {
      const double a = std::fabs(v);
      if (a >= 1024.0 * 1024 * 1024)
        std::snprintf(b, sizeof b, "%.2f GiB", v / (1024.0 * 1024 * 1024));
      else if (a >= 1024.0 * 1024)
        std::snprintf(b, sizeof b, "%.1f MiB", v / (1024.0 * 1024));
      else if (a >= 1024.0)
        std::snprintf(b, sizeof b, "%.1f KiB", v / 1024.0);
      else
        std::snprintf(b, sizeof b, "%.0f B", v);
      return b;
    }
    case MetricUnit::kRate: std::snprintf(b, sizeof b, "%.1f/s", v); return b;
    case MetricUnit::kCount:
      if (v == std::floor(v) && std::fabs(v) < 1e15)
        std::snprintf(b, sizeof b, "%.0f", v);
      else
        std::snprintf(b, sizeof b, "%.2f", v);
      return b;
    case MetricUnit::kRatio: std::snprintf(b, sizeof b, "%.2f%%", v * 100); return b;
    case MetricUnit::kText: std::snprintf(b, sizeof b, "%g", v); return b;
  }
  return "?";
}

namespace {

// What every result of `ck` in `stage` starts with: the check's identity and its limits.
CheckResult resultFor(const CheckSpec& ck, const std::string& stage, bool is_base) {
  CheckResult r;
  r.check = ck.name;
  r.metric = ck.metric;
  r.unit = ck.unit;
  r.stage = stage;
  r.probe = ck.probe;
  r.baseline_stage = is_base;
  r.description = ck.description;
  r.max = ck.max;
  r.min = ck.min;
  return r;
}

CheckResult windowCheckResult(const CheckSpec& ck, const std::string& stage, bool is_base, const std::vector<WindowCheckRecord>& windows,
                              bool stage_ran) {
  CheckResult r = resultFor(ck, stage, is_base);
  r.window_s = std::chrono::duration<double>(*ck.window).count();
  r.abort = ck.abort;
  char wtext[32];
  std::snprintf(wtext, sizeof wtext, "%.0f s", *r.window_s);
  const WindowCheckRecord* rec = nullptr;
  for (const auto& w : windows) {
    if (w.check == ck.name && w.stage == stage) rec = &w;
  }
  if (!stage_ran) {
    r.explanation = ck.metric + ": stage " + stage + " did not run";
    return r;
  }
  if (!rec || rec->windows == 0 || !rec->worst) {
    r.explanation = ck.metric + ": no full " + wtext + " window with data ended in stage " + stage;
    if (rec) r.windows = rec->windows;
    return r;
  }
  r.windows = rec->windows;
  r.windows_failed = rec->failed;
  r.observed = rec->worst;
  r.worst_window_end_s = rec->worst_end_s;
  const double v = *rec->worst;
  auto fmt = [&](double x) { return formatMetricValue(ck.unit, x); };
  std::string limits;
  if (ck.max) limits += (v > *ck.max ? " > max " : " <= max ") + fmt(*ck.max);
  if (ck.min) limits += std::string(limits.empty() ? "" : ",") + (v < *ck.min ? " < min " : " >= min ") + fmt(*ck.min);
  char tail[128];
  std::snprintf(tail, sizeof tail, " in the worst %s window (ending at %.1f s); %zu of %zu windows failed", wtext, rec->worst_end_s,
                rec->failed, rec->windows);
  r.outcome = rec->failed > 0 ? CheckOutcome::kFail : CheckOutcome::kPass;
  r.explanation = ck.metric + " " + fmt(v) + limits + tail;
  return r;
}

}  // namespace

std::vector<CheckResult> evaluateChecks(const std::vector<CheckSpec>& checks, const std::vector<StageStats>& stages,
                                        const std::vector<std::string>& stage_order, const std::string& baseline_stage,
                                        const std::vector<WindowCheckRecord>& windows) {
  auto statsOf = [&](const std::string& name) -> const StageStats* {
    for (const auto& s : stages) {
      if (s.name == name) return &s;
    }
    return nullptr;
  };
  const StageStats* base = baseline_stage.empty() ? nullptr : statsOf(baseline_stage);
  std::vector<CheckResult> out;
  for (const CheckSpec& ck : checks) {
    const std::vector<std::string>& scope = ck.stages.empty() ? stage_order : ck.stages;
    if (ck.window) {
      for (const std::string& stage : scope)
        out.push_back(windowCheckResult(ck, stage, stage == baseline_stage, windows, statsOf(stage) != nullptr));
      continue;
    }
    for (const std::string& stage : scope) {
      const bool is_base = !baseline_stage.empty() && stage == baseline_stage;
      const bool relative = ck.max_vs_baseline && !is_base;
      if (!relative && !ck.max && !ck.min && !ck.equals) continue;  // only a relative limit, and this is the baseline
      CheckResult r = resultFor(ck, stage, is_base);
      auto fmt = [&](double v) { return formatMetricValue(ck.unit, v); };
      const StageStats* st = statsOf(stage);
      if (st) r.observed = metricValue(ck.metric, ck.probe, *st);
      if (relative) {
        r.relative_text = ck.max_vs_baseline->text;
        if (base) r.baseline = metricValue(ck.metric, ck.probe, *base);
        if (r.baseline) r.relative_max = *r.baseline * ck.max_vs_baseline->factor + ck.max_vs_baseline->add;
      }
      const ReleaseResult* rel_stage = st && st->release && st->release->outcome != ReleaseOutcome::kNoData ? &*st->release : nullptr;
      if (ck.equals) r.equals = *ck.equals;
      if (!st) {
        r.outcome = CheckOutcome::kNoData;
        r.explanation = ck.metric + ": stage " + stage + " did not run";
      } else if (ck.equals) {
        // Word metrics: release.outcome is the only one.
        if (!st->release) {
          r.outcome = CheckOutcome::kNoData;
          r.explanation = ck.metric + ": stage " + stage + " is not a release stage";
        } else {
          r.observed_text = ck.metric == "release.comes_back" ? comesBack(st->release->outcome, st->reclaim ? &*st->reclaim : nullptr)
                                                              : toString(st->release->outcome);
          const bool same = r.observed_text == *ck.equals;
          r.outcome = same ? CheckOutcome::kPass : CheckOutcome::kFail;
          r.explanation = ck.metric + " " + r.observed_text + (same ? " == " : " != ") + *ck.equals;
          // Say which way it came back (or did not): the outcome, and what the reclaim phase found.
          if (ck.metric == "release.comes_back") {
            r.explanation += " (outcome " + std::string(toString(st->release->outcome));
            if (st->reclaim)
              r.explanation += std::string(st->reclaim->gave_back ? ", then reclaimed under pressure" : ", not reclaimed under pressure");
            else if (reclaimFollows(st->release->outcome))
              r.explanation += ", no reclaim phase ran";
            r.explanation += ")";
          }
          if (!same && r.observed_text == "no_data") r.outcome = CheckOutcome::kNoData;
        }
      } else if (!r.observed && rel_stage && ck.metric == "release.time_to_return") {
        // Never returned is a broken time limit, not missing data.
        r.outcome = CheckOutcome::kFail;
        r.explanation = ck.metric + ": never reached the expected ratio within " +
                        formatMetricValue(MetricUnit::kDuration, (rel_stage->deadline_s - rel_stage->trigger_s) * 1e9) + " (outcome " +
                        toString(rel_stage->outcome) + ")";
      } else if (!r.observed) {
        r.outcome = CheckOutcome::kNoData;
        r.explanation = ck.metric + ": no data in stage " + stage;
      } else if (relative && !r.baseline) {
        r.outcome = CheckOutcome::kNoData;
        r.explanation = ck.metric + " " + fmt(*r.observed) + ": no data in baseline stage " + baseline_stage + " to compare with";
      } else {
        const double v = *r.observed;
        // The first limit broken is the explanation; when all hold, the tightest one is shown.
        std::string broken, held;
        if (r.max) {
          if (v > *r.max)
            broken = ck.metric + " " + fmt(v) + " > max " + fmt(*r.max);
          else
            held = ck.metric + " " + fmt(v) + " <= max " + fmt(*r.max);
        }
        if (broken.empty() && r.min) {
          if (v < *r.min)
            broken = ck.metric + " " + fmt(v) + " < min " + fmt(*r.min);
          else if (held.empty())
            held = ck.metric + " " + fmt(v) + " >= min " + fmt(*r.min);
        }
        if (broken.empty() && r.relative_max) {
          const std::string rel = r.relative_text + " of baseline " + fmt(*r.baseline) + " = " + fmt(*r.relative_max);
          if (v > *r.relative_max)
            broken = ck.metric + " " + fmt(v) + " > " + rel;
          else if (held.empty() || (r.max && *r.relative_max < *r.max))
            held = ck.metric + " " + fmt(v) + " <= " + rel;
        }
        r.outcome = broken.empty() ? CheckOutcome::kPass : CheckOutcome::kFail;
        r.explanation = broken.empty() ? held : broken;
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

CheckTally tallyChecks(const std::vector<CheckResult>& results) {
  CheckTally t;
  std::vector<std::string> order;
  for (const auto& r : results) {
    if (std::find(order.begin(), order.end(), r.check) == order.end()) order.push_back(r.check);
  }
  for (const auto& name : order) {
    bool failed = false, no_data = false;
    for (const auto& r : results) {
      if (r.check != name) continue;
      failed = failed || r.outcome == CheckOutcome::kFail;
      no_data = no_data || r.outcome == CheckOutcome::kNoData;
    }
    ++t.total;
    if (failed) {
      ++t.failed;
      t.failed_names.push_back(name);
    } else if (no_data) {
      ++t.no_data;
    } else {
      ++t.passed;
    }
  }
  return t;
}

}  // namespace memstrain
