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
