#include "memstrain/executor/oom_attribution.hpp"

#include <algorithm>

namespace memstrain {

std::optional<TargetOomKills> OomAttribution::observe(double t_s, std::uint64_t counter, std::optional<std::size_t> stage, bool final) {
  std::optional<TargetOomKills> out;
  if (have_baseline_ && stage) {
    const std::uint64_t d = counter >= last_counter_ ? counter - last_counter_ : 0;
    if (d > 0 && pending_ == 0) {
      pending_since_s_ = t_s;
      pending_stage_ = *stage;
    }
    pending_ += d;
    if (shared_) {
      // Inside: the target cgroup's counter also counts the stressor's kills.
      const std::uint64_t mine = std::min<std::uint64_t>(pending_, stressor_kills_unexplained_);
      pending_ -= mine;
      stressor_kills_unexplained_ -= static_cast<std::uint32_t>(mine);
    }
    if (pending_ > 0 && (final || t_s - pending_since_s_ >= grace_s_)) {
      out = TargetOomKills{static_cast<std::uint32_t>(pending_), pending_since_s_, pending_stage_};
      pending_ = 0;
    }
  }
  last_counter_ = counter;
  have_baseline_ = true;
  return out;
}

}  // namespace memstrain
