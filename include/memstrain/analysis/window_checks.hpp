#pragma once
// Sliding-window checks: judged every second over the last `window` of per-second data, live while
// the run goes on (so a failing `abort` check can stop the pressure) and remembered as the worst
// window per stage for the report. The evaluator only decides; the executor feeds it one slice a
// second and acts on its answer. No I/O, no clock: time is whatever the slices say.

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/model/plan.hpp"
#include "memstrain/model/probe_window.hpp"

namespace memstrain {

/// About one second of the run, as the executor saw it.
struct WindowSlice {
  double end_s = 0;       ///< seconds since the first stage began, at the slice's end
  double seconds = 0;     ///< length of the slice (about 1; shorter at a stage's end)
  std::size_t stage = 0;  ///< index into the plan's stages
  /// One per probe, in the plan's probe order (names given to the evaluator); may be empty.
  std::vector<ProbeWindow> probes;
  Summary usage;                         ///< measured cgroup usage over the slice's samples (bytes)
  Summary target_rss;                    ///< bytes
  std::optional<double> psi_some_avg10;  ///< fraction, the slice's largest
  std::optional<double> psi_full_avg10;
  /// The latest MemStats reading by the slice's end, as (its run time, cumulative GC seconds per
  /// GOMAXPROCS: gcCpuSeconds); absent without pprof or the target's start time.
  std::optional<std::pair<double, double>> gc_cpu;
};

// WindowAbort and WindowCheckRecord are in run_record.hpp: the executor records them.

/// The metric over a merged window, as metricValue reads a stage: latency from merged histograms,
/// usage/RSS summaries, PSI maxima, and the GC CPU share between the first and the last slice's
/// MemStats readings (no data when they are the same reading: a window shorter than two pprof
/// intervals). `probe_names` parallel the slices' probes.
StageStats mergeSlices(const std::vector<const WindowSlice*>& slices, const std::vector<std::string>& probe_names);

/// One probe's merged window as the report's per-stage figures.
StageLatency stageLatencyOf(const std::string& probe, const ProbeWindow& w);

/// True when `v` breaks the check's absolute limits (max, min).
bool breaksLimits(const CheckSpec& check, double v);

class WindowEvaluator {
 public:
  /// Keeps the checks that have a `window`; `stage_names` is the plan's stage order.
  WindowEvaluator(const std::vector<CheckSpec>& checks, std::vector<std::string> stage_names, std::vector<std::string> probe_names);

  /// False when the plan has no window checks (the executor then feeds nothing).
  bool active() const { return !checks_.empty(); }
  /// True when a window check reads a latency metric: only then do slices need the probes'
  /// windows (each holds histograms of ~0.8 MiB).
  bool needsLatency() const;

  /// Heap bytes held by the slices kept for the windows. Bounded: a slice keeps only the probes a
  /// latency check reads, in compact form (CompactHistogram: a second of answers is a few KiB,
  /// not the ~0.8 MiB of a ProbeWindow's three histograms).
  std::size_t heldBytes() const;

  /// Adds one slice and judges every window check whose scope holds the slice's stage. Only the
  /// probes a latency check reads are kept from it, compacted; a window merges histograms only
  /// for the probe its check reads. A window
  /// is judged once the slices of its scope within the last `window` seconds cover it (all but
  /// 5% of it). Returns the first failing check with `abort`, in check order; nullopt otherwise.
  /// Slices must come in time order.
  std::optional<WindowAbort> push(WindowSlice slice);

  /// Per check (plan order) and stage (plan order), the stages in which at least one window of
  /// the check ended or which are in its scope.
  std::vector<WindowCheckRecord> records() const;

 private:
  struct Tracked {
    CheckSpec spec;
    double window_s = 0;
    std::vector<WindowCheckRecord> per_stage;  ///< indexed by stage
  };
  /// One probe's second, as a slice keeps it: the counts, and the histograms compacted.
  struct CompactProbe {
    explicit CompactProbe(const ProbeWindow& w);
    /// Folds it into `w` as w.merge(the ProbeWindow it was made from) would.
    void mergeInto(ProbeWindow& w) const;
    std::chrono::steady_clock::time_point start{}, end{};
    std::uint64_t sent = 0, missed = 0, completed = 0, ok = 0, cancelled = 0, outstanding = 0;
    ProbeErrors errors;
    std::chrono::nanoseconds probe_cpu{0};
    CompactHistogram corrected, uncorrected, sched_lag;
  };
  /// A slice as kept: everything but the probes, plus the probes a check reads, compacted.
  struct Stored {
    WindowSlice slice;  ///< probes moved out
    std::vector<std::optional<CompactProbe>> probes;
  };
  bool inScope(const Tracked& t, std::size_t stage) const;
  /// The window's figures; latency only for probe `probe` (none: no latency).
  StageStats mergeStored(const std::vector<const Stored*>& in, std::optional<std::size_t> probe) const;
  std::vector<std::string> stage_names_;
  std::vector<std::string> probe_names_;
  std::vector<Tracked> checks_;
  std::vector<bool> probe_needed_;  ///< by probe index: a latency check reads it
  std::deque<Stored> slices_;
  double keep_s_ = 0;
};

}  // namespace memstrain
