#pragma once
// Running plan copies as child `memstrain run` processes, for the commands that drive many runs
// (`sweep`, `headroom`): signal forwarding, one run into its own directory, reading its figures
// back, and what a progress line says about it. The pure pieces (figures, plan copies) are in
// sweep.hpp; this file does the processes and files.

#include <string>
#include <vector>

#include "memstrain/sweep/sweep.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that record the signal (each is forwarded
/// once to the running child by runChildMemstrain) and ignores SIGPIPE. A third signal exits at
/// once with kExitInterrupted after printing "\n<who>: third signal, exiting". `who` must outlive
/// the process (a string literal).
void installChildRunSignalHandlers(const char* who);

/// Before the first child run: makes `out_dir` (and its parents) and returns the memstrain binary
/// to run, or an Error that says which of the two failed.
Result<std::string> prepareChildRuns(const std::string& out_dir);

/// Signals seen since installChildRunSignalHandlers (0: none).
int childRunSignalCount();

/// Runs `self ARGV_TAIL...` with its output in `log_path`, in its own process group, with SIGTERM
/// as its parent-death signal (it still cleans up if the driver dies). Signals recorded by the
/// handlers are forwarded to it once each. Returns its exit code (128 + signal when it was killed),
/// or an Error when it could not be started.
Result<int> runChildMemstrain(const std::string& self, const std::vector<std::string>& argv_tail, const std::string& log_path);

/// The figures of a finished run read from `dir` (report.json, samples.jsonl). Without a readable
/// report: verdict "error" and `error` says why. `exit_code` is the child's.
SweepRunFigures readRunDir(const std::string& dir, int exit_code);

/// One child run of a plan copy: `plan_text` written to `plan_path`, `memstrain run plan_path --out
/// dir --cgroup-parent parent` with its log in dir/memstrain.log, its figures read back.
struct ChildRun {
  std::string self;  ///< the memstrain binary
  std::string plan_path;
  std::string plan_text;
  std::string dir;
  std::string cgroup_parent;
};

/// Runs one ChildRun. Never fails: a directory, plan file or start problem comes back as verdict
/// "error" with `error` set; an interrupted child has error "interrupted". `took_s` gets the wall time.
SweepRunFigures runPlanCopy(const ChildRun& run, double& took_s);

/// True when a run could not be judged: no report, or the child exited with a run error, cleanup
/// failure, usage error or an unknown code (a signal).
bool runNotJudged(const SweepRunFigures& f);

/// "fail, target OOM-killed at 3.2 s, 24 GC cycles, GC CPU up to 1.0% (churn), peak 250.1 MiB": the
/// outcome of a run for a progress line.
std::string runOutcomeText(const SweepRunFigures& f);

}  // namespace memstrain
