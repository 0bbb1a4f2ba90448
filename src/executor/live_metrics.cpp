#include "memstrain/executor/live_metrics.hpp"

#include <algorithm>
#include <utility>

#include "memstrain/report/prom_text.hpp"
#include "memstrain/util/build_info.hpp"
#include "memstrain/util/json_read.hpp"

namespace memstrain {
namespace {

using json_read::at;
using json_read::num;
using json_read::u64;

std::optional<double> asDouble(const std::optional<std::uint64_t>& v) {
  if (!v) return std::nullopt;
  return static_cast<double>(*v);
}

// A check's state in a stage from its window records: fail once a window failed, pass once one was
// judged, else pending (no full window yet).
std::string windowState(const WindowCheckRecord& r) {
  if (r.failed > 0) return "fail";
  if (r.windows > r.no_data) return "pass";
  return "pending";
}

}  // namespace

const std::vector<double>& liveLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005,
                                               0.0065, 0.008,   0.01,   0.013,   0.016, 0.02,   0.025, 0.03,  0.04,  0.05,
                                               0.065,  0.08,    0.1,    0.13,    0.16,  0.2,    0.25,  0.3,   0.4,   0.5,
                                               0.65,   0.8,     1,      1.5,     2,     3,      5,     10,    30};
  return kBuckets;
}

LiveMetrics::LiveMetrics(LiveRunInfo info) : info_(std::move(info)) {
  for (const auto& p : info_.probes) probes_[p].buckets.assign(liveLatencyBuckets().size() + 1, 0);
  for (const auto& [check, stages] : info_.checks) {
    for (const auto& st : stages) check_state_[{check, st}] = "pending";
  }
}

void LiveMetrics::onClock(const ProgressClock& clock) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_.clock = clock;
  clock_seen_ = true;
}

void LiveMetrics::onSample(const nlohmann::json& sample) {
  std::lock_guard<std::mutex> lock(mu_);
  applySampleToProgress(progress_, sample);
  if (!sample.is_object()) return;
  const std::string kind = json_read::str(sample, "kind");
  if (kind == "cgroup") {
    setpoint_bytes_ = u64(sample, "setpoint_bytes");
    stressor_target_bytes_ = u64(at(sample, "stressor"), "target_bytes");
    if (auto rss = u64(at(sample, "target_process"), "rss_bytes")) target_rss_bytes_ = rss;
  } else if (kind == "memstats") {
    if (auto v = u64(sample, "heap_inuse_bytes")) heap_inuse_bytes_ = v;
    if (auto v = u64(sample, "num_gc")) gc_cycles_ = v;
  }
}

void LiveMetrics::onTargetStarted(std::int64_t unix_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_.target_start_unix_ns = unix_ns;
}

void LiveMetrics::onLatencyWindow(const std::string& probe, std::size_t stage, const ProbeWindow& window) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = probes_.find(probe);
  if (it == probes_.end()) {
    it = probes_.emplace(probe, ProbeState{}).first;
    it->second.buckets.assign(liveLatencyBuckets().size() + 1, 0);
  }
  ProbeState& p = it->second;
  const auto& bounds = liveLatencyBuckets();
  // Each HdrHistogram sub-bucket (within 0.1% of its values) goes to the first bound at or above
  // its lowest value.
  for (const auto& b : window.corrected.nonZeroBuckets()) {
    const double s = static_cast<double>(b.value_ns) / 1e9;
    const auto k = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), s) - bounds.begin());
    p.buckets[k] += b.count;
  }
  const long double window_sum_s = static_cast<long double>(window.corrected.mean()) * window.corrected.count() / 1e9L;
  p.sum_s += window_sum_s;
  p.count += window.corrected.count();
  p.ok += window.ok;
  p.errors += window.errors.total();
  p.missed += window.missed;
  if (p.stage != stage) {
    p.current.reset();
    p.stage = stage;
  }
  p.current.merge(window.corrected);
  StageSummary& s = stage_latency_[{stage, probe}];
  s.latency = summarizeLatency(p.current);
  s.sum_s = static_cast<long double>(p.current.mean()) * p.current.count() / 1e9L;
}

void LiveMetrics::onWindowChecks(const std::vector<WindowCheckRecord>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  if (verdict_) return;  // the final outcomes stand
  for (const auto& r : records) check_state_[{r.check, r.stage}] = windowState(r);
}

void LiveMetrics::onFinished(const std::vector<LiveCheckOutcome>& checks, const std::string& verdict, int exit_code) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& c : checks) check_state_[{c.check, c.stage}] = c.outcome;
  verdict_ = verdict;
  exit_code_ = exit_code;
}

std::string LiveMetrics::render() const {
  using T = PromText::Type;
  std::lock_guard<std::mutex> lock(mu_);
  PromText e({{"plan", info_.plan}});
  e.family("memstrain_build_info", T::kGauge,
           "The memstrain build serving these metrics; version, commit, build type and compiler are labels.");
  e.family("memstrain_run_start_time_seconds", T::kGauge, "When the run started, Unix time.");
  e.family("memstrain_run_elapsed_seconds", T::kGauge, "Seconds since the first stage began.");
  e.family("memstrain_stage_active", T::kGauge, "1 for the stage in progress, 0 for the plan's other stages.");
  e.family("memstrain_stage_index", T::kGauge, "1-based index of the stage in progress (0 before the first).");
  e.family("memstrain_stage_elapsed_seconds", T::kGauge, "Seconds into the stage in progress.");
  e.family("memstrain_setpoint_bytes", T::kGauge, "Usage the pressure controller holds the measured cgroup at (closed-loop stages).");
  e.family("memstrain_usage_bytes", T::kGauge, "Memory usage of the measured cgroup (the node's memory in use for node placement).");
  e.family("memstrain_limit_bytes", T::kGauge, "Effective memory limit of the measured cgroup (absent when unlimited).");
  e.family("memstrain_stressor_bytes", T::kGauge, "Memory the stressor holds (populated).");
  e.family("memstrain_stressor_target_bytes", T::kGauge, "Memory the controller asked the stressor to hold.");
  e.family("memstrain_target_rss_bytes", T::kGauge, "Resident set size of the target process.");
  e.family("memstrain_heap_objects", T::kGauge, "Go heap objects of the target (MemStats HeapObjects, latest reading).");
  e.family("memstrain_heap_inuse_bytes", T::kGauge, "Go heap in use by the target (MemStats HeapInuse, latest reading).");
  e.family("memstrain_gc_cycles_total", T::kCounter, "GC cycles the target completed since it started (MemStats NumGC).");
  e.family("memstrain_gc_cpu_ratio", T::kGauge, "Share of the target's CPU (GOMAXPROCS x time) spent in GC between the last two readings.");
  e.family("memstrain_probe_latency_seconds", T::kHistogram,
           "Probe request latency since the run began, corrected for coordinated omission (from the intended send time).");
  e.family("memstrain_stage_latency_seconds", T::kSummary,
           "Probe latency over each stage so far, corrected for coordinated omission; report.json's per-stage figures.");
  e.family("memstrain_probe_requests_total", T::kCounter, "Probe requests that completed, by result (ok, error).");
  e.family("memstrain_probe_missed_total", T::kCounter, "Probe sends skipped because max_in_flight requests were outstanding.");
  e.family("memstrain_check_state", T::kGauge,
           "1 for the state a check is in for a stage (pending, pass, fail, no_data); window checks are judged live, others at "
           "the end.");
  e.family("memstrain_run_passed", T::kGauge, "After the run: 1 when the verdict is pass, else 0.");
  e.family("memstrain_run_exit_code", T::kGauge, "After the run: memstrain run's exit code.");

  const BuildInfo& b = buildInfo();
  e.add("memstrain_build_info", {{"version", b.version}, {"commit", b.commit}, {"build_type", b.build_type}, {"compiler", b.compiler}},
        1.0);
  e.add("memstrain_run_start_time_seconds", {}, info_.start_unix_s);
  const ProgressClock& c = progress_.clock;
  e.add("memstrain_run_elapsed_seconds", {}, c.run_elapsed_s);
  for (std::size_t i = 0; i < info_.stages.size(); ++i) {
    e.add("memstrain_stage_active", {{"stage", info_.stages[i]}}, clock_seen_ && !verdict_ && c.stage_index == i ? 1.0 : 0.0);
  }
  e.add("memstrain_stage_index", {}, clock_seen_ && !verdict_ ? static_cast<double>(c.stage_index + 1) : 0.0);
  if (clock_seen_ && !verdict_) e.add("memstrain_stage_elapsed_seconds", {}, c.stage_elapsed_s);
  e.add("memstrain_setpoint_bytes", {}, asDouble(setpoint_bytes_));
  e.add("memstrain_usage_bytes", {}, asDouble(progress_.usage_bytes));
  e.add("memstrain_limit_bytes", {}, asDouble(progress_.limit_bytes));
  e.add("memstrain_stressor_bytes", {}, asDouble(progress_.pressure_bytes));
  e.add("memstrain_stressor_target_bytes", {}, asDouble(stressor_target_bytes_));
  e.add("memstrain_target_rss_bytes", {}, asDouble(target_rss_bytes_));
  e.add("memstrain_heap_objects", {}, asDouble(progress_.heap_objects));
  e.add("memstrain_heap_inuse_bytes", {}, asDouble(heap_inuse_bytes_));
  e.add("memstrain_gc_cycles_total", {}, asDouble(gc_cycles_));
  e.add("memstrain_gc_cpu_ratio", {}, progress_.gc_cpu_share);

  const auto& bounds = liveLatencyBuckets();
  for (const auto& name : info_.probes) {
    const auto it = probes_.find(name);
    if (it == probes_.end()) continue;
    const ProbeState& p = it->second;
    std::uint64_t cumulative = 0;
    for (std::size_t k = 0; k <= bounds.size(); ++k) {
      cumulative += p.buckets[k];
      e.add("memstrain_probe_latency_seconds", {{"probe", name}, {"le", k < bounds.size() ? promFormatValue(bounds[k]) : "+Inf"}},
            static_cast<double>(cumulative), "_bucket");
    }
    e.add("memstrain_probe_latency_seconds", {{"probe", name}}, static_cast<double>(p.sum_s), "_sum");
    e.add("memstrain_probe_latency_seconds", {{"probe", name}}, static_cast<double>(p.count), "_count");
    e.add("memstrain_probe_requests_total", {{"probe", name}, {"result", "ok"}}, static_cast<double>(p.ok));
    e.add("memstrain_probe_requests_total", {{"probe", name}, {"result", "error"}}, static_cast<double>(p.errors));
    e.add("memstrain_probe_missed_total", {{"probe", name}}, static_cast<double>(p.missed));
  }
  for (const auto& [key, s] : stage_latency_) {
    if (key.first >= info_.stages.size() || s.latency.count == 0) continue;
    const PromLabels l = {{"stage", info_.stages[key.first]}, {"probe", key.second}};
    const std::pair<const char*, std::uint64_t> quantiles[] = {
        {"0.5", s.latency.p50_ns}, {"0.9", s.latency.p90_ns}, {"0.99", s.latency.p99_ns}, {"0.999", s.latency.p999_ns}};
    for (const auto& [q, ns] : quantiles) {
      PromLabels lq = l;
      lq.emplace_back("quantile", q);
      e.add("memstrain_stage_latency_seconds", lq, static_cast<double>(ns) / 1e9);
    }
    e.add("memstrain_stage_latency_seconds", l, static_cast<double>(s.sum_s), "_sum");
    e.add("memstrain_stage_latency_seconds", l, static_cast<double>(s.latency.count), "_count");
  }
  static const char* const kStates[] = {"pending", "pass", "fail", "no_data"};
  for (const auto& [check, stages] : info_.checks) {
    for (const auto& st : stages) {
      const auto it = check_state_.find({check, st});
      const std::string state = it == check_state_.end() ? "pending" : it->second;
      for (const char* s : kStates) e.add("memstrain_check_state", {{"check", check}, {"stage", st}, {"state", s}}, state == s ? 1.0 : 0.0);
    }
  }
  if (verdict_) e.add("memstrain_run_passed", {}, *verdict_ == "pass" ? 1.0 : 0.0);
  if (exit_code_) e.add("memstrain_run_exit_code", {}, static_cast<double>(*exit_code_));
  return e.str();
}

LiveMetricsSink::LiveMetricsSink(std::shared_ptr<LiveMetrics> metrics, std::shared_ptr<ProgressSink> next)
    : metrics_(std::move(metrics)), next_(std::move(next)) {}

void LiveMetricsSink::observeSample(const nlohmann::json& sample) {
  metrics_->onSample(sample);
  if (next_) next_->observeSample(sample);
}

void LiveMetricsSink::tick(const ProgressClock& clock) {
  metrics_->onClock(clock);
  if (next_) next_->tick(clock);
}

void LiveMetricsSink::targetStarted(std::int64_t unix_ns) {
  metrics_->onTargetStarted(unix_ns);
  if (next_) next_->targetStarted(unix_ns);
}

void LiveMetricsSink::finish() {
  if (next_) next_->finish();
}

void LiveMetricsSink::observeLatencyWindow(const std::string& probe, std::size_t stage, const ProbeWindow& window) {
  metrics_->onLatencyWindow(probe, stage, window);
  if (next_) next_->observeLatencyWindow(probe, stage, window);
}

void LiveMetricsSink::observeWindowChecks(const std::vector<WindowCheckRecord>& records) {
  metrics_->onWindowChecks(records);
  if (next_) next_->observeWindowChecks(records);
}

}  // namespace memstrain
