#include "memstrain/executor/executor.hpp"

#include <unistd.h>

#include <ctime>

#include "run_session.hpp"

namespace memstrain {

std::string makeRunId() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "run-%Y%m%d-%H%M%S", &tm);
  return std::string(buf) + "-" + std::to_string(::getpid());
}

Executor::Executor(CgroupFs fs, std::unique_ptr<CgroupEditor> editor, ExecutorOptions options)
    : fs_(std::move(fs)), editor_(std::move(editor)), options_(std::move(options)) {}

RunRecord Executor::run(const Plan& plan, const Resolution& res, const std::string& run_id) {
  RunSession run(fs_, *editor_, options_, plan, res, run_id);
  // Set-up, each step undone by the tear-down whatever happens after it: the journal is on disk
  // before the first change; cgroups are created parents first; the target is started suspended,
  // moved into its cgroup and released; the stressor and the observers start; t = 0.
  const bool ready = run.checkTargetVisible() && run.openJournal() && run.openSamples() && run.createCgroups() && run.startTarget() &&
                     run.startStressor() && run.startObservers();
  if (ready) {
    // The stages, each a loop of control ticks, until the last ends or something stops the run
    // (an error, a signal, a window check's abort, the target gone).
    for (std::size_t i = 0; i < res.stages.size() && run.runStage(i); ++i) {
    }
    // Release first: a run that stops early (an error, a signal, an abort, the node floor, the
    // target gone) lets the stressor go before anything waits on a peer. The usual stop points
    // release already; this covers the rest.
    if (run.stopping()) run.releasePressure("the run is ending early");
    run.lastLook();
    run.measureStressorRelease();
    run.stopObservers();
  }
  return run.tearDown();
}

}  // namespace memstrain
