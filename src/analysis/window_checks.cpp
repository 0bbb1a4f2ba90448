#include "memstrain/analysis/window_checks.hpp"

#include <algorithm>
#include <cstdio>

#include "memstrain/analysis/checks.hpp"

namespace memstrain {

StageLatency stageLatencyOf(const std::string& probe, const ProbeWindow& w) {
  StageLatency l;
  l.probe = probe;
  l.corrected = summarizeLatency(w.corrected);
  l.uncorrected = summarizeLatency(w.uncorrected);
  l.sched_lag = summarizeLatency(w.sched_lag);
  l.sent = w.sent;
  l.missed = w.missed;
  l.completed = w.completed;
  l.ok = w.ok;
  l.errors_timeout = w.errors.timeout;
  l.errors_connect = w.errors.connect;
  l.errors_http_status = w.errors.http_status;
  l.errors_other = w.errors.other;
  l.error_rate = w.errorRate();
  l.probe_cpu_s = std::chrono::duration<double>(w.probe_cpu).count();
  return l;
}

namespace {

// Folds b into a: min of mins, max of maxes, mean weighted by sample counts.
void mergeSummary(Summary& a, const Summary& b) {
  if (b.n == 0) return;
  if (a.n == 0) {
    a = b;
    return;
  }
  const double n = static_cast<double>(a.n + b.n);
  a.mean = (a.mean * static_cast<double>(a.n) + b.mean * static_cast<double>(b.n)) / n;
  a.min = std::min(a.min, b.min);
  a.max = std::max(a.max, b.max);
  a.n += b.n;
}

// How far `v` is beyond the limits (positive: broken), relative to the limit, so that the worst
// window of a check with both max and min can be told.
double excess(const CheckSpec& c, double v) {
  double e = -1e300;
  auto rel = [](double over, double limit) { return limit != 0 ? over / std::max(1e-300, std::abs(limit)) : over; };
  if (c.max) e = std::max(e, rel(v - *c.max, *c.max));
  if (c.min) e = std::max(e, rel(*c.min - v, *c.min));
  return e;
}

}  // namespace

bool breaksLimits(const CheckSpec& c, double v) { return (c.max && v > *c.max) || (c.min && v < *c.min); }

namespace {

// Everything of a window but latency: usage and RSS summaries, PSI maxima, the GC CPU share.
void mergeCommon(const std::vector<const WindowSlice*>& slices, StageStats& st) {
  st.name = "window";
  st.start_s = slices.front()->end_s - slices.front()->seconds;
  st.end_s = slices.back()->end_s;
  std::optional<StagePsi> psi;
  for (const WindowSlice* s : slices) {
    mergeSummary(st.usage, s->usage);
    mergeSummary(st.target_rss, s->target_rss);
    st.samples += s->usage.n;
    if (s->psi_some_avg10) {
      if (!psi) psi.emplace();
      psi->some_avg10_max = std::max(psi->some_avg10_max, *s->psi_some_avg10);
    }
    if (s->psi_full_avg10) {
      if (!psi) psi.emplace();
      psi->full_avg10_max = std::max(psi->full_avg10_max.value_or(0.0), *s->psi_full_avg10);
    }
  }
  st.psi = psi;
  const WindowSlice* first_gc = nullptr;
  const WindowSlice* last_gc = nullptr;
  for (const WindowSlice* s : slices) {
    if (!s->gc_cpu) continue;
    if (!first_gc) first_gc = s;
    last_gc = s;
  }
  if (first_gc) {
    const auto& [t0, cpu0] = *first_gc->gc_cpu;
    const auto& [t1, cpu1] = *last_gc->gc_cpu;
    if (auto share = gcCpuShare(t0, cpu0, t1, cpu1)) {
      StageHeapStats h;
      h.samples = 2;
      h.gc_cpu_fraction = share;
      st.heap = h;
    }
  }
}

}  // namespace

StageStats mergeSlices(const std::vector<const WindowSlice*>& slices, const std::vector<std::string>& probe_names) {
  StageStats st;
  if (slices.empty()) return st;
  mergeCommon(slices, st);
  std::vector<std::optional<ProbeWindow>> merged(probe_names.size());
  for (const WindowSlice* s : slices) {
    for (std::size_t k = 0; k < s->probes.size() && k < merged.size(); ++k) {
      if (merged[k])
        merged[k]->merge(s->probes[k]);
      else
        merged[k] = s->probes[k];
    }
  }
  for (std::size_t k = 0; k < merged.size(); ++k) {
    if (merged[k]) st.latency.push_back(stageLatencyOf(probe_names[k], *merged[k]));
  }
  return st;
}

WindowEvaluator::CompactProbe::CompactProbe(const ProbeWindow& w)
    : start(w.start),
      end(w.end),
      sent(w.sent),
      missed(w.missed),
      completed(w.completed),
      ok(w.ok),
      cancelled(w.cancelled),
      outstanding(w.outstanding),
      errors(w.errors),
      probe_cpu(w.probe_cpu),
      corrected(w.corrected),
      uncorrected(w.uncorrected),
      sched_lag(w.sched_lag) {}

void WindowEvaluator::CompactProbe::mergeInto(ProbeWindow& w) const {
  using Clock = std::chrono::steady_clock;
  if (w.start == Clock::time_point{} || (start != Clock::time_point{} && start < w.start)) w.start = start;
  w.end = std::max(w.end, end);
  w.sent += sent;
  w.missed += missed;
  w.completed += completed;
  w.ok += ok;
  w.errors.timeout += errors.timeout;
  w.errors.connect += errors.connect;
  w.errors.http_status += errors.http_status;
  w.errors.other += errors.other;
  w.cancelled += cancelled;
  w.outstanding = outstanding;
  w.probe_cpu += probe_cpu;
  corrected.mergeInto(w.corrected);
  uncorrected.mergeInto(w.uncorrected);
  sched_lag.mergeInto(w.sched_lag);
}

StageStats WindowEvaluator::mergeStored(const std::vector<const Stored*>& in, std::optional<std::size_t> probe) const {
  StageStats st;
  if (in.empty()) return st;
  std::vector<const WindowSlice*> slices;
  slices.reserve(in.size());
  for (const Stored* s : in) slices.push_back(&s->slice);
  mergeCommon(slices, st);
  if (!probe) return st;
  // One dense window, for the one probe the check reads.
  std::optional<ProbeWindow> merged;
  for (const Stored* s : in) {
    if (*probe >= s->probes.size() || !s->probes[*probe]) continue;
    if (!merged) merged.emplace();
    s->probes[*probe]->mergeInto(*merged);
  }
  if (merged) st.latency.push_back(stageLatencyOf(probe_names_[*probe], *merged));
  return st;
}

WindowEvaluator::WindowEvaluator(const std::vector<CheckSpec>& checks, std::vector<std::string> stage_names,
                                 std::vector<std::string> probe_names)
    : stage_names_(std::move(stage_names)), probe_names_(std::move(probe_names)) {
  for (const CheckSpec& c : checks) {
    if (!c.window) continue;
    Tracked t;
    t.spec = c;
    t.window_s = std::chrono::duration<double>(*c.window).count();
    t.per_stage.resize(stage_names_.size());
    for (std::size_t i = 0; i < stage_names_.size(); ++i) {
      t.per_stage[i].check = c.name;
      t.per_stage[i].stage = stage_names_[i];
    }
    keep_s_ = std::max(keep_s_, t.window_s);
    checks_.push_back(std::move(t));
  }
  probe_needed_.assign(probe_names_.size(), false);
  for (const Tracked& t : checks_) {
    if (t.spec.metric.rfind("latency.", 0) != 0) continue;
    for (std::size_t k = 0; k < probe_names_.size(); ++k) {
      if (probe_names_[k] == t.spec.probe) probe_needed_[k] = true;
    }
  }
}

std::size_t WindowEvaluator::heldBytes() const {
  std::size_t bytes = 0;
  for (const Stored& s : slices_) {
    bytes += sizeof(Stored) + s.probes.capacity() * sizeof(std::optional<CompactProbe>);
    for (const auto& p : s.probes) {
      if (p) bytes += p->corrected.heapBytes() + p->uncorrected.heapBytes() + p->sched_lag.heapBytes();
    }
  }
  return bytes;
}

bool WindowEvaluator::needsLatency() const {
  return std::any_of(checks_.begin(), checks_.end(), [](const Tracked& t) { return t.spec.metric.rfind("latency.", 0) == 0; });
}

bool WindowEvaluator::inScope(const Tracked& t, std::size_t stage) const {
  if (stage >= stage_names_.size()) return false;
  if (t.spec.stages.empty()) return true;
  return std::find(t.spec.stages.begin(), t.spec.stages.end(), stage_names_[stage]) != t.spec.stages.end();
}

std::optional<WindowAbort> WindowEvaluator::push(WindowSlice slice) {
  if (checks_.empty()) return std::nullopt;
  const double now = slice.end_s;
  const std::size_t stage = slice.stage;
  Stored stored;
  stored.probes.resize(slice.probes.size());
  for (std::size_t k = 0; k < slice.probes.size(); ++k) {
    if (k < probe_needed_.size() && probe_needed_[k]) stored.probes[k].emplace(slice.probes[k]);
  }
  slice.probes.clear();
  slice.probes.shrink_to_fit();
  stored.slice = std::move(slice);
  slices_.push_back(std::move(stored));
  // A slice is needed while it overlaps the longest window ending now.
  while (!slices_.empty() && slices_.front().slice.end_s <= now - keep_s_) slices_.pop_front();
  std::optional<WindowAbort> abort;
  for (Tracked& t : checks_) {
    if (!inScope(t, stage)) continue;
    std::vector<const Stored*> in;
    double covered = 0;
    for (const Stored& st : slices_) {
      const WindowSlice& s = st.slice;
      if (s.end_s <= now - t.window_s || !inScope(t, s.stage)) continue;
      in.push_back(&st);
      // Only the part of the slice inside the window counts toward coverage.
      covered += std::min(s.seconds, s.end_s - (now - t.window_s));
    }
    if (covered < 0.95 * t.window_s) continue;  // not a full window yet
    WindowCheckRecord& r = t.per_stage[stage];
    ++r.windows;
    std::optional<std::size_t> probe;
    if (t.spec.metric.rfind("latency.", 0) == 0) {
      for (std::size_t k = 0; k < probe_names_.size(); ++k) {
        if (probe_names_[k] == t.spec.probe) probe = k;
      }
    }
    const std::optional<double> v = metricValue(t.spec.metric, t.spec.probe, mergeStored(in, probe));
    if (!v) {
      ++r.no_data;
      continue;
    }
    if (!r.worst || excess(t.spec, *v) > excess(t.spec, *r.worst)) {
      r.worst = *v;
      r.worst_end_s = now;
    }
    if (!breaksLimits(t.spec, *v)) continue;
    ++r.failed;
    if (!r.first_fail_end_s) r.first_fail_end_s = now;
    if (t.spec.abort && !abort) {
      WindowAbort a;
      a.check = t.spec.name;
      a.stage = stage_names_[stage];
      a.t_s = now;
      a.observed = *v;
      const bool over = t.spec.max && *v > *t.spec.max;
      char when[96];
      std::snprintf(when, sizeof when, " over the %.0f s window ending at %.1f s", t.window_s, now);
      a.explanation = t.spec.metric + " " + formatMetricValue(t.spec.unit, *v) + (over ? " > max " : " < min ") +
                      formatMetricValue(t.spec.unit, over ? *t.spec.max : *t.spec.min) + when;
      abort = std::move(a);
    }
  }
  return abort;
}

std::vector<WindowCheckRecord> WindowEvaluator::records() const {
  std::vector<WindowCheckRecord> out;
  for (const Tracked& t : checks_) {
    for (std::size_t i = 0; i < t.per_stage.size(); ++i) {
      if (inScope(t, i) || t.per_stage[i].windows > 0) out.push_back(t.per_stage[i]);
    }
  }
  return out;
}

}  // namespace memstrain
