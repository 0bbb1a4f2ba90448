#pragma once
// The release phase of a release stage as a state machine of time and two readings; no clock, no
// I/O. On each control tick the executor asks what is due, does it (a sample, the trigger, the
// judgement), and reports back, with the time when that matters:
//
//   kBefore    waiting for the "before" readings: a MemStats reading of this stage (the runtime
//              view) and the stressor holding nothing (right after a pressure stage it is still
//              giving its pages back; the cgroup's drop would be its drop). The stage's actions
//              wait too. Given up after a while: then the window opens with what there is.
//   kArmed     the window is open; waiting for the trigger's time.
//   kWatching  the trigger fired (or, without one, the window opened): watching until `within`.
//   kReclaim   after a `lazy` or `huge_pages_held` outcome: pressure for reclaim.duration, to see what the kernel takes back.
//   kDone      judged.

#include <chrono>
#include <cstdint>
#include <optional>

#include "memstrain/model/plan.hpp"
#include "memstrain/model/sample.hpp"
#include "memstrain/os/clock.hpp"

namespace memstrain {

class ReleasePhase {
 public:
  using TimePoint = Clock::time_point;
  enum class State { kBefore, kArmed, kWatching, kReclaim, kDone };
  /// What the executor must do now.
  enum class Due {
    kNothing,
    kOpenWindow,  ///< take the "before" sample, then windowOpened()
    kTrigger,     ///< fire the trigger when there is one, then watchFrom(the time it fired, or the window's start)
    kJudge,       ///< take a sample at the deadline and judge; then judged(the reclaim's end after a lazy outcome)
    kEndReclaim,  ///< take a sample, the stressor lets go; then reclaimEnded()
  };
  /// The readings the "before" waits for; only looked at in kBefore.
  struct Readings {
    bool runtime_read = false;      ///< a MemStats reading of this stage exists (or pprof is off)
    bool stressor_drained = false;  ///< the stressor holds nothing (or there is none)
  };

  /// A release stage that starts at `stage_start` and lasts `stage_duration`. The "before" is given
  /// up after a pprof request's time plus 500 ms, at most a quarter of the stage.
  ReleasePhase(const ReleaseSpec& spec, TimePoint stage_start, std::chrono::nanoseconds stage_duration,
               std::chrono::nanoseconds pprof_timeout);

  State state() const { return state_; }
  /// True while the stage's actions are held back and the stressor must be drained.
  bool waitingForBefore() const { return state_ == State::kBefore; }

  /// What is due at `now`. Pure: ask again after reporting what was done.
  Due due(TimePoint now, const Readings& readings) const;
  /// What is due at `now` once the "before" readings no longer matter (or are all missing).
  Due due(TimePoint now) const;

  void windowOpened();                   ///< kBefore -> kArmed
  void watchFrom(TimePoint trigger_at);  ///< kArmed -> kWatching; the deadline is `within` after `trigger_at`
  /// kWatching -> kReclaim until `reclaim_until`, or kDone without it.
  void judged(std::optional<TimePoint> reclaim_until = std::nullopt);
  void reclaimEnded();  ///< kReclaim -> kDone

  /// When due() may next change by time alone (the trigger's time, the deadline, the reclaim's
  /// end); nullopt in kBefore (it waits on readings) and kDone.
  std::optional<TimePoint> wakeBy() const;
  TimePoint deadline() const { return deadline_; }

 private:
  State state_ = State::kBefore;
  bool has_trigger_;
  std::chrono::nanoseconds within_;
  TimePoint trigger_due_;
  TimePoint before_give_up_;
  TimePoint deadline_;
  TimePoint reclaim_end_;
};

/// The stressor's size for the reclaim phase: the plan's `size` when it gives one, else what fills
/// the measured cgroup up to the effective limit minus the safety margin while counting the
/// target's held pages as free, so that the kernel has to take them back for the stressor to get
/// there. `at_deadline` is the sample taken at the deadline; `lazy_fallback` the judged LazyFree
/// figure, used when that sample has none; `huge_pages_held` (after a huge_pages_held outcome) the
/// bytes still charged in partly freed huge pages, counted instead of LazyFree.
std::uint64_t reclaimFillBytes(const Sample& at_deadline, std::optional<std::uint64_t> lazy_fallback, std::uint64_t effective_limit_bytes,
                               std::uint64_t safety_margin_bytes, std::optional<std::uint64_t> size_bytes,
                               std::optional<std::uint64_t> huge_pages_held = std::nullopt);

}  // namespace memstrain
