#pragma once
// Feeding the sliding-window checks: once a second the executor cuts what happened since the last
// cut (the probes' one-second windows, the samples taken, the newest MemStats reading) into one
// WindowSlice for the WindowEvaluator. Pure: the samples and readings are handed in, the time of
// the cut too.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "memstrain/analysis/window_checks.hpp"
#include "memstrain/model/heap.hpp"
#include "memstrain/model/probe_window.hpp"
#include "memstrain/model/sample.hpp"
#include "memstrain/model/sample_stats.hpp"

namespace memstrain {

class WindowFeeder {
 public:
  /// `keep_latency`: a window check reads a latency metric, so the probes' windows are kept until
  /// the next cut (each holds histograms of ~0.8 MiB; without such a check they are not).
  WindowFeeder(std::size_t probe_count, bool keep_latency) : keep_latency_(keep_latency), probes_(probe_count) {}

  /// One second of probe `probe`; merged with others of the same slice.
  void addProbeWindow(std::size_t probe, const ProbeWindow& w);

  /// MemStats readings taken after this run time are new to the feeder: a reading is stamped when
  /// its request starts and lands when it ends, so cutting readings by slice time would lose the
  /// one in flight at the cut.
  double newReadingsAfter() const { return last_reading_t_ ? *last_reading_t_ + 1e-6 : 0.0; }

  /// One sample taken since the last cut: its usage, RSS and PSI go into the next slice. Nothing
  /// of it is kept beyond the running figures (the run keeps no samples for the windows).
  void addSample(const Sample& s);

  /// Everything since the last cut as one slice that ends at run time `end_s` in stage `stage`:
  /// the probe windows, usage, RSS and PSI of the samples added since, and, when `readings` is
  /// given (pprof and the target's start are known), the GC CPU as of the newest reading seen
  /// (`readings` are those newer than newReadingsAfter()).
  WindowSlice cut(double end_s, std::size_t stage, const std::vector<MemStatsSample>* readings,
                  std::optional<std::int64_t> target_start_unix_ns);

 private:
  bool keep_latency_;
  std::vector<std::optional<ProbeWindow>> probes_;
  double last_cut_s_ = 0;
  /// The samples' share of the slice being gathered.
  RunningSummary usage_, rss_;
  std::optional<double> psi_some_avg10_, psi_full_avg10_;
  std::optional<double> last_reading_t_;
  std::optional<std::pair<double, double>> latest_gc_cpu_;  ///< (t, cumulative GC s) of the newest reading
};

}  // namespace memstrain
