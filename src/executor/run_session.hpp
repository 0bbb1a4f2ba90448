#pragma once
// One run of a plan, as Executor::run drives it: the set-up phases (journal, samples file,
// cgroups, target, stressor, observers), the stages (each a loop of control ticks), the last look,
// and the tear-down that undoes what the set-up did. Private to the executor; the decisions it
// takes live in pure parts with their own tests (ReleasePhase, OomAttribution, WindowFeeder,
// the control law in actuators/setpoint).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "memstrain/actuators/stressor.hpp"
#include "memstrain/analysis/window_checks.hpp"
#include "memstrain/executor/actions.hpp"
#include "memstrain/executor/executor.hpp"
#include "memstrain/executor/oom_attribution.hpp"
#include "memstrain/executor/release_phase.hpp"
#include "memstrain/executor/window_feed.hpp"
#include "memstrain/observers/cgroup_sampler.hpp"
#include "memstrain/observers/latency_probe.hpp"
#include "memstrain/observers/pprof_observer.hpp"
#include "memstrain/os/clock.hpp"
#include "memstrain/os/process.hpp"
#include "memstrain/util/fs.hpp"

namespace memstrain {

class RunSession {
 public:
  RunSession(CgroupFs& fs, CgroupEditor& editor, const ExecutorOptions& options, const Plan& plan, const Resolution& res,
             const std::string& run_id);

  // The set-up, in this order. Each returns false when the run cannot go on; the record says why
  // and tearDown() still undoes what was done.

  /// Never blind: refuses an attach target whose processes memstrain cannot see (another pid
  /// namespace) before anything is touched, unless the plan says target.attach.cgroup_only (then
  /// it warns and records a target_not_visible event).
  bool checkTargetVisible();
  /// Refuses to start while a dead run's journal is waiting for `memstrain recover`; writes this
  /// run's journal before the first change.
  bool openJournal();
  bool openSamples();  ///< samples.jsonl in the output directory
  /// The run's cgroups, parents first; each removal is registered before anything is put inside.
  bool createCgroups();
  /// Launch mode: starts the target suspended, moves it into its cgroup, releases it and waits
  /// until it is ready. Attach mode: finds its pid.
  bool startTarget();
  bool startStressor();  ///< when any stage applies pressure
  /// Latency probes, window checks, the action runner and the pprof observer; the run's clock
  /// (t = 0) starts here.
  bool startObservers();

  /// Runs stage `i` to its end. False when no further stage may run (an error, a signal, an abort,
  /// the target gone, or a stressor that cannot be started).
  bool runStage(std::size_t i);
  /// One last look, so that the final stage's end (and a late OOM kill) is on record.
  void lastLook();
  /// The stressor's own release: told to hold nothing, the measured cgroup's non-target charge
  /// must return to what it was before the first pressure.
  void measureStressorRelease();
  /// Stops actions, probes and the pprof observer and keeps what they gathered. A run that stops
  /// early (stopping()) does not wait for peers: actions in flight and the pprof request in flight
  /// are aborted, queued profiles dropped; probes stop in parallel either way.
  void stopObservers();

  /// Release first: stops the stressor at once (SIGKILL; the kernel frees its pages as it exits),
  /// before anything else waits on a peer. Called as soon as the run is known to stop early (a
  /// signal, an abort, the node floor, the target gone, an error). No-op without a stressor.
  void releasePressure(const std::string& why);
  /// True once the run will not complete: an error, a signal, an abort or the target gone.
  bool stopping() const { return stop_all_ || rec_.status != RunStatus::kCompleted; }
  /// Undoes the set-up (cleanup, journal) and hands over the record.
  RunRecord tearDown();

 private:
  using TimePoint = Clock::time_point;

  /// What a stage keeps between its control ticks.
  struct StageRun {
    std::size_t index = 0;
    const ResolvedStage* stage = nullptr;
    const std::optional<ReleaseSpec>* release = nullptr;
    TimePoint start, end;
    std::chrono::nanoseconds sample_interval{0};
    TimePoint next_sample;
    std::size_t next_action = 0;
    std::optional<std::uint64_t> setpoint;
    bool correcting = false;  ///< the closed loop corrected at the last tick (hold hysteresis)
    std::uint64_t start_usage = 0, start_stressor = 0;
    std::optional<double> cpu_self0, cpu_stressor0, cpu_cgroup0;
    pid_t stressor_pid0 = -1;
    std::optional<ReleasePhase> phase;   ///< release stages
    TimePoint window_opened;             ///< when the release window opened
    std::optional<pid_t> trigger_child;  ///< a command trigger: the leader of its own process group
    TimePoint trigger_deadline;          ///< its timeout: then its whole group is ended
    // Fill figures: the stressor's bursts in this stage (summed across a respawn), and when the
    // level was first reached.
    pid_t fill_pid = -1;
    StressorFillTotals fill_seen;
    std::uint64_t fill_bytes = 0;
    std::int64_t fill_ns = 0;
    unsigned fill_threads = 0;
    std::optional<double> time_to_level_s;
    std::uint64_t level_bytes = 0;
  };
  /// Adds the stressor's fill bursts since the last call to the stage's figures.
  void accountFill(StageRun& st);

  /// Ends the run with an error (the first error is kept).
  void fail(const std::string& msg);
  double runSeconds(TimePoint t) const { return secondsBetween(t0_, t); }
  double nowSeconds() const { return runSeconds(clock_.now()); }
  void journalProcess(pid_t pid, const char* role);
  void writeSample(const nlohmann::json& j);
  /// Ends a command trigger's process group (it and every child it started); records how.
  void endTrigger(StageRun& st, const std::string& why, std::chrono::milliseconds grace);
  bool spawnStressor();

  bool beginStage(StageRun& st);
  /// One control tick at `now`; false when the stage ends (its time is up, or the run stops).
  bool tick(StageRun& st, TimePoint now);
  void releaseBefore(StageRun& st, TimePoint now);
  bool releaseAfter(StageRun& st, TimePoint now);
  /// The node floor, then the control law; false when the run must stop.
  bool controlPressure(StageRun& st, TimePoint now, std::chrono::nanoseconds elapsed, bool reclaiming);
  TimePoint wakeTime(const StageRun& st, TimePoint now) const;
  void endStage(StageRun& st);

  /// Reads a sample, attributes new OOM kills and writes it; false (after fail()) when the
  /// target's cgroup cannot be read.
  bool takeSample(std::size_t stage_idx, std::optional<std::uint64_t> setpoint, bool final_sample = false);
  /// Takes a window from every probe, writes it as a per-second sample and folds it into the stage.
  void collectLatency(std::size_t stage_idx);
  /// Feeds the window evaluator what happened since the last slice; true when it says abort.
  bool feedWindows(std::size_t stage_idx);
  /// The stressor's and the target's exits; a target gone ends the run.
  void checkProcesses(std::size_t stage_idx);
  /// Fires a release trigger; returns an error text when it could not be fired.
  std::string fireTrigger(StageRun& st, const ReleaseTrigger& t, double t_s);
  std::optional<double> cpuOf(pid_t pid) const;
  std::optional<double> targetCgroupCpu() const;
  std::uint64_t targetRssCheap() const;
  /// The measured cgroup's anonymous memory and the target's (RssAnon), for the stressor's release:
  /// left unset when either cannot be read (node placement measures no cgroup).
  void readAnon(std::optional<std::uint64_t>& cgroup_anon, std::optional<std::uint64_t>& target_anon) const;

  CgroupFs& fs_;
  CgroupEditor& editor_;
  const ExecutorOptions& options_;
  const Plan& plan_;
  const Resolution& res_;
  Clock& clock_;
  RunRecord rec_;

  /// Undo actions, run in reverse order of registration; each records its own failure.
  struct CleanupStep {
    std::string what;
    std::function<Status()> undo;
  };
  std::vector<CleanupStep> cleanup_;
  std::optional<JournalWriter> journal_;

  // samples.jsonl is written by this thread (cgroup samples) and the pprof observer's, through a
  // descriptor opened without following a symlink.
  UniqueFd samples_fd_;
  std::mutex samples_mu_;
  std::size_t sample_stride_ = 1;  ///< write every n-th cgroup sample (samples.jsonl's cap)
  std::uint64_t cgroup_samples_ = 0;
  /// Release stages keep their samples in the record until judged (the release analysis reads
  /// them one by one); every other sample only feeds the stage's running figures.
  bool keep_samples_ = false;
  /// The target process, pinned (pidfd) so that liveness and signals never reach a later owner of
  /// its pid. Attach mode pins the process resolved (pid and start time).
  std::optional<PinnedProcess> target_;

  std::string self_exe_;
  std::unique_ptr<Stressor> stressor_;
  std::uint32_t stressor_spawns_ = 0;
  std::optional<StressorReleaseMeasure> stressor_release_;

  TimePoint t0_;  ///< the run's clock: t = 0 when the observers start
  CgroupSampler sampler_;
  OomAttribution oom_;
  std::vector<std::unique_ptr<LatencyProbe>> probes_;
  std::vector<std::optional<ProbeWindow>> stage_windows_;  ///< one merged window per probe for the current stage
  TimePoint next_latency_window_;
  std::optional<WindowEvaluator> window_eval_;
  std::optional<WindowFeeder> feeder_;
  TimePoint next_slice_;
  std::optional<ActionRunner> actions_;
  std::unique_ptr<PprofObserver> pprof_;  ///< after samples_out_: it writes there until stopped
  bool stop_all_ = false;
};

}  // namespace memstrain
