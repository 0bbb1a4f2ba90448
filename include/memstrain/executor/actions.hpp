#pragma once
// Sends a stage's HTTP actions on a worker thread so that a slow target never delays the
// control loop; each outcome comes back as a RunEvent.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "memstrain/model/plan.hpp"
#include "memstrain/model/run_record.hpp"

namespace memstrain {

class ActionRunner {
 public:
  ActionRunner();
  ~ActionRunner();
  ActionRunner(const ActionRunner&) = delete;
  ActionRunner& operator=(const ActionRunner&) = delete;

  /// Queues `action`, fired at `t_s` (run clock) during stage `stage`.
  void submit(const StageAction& action, const std::string& stage, double t_s);
  /// Events of the actions finished since the last call.
  std::vector<RunEvent> drain();
  /// Lets queued and in-flight actions finish for at most `grace` in all, then aborts the one in
  /// flight and skips the rest (each skipped one is an "action_skipped" event), and joins the
  /// worker. A peer that hangs or trickles therefore delays the end of a run by `grace` plus about
  /// a second, however many actions are queued. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  struct Job {
    StageAction action;
    std::string stage;
    double t_s;
  };
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<RunEvent> done_;
  bool stopping_ = false;
  bool busy_ = false;               ///< an action is in flight
  std::atomic<bool> abort_{false};  ///< raised when the grace is over: abort in flight, skip queued
  std::thread thread_;
};

}  // namespace memstrain
