#pragma once
// Running per-stage figures of the samples, fed one sample at a time: what the analysis needs
// from a stage's samples (usage, stressor and RSS summaries, the level reached, the setpoint
// error, PSI, the page cache), in constant memory. A 24-hour hold at 250 ms sampling is 345,600
// samples; keeping each one (with memory.stat's raw map) cost gigabytes. Plain data.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "memstrain/model/sample.hpp"

namespace memstrain {

/// min / sum / max / count of a series, added to in order.
struct RunningSummary {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0;
  std::size_t n = 0;
  void add(double v) {
    min = v < min ? v : min;
    max = v > max ? v : max;
    sum += v;
    ++n;
  }
  double mean() const { return n == 0 ? 0.0 : sum / static_cast<double>(n); }
};

/// A cumulative counter's first and last reading in a stage (either may be absent: a kernel
/// without the key), with the times of the samples they came from.
struct CounterSpan {
  std::optional<std::uint64_t> first, last;
};

/// PSI readings of one source (the measured cgroup's own, or the host's) over a stage.
struct PsiSpan {
  std::size_t readings = 0;
  double some_avg10_max = 0;  ///< percent, as the kernel prints it
  std::optional<double> full_avg10_max;
  std::uint64_t some_total_first_us = 0, some_total_last_us = 0;
  std::optional<std::uint64_t> full_total_first_us, full_total_last_us;
  void add(const Psi& p);
};

class StageSampleStats {
 public:
  /// Samples at or after `settled_after_s` count towards the level reached; at or after
  /// `error_after_s` towards the setpoint error (run clock, seconds).
  StageSampleStats(double settled_after_s, double error_after_s) : settled_after_s_(settled_after_s), error_after_s_(error_after_s) {}

  /// Folds one sample of the stage in (samples come in time order).
  void add(const Sample& s);

  std::size_t samples() const { return usage_.n; }
  const RunningSummary& usage() const { return usage_; }        ///< measured usage, bytes
  const RunningSummary& stressor() const { return stressor_; }  ///< stressor populated, bytes
  const RunningSummary& targetRss() const { return rss_; }      ///< samples with a target process
  /// After settling: usage (closed loop) and stressor bytes (open loop).
  const RunningSummary& reachedUsage() const { return reached_usage_; }
  const RunningSummary& reachedStressor() const { return reached_stressor_; }
  /// |usage - setpoint| after `error_after_s`, over samples with a setpoint.
  const RunningSummary& setpointError() const { return setpoint_error_; }
  const PsiSpan& cgroupPsi() const { return cgroup_psi_; }   ///< the measured cgroup's own
  const PsiSpan& systemPsi() const { return system_psi_; }   ///< /proc/pressure/memory
  const RunningSummary& fileBytes() const { return file_; }  ///< target cgroup's page cache
  const CounterSpan& majorFaults() const { return major_faults_; }
  const CounterSpan& refaults() const { return refaults_; }
  /// Times of the stage's first and last sample.
  double firstT() const { return first_t_; }
  double lastT() const { return last_t_; }

 private:
  double settled_after_s_, error_after_s_;
  RunningSummary usage_, stressor_, rss_, reached_usage_, reached_stressor_, setpoint_error_, file_;
  PsiSpan cgroup_psi_, system_psi_;
  CounterSpan major_faults_, refaults_;
  double first_t_ = 0, last_t_ = 0;
};

}  // namespace memstrain
