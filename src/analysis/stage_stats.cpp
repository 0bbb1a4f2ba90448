#include "memstrain/analysis/stage_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "memstrain/model/exit_code.hpp"

namespace memstrain {

Summary summarize(const std::vector<double>& values) {
  Summary s;
  if (values.empty()) return s;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -std::numeric_limits<double>::infinity();
  double sum = 0;
  for (double v : values) {
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
    sum += v;
  }
  s.n = values.size();
  s.mean = sum / static_cast<double>(s.n);
  return s;
}

Summary summaryOf(const RunningSummary& r) {
  Summary s;
  if (r.n == 0) return s;
  s.min = r.min;
  s.max = r.max;
  s.n = r.n;
  s.mean = r.mean();
  return s;
}

std::optional<StagePsi> stagePsiOf(const StageSampleStats& st) {
  // The measured cgroup's own PSI when any sample had it, else the host's.
  const bool from_cgroup = st.cgroupPsi().readings > 0;
  const PsiSpan& span = from_cgroup ? st.cgroupPsi() : st.systemPsi();
  if (span.readings == 0) return std::nullopt;
  StagePsi out;
  out.source = from_cgroup ? "cgroup" : "system";
  out.some_avg10_max = span.some_avg10_max / 100.0;
  if (span.full_avg10_max) out.full_avg10_max = *span.full_avg10_max / 100.0;
  // Totals are microsecond counters that only grow; a drop means a different file (never expected).
  auto delta = [](std::uint64_t a, std::uint64_t b) { return b >= a ? static_cast<double>(b - a) / 1e6 : 0.0; };
  out.some_stall_s = delta(span.some_total_first_us, span.some_total_last_us);
  if (span.full_total_first_us && span.full_total_last_us) out.full_stall_s = delta(*span.full_total_first_us, *span.full_total_last_us);
  return out;
}

std::optional<StagePageCache> stagePageCacheOf(const StageSampleStats& st) {
  if (st.samples() == 0) return std::nullopt;
  StagePageCache out;
  out.file_bytes = summaryOf(st.fileBytes());
  const double span_s = st.lastT() - st.firstT();
  // Counters only grow; a smaller later value means a different cgroup file, never expected: 0.
  auto counter = [&](const CounterSpan& c, std::optional<std::uint64_t>& n, std::optional<double>& rate) {
    if (!c.first || !c.last) return;
    n = *c.last >= *c.first ? *c.last - *c.first : 0;
    if (span_s > 0) rate = static_cast<double>(*n) / span_s;
  };
  counter(st.majorFaults(), out.major_faults, out.major_faults_per_s);
  counter(st.refaults(), out.refaults, out.refaults_per_s);
  return out;
}

namespace {

StageSampleStats accumulate(const std::vector<const Sample*>& samples, double settled_after = 0, double error_after = 0) {
  StageSampleStats st(settled_after, error_after);
  for (const Sample* s : samples) st.add(*s);
  return st;
}

}  // namespace

std::optional<StagePsi> stagePsi(const std::vector<const Sample*>& samples) { return stagePsiOf(accumulate(samples)); }

std::optional<StagePageCache> stagePageCache(const std::vector<const Sample*>& samples) { return stagePageCacheOf(accumulate(samples)); }

namespace {

void fillFromSamples(StageStats& st, const StageSampleStats& acc, std::uint64_t effective_limit_bytes) {
  st.samples = acc.samples();
  st.usage = summaryOf(acc.usage());
  st.stressor = summaryOf(acc.stressor());
  st.target_rss = summaryOf(acc.targetRss());
  st.psi = stagePsiOf(acc);
  st.page_cache = stagePageCacheOf(acc);
  if (st.requested_setpoint_bytes && acc.reachedUsage().n > 0) st.reached_bytes = acc.reachedUsage().mean();
  if (st.requested_size_bytes && acc.reachedStressor().n > 0) st.reached_bytes = acc.reachedStressor().mean();
  if (acc.setpointError().n > 0) {
    st.setpoint_error_mean_abs_bytes = acc.setpointError().mean();
    st.setpoint_error_max_abs_bytes = acc.setpointError().max;
    if (effective_limit_bytes != kUnlimited && effective_limit_bytes > 0) {
      st.setpoint_error_mean_abs_fraction = acc.setpointError().mean() / static_cast<double>(effective_limit_bytes);
    }
  }
}

}  // namespace

std::pair<double, double> settleTimes(double stage_start_s, const std::optional<PressureSpec>& pressure, double rate_ramp_s) {
  double ramp_s = pressure ? std::chrono::duration<double>(pressure->ramp).count() : 0.0;
  if (pressure && pressure->rate_bytes_per_s) ramp_s = rate_ramp_s;
  return {stage_start_s + (ramp_s > 0 ? ramp_s : kSettleSeconds), stage_start_s + (ramp_s > 0 ? 0.0 : kSettleSeconds)};
}

std::vector<StageStats> analyzeStages(const RunRecord& rec) {
  std::vector<StageStats> out;
  const Resolution& res = rec.resolution;
  for (std::size_t i = 0; i < rec.stages.size(); ++i) {
    const StageRecord& sr = rec.stages[i];
    StageStats st;
    static_cast<StageBasics&>(st) = sr;
    st.oom_kills_target = sr.target_oom_kills;
    st.oom_kills_stressor = sr.stressor_oom_kills;
    st.fill = sr.fill;
    const ResolvedStage* rs = i < res.stages.size() ? &res.stages[i] : nullptr;
    if (rs) {
      st.pressure = rs->pressure;
      st.requested_setpoint_bytes = rs->setpoint_bytes;
      st.requested_size_bytes = rs->size_bytes;
      st.hysteresis_bytes = rs->hysteresis_bytes;
    }
    // The executor's running figures when it kept them; else (runs built in tests) the samples.
    if (i < rec.sample_stats.size()) {
      fillFromSamples(st, rec.sample_stats[i], res.effective_limit_bytes);
    } else {
      const auto [settled_after, error_after] =
          settleTimes(sr.start_s, rs ? rs->pressure : std::nullopt, sr.fill && sr.fill->time_to_level_s ? *sr.fill->time_to_level_s : 0.0);
      StageSampleStats acc(settled_after, error_after);
      for (const Sample& s : rec.samples) {
        if (s.stage == i) acc.add(s);
      }
      fillFromSamples(st, acc, res.effective_limit_bytes);
    }
    out.push_back(std::move(st));
  }
  if (rec.plan.target.pprof_url) {
    auto heap = analyzeHeap(rec.memstats, rec.pprof_failures, out.size(), rec.target_start_unix_ns);
    analyzeLiveHeap(rec.live_heap, heap);
    for (std::size_t i = 0; i < out.size(); ++i) out[i].heap = heap[i];
  }
  for (std::size_t i = 0; i < out.size() && i < rec.plan.stages.size(); ++i) {
    const auto& rr = rec.stages[i].release;
    if (!rr || !rec.plan.stages[i].release) continue;
    out[i].release = analyzeRelease(releaseInputFor(rec, i, rec.memstats));
    out[i].reclaim_configured = rec.plan.stages[i].release->reclaim.has_value();
    if (rr->reclaim && !rr->reclaim->skipped) {
      ReclaimInput in = reclaimInputFor(rec, i);
      in.held_bytes = heldAfterRelease(*out[i].release);
      out[i].reclaim = analyzeReclaim(in);
    } else if (rr->reclaim)
      out[i].reclaim_skipped_reason = rr->reclaim->skipped_reason;
    else if (out[i].reclaim_configured)
      out[i].reclaim_skipped_reason = "the stage ended before its deadline";
  }
  return out;
}

RunAnalysis analyzeRun(const RunRecord& rec) {
  RunAnalysis a;
  a.stages = analyzeStages(rec);
  if (rec.plan.target.pprof_url) {
    std::vector<std::string> names;
    for (const auto& s : rec.stages) names.push_back(s.name);
    const PprofLimits limits{static_cast<std::size_t>(rec.plan.pprof.max_body_bytes),
                             static_cast<std::size_t>(rec.plan.pprof.max_decompressed_bytes)};
    auto d = diffBaselineToLargest(rec.profiles, names, rec.plan.pprof.diff_top, limits);
    if (d)
      a.heap_diff = std::move(*d);
    else
      a.heap_diff_error = d.error().message;
  }
  std::vector<std::string> order;
  for (const auto& st : rec.plan.stages) order.push_back(st.name);
  a.checks = evaluateChecks(rec.plan.checks, a.stages, order, rec.plan.baseline_stage, rec.window_checks);
  a.verdict = judge(rec, a.stages, a.checks);
  if (rec.stressor_release) {
    const StressorReleaseMeasure& m = *rec.stressor_release;
    std::optional<AnonAccount> anon;
    if (m.baseline_anon_bytes && m.baseline_target_anon_bytes && m.after_anon_bytes && m.after_target_anon_bytes) {
      anon = AnonAccount{*m.baseline_anon_bytes, *m.baseline_target_anon_bytes, *m.after_anon_bytes, *m.after_target_anon_bytes};
    }
    a.stressor_release = judgeStressorRelease(m.baseline_usage_bytes, m.baseline_target_rss_bytes, m.after_usage_bytes,
                                              m.after_target_rss_bytes, rec.resolution.effective_limit_bytes, anon);
  }
  return a;
}

const char* toString(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "pass";
    case Verdict::kFail: return "fail";
    case Verdict::kInconclusive: return "inconclusive";
  }
  return "inconclusive";
}

std::vector<std::string> unreachableAtStart(const RunRecord& rec, const std::vector<StageStats>& stages) {
  std::vector<std::string> out;
  const std::string& base_name =
      rec.plan.baseline_stage.empty() && !rec.plan.stages.empty() ? rec.plan.stages.front().name : rec.plan.baseline_stage;
  const StageStats* base = nullptr;
  for (const auto& s : stages) {
    if (s.name == base_name) base = &s;
  }
  if (!base) return out;
  for (const auto& l : base->latency) {
    // completed = ok + errors; every request failing (or none ending) is no answer.
    const std::uint64_t errors = l.errors_timeout + l.errors_connect + l.errors_http_status + l.errors_other;
    if (l.sent > 0 && (l.completed == 0 || errors >= l.completed)) {
      out.push_back("target unreachable at start: probe " + l.probe + " got no expected answer to " + std::to_string(l.sent) +
                    " request(s) in stage " + base->name + " (timeout " + std::to_string(l.errors_timeout) + ", connect " +
                    std::to_string(l.errors_connect) + ", http_status " + std::to_string(l.errors_http_status) + ", other " +
                    std::to_string(l.errors_other) + ")");
    }
  }
  // A pprof endpoint that fails while the target answers its probes or its readiness URL is a
  // broken endpoint, not an unreachable target (checks that need heap data say "no data" on their
  // own); pprof speaks for the target only when nothing else does.
  const bool answered_otherwise = !base->latency.empty() || (rec.plan.target.launch && rec.plan.target.launch->ready_url);
  if (!answered_otherwise && rec.plan.target.pprof_url && base->heap && base->heap->samples == 0 && base->heap->pprof_errors > 0) {
    out.push_back("target unreachable at start: every pprof request in stage " + base->name + " failed (" +
                  std::to_string(base->heap->pprof_errors) + " error(s))");
  }
  return out;
}

VerdictResult judge(const RunRecord& rec, const std::vector<StageStats>& stages, const std::vector<CheckResult>& checks) {
  VerdictResult v;
  // Nothing measured under pressure means anything when the target did not answer at the start.
  const std::vector<std::string> unreachable = unreachableAtStart(rec, stages);
  bool baseline_broke = false, no_data = false;
  for (const auto& c : checks) {
    if (c.outcome == CheckOutcome::kFail && !c.baseline_stage) {
      v.verdict = Verdict::kFail;
      v.reasons.push_back("check \"" + c.check + "\" failed in stage " + c.stage + ": " + c.explanation);
    } else if (c.outcome == CheckOutcome::kFail) {
      baseline_broke = true;
    } else if (c.outcome == CheckOutcome::kNoData) {
      no_data = true;
    }
  }
  for (const auto& s : stages) {
    if (s.oom_kills_target > 0) {
      v.verdict = Verdict::kFail;
      v.reasons.push_back("target OOM-killed " + std::to_string(s.oom_kills_target) + " time(s) in stage " + s.name);
    }
  }
  const bool aborted_in_baseline = rec.status == RunStatus::kAborted && rec.abort && rec.abort->stage == rec.plan.baseline_stage;
  if (rec.status == RunStatus::kAborted && rec.abort && !aborted_in_baseline) {
    v.verdict = Verdict::kFail;
    v.reasons.push_back("aborted: check \"" + rec.abort->check + "\" failed in stage " + rec.abort->stage + ": " + rec.abort->explanation);
  }
  const bool target_failed =
      rec.target_exit || std::any_of(stages.begin(), stages.end(), [](const StageStats& s) { return s.oom_kills_target > 0; });
  if (!unreachable.empty() && !target_failed) {
    // Failures under pressure say nothing when the target did not answer before it.
    v.verdict = Verdict::kInconclusive;
    v.reasons = unreachable;
    return v;
  }
  if (aborted_in_baseline && v.verdict != Verdict::kFail) {
    v.verdict = Verdict::kInconclusive;
    v.reasons.push_back("aborted in the baseline stage: check \"" + rec.abort->check +
                        "\" already fails before any pressure: " + rec.abort->explanation);
  }
  if (rec.target_exit) {
    v.verdict = Verdict::kFail;
    v.reasons.push_back("target ended during the run: " + rec.target_exit->describe());
  } else if (rec.status == RunStatus::kError && v.verdict != Verdict::kFail) {
    v.verdict = Verdict::kInconclusive;
    v.reasons.push_back("run error: " + rec.error);
  } else if (rec.status == RunStatus::kInterrupted && v.verdict != Verdict::kFail) {
    v.verdict = Verdict::kInconclusive;
    v.reasons.push_back(rec.error.empty() ? "interrupted" : rec.error);
  }
  if (v.verdict == Verdict::kPass && (baseline_broke || no_data)) v.verdict = Verdict::kInconclusive;
  if (v.verdict != Verdict::kFail) {
    for (const auto& c : checks) {
      if (c.outcome == CheckOutcome::kFail) {
        v.reasons.push_back("check \"" + c.check + "\" already fails in the baseline stage " + c.stage + ": " + c.explanation);
      } else if (c.outcome == CheckOutcome::kNoData) {
        v.reasons.push_back("check \"" + c.check + "\" has no data: " + c.explanation);
      }
    }
  }
  return v;
}

int exitCodeFor(const RunRecord& rec, const VerdictResult& v) {
  if (rec.status == RunStatus::kAborted) return kExitAborted;
  if (v.verdict == Verdict::kFail) return kExitFail;
  if (rec.status == RunStatus::kError) return kExitRunError;
  if (rec.status == RunStatus::kInterrupted) return kExitInterrupted;
  if (v.verdict == Verdict::kInconclusive) return kExitInconclusive;
  if (!rec.cleanup_ok) return kExitCleanupFailed;
  return kExitPass;
}

}  // namespace memstrain
