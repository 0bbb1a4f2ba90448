#pragma once
// What `memstrain run --metrics-addr` serves while the run goes on: a state folded from the same
// readings the progress line gets (stage clock, samples), plus each probe's one-second windows and
// the window checks' records, rendered as Prometheus text on every scrape. Thread-safe: the
// executor's threads fold, the metrics server's thread renders.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/executor/progress.hpp"
#include "memstrain/model/histogram.hpp"
#include "memstrain/model/probe_window.hpp"
#include "memstrain/model/run_record.hpp"

namespace memstrain {

/// Upper bounds (seconds) of memstrain_probe_latency_seconds' buckets, +Inf not included: finer
/// where HTTP latencies of a service under memory pressure live (0.25 ms to 1 s), ~1.3-2x apart.
const std::vector<double>& liveLatencyBuckets();

/// What the run is, known before it starts.
struct LiveRunInfo {
  std::string plan;
  std::vector<std::string> stages;  ///< plan order
  std::vector<std::string> probes;  ///< plan order
  /// Every check and the stages it judges (plan order), for memstrain_check_state.
  std::vector<std::pair<std::string, std::vector<std::string>>> checks;
  double start_unix_s = 0;
};

/// One check x stage outcome at the end of the run: "pass", "fail" or "no_data".
struct LiveCheckOutcome {
  std::string check, stage, outcome;
};

class LiveMetrics {
 public:
  explicit LiveMetrics(LiveRunInfo info);

  /// The executor's stage clock (every control tick).
  void onClock(const ProgressClock& clock);
  /// A samples.jsonl object: "cgroup" gives usage, limit, setpoint, stressor and target RSS;
  /// "memstats" gives heap objects, HeapInuse, NumGC and (with the target's start) the GC CPU share.
  void onSample(const nlohmann::json& sample);
  /// The target process started (Unix ns): GCCPUFraction becomes a share per interval.
  void onTargetStarted(std::int64_t unix_ns);
  /// A probe's one-second window in stage `stage` (index): its corrected latencies go into the
  /// run's histogram and into the stage's summary, its counts into the request counters.
  void onLatencyWindow(const std::string& probe, std::size_t stage, const ProbeWindow& window);
  /// The window checks' records so far (WindowEvaluator::records()).
  void onWindowChecks(const std::vector<WindowCheckRecord>& records);
  /// The run is over: every check's outcome per stage, the verdict and the exit code.
  void onFinished(const std::vector<LiveCheckOutcome>& checks, const std::string& verdict, int exit_code);

  /// The Prometheus text exposition of the state now (see README "Live metrics" for the families).
  std::string render() const;

 private:
  struct ProbeState {
    std::vector<std::uint64_t> buckets;  ///< non-cumulative counts per liveLatencyBuckets() (+Inf last)
    long double sum_s = 0;
    std::uint64_t count = 0;
    std::uint64_t ok = 0, errors = 0, missed = 0;
    std::optional<std::size_t> stage;  ///< the stage `current` belongs to
    Histogram current;                 ///< corrected latencies merged over that stage so far
  };
  struct StageSummary {
    LatencySummary latency;
    long double sum_s = 0;
  };

  LiveRunInfo info_;
  mutable std::mutex mu_;
  ProgressState progress_;
  bool clock_seen_ = false;
  std::optional<std::uint64_t> setpoint_bytes_, stressor_target_bytes_, target_rss_bytes_;
  std::optional<std::uint64_t> heap_inuse_bytes_, gc_cycles_;
  std::map<std::string, ProbeState> probes_;
  std::map<std::pair<std::size_t, std::string>, StageSummary> stage_latency_;  ///< (stage index, probe)
  std::map<std::pair<std::string, std::string>, std::string> check_state_;     ///< (check, stage) -> state
  std::optional<std::string> verdict_;
  std::optional<int> exit_code_;
};

/// The sink the executor feeds (progress interface), forwarding to a LiveMetrics and to the
/// progress display it stands in front of (which may be null).
class LiveMetricsSink : public ProgressSink {
 public:
  LiveMetricsSink(std::shared_ptr<LiveMetrics> metrics, std::shared_ptr<ProgressSink> next);
  void observeSample(const nlohmann::json& sample) override;
  void tick(const ProgressClock& clock) override;
  void targetStarted(std::int64_t unix_ns) override;
  void finish() override;
  void observeLatencyWindow(const std::string& probe, std::size_t stage, const ProbeWindow& window) override;
  void observeWindowChecks(const std::vector<WindowCheckRecord>& records) override;

 private:
  std::shared_ptr<LiveMetrics> metrics_;
  std::shared_ptr<ProgressSink> next_;
};

}  // namespace memstrain
