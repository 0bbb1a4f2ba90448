#pragma once
// Sends a stage's HTTP actions on a worker thread so that a slow target never delays the
// control loop; each outcome comes back as a RunEvent.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "memstrain/executor/run_record.hpp"
#include "memstrain/plan/plan.hpp"

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
  /// Finishes queued actions (each bounded by its timeout) and joins the worker.
  void stop();

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
  std::thread thread_;
};

}  // namespace memstrain
