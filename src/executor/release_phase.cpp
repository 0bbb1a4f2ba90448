#include "memstrain/executor/release_phase.hpp"

#include <algorithm>

namespace memstrain {

ReleasePhase::ReleasePhase(const ReleaseSpec& spec, TimePoint stage_start, std::chrono::nanoseconds stage_duration,
                           std::chrono::nanoseconds pprof_timeout)
    : has_trigger_(spec.trigger.has_value()),
      within_(spec.within),
      trigger_due_(stage_start + (spec.trigger ? spec.trigger->at : std::chrono::nanoseconds(0))),
      before_give_up_(stage_start + std::min<std::chrono::nanoseconds>(pprof_timeout + std::chrono::milliseconds(500), stage_duration / 4)),
      deadline_(stage_start),
      reclaim_end_(stage_start) {}

ReleasePhase::Due ReleasePhase::due(TimePoint now, const Readings& readings) const {
  switch (state_) {
    case State::kBefore:
      return (readings.runtime_read && readings.stressor_drained) || now >= before_give_up_ ? Due::kOpenWindow : Due::kNothing;
    case State::kArmed: return now >= trigger_due_ || !has_trigger_ ? Due::kTrigger : Due::kNothing;
    case State::kWatching: return now >= deadline_ ? Due::kJudge : Due::kNothing;
    case State::kReclaim: return now >= reclaim_end_ ? Due::kEndReclaim : Due::kNothing;
    case State::kDone: return Due::kNothing;
  }
  return Due::kNothing;
}

ReleasePhase::Due ReleasePhase::due(TimePoint now) const { return due(now, Readings{}); }

void ReleasePhase::windowOpened() {
  if (state_ == State::kBefore) state_ = State::kArmed;
}

void ReleasePhase::watchFrom(TimePoint trigger_at) {
  if (state_ != State::kArmed) return;
  deadline_ = trigger_at + std::chrono::duration_cast<Clock::duration>(within_);
  state_ = State::kWatching;
}

void ReleasePhase::judged(std::optional<TimePoint> reclaim_until) {
  if (state_ != State::kWatching) return;
  if (reclaim_until) {
    reclaim_end_ = *reclaim_until;
    state_ = State::kReclaim;
  } else {
    state_ = State::kDone;
  }
}

void ReleasePhase::reclaimEnded() {
  if (state_ == State::kReclaim) state_ = State::kDone;
}

std::optional<ReleasePhase::TimePoint> ReleasePhase::wakeBy() const {
  switch (state_) {
    case State::kArmed: return trigger_due_;
    case State::kWatching: return deadline_;
    case State::kReclaim: return reclaim_end_;
    case State::kBefore:
    case State::kDone: return std::nullopt;
  }
  return std::nullopt;
}

std::uint64_t reclaimFillBytes(const Sample& at_deadline, std::optional<std::uint64_t> lazy_fallback, std::uint64_t effective_limit_bytes,
                               std::uint64_t safety_margin_bytes, std::optional<std::uint64_t> size_bytes,
                               std::optional<std::uint64_t> huge_pages_held) {
  const Sample& last = at_deadline;
  const std::uint64_t lazy = huge_pages_held                                              ? *huge_pages_held
                             : last.target_process && last.target_process->lazyfree_bytes ? *last.target_process->lazyfree_bytes
                                                                                          : lazy_fallback.value_or(0);
  const std::uint64_t others =
      last.measuredUsage() > last.stressor_populated_bytes ? last.measuredUsage() - last.stressor_populated_bytes : 0;
  const std::uint64_t non_lazy = others > lazy ? others - lazy : 0;
  const std::uint64_t ceiling = effective_limit_bytes > safety_margin_bytes ? effective_limit_bytes - safety_margin_bytes : 0;
  return size_bytes.value_or(ceiling > non_lazy ? ceiling - non_lazy : 0);
}

}  // namespace memstrain
