#pragma once
// Watches the Go runtime through pprof on its own thread, at its own interval, so that a slow or
// broken endpoint never delays stage timing. Records MemStats and goroutine counts, saves heap
// profiles at the end of each stage and when heap objects grow fast, and reports every failure
// as a pprof_error sample while the run goes on.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/model/heap.hpp"
#include "memstrain/observers/pprof_client.hpp"
#include "memstrain/pprof/memstats_parse.hpp"

namespace memstrain {

/// Save an extra profile when heap objects grow by more than `objects` or `fraction` within
/// `window` (whichever is set; both may be).
struct GrowthTrigger {
  std::optional<std::uint64_t> objects;
  std::optional<double> fraction;
  std::chrono::nanoseconds window{std::chrono::seconds(10)};
  std::uint32_t max_snapshots = 5;  ///< per run
};

class PprofObserver {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::string base_url;
    std::chrono::nanoseconds interval{std::chrono::seconds(2)};
    PprofClientOptions client;
    std::string profiles_dir;  ///< OUT/profiles; created on the first snapshot
    std::optional<GrowthTrigger> trigger;
    /// Live readings (a forced GC each) before the first stage and at every stage's end; off
    /// when false.
    bool live_boundaries = true;
    /// Also a live reading every this often during stages (pprof.live_interval); unset: none.
    std::optional<std::chrono::nanoseconds> live_interval;
    /// A live reading is the lowest of this many back-to-back forced GCs: a request in flight
    /// holds its garbage while it runs, and the lowest reading is the one no request inflated.
    std::uint32_t live_tries = 3;
    /// Pause between those GCs, so that a request in flight at one has likely finished by the next
    /// (measured on the demo target under churn: back-to-back tries often all caught the same one).
    std::chrono::milliseconds live_try_gap{25};
  };
  /// `write_line` receives each samples.jsonl object; it is called from the observer's thread and
  /// must be thread-safe.
  PprofObserver(Options options, Clock::time_point t0, std::function<void(const nlohmann::json&)> write_line);
  ~PprofObserver();
  PprofObserver(const PprofObserver&) = delete;
  PprofObserver& operator=(const PprofObserver&) = delete;

  void start();
  /// The executor entered stage `index`: later readings are attributed to it.
  void setStage(std::size_t index, const std::string& name);
  /// Polls MemStats at `interval` instead of Options::interval until cleared with nullopt (release
  /// stages read HeapReleased faster); the next poll happens at once.
  void setFastInterval(std::optional<std::chrono::nanoseconds> interval);
  /// A copy of the MemStats readings taken at or after `since_s` (run clock); safe while running.
  std::vector<MemStatsSample> memstatsSince(double since_s) const;
  /// Queue a heap snapshot of stage `index` named `name` (saved as profiles/<name>.pb.gz).
  void requestStageSnapshot(std::size_t index, const std::string& name);
  /// Queue the live reading that ends stage `index` (taken before that stage's snapshot).
  void requestStageEndLive(std::size_t index);
  /// Finishes queued snapshots (each bounded by the request timeout) and joins the thread. With
  /// `abandon` (a run that stops early), queued snapshots are dropped and the request in flight is
  /// aborted (libcurl notices within about a second), so no peer holds the run's end up.
  void stop(bool abandon = false);

  // Valid after stop().
  const std::vector<MemStatsSample>& memstats() const { return memstats_; }
  const std::vector<PprofFailure>& failures() const { return failures_; }
  const std::vector<ProfileSnapshot>& snapshots() const { return snapshots_; }
  const std::vector<LiveHeapReading>& live() const { return live_; }

 private:
  void loop();
  /// One turn of the loop: waits until `next_poll` or a request, then polls or takes a queued
  /// snapshot. False when the observer is stopping and nothing is queued.
  bool step(Clock::time_point& next_poll, Clock::time_point& next_live);
  void poll();
  void snapshot(std::size_t stage, const std::string& file_stem, const std::string& reason);
  void maybeTrigger(const MemStatsSample& s);
  void liveReading(std::size_t stage, const char* kind);
  /// Records a failure; `kind` defaults to the client's last error kind.
  void fail(const std::string& endpoint, const Error& e, const char* kind = nullptr);
  double now_s() const;

  Options options_;
  Clock::time_point t0_;
  std::function<void(const nlohmann::json&)> write_line_;
  PprofClient client_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::optional<std::chrono::nanoseconds> fast_interval_;  ///< guarded by mu_
  bool interval_changed_ = false;                          ///< guarded by mu_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::size_t stage_ = 0;
  std::string stage_name_;
  std::vector<std::string> stage_names_;  ///< by index, as setStage() saw them; guarded by mu_
  /// Queued work: a live reading (name empty) or a snapshot named `name`.
  std::deque<std::pair<std::size_t, std::string>> pending_snapshots_;
  // Owned by the observer thread until stop(); memstats_ is appended under mu_ so that
  // memstatsSince() can read it while the thread runs.
  std::vector<MemStatsSample> memstats_;
  std::vector<PprofFailure> failures_;
  std::vector<ProfileSnapshot> snapshots_;
  std::vector<LiveHeapReading> live_;
  std::uint32_t growth_snapshots_ = 0;
  double last_trigger_t_ = -1e300;
  std::size_t logged_failures_ = 0;
  std::atomic<bool> abort_{false};  ///< stop(true): the client's request in flight is aborted
};

}  // namespace memstrain
