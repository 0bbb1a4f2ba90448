#pragma once
// Live progress of a run on stderr: the executor feeds a ProgressSink with every sample it writes
// (from any thread) and with its stage clock (every control tick); the sink decides when and how
// to show it. Folding samples into the state and formatting the line are pure functions.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace memstrain {

struct ProbeWindow;
struct WindowCheckRecord;

/// Where the run is: the executor's stage clock.
struct ProgressClock {
  std::string stage;
  std::size_t stage_index = 0;  ///< 0-based
  std::size_t stage_count = 0;
  double stage_elapsed_s = 0;
  double stage_duration_s = 0;
  double run_elapsed_s = 0;  ///< since the first stage started
  double run_total_s = 0;    ///< the plan's stages added up
};

/// What the progress line shows: the clock plus the latest readings.
struct ProgressState {
  ProgressClock clock;
  std::optional<std::uint64_t> pressure_bytes;  ///< held by the stressor
  std::optional<std::uint64_t> usage_bytes;     ///< of the measured cgroup
  std::optional<std::uint64_t> limit_bytes;     ///< its effective limit; none when unlimited
  std::optional<double> p99_ms;                 ///< of the last one-second window of the first probe
  std::string p99_probe;                        ///< that probe's name
  std::optional<std::uint64_t> heap_objects;    ///< from the last MemStats reading
  /// When the target started (Unix ns); with it, GC's CPU share between the last two readings.
  std::optional<std::int64_t> target_start_unix_ns;
  std::optional<double> gc_cpu_share;
  std::optional<std::pair<double, double>> last_gc_cpu;  ///< (t, cumulative GC s) of the last reading
};

/// Folds one samples.jsonl object into `state`: "cgroup" sets usage, limit and pressure;
/// "latency" sets p99 (first probe seen only, windows with completed requests only); "memstats"
/// sets heap objects and, once the target's start is known, the GC CPU share since the reading
/// before. Other kinds and malformed objects leave it unchanged.
void applySampleToProgress(ProgressState& state, const nlohmann::json& sample);

/// One line, e.g. "[2/4 ramp] 12.3/20.0s  run 22/75s  pressure 210.5 MiB  usage 301.2 MiB / 512.0 MiB
/// (58.8%)  p99 4.39 ms  heap 87,692 objects  GC 10.9% CPU". Readings not yet known are left out. With
/// `max_width` > 0 the line is cut to that many characters (a terminal line must not wrap, or
/// rewriting it in place fails). Control characters in the stage name are replaced.
std::string formatProgressLine(const ProgressState& state, std::size_t max_width = 0);

/// Receives a run's progress.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  /// A sample as written to samples.jsonl. Thread-safe.
  virtual void observeSample(const nlohmann::json& sample) = 0;
  /// The stage clock, called on every control tick; the sink rate-limits itself.
  virtual void tick(const ProgressClock& clock) = 0;
  /// The target process started at this Unix time (ns), when memstrain can see it.
  virtual void targetStarted(std::int64_t /*unix_ns*/) {}
  /// The run is over (any path): a terminal line is cleared so that what follows starts clean.
  virtual void finish() = 0;
  /// A probe's one-second window, in stage `stage` (index), as it was taken. Executor thread.
  virtual void observeLatencyWindow(const std::string& /*probe*/, std::size_t /*stage*/, const ProbeWindow& /*window*/) {}
  /// The window checks' records after each slice was judged. Executor thread.
  virtual void observeWindowChecks(const std::vector<WindowCheckRecord>& /*records*/) {}
};

/// Shows progress through `write`: in terminal mode "\r" + the line + erase-to-end-of-line about
/// once a second (finish() clears it); in log mode one plain line (no newline; the writer adds its
/// own framing) every `interval`.
class TextProgress : public ProgressSink {
 public:
  struct Options {
    bool terminal = false;
    std::chrono::milliseconds interval{1000};
    std::size_t width = 0;  ///< terminal columns; 0: unknown (no cut)
    std::function<void(std::string_view)> write;
  };
  explicit TextProgress(Options options);
  void observeSample(const nlohmann::json& sample) override;
  void tick(const ProgressClock& clock) override;
  void targetStarted(std::int64_t unix_ns) override;
  void finish() override;

 private:
  Options options_;
  std::mutex mu_;
  ProgressState state_;
  double last_emit_s_ = -1e300;
  bool line_shown_ = false;
};

/// Progress on stderr: terminal mode (1 s, cut to the window width) when stderr is a TTY,
/// otherwise log lines through spdlog every `log_interval`.
std::shared_ptr<ProgressSink> makeStderrProgress(std::chrono::milliseconds log_interval = std::chrono::seconds(5));

/// True when stderr is a terminal (progress rewrites its line there).
bool stderrIsTerminal();

}  // namespace memstrain
