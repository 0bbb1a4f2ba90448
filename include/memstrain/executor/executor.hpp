#pragma once
// Runs a plan: sets up cgroups and processes, drives the stressor stage by stage, samples the
// target, and always undoes what it did. The result is a RunRecord; judging it is analysis's job.

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/executor/journal.hpp"
#include "memstrain/executor/progress.hpp"
#include "memstrain/model/plan.hpp"
#include "memstrain/model/run_record.hpp"
#include "memstrain/os/clock.hpp"

namespace memstrain {

struct ExecutorOptions {
  std::string out_dir;                       ///< created if missing; samples.jsonl and logs go here
  std::string plan_path;                     ///< for the report
  std::string cgroup_parent = "/memstrain";  ///< launch mode creates run cgroups below this
  std::string proc_root = "/proc";
  std::string self_exe;  ///< memstrain binary for the stressor (default: /proc/self/exe)
  /// Set (to the signal number) by a signal handler to stop the run; checked every tick.
  const std::atomic<int>* stop_signal = nullptr;
  /// Shown live progress: gets every sample written and the stage clock on every tick (may be null).
  std::shared_ptr<ProgressSink> progress;
  std::chrono::milliseconds control_period{50};
  /// Where the crash journal goes; a dead run's journal here blocks new runs until recovered.
  std::string journal_dir = kDefaultJournalDir;
  /// The clock the run keeps time with; null: the real one.
  Clock* clock = nullptr;
};

class Executor {
 public:
  Executor(CgroupFs fs, std::unique_ptr<CgroupEditor> editor, ExecutorOptions options);

  /// Runs `plan` as resolved in `resolution`. Never throws; failures end the run with status
  /// kError and a message, after cleanup.
  RunRecord run(const Plan& plan, const Resolution& resolution, const std::string& run_id);

 private:
  CgroupFs fs_;
  std::unique_ptr<CgroupEditor> editor_;
  ExecutorOptions options_;
};

/// A run id that names cgroups and files: "run-YYYYmmdd-HHMMSS-PID".
std::string makeRunId();

}  // namespace memstrain
