#pragma once
// Whose OOM kill was it? The target cgroup's oom_kill counter counts every kill in it, the
// stressor's too when it shares the cgroup (inside placement), and the kernel bumps the counter
// before memstrain can reap a killed stressor. So new kills wait up to a grace time for a stressor
// death to explain them before they are counted against the target. Pure: readings in, verdicts
// out; no clock (times are the readings' own).

#include <cstddef>
#include <cstdint>
#include <optional>

namespace memstrain {

/// How long new kills in the counter wait for a stressor death to explain them. Measured: on a
/// real cgroup v2 controller (the TCG guest of `make test-cgroup2`) the stressor's death reached
/// memstrain 0.83 s after memory.events showed the kill, and a 0.5 s grace blamed the target; a
/// busy node can be as slow. The kill's time stays the counter's (since_s), only the verdict waits.
inline constexpr double kOomGraceSeconds = 2.0;

/// Kills now counted against the target: how many, when the first of them showed in the counter
/// and the stage it showed in.
struct TargetOomKills {
  std::uint32_t count = 0;
  double since_s = 0;
  std::size_t stage = 0;
};

class OomAttribution {
 public:
  /// `stressor_in_target_cgroup`: inside placement, where the stressor's kills show in the target
  /// cgroup's counter too.
  explicit OomAttribution(bool stressor_in_target_cgroup, double grace_s = kOomGraceSeconds)
      : shared_(stressor_in_target_cgroup), grace_s_(grace_s) {}

  /// The stressor was OOM-killed (it died of SIGKILL): one kill in the counter is its own.
  void stressorOomKilled() { ++stressor_kills_unexplained_; }

  /// A reading of the target cgroup's oom_kill counter at run time `t_s`, taken in `stage`
  /// (nullopt before the first stage). The first reading is the baseline. Returns the kills that
  /// are now the target's: those no stressor death explained within the grace time, or all that
  /// are pending at the `final` reading.
  std::optional<TargetOomKills> observe(double t_s, std::uint64_t counter, std::optional<std::size_t> stage, bool final = false);

 private:
  bool shared_;
  double grace_s_;
  bool have_baseline_ = false;
  std::uint64_t last_counter_ = 0;
  std::uint32_t stressor_kills_unexplained_ = 0;
  std::uint64_t pending_ = 0;
  double pending_since_s_ = 0;
  std::size_t pending_stage_ = 0;
};

}  // namespace memstrain
