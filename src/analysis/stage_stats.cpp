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

std::optional<StagePsi> stagePsi(const std::vector<const Sample*>& samples) {
  auto cgroupPsi = [](const Sample& s) -> const Psi* {
    const CgroupSample& c = s.measured_cgroup ? *s.measured_cgroup : s.target_cgroup;
    return c.pressure ? &*c.pressure : nullptr;
  };
  const bool from_cgroup = std::any_of(samples.begin(), samples.end(), [&](const Sample* s) { return cgroupPsi(*s) != nullptr; });
  std::vector<const Psi*> seq;
  for (const Sample* s : samples) {
    const Psi* p = from_cgroup ? cgroupPsi(*s) : (s->system_pressure ? &*s->system_pressure : nullptr);
    if (p) seq.push_back(p);
  }
  if (seq.empty()) return std::nullopt;
  StagePsi out;
  out.source = from_cgroup ? "cgroup" : "system";
  for (const Psi* p : seq) {
    out.some_avg10_max = std::max(out.some_avg10_max, p->some.avg10 / 100.0);
    if (p->full) out.full_avg10_max = std::max(out.full_avg10_max.value_or(0.0), p->full->avg10 / 100.0);
  }
  // Totals are microsecond counters that only grow; a drop means a different file (never expected).
  auto delta = [](std::uint64_t a, std::uint64_t b) { return b >= a ? static_cast<double>(b - a) / 1e6 : 0.0; };
  out.some_stall_s = delta(seq.front()->some.total_us, seq.back()->some.total_us);
  if (seq.front()->full && seq.back()->full) out.full_stall_s = delta(seq.front()->full->total_us, seq.back()->full->total_us);
  return out;
}

std::optional<StagePageCache> stagePageCache(const std::vector<const Sample*>& samples) {
  if (samples.empty()) return std::nullopt;
  StagePageCache out;
  std::vector<double> file;
  for (const Sample* s : samples) file.push_back(static_cast<double>(s->target_cgroup.stat.file_bytes));
  out.file_bytes = summarize(file);
  const Sample& first = *samples.front();
  const Sample& last = *samples.back();
  const double span_s = last.t_s - first.t_s;
  // Counters only grow; a smaller later value means a different cgroup file, never expected: 0.
  auto counter = [&](const std::optional<std::uint64_t>& a, const std::optional<std::uint64_t>& b, std::optional<std::uint64_t>& n,
                     std::optional<double>& rate) {
    if (!a || !b) return;
    n = *b >= *a ? *b - *a : 0;
    if (span_s > 0) rate = static_cast<double>(*n) / span_s;
  };
  counter(first.target_cgroup.stat.major_faults, last.target_cgroup.stat.major_faults, out.major_faults, out.major_faults_per_s);
  counter(first.target_cgroup.stat.refaults_file, last.target_cgroup.stat.refaults_file, out.refaults, out.refaults_per_s);
  return out;
}

std::vector<StageStats> analyzeStages(const RunRecord& rec) {
  std::vector<StageStats> out;
  const Resolution& res = rec.resolution;
  for (std::size_t i = 0; i < rec.stages.size(); ++i) {
    const StageRecord& sr = rec.stages[i];
    StageStats st;
    st.name = sr.name;
    st.start_s = sr.start_s;
    st.end_s = sr.end_s;
    st.completed = sr.completed;
    st.oom_kills_target = sr.target_oom_kills;
    st.oom_kills_stressor = sr.stressor_oom_kills;
    st.controller_cpu_s = sr.controller_cpu_s;
    st.stressor_cpu_s = sr.stressor_cpu_s;
    st.target_cgroup_cpu_s = sr.target_cgroup_cpu_s;
    st.latency = sr.latency;
    const ResolvedStage* rs = i < res.stages.size() ? &res.stages[i] : nullptr;
    if (rs) {
      st.pressure = rs->pressure;
      st.requested_setpoint_bytes = rs->setpoint_bytes;
      st.requested_size_bytes = rs->size_bytes;
    }
    const double ramp_s = rs && rs->pressure ? std::chrono::duration<double>(rs->pressure->ramp).count() : 0.0;
    const double settled_after = sr.start_s + (ramp_s > 0 ? ramp_s : kSettleSeconds);
    const double error_after = sr.start_s + (ramp_s > 0 ? 0.0 : kSettleSeconds);
    std::vector<double> usage, stressor, rss, reached, err;
    std::vector<const Sample*> stage_samples;
    for (const Sample& s : rec.samples) {
      if (s.stage != i) continue;
      ++st.samples;
      stage_samples.push_back(&s);
      usage.push_back(static_cast<double>(s.measuredUsage()));
      stressor.push_back(static_cast<double>(s.stressor_populated_bytes));
      if (s.target_process) rss.push_back(static_cast<double>(s.target_process->rss_bytes));
      if (s.t_s >= settled_after) {
        if (st.requested_setpoint_bytes) reached.push_back(static_cast<double>(s.measuredUsage()));
        if (st.requested_size_bytes) reached.push_back(static_cast<double>(s.stressor_populated_bytes));
      }
      if (s.setpoint_bytes && s.t_s >= error_after) {
        err.push_back(std::fabs(static_cast<double>(s.measuredUsage()) - static_cast<double>(*s.setpoint_bytes)));
      }
    }
    st.usage = summarize(usage);
    st.stressor = summarize(stressor);
    st.target_rss = summarize(rss);
    st.psi = stagePsi(stage_samples);
    st.page_cache = stagePageCache(stage_samples);
    if (!reached.empty()) st.reached_bytes = summarize(reached).mean;
    if (!err.empty()) {
      Summary e = summarize(err);
      st.setpoint_error_mean_abs_bytes = e.mean;
      st.setpoint_error_max_abs_bytes = e.max;
      if (res.effective_limit_bytes != kUnlimited && res.effective_limit_bytes > 0) {
        st.setpoint_error_mean_abs_fraction = e.mean / static_cast<double>(res.effective_limit_bytes);
      }
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
    if (rr->reclaim && !rr->reclaim->skipped)
      out[i].reclaim = analyzeReclaim(reclaimInputFor(rec, i));
    else if (rr->reclaim)
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
    auto d = diffBaselineToLargest(rec.profiles, names, rec.plan.pprof.diff_top);
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
    a.stressor_release = judgeStressorRelease(m.baseline_usage_bytes, m.baseline_target_rss_bytes, m.after_usage_bytes,
                                              m.after_target_rss_bytes, rec.resolution.effective_limit_bytes);
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
