#include "run_session.hpp"

#include <signal.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include <spdlog/spdlog.h>

#include "memstrain/actuators/cgroup_spawn.hpp"
#include "memstrain/actuators/setpoint.hpp"
#include "memstrain/analysis/release.hpp"
#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/discovery/locate.hpp"
#include "memstrain/executor/node_guard.hpp"
#include "memstrain/executor/readiness.hpp"
#include "memstrain/executor/resolve.hpp"
#include "memstrain/model/samples_format.hpp"
#include "memstrain/os/signals.hpp"
#include "memstrain/proc/proc_memory.hpp"
#include "memstrain/proc/proc_stat.hpp"
#include "memstrain/proc/thp.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/json_write.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {
namespace {

bool stopRequested(const std::atomic<int>* flag) { return flag && flag->load() != 0; }

// samples.jsonl's cap: a planned run whose cgroup lines would pass it writes every n-th one.
constexpr std::uint64_t kSamplesFileCapBytes = 1ULL << 30;

// A cgroup line of samples.jsonl is 0.7-1.3 KiB (more in beside mode and on v2 with PSI):
// 1.5 KiB is the budget's estimate.
constexpr std::uint64_t kCgroupLineBytes = 1536;

// Every how many cgroup samples one is written, so that a planned run's samples.jsonl stays under
// kSamplesFileCapBytes (latency and MemStats lines are a few percent of it and are all written).
std::size_t samplesStride(const Plan& plan) {
  const double interval_s = std::chrono::duration<double>(plan.sampling.interval).count();
  const double duration_s = std::chrono::duration<double>(plan.totalDuration()).count();
  if (interval_s <= 0) return 1;
  const double projected = duration_s / interval_s * static_cast<double>(kCgroupLineBytes);
  const double budget = 0.8 * static_cast<double>(kSamplesFileCapBytes);
  return projected <= budget ? 1 : static_cast<std::size_t>(std::ceil(projected / budget));
}

}  // namespace

RunSession::RunSession(CgroupFs& fs, CgroupEditor& editor, const ExecutorOptions& options, const Plan& plan, const Resolution& res,
                       const std::string& run_id)
    : fs_(fs),
      editor_(editor),
      options_(options),
      plan_(plan),
      res_(res),
      clock_(options.clock ? *options.clock : realClock()),
      sampler_(fs, res, options.proc_root),
      oom_(res.stressor_cgroup == res.target_cgroup) {
  rec_.plan = plan;
  rec_.plan_path = options.plan_path;
  rec_.resolution = res;
  rec_.run_id = run_id;
  rec_.out_dir = options.out_dir;
  utsname u{};
  if (::uname(&u) == 0) {
    rec_.kernel = u.release;
    rec_.hostname = u.nodename;
  }
  if (auto thp = readThpMode(); thp) {
    rec_.thp = *thp;
  } else {
    spdlog::debug("transparent huge pages: {}", thp.error().message);
  }
  rec_.started_wall_ms = clock_.wallMs();
}

void RunSession::fail(const std::string& msg) {
  if (rec_.status == RunStatus::kCompleted) {
    rec_.status = RunStatus::kError;
    rec_.error = msg;
  }
  spdlog::error("{}", msg);
}

// --- Set-up ----------------------------------------------------------------------------------

bool RunSession::checkTargetVisible() {
  // Without the target's processes a run cannot see it die, nor its RSS.
  if (!res_.hidden_target) return true;
  if (!plan_.target.attach || !plan_.target.attach->cgroup_only) {
    fail("target not visible: " + *res_.hidden_target +
         ". Run memstrain in the target's pid namespace (hostPID: true in a pod, --pid=host for a container), or set "
         "target.attach.cgroup_only: true to accept watching the cgroup alone");
    return false;
  }
  spdlog::warn("target.attach.cgroup_only: watching the cgroup alone: {}", *res_.hidden_target);
  rec_.events.push_back({0, "target_not_visible", "", *res_.hidden_target + "; target.attach.cgroup_only: watching the cgroup alone"});
  return true;
}

bool RunSession::openJournal() {
  // Crash safety: a dead run's leftovers block new runs until recovered; this run's own journal is
  // on disk before the first change.
  std::vector<std::string> problems;
  auto dead = findDeadJournals(options_.journal_dir, &problems, options_.proc_root);
  for (const auto& p : problems) spdlog::warn("journal: {}", p);
  if (!dead.empty()) {
    const std::string dir_arg = options_.journal_dir == kDefaultJournalDir ? "" : " --journal-dir " + options_.journal_dir;
    fail("a previous run (" + dead.front().second.run_id + ") died without cleaning up; its journal is " + dead.front().first +
         ": run `memstrain recover" + dir_arg +
         "` first (with --dry-run it shows what it will undo; on Kubernetes: " + "k8s/memstrain-launch.sh recover --node NODE)");
    return false;
  }
  Journal j;
  j.run_id = rec_.run_id;
  j.owner_pid = ::getpid();
  j.owner_start_time = processStartTime(::getpid(), options_.proc_root).value_or(0);
  j.cgroup_mount = fs_.mount();
  j.cgroup_version = fs_.version();
  j.cgroups = res_.cgroups_to_create;
  journal_.emplace(options_.journal_dir, std::move(j));
  if (auto st = journal_->save(); !st) {
    journal_.reset();
    fail("write the run journal: " + st.error().message + ". The journal lets `memstrain recover` undo this run if memstrain dies, so " +
         "it needs a writable directory that outlives memstrain: pass --journal-dir DIR (in a pod: mount a hostPath directory " +
         "read-write, e.g. /run/memstrain/jobs of the node, and pass it, as k8s/job.yaml does)");
    return false;
  }
  return true;
}

void RunSession::journalProcess(pid_t pid, const char* role) {
  journal_->journal().processes.push_back({pid, processStartTime(pid, options_.proc_root).value_or(0), role});
  if (auto st = journal_->save(); !st) spdlog::warn("journal: {}", st.error().message);
}

bool RunSession::openSamples() {
  const std::string path = joinPath(options_.out_dir, "samples.jsonl");
  auto dir = openOutputDir(options_.out_dir, DirTrust::kOutput);
  auto fd = dir ? openAppendAt(dir->get(), "samples.jsonl", 0644, path) : Result<UniqueFd>(dir.error());
  if (!fd || ::ftruncate(fd->get(), 0) != 0) {
    fail("cannot write " + path + ": " + (fd ? Error::fromErrno("truncate").message : fd.error().message));
    return false;
  }
  samples_fd_ = std::move(*fd);
  sample_stride_ = samplesStride(plan_);
  if (sample_stride_ > 1) {
    spdlog::info("samples.jsonl: {} of planned run at {} sampling would pass {}; every {}th cgroup sample is written (all are analysed)",
                 formatDuration(plan_.totalDuration()), formatDuration(plan_.sampling.interval), formatBytes(kSamplesFileCapBytes),
                 sample_stride_);
  }
  return true;
}

void RunSession::writeSample(const nlohmann::json& j) {
  {
    // One write(2) per line on an O_APPEND descriptor; what is not UTF-8 becomes U+FFFD.
    const std::string line = dumpJson(j) + "\n";
    std::lock_guard<std::mutex> lock(samples_mu_);
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(samples_fd_.get(), line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // a full disk: the run goes on; the figures in memory are complete
      done += static_cast<std::size_t>(n);
    }
  }
  // Progress sees every sample as it is written (the sink has its own lock).
  if (options_.progress) options_.progress->observeSample(j);
}

bool RunSession::createCgroups() {
  for (const auto& cg : res_.cgroups_to_create) {
    if (auto st = editor_.create(cg); !st) {
      fail("create cgroup " + cg + ": " + st.error().message);
      return false;
    }
    const bool shared_parent = (res_.launch && cg == parentCgroup(res_.run_cgroup)) || (res_.node && cg == options_.cgroup_parent);
    cleanup_.push_back({"remove cgroup " + cg, [this, cg, shared_parent]() -> Status {
                          if (!fs_.exists(cg)) return {};
                          if (shared_parent) {
                            // Other runs may be using the memstrain parent: remove it only when it is empty.
                            Status st = editor_.remove(cg);
                            return st.ok() || st.error().sys_errno == EBUSY || st.error().sys_errno == ENOTEMPTY ? Status{} : st;
                          }
                          if (auto st = killAllMembers(fs_, cg); !st) return st;
                          return editor_.remove(cg);
                        }});
  }
  if (res_.launch) {
    if (auto st = editor_.setLimit(res_.run_cgroup, plan_.target.launch->memory_limit_bytes); !st) {
      fail("set memory limit of " + res_.run_cgroup + ": " + st.error().message);
      return false;
    }
  }
  return true;
}

bool RunSession::startTarget() {
  if (res_.launch) {
    const LaunchSpec& l = *plan_.target.launch;
    SpawnOptions so;
    so.argv = l.command;
    so.env_overrides = l.env;
    so.workdir = l.workdir;
    so.parent_death_signal = SIGKILL;
    so.output_path = joinPath(options_.out_dir, "target.log");
    CgroupEntry entry = CgroupEntry::kMoved;
    std::string why_moved;
    auto child = spawnSuspendedIn(so, editor_, res_.target_cgroup, &entry, &why_moved);
    if (!child) {
      fail("start target in " + res_.target_cgroup + ": " + child.error().message);
      return false;
    }
    if (!why_moved.empty()) spdlog::debug("target moved into its cgroup ({})", why_moved);
    const pid_t pid = child->pid();
    if (auto st = child->release(); !st) {
      fail("start target `" + l.command[0] + "`: " + st.error().message);
      return false;
    }
    rec_.target_pid = pid;
    if (auto pinned = PinnedProcess::pin(pid, std::nullopt)) target_.emplace(std::move(*pinned));
    journalProcess(pid, "target");
    cleanup_.push_back({"stop target " + std::to_string(pid), [this, pid]() -> Status {
                          ExitInfo e = terminate(pid, SIGTERM, std::chrono::milliseconds(3000));
                          if (!rec_.target_exit) spdlog::debug("target {} stopped: {}", pid, e.describe());
                          return {};
                        }});
    spdlog::info("target started: pid {} in {} ({})", pid, res_.target_cgroup, toString(entry));
    if (l.ready_url) {
      if (auto st = waitForReady(*l.ready_url, l.ready_timeout, pid, options_.stop_signal); !st) {
        if (stopRequested(options_.stop_signal)) {
          rec_.status = RunStatus::kInterrupted;
          rec_.error = "interrupted while waiting for the target";
        } else {
          fail("target not ready: " + st.error().message + " (see " + joinPath(options_.out_dir, "target.log") + ")");
        }
        return false;
      }
      spdlog::info("target ready: {}", *l.ready_url);
    }
  } else {
    const AttachSpec& a = *plan_.target.attach;
    if (a.pid) {
      // The process resolved, not whoever has its pid now.
      auto pinned = PinnedProcess::pin(*a.pid, res_.attach_pid_start_time, options_.proc_root);
      if (!pinned) {
        fail("target pid " + std::to_string(*a.pid) + ": " + pinned.error().message);
        return false;
      }
      target_.emplace(std::move(*pinned));
      rec_.target_pid = *a.pid;
    } else if (auto procs = visibleProcesses(fs_, res_.target_cgroup); procs && !procs->empty()) {
      rec_.target_pid = procs->front();  // the lowest, in the cgroup or below it
      if (auto pinned = PinnedProcess::pin(*rec_.target_pid, std::nullopt)) target_.emplace(std::move(*pinned));
    }
  }
  if (rec_.target_pid) {
    // GCCPUFraction is a share of the process's whole life; its start turns it into per-stage shares.
    if (auto start = readProcessStartUnixNs(*rec_.target_pid, options_.proc_root)) {
      rec_.target_start_unix_ns = *start;
      if (options_.progress) options_.progress->targetStarted(*start);
    } else {
      spdlog::debug("target start time: {}", start.error().message);
    }
  }
  return true;
}

bool RunSession::spawnStressor() {
  Stressor::Options so;
  so.self_exe = self_exe_;
  so.reserve_bytes = res_.stressor_reserve_bytes;
  so.log_path = joinPath(options_.out_dir, "stressor.log");
  for (const auto& s : plan_.stages) {
    if (s.pressure) {
      so.oom_score_adj = s.pressure->oom_score_adj;
      break;
    }
  }
  auto st = Stressor::spawn(so, editor_, res_.stressor_cgroup);
  if (!st) {
    fail(st.error().message);
    return false;
  }
  stressor_ = std::move(*st);
  ++stressor_spawns_;
  journalProcess(stressor_->pid(), "stressor");
  spdlog::info("stressor started: pid {} in {}", stressor_->pid(), res_.stressor_cgroup);
  return true;
}

bool RunSession::startStressor() {
  self_exe_ = options_.self_exe;
  if (self_exe_.empty()) {
    auto s = selfExePath();
    if (!s) {
      fail(s.error().message);
      return false;
    }
    self_exe_ = *s;
  }
  cleanup_.push_back({"stop stressor", [this]() -> Status {
                        if (stressor_) stressor_->stop();
                        return {};
                      }});
  return !res_.placement || spawnStressor();
}

bool RunSession::startObservers() {
  // Latency probes start with the first stage; each keeps one merged window for the current stage.
  for (const auto& spec : plan_.target.probes) probes_.push_back(std::make_unique<LatencyProbe>(spec));
  cleanup_.push_back({"stop latency probes", [this]() -> Status {
                        for (auto& p : probes_) p->stop();
                        return {};
                      }});
  t0_ = clock_.now();
  for (auto& p : probes_) {
    if (auto st = p->start(); !st) {
      fail("start probe " + p->config().name + ": " + st.error().message);
      return false;
    }
  }
  stage_windows_.resize(probes_.size());
  next_latency_window_ = t0_ + std::chrono::seconds(1);
  // Window checks: a slice a second (probe windows + the samples since the last slice) goes to a
  // pure evaluator; a failing `abort` check ends the run as aborted.
  std::vector<std::string> probe_names;
  for (const auto& spec : plan_.target.probes) probe_names.push_back(spec.name);
  std::vector<std::string> stage_names;
  for (const auto& st : plan_.stages) stage_names.push_back(st.name);
  window_eval_.emplace(plan_.checks, stage_names, probe_names);
  feeder_.emplace(probes_.size(), window_eval_->needsLatency());
  next_slice_ = t0_ + std::chrono::seconds(1);
  actions_.emplace();
  if (plan_.target.pprof_url) {
    PprofObserver::Options po;
    po.base_url = *plan_.target.pprof_url;
    po.interval = plan_.sampling.pprof_interval;
    po.client.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(plan_.pprof.timeout);
    po.client.connect_timeout = std::min(po.client.connect_timeout, po.client.timeout);
    po.client.limits.max_compressed_bytes = plan_.pprof.max_body_bytes;
    po.client.limits.max_decompressed_bytes = plan_.pprof.max_decompressed_bytes;
    po.client.gc_before_heap = plan_.pprof.gc_before_heap;
    po.profiles_dir = joinPath(options_.out_dir, "profiles");
    po.live_interval = plan_.pprof.live_interval;
    if (plan_.pprof.growth_objects || plan_.pprof.growth_fraction) {
      po.trigger = GrowthTrigger{plan_.pprof.growth_objects, plan_.pprof.growth_fraction, plan_.pprof.growth_window, 5};
    }
    pprof_ = std::make_unique<PprofObserver>(std::move(po), t0_, [this](const nlohmann::json& j) { writeSample(j); });
    pprof_->setStage(0, plan_.stages.front().name);
    pprof_->start();
  }
  return true;
}

// --- Readings --------------------------------------------------------------------------------

bool RunSession::takeSample(std::size_t stage_idx, std::optional<std::uint64_t> setpoint, bool final_sample) {
  const double t_s = nowSeconds();
  const std::int64_t wall_ms = clock_.wallMs();
  // LazyFree (smaps_rollup, a walk of the target's page tables) only where a release is judged and
  // at the last look; elsewhere the target's RSS from status.
  const bool release_stage = stage_idx < rec_.plan.stages.size() && rec_.plan.stages[stage_idx].release.has_value();
  const auto detail = release_stage || final_sample ? CgroupSampler::TargetDetail::kFull : CgroupSampler::TargetDetail::kRss;
  auto read = sampler_.read(stressor_ ? std::optional<pid_t>(stressor_->pid()) : std::nullopt, rec_.target_pid, detail);
  if (!read) {
    fail(read.error().message);
    return false;
  }
  Sample s = std::move(*read);
  s.t_s = t_s;
  s.wall_ms = wall_ms;
  s.stage = stage_idx;
  s.setpoint_bytes = setpoint;
  if (stressor_) {
    s.stressor_target_bytes = stressor_->targetBytes();
    // An ended stressor (the OOM killer's pick) holds nothing, whatever it last reported.
    s.stressor_populated_bytes = stressor_->checkExited() ? 0 : stressor_->populatedBytes();
  }
  const auto stage = rec_.stages.empty() ? std::nullopt : std::optional<std::size_t>(rec_.stages.size() - 1);
  if (auto kills = oom_.observe(s.t_s, s.target_cgroup.oom_kill_count, stage, final_sample)) {
    StageRecord& st = rec_.stages[kills->stage];
    st.target_oom_kills += kills->count;
    rec_.events.push_back({kills->since_s, "target_oom_kill", st.name,
                           std::to_string(kills->count) + " OOM kill(s) of target processes in " + res_.target_cgroup});
    spdlog::warn("OOM kill in the target's cgroup {} ({} new)", res_.target_cgroup, kills->count);
  }
  // samples.jsonl: every sample of a run under the file's cap, every n-th above it; release
  // windows and the final look always.
  if (cgroup_samples_++ % sample_stride_ == 0 || keep_samples_ || final_sample) writeSample(sampleToJson(s, plan_.stages[stage_idx].name));
  if (stage_idx < rec_.sample_stats.size()) rec_.sample_stats[stage_idx].add(s);
  if (window_eval_ && window_eval_->active()) feeder_->addSample(s);
  if (keep_samples_) {
    // memory.stat's every key is not needed after parsing; a kept sample holds only its figures.
    s.target_cgroup.stat.raw.clear();
    if (s.measured_cgroup) s.measured_cgroup->stat.raw.clear();
    if (s.stressor_cgroup) s.stressor_cgroup->stat.raw.clear();
    rec_.samples.push_back(std::move(s));
  }
  return true;
}

void RunSession::collectLatency(std::size_t stage_idx) {
  const double t = nowSeconds();
  for (std::size_t k = 0; k < probes_.size(); ++k) {
    ProbeWindow w = probes_[k]->takeWindow();
    writeSample(latencyWindowToJson(w, probes_[k]->config().name, t, plan_.stages[stage_idx].name));
    if (options_.progress) options_.progress->observeLatencyWindow(probes_[k]->config().name, stage_idx, w);
    feeder_->addProbeWindow(k, w);
    if (stage_windows_[k])
      stage_windows_[k]->merge(w);
    else
      stage_windows_[k] = std::move(w);
  }
}

bool RunSession::feedWindows(std::size_t stage_idx) {
  const double end_s = nowSeconds();
  std::optional<std::vector<MemStatsSample>> readings;
  if (pprof_ && rec_.target_start_unix_ns) readings = pprof_->memstatsSince(feeder_->newReadingsAfter());
  auto verdict = window_eval_->push(feeder_->cut(end_s, stage_idx, readings ? &*readings : nullptr, rec_.target_start_unix_ns));
  if (options_.progress) options_.progress->observeWindowChecks(window_eval_->records());
  if (!verdict || rec_.status != RunStatus::kCompleted) return false;  // an error or a signal ended it first
  rec_.status = RunStatus::kAborted;
  rec_.error = "aborted by check \"" + verdict->check + "\" in stage " + verdict->stage + ": " + verdict->explanation;
  rec_.events.push_back({verdict->t_s, "aborted", verdict->stage, rec_.error});
  spdlog::warn("{}; stopping the pressure", rec_.error);
  rec_.abort = std::move(*verdict);
  releasePressure("the run was aborted by check \"" + rec_.abort->check + "\"");
  return true;
}

void RunSession::checkProcesses(std::size_t stage_idx) {
  const double t = nowSeconds();
  const std::string& stage = plan_.stages[stage_idx].name;
  if (stressor_) {
    stressor_->pollPopulated();
    if (auto e = stressor_->checkExited()) {
      const bool oom = e->signaled && e->signal == SIGKILL;
      std::string detail = "stressor pid " + std::to_string(stressor_->pid()) + " " + e->describe() + " while holding " +
                           formatBytes(stressor_->populatedBytes());
      if (oom) {
        detail += " (OOM killer)";
        rec_.stages.back().stressor_oom_kills += 1;
        oom_.stressorOomKilled();
      }
      rec_.events.push_back({t, oom ? "stressor_oom_kill" : "stressor_exit", stage, detail});
      spdlog::warn("{}", detail);
      stressor_.reset();
    }
  }
  if (res_.launch && rec_.target_pid && !rec_.target_exit) {
    if (auto e = pollExit(*rec_.target_pid)) {
      rec_.target_exit = *e;
      rec_.events.push_back({t, "target_exit", stage, "target pid " + std::to_string(*rec_.target_pid) + " " + e->describe()});
      fail("target exited during stage " + stage + ": " + e->describe());
      stop_all_ = true;
      releasePressure("the target exited");
    }
  } else if (!res_.launch && rec_.target_pid && (target_ ? !target_->alive() : processGone(*rec_.target_pid))) {
    rec_.events.push_back({t, "target_exit", stage, "target pid " + std::to_string(*rec_.target_pid) + " is gone"});
    fail("target pid " + std::to_string(*rec_.target_pid) + " ended during stage " + stage);
    stop_all_ = true;
    releasePressure("the target is gone");
  }
}

std::optional<double> RunSession::cpuOf(pid_t pid) const {
  auto c = readProcessCpu(pid, options_.proc_root);
  return c ? std::optional<double>(c->total()) : std::nullopt;
}

std::optional<double> RunSession::targetCgroupCpu() const {
  auto procs = fs_.procs(res_.target_cgroup);
  if (!procs) return std::nullopt;
  return sumProcessCpuSeconds(*procs, options_.proc_root);
}

std::uint64_t RunSession::targetRssCheap() const {
  if (!rec_.target_pid) return 0;
  auto pm = readProcessMemoryCheap(*rec_.target_pid, options_.proc_root);
  return pm ? pm->rss_bytes : 0;
}

void RunSession::readAnon(std::optional<std::uint64_t>& cgroup_anon, std::optional<std::uint64_t>& target_anon) const {
  if (res_.node || !rec_.target_pid) return;
  auto s = fs_.sample(res_.measured_cgroup);
  auto pm = readProcessMemoryCheap(*rec_.target_pid, options_.proc_root);
  if (!s || !pm) return;
  cgroup_anon = s->stat.anon_bytes;
  target_anon = pm->anonymous_bytes;
}

// --- Stages ----------------------------------------------------------------------------------

bool RunSession::runStage(std::size_t i) {
  if (stop_all_) return false;
  StageRun st;
  st.index = i;
  if (!beginStage(st)) return false;
  while (tick(st, clock_.now())) {
  }
  endStage(st);
  return !stop_all_;
}

bool RunSession::beginStage(StageRun& st) {
  const std::size_t i = st.index;
  const ResolvedStage& stage = res_.stages[i];
  st.stage = &stage;
  st.release = &plan_.stages[i].release;
  st.start = clock_.now();
  st.end = st.start + stage.duration;
  StageRecord started;
  started.name = stage.name;
  started.start_s = runSeconds(st.start);
  rec_.stages.push_back(std::move(started));
  {
    // A rate-limited ramp lasts as long as the distance to its level takes at the rate.
    double rate_ramp_s = 0.0;
    if (stage.pressure && stage.pressure->rate_bytes_per_s) {
      const std::uint64_t from = stage.setpoint_bytes ? sampler_.measuredUsage().valueOr(0) : (stressor_ ? stressor_->populatedBytes() : 0);
      const std::uint64_t to = stage.setpoint_bytes ? *stage.setpoint_bytes : stage.size_bytes.value_or(0);
      rate_ramp_s = static_cast<double>(from > to ? from - to : to - from) / static_cast<double>(*stage.pressure->rate_bytes_per_s);
    }
    const auto [settled_after, error_after] = settleTimes(rec_.stages.back().start_s, stage.pressure, rate_ramp_s);
    rec_.sample_stats.emplace_back(settled_after, error_after);
  }
  keep_samples_ = plan_.stages[i].release.has_value();
  spdlog::info("stage {}/{} {} ({})", i + 1, res_.stages.size(), stage.name, formatDuration(stage.duration));
  if (pprof_) pprof_->setStage(i, stage.name);
  const std::optional<ReleaseSpec>& release = *st.release;
  // The stressor's own release: the measured cgroup's charge before the first pressure.
  if ((stage.pressure || (release && release->reclaim)) && !stressor_release_) {
    if (auto u = fs_.usage(res_.measured_cgroup)) {
      stressor_release_ = StressorReleaseMeasure{};
      stressor_release_->baseline_usage_bytes = *u;
      stressor_release_->baseline_target_rss_bytes = targetRssCheap();
      readAnon(stressor_release_->baseline_anon_bytes, stressor_release_->baseline_target_anon_bytes);
    }
  }
  if (stage.pressure && !stressor_) {
    if (stressor_spawns_ >= 16) {
      fail("stressor was killed " + std::to_string(stressor_spawns_) + " times; giving up");
      return false;
    }
    if (!spawnStressor()) return false;
  }
  // Each pressure stage's own oom_score_adj (the stressor was started with the first one's).
  if (stage.pressure && stressor_ && stressor_->oomScoreAdj() != stage.pressure->oom_score_adj) {
    if (auto s = stressor_->setOomScoreAdj(stage.pressure->oom_score_adj); !s) {
      fail(s.error().message);
      return false;
    }
    rec_.events.push_back(
        {rec_.stages.back().start_s, "stressor_oom_score_adj", stage.name,
         "stressor pid " + std::to_string(stressor_->pid()) + " oom_score_adj set to " + std::to_string(stage.pressure->oom_score_adj)});
  }
  // CPU accounting for the stage: read now, and again at its end.
  st.cpu_self0 = cpuOf(::getpid());
  st.stressor_pid0 = stressor_ ? stressor_->pid() : -1;
  st.cpu_stressor0 = stressor_ ? cpuOf(st.stressor_pid0) : std::nullopt;
  st.cpu_cgroup0 = targetCgroupCpu();
  if (auto u = sampler_.measuredUsage()) st.start_usage = *u;
  st.start_stressor = stressor_ ? stressor_->populatedBytes() : 0;
  if (stressor_) {
    st.fill_pid = stressor_->pid();
    st.fill_seen = stressor_->fillTotals();
  }
  st.next_sample = st.start;
  // Release stages sample faster (the time to return is read from these samples) and read
  // MemStats faster; the trigger fires after a short "before" window.
  st.sample_interval =
      release ? std::min<std::chrono::nanoseconds>(plan_.sampling.interval, std::chrono::milliseconds(100)) : plan_.sampling.interval;
  if (release) {
    rec_.stages.back().release.emplace();
    rec_.stages.back().release->trigger = release->trigger ? toString(release->trigger->kind) : "none";
    st.phase.emplace(*release, st.start, stage.duration, plan_.pprof.timeout);
    if (pprof_) pprof_->setFastInterval(std::min<std::chrono::nanoseconds>(plan_.sampling.pprof_interval, std::chrono::milliseconds(250)));
  }
  return true;
}

bool RunSession::tick(StageRun& st, TimePoint now) {
  const std::size_t i = st.index;
  const ResolvedStage& stage = *st.stage;
  if (stopRequested(options_.stop_signal)) {
    rec_.status = RunStatus::kInterrupted;
    rec_.error = "interrupted by " + signalName(options_.stop_signal->load()) + " during stage " + stage.name;
    rec_.events.push_back({runSeconds(now), "interrupted", stage.name, rec_.error});
    stop_all_ = true;
    releasePressure("interrupted by " + signalName(options_.stop_signal->load()));
    return false;
  }
  checkProcesses(i);
  if (stop_all_) return false;
  if (now >= st.end) return false;
  const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - st.start);
  if (st.phase && st.phase->waitingForBefore()) releaseBefore(st, now);
  // A release stage holds its actions back until the "before" readings are in.
  const std::vector<StageAction>& stage_actions = plan_.stages[i].actions;
  while (!(st.phase && st.phase->waitingForBefore()) && st.next_action < stage_actions.size() &&
         elapsed >= stage_actions[st.next_action].at) {
    actions_->submit(stage_actions[st.next_action++], stage.name, runSeconds(now));
  }
  if (st.phase && !releaseAfter(st, now)) {
    stop_all_ = true;
    return false;
  }
  if (!controlPressure(st, now, elapsed, st.phase && st.phase->state() == ReleasePhase::State::kReclaim)) {
    stop_all_ = true;
    return false;
  }
  if (now >= st.next_sample) {
    if (!takeSample(i, st.setpoint)) {
      stop_all_ = true;
      return false;
    }
    st.next_sample += st.sample_interval;
    if (st.next_sample < now) st.next_sample = now + st.sample_interval;
  }
  if (options_.progress) {
    options_.progress->tick({stage.name, i, res_.stages.size(), std::chrono::duration<double>(elapsed).count(),
                             std::chrono::duration<double>(stage.duration).count(), runSeconds(now),
                             std::chrono::duration<double>(plan_.totalDuration()).count()});
  }
  for (auto& e : actions_->drain()) rec_.events.push_back(std::move(e));
  if (!probes_.empty() && now >= next_latency_window_) {
    collectLatency(i);
    next_latency_window_ += std::chrono::seconds(1);
    if (next_latency_window_ < now) next_latency_window_ = now + std::chrono::seconds(1);
  }
  if (window_eval_->active() && now >= next_slice_) {
    next_slice_ += std::chrono::seconds(1);
    if (next_slice_ < now) next_slice_ = now + std::chrono::seconds(1);
    if (feedWindows(i)) {
      stop_all_ = true;
      return false;
    }
  }
  clock_.sleepUntil(wakeTime(st, now));
  return true;
}

void RunSession::releaseBefore(StageRun& st, TimePoint now) {
  ReleasePhase::Readings r;
  r.runtime_read = !pprof_ || !pprof_->memstatsSince(rec_.stages.back().start_s).empty();
  // Right after a pressure stage the stressor is still giving its pages back: the "before" of the
  // OS view waits until it holds nothing, or the cgroup's drop would be its drop.
  r.stressor_drained = true;
  if (stressor_) {
    (void)stressor_->setTarget(0);
    stressor_->pollPopulated();
    r.stressor_drained = stressor_->drained();
  }
  if (st.phase->due(now, r) != ReleasePhase::Due::kOpenWindow) return;
  (void)takeSample(st.index, std::nullopt);
  ReleaseRecord& rr = *rec_.stages.back().release;
  st.window_opened = clock_.now();
  rr.window_start_s = runSeconds(st.window_opened);
  rr.trigger_s = rr.deadline_s = rr.window_start_s;
  st.phase->windowOpened();
}

bool RunSession::releaseAfter(StageRun& st, TimePoint now) {
  const ReleaseSpec& release = **st.release;
  ReleaseRecord& rr = *rec_.stages.back().release;
  if (st.phase->due(now) == ReleasePhase::Due::kTrigger) {
    TimePoint at = st.window_opened;
    if (release.trigger) {
      at = clock_.now();
      rr.trigger_s = runSeconds(at);
      rr.trigger_error = fireTrigger(st, *release.trigger, rr.trigger_s);
      if (!rr.trigger_error.empty()) {
        rec_.events.push_back({rr.trigger_s, "release_trigger_error", rec_.stages.back().name, rr.trigger_error});
        spdlog::warn("release trigger: {}", rr.trigger_error);
      }
    }
    st.phase->watchFrom(at);
    rr.deadline_s = rr.trigger_s + std::chrono::duration<double>(release.within).count();
  }
  if (st.trigger_child) {
    if (auto e = pollExit(*st.trigger_child)) {
      rec_.events.push_back({runSeconds(now), "release_trigger", rec_.stages.back().name, "trigger command " + e->describe()});
      // Its children may outlive it: the group goes with it.
      if (processGroupAlive(*st.trigger_child)) (void)terminateGroup(*st.trigger_child, SIGKILL, std::chrono::milliseconds(0));
      st.trigger_child.reset();
    } else if (now >= st.trigger_deadline) {
      endTrigger(st, "trigger command timed out after " + formatDuration(release.trigger->timeout), std::chrono::milliseconds(1000));
    }
  }
  if (st.phase->due(now) == ReleasePhase::Due::kJudge) {
    (void)takeSample(st.index, std::nullopt);
    std::optional<TimePoint> reclaim_until;
    if (release.reclaim) {
      rr.reclaim.emplace();
      const ReleaseResult so_far =
          analyzeRelease(releaseInputFor(rec_, st.index, pprof_ ? pprof_->memstatsSince(0) : std::vector<MemStatsSample>{}));
      if (!reclaimFollows(so_far.outcome)) {
        rr.reclaim->skipped = true;
        rr.reclaim->skipped_reason = std::string("the outcome at the deadline was ") + toString(so_far.outcome);
      } else if (!stressor_ && !spawnStressor()) {
        st.phase->judged();
        return false;
      } else {
        const std::optional<std::uint64_t> huge_held =
            so_far.outcome == ReleaseOutcome::kHugePagesHeld ? std::optional<std::uint64_t>(so_far.huge_page_held_bytes) : std::nullopt;
        const std::uint64_t want = reclaimFillBytes(rec_.samples.back(), so_far.lazy_bytes, res_.effective_limit_bytes,
                                                    res_.safety_margin_bytes, release.reclaim->size_bytes, huge_held);
        const TimePoint start = clock_.now();
        rr.reclaim->start_s = runSeconds(start);
        rr.reclaim->stressor_requested_bytes = want;
        reclaim_until = start + release.reclaim->duration;
        if (auto s = stressor_->setTarget(want); !s) spdlog::debug("{}", s.error().message);
        spdlog::info("release: {} after {}; reclaim pressure: stressor {} for {}", toString(so_far.outcome), formatDuration(release.within),
                     formatBytes(want), formatDuration(release.reclaim->duration));
      }
    }
    st.phase->judged(reclaim_until);
    if (!reclaim_until) keep_samples_ = false;  // judged: the analysis has what it reads
  }
  if (st.phase->state() == ReleasePhase::State::kReclaim) {
    ReclaimRecord& rc = *rr.reclaim;
    if (stressor_) rc.stressor_reached_bytes = std::max(rc.stressor_reached_bytes, stressor_->populatedBytes());
    if (st.phase->due(now) == ReleasePhase::Due::kEndReclaim) {
      (void)takeSample(st.index, std::nullopt);
      rc.end_s = nowSeconds();
      if (stressor_) (void)stressor_->setTarget(0);
      st.phase->reclaimEnded();
      keep_samples_ = false;
    }
  }
  return true;
}

std::string RunSession::fireTrigger(StageRun& st, const ReleaseTrigger& t, double t_s) {
  const std::string& stage = rec_.stages.back().name;
  switch (t.kind) {
    case ReleaseTrigger::Kind::kHttp: {
      StageAction a;
      a.method = t.method;
      a.url = t.url;
      a.timeout = t.timeout;
      actions_->submit(a, stage, t_s);
      return {};
    }
    case ReleaseTrigger::Kind::kSignal: {
      if (!rec_.target_pid) return "no target pid to signal";
      // Through the pidfd: never to a later owner of the pid.
      if (auto s = target_ ? target_->signal(t.signal) : sendSignal(*rec_.target_pid, t.signal); !s) return s.error().message;
      rec_.events.push_back(
          {t_s, "release_trigger", stage, "sent " + signalName(t.signal) + " to target pid " + std::to_string(*rec_.target_pid)});
      return {};
    }
    case ReleaseTrigger::Kind::kCommand: {
      // In a process group of its own (SpawnOptions::new_process_group), journaled, ended as a
      // group at its timeout or at the stage's end, whichever comes first.
      SpawnOptions so;
      so.argv = t.command;
      so.new_process_group = true;
      so.output_path = joinPath(options_.out_dir, "release-trigger.log");
      auto child = spawnSuspended(so);
      if (!child) return child.error().message;
      const pid_t pid = child->pid();
      if (auto s = child->release(); !s) return s.error().message;
      st.trigger_child = pid;
      st.trigger_deadline = clock_.now() + std::chrono::duration_cast<Clock::duration>(t.timeout);
      journalProcess(pid, "trigger");
      rec_.events.push_back({t_s, "release_trigger", stage, "started `" + t.command[0] + "` as pid " + std::to_string(pid)});
      return {};
    }
  }
  return "unknown trigger";
}

bool RunSession::controlPressure(StageRun& st, TimePoint now, std::chrono::nanoseconds elapsed, bool reclaiming) {
  const ResolvedStage& stage = *st.stage;
  PressureGoal goal;
  st.setpoint.reset();
  // Toward the level: at once (a spike), linearly over the ramp, or at most `rate` per second.
  auto shaped = [&](std::uint64_t from, std::uint64_t to) {
    if (stage.pressure->rate_bytes_per_s) return rateValue(from, to, elapsed, *stage.pressure->rate_bytes_per_s);
    return rampValue(from, to, elapsed, stage.pressure->ramp);
  };
  if (stage.setpoint_bytes) {
    st.setpoint = shaped(st.start_usage, *stage.setpoint_bytes);
    goal.usage_setpoint_bytes = st.setpoint;
  } else if (stage.size_bytes) {
    goal.stressor_bytes = shaped(st.start_stressor, *stage.size_bytes);
  }
  if (stressor_ && (res_.node || res_.node_guard)) {
    // The floor is a hard stop whatever the placement: the stressor goes at once, then the run
    // ends with the reason.
    if (auto m = sampler_.node()) {
      if (auto why = nodeFloorBreach(res_.node ? *res_.node : *res_.node_guard, *m)) {
        const std::uint64_t held = stressor_->populatedBytes();
        stressor_->stop(std::chrono::milliseconds(0));
        stressor_.reset();
        const std::string msg = *why + " while the stressor held " + formatBytes(held) + "; pressure stopped";
        rec_.events.push_back({runSeconds(now), "node_floor", stage.name, msg});
        fail(msg);
        return false;
      }
    }
  }
  if (stressor_ && !reclaiming) {
    auto usage = sampler_.measuredUsage();
    if (!usage) {
      fail("read usage of " + res_.measured_cgroup + ": " + usage.error().message);
      return false;
    }
    ControlInput in;
    in.usage_bytes = *usage;
    in.stressor_bytes = stressor_->populatedBytes();
    in.effective_limit_bytes = res_.effective_limit_bytes == kUnlimited ? 0 : res_.effective_limit_bytes;
    in.safety_margin_bytes = res_.safety_margin_bytes;
    in.allow_oom = stage.pressure && stage.pressure->allow_oom;
    in.correcting = st.correcting;
    ControlParams params;
    // Hysteresis while holding the level only: a ramp's setpoint moves every tick and is followed.
    if (stage.setpoint_bytes && st.setpoint == *stage.setpoint_bytes) params.hysteresis_bytes = stage.hysteresis_bytes.value_or(0);
    const std::uint64_t want = nextStressorBytes(goal, in, params);
    st.correcting =
        goal.usage_setpoint_bytes &&
        correctsError(static_cast<double>(*goal.usage_setpoint_bytes) - static_cast<double>(in.usage_bytes), in.correcting, params);
    if (auto s = stressor_->setTarget(want); !s) spdlog::debug("{}", s.error().message);
    accountFill(st);
    if (!st.time_to_level_s && stage.pressure) {
      // The level: the stressor holding its (capped) size once the shape is done, or usage within
      // 1% of the limit (at least 1 MiB) of the final setpoint.
      bool at = false;
      if (stage.size_bytes && goal.stressor_bytes == *stage.size_bytes) {
        st.level_bytes = want;
        at = want > 0 && in.stressor_bytes >= want;
      } else if (stage.setpoint_bytes && st.setpoint == *stage.setpoint_bytes) {
        st.level_bytes = *stage.setpoint_bytes;
        const std::uint64_t tol = std::max<std::uint64_t>(1ULL << 20, in.effective_limit_bytes / 100);
        at = (in.usage_bytes > st.level_bytes ? in.usage_bytes - st.level_bytes : st.level_bytes - in.usage_bytes) <= tol;
      }
      if (at) {
        // Seen at this tick; the stressor's last burst says when it actually got there.
        double t = secondsBetween(st.start, now);
        if (auto end = stressor_->fillTotals().last_end_monotonic_ns) {
          timespec ts{};
          ::clock_gettime(CLOCK_MONOTONIC, &ts);
          const double lag = static_cast<double>(static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec - *end) / 1e9;
          if (lag >= 0 && lag < t) t -= lag;
        }
        st.time_to_level_s = t;
      }
    }
  }
  return true;
}

void RunSession::accountFill(StageRun& st) {
  if (!stressor_) return;
  if (stressor_->pid() != st.fill_pid) {  // a new stressor (the last one was killed): its totals start at 0
    st.fill_pid = stressor_->pid();
    st.fill_seen = {};
  }
  const StressorFillTotals& now = stressor_->fillTotals();
  st.fill_bytes += now.bytes - st.fill_seen.bytes;
  st.fill_ns += now.populate_ns - st.fill_seen.populate_ns;
  st.fill_seen = now;
  if (stressor_->populateThreads() > 0) st.fill_threads = stressor_->populateThreads();
}

RunSession::TimePoint RunSession::wakeTime(const StageRun& st, TimePoint now) const {
  TimePoint wake = std::min({now + options_.control_period, st.end, st.next_sample});
  const std::vector<StageAction>& stage_actions = plan_.stages[st.index].actions;
  if (st.next_action < stage_actions.size()) wake = std::min(wake, st.start + stage_actions[st.next_action].at);
  if (st.phase) {
    if (auto w = st.phase->wakeBy()) wake = std::min(wake, *w);
  }
  return wake;
}

void RunSession::endStage(StageRun& st) {
  const std::size_t i = st.index;
  const ResolvedStage& stage = *st.stage;
  if (st.phase) {
    ReleaseRecord& rr = *rec_.stages.back().release;
    const double end_s = nowSeconds();
    const ReleasePhase::State phase = st.phase->state();
    if (phase == ReleasePhase::State::kBefore) rr.window_start_s = rr.trigger_s = end_s;
    if (phase == ReleasePhase::State::kBefore || phase == ReleasePhase::State::kArmed) rr.deadline_s = end_s;
    if (phase == ReleasePhase::State::kWatching) rr.deadline_s = std::min(rr.deadline_s, end_s);
    if (phase == ReleasePhase::State::kReclaim) {
      rr.reclaim->end_s = end_s;
      if (stressor_) (void)stressor_->setTarget(0);
    }
    if (pprof_) pprof_->setFastInterval(std::nullopt);
    if (st.trigger_child) endTrigger(st, "trigger command stopped at the stage's end", std::chrono::milliseconds(1000));
    keep_samples_ = false;
  }
  StageRecord& done = rec_.stages.back();
  if (!probes_.empty()) {
    collectLatency(i);  // the partial second up to the boundary belongs to this stage
    for (std::size_t k = 0; k < probes_.size(); ++k) {
      if (stage_windows_[k]) done.latency.push_back(stageLatencyOf(probes_[k]->config().name, *stage_windows_[k]));
      stage_windows_[k].reset();
    }
  }
  done.end_s = nowSeconds();
  done.completed = !stop_all_;
  // The partial second up to the boundary; an abort here still ends the run before the next stage.
  if (window_eval_->active() && !stop_all_ && feedWindows(i)) stop_all_ = true;
  if (auto c = cpuOf(::getpid()); c && st.cpu_self0) done.controller_cpu_s = *c - *st.cpu_self0;
  if (stressor_ && stressor_->pid() == st.stressor_pid0 && st.cpu_stressor0) {
    if (auto c = cpuOf(st.stressor_pid0)) done.stressor_cpu_s = *c - *st.cpu_stressor0;
  } else if (st.stressor_pid0 < 0 && !stressor_) {
    done.stressor_cpu_s = 0.0;
  }
  if (auto c = targetCgroupCpu(); c && st.cpu_cgroup0) done.target_cgroup_cpu_s = *c - *st.cpu_cgroup0;
  if (stage.pressure && st.fill_pid > 0) {
    if (stressor_) stressor_->pollPopulated();
    accountFill(st);
    StageFill f;
    f.bytes = st.fill_bytes;
    f.populate_s = static_cast<double>(st.fill_ns) / 1e9;
    if (f.bytes > 0 && st.fill_ns > 0) f.bytes_per_s = static_cast<double>(f.bytes) / f.populate_s;
    f.time_to_level_s = st.time_to_level_s;
    f.level_bytes = st.level_bytes;
    f.threads = st.fill_threads;
    f.shape = stage.pressure->rate_bytes_per_s ? "rate" : stage.pressure->ramp.count() > 0 ? "ramp" : "spike";
    done.fill = f;
  }
  if (pprof_ && !(rec_.target_exit)) {
    pprof_->requestStageEndLive(i);
    pprof_->requestStageSnapshot(i, rec_.stages.back().name);
  }
}

void RunSession::endTrigger(StageRun& st, const std::string& why, std::chrono::milliseconds grace) {
  const ExitInfo e = terminateGroup(*st.trigger_child, SIGTERM, grace);
  rec_.events.push_back(
      {nowSeconds(), "release_trigger", rec_.stages.back().name, why + ": " + e.describe() + " (its process group ended)"});
  st.trigger_child.reset();
}

void RunSession::releasePressure(const std::string& why) {
  if (!stressor_) return;
  const std::uint64_t held = stressor_->populatedBytes();
  stressor_->stop(std::chrono::milliseconds(0));
  stressor_.reset();
  const std::string stage = rec_.stages.empty() ? std::string() : rec_.stages.back().name;
  rec_.events.push_back({nowSeconds(), "pressure_released", stage, why + ": the stressor (" + formatBytes(held) + ") was stopped at once"});
  spdlog::info("{}: pressure released ({} held)", why, formatBytes(held));
}

// --- The end ---------------------------------------------------------------------------------

void RunSession::lastLook() {
  // After an error this may fail again; the first error is kept.
  if (rec_.stages.empty()) return;
  if (!stop_all_) checkProcesses(rec_.stages.size() - 1);
  (void)takeSample(rec_.stages.size() - 1, std::nullopt, /*final_sample=*/true);
}

void RunSession::measureStressorRelease() {
  // After the last look (which shows the last stage as it ended).
  if (!stressor_release_ || !stressor_ || rec_.status != RunStatus::kCompleted || stop_all_) return;
  (void)stressor_->setTarget(0);
  const TimePoint give_up = clock_.now() + std::chrono::seconds(3);
  while (clock_.now() < give_up) {
    stressor_->pollPopulated();
    if (stressor_->drained()) break;
    clock_.sleepUntil(clock_.now() + std::chrono::milliseconds(50));
  }
  clock_.sleepUntil(clock_.now() + std::chrono::milliseconds(300));
  if (auto u = fs_.usage(res_.measured_cgroup)) {
    stressor_release_->after_usage_bytes = *u;
    stressor_release_->after_target_rss_bytes = targetRssCheap();
    readAnon(stressor_release_->after_anon_bytes, stressor_release_->after_target_anon_bytes);
    rec_.stressor_release = stressor_release_;
  }
}

void RunSession::stopObservers() {
  const bool early = stopping();
  // A run that stops early cuts actions in flight short at once, so cleanup is never held up by a
  // peer (the pressure is already gone: releasePressure).
  actions_->stop(early ? std::chrono::milliseconds(0) : std::chrono::milliseconds(10000));
  for (auto& e : actions_->drain()) rec_.events.push_back(std::move(e));
  // All probes drain at once: the slowest one's timeout, not their sum.
  std::vector<LatencyProbe*> probes;
  for (auto& p : probes_) probes.push_back(p.get());
  stopProbes(probes);
  rec_.window_checks = window_eval_->records();
  // The observer finishes its queued snapshots before cleanup stops the target; a run that stops
  // early drops them and aborts the request in flight.
  if (pprof_) {
    pprof_->stop(early);
    rec_.memstats = pprof_->memstats();
    rec_.live_heap = pprof_->live();
    rec_.pprof_failures = pprof_->failures();
    rec_.profiles = pprof_->snapshots();
  }
}

RunRecord RunSession::tearDown() {
  if (options_.progress) options_.progress->finish();
  while (!cleanup_.empty()) {
    CleanupStep step = std::move(cleanup_.back());
    cleanup_.pop_back();
    Status st = step.undo();
    if (!st) {
      rec_.cleanup_ok = false;
      rec_.cleanup_errors.push_back(step.what + ": " + st.error().message);
      spdlog::error("cleanup: {}: {}", step.what, st.error().message);
    } else {
      spdlog::debug("cleanup: {}", step.what);
    }
  }
  if (journal_) {
    if (rec_.cleanup_ok) {
      if (auto st = journal_->remove(); !st) spdlog::warn("journal: {}", st.error().message);
    } else {
      spdlog::error("cleanup was incomplete; `memstrain recover` will retry it from {}", journal_->path());
    }
  }
  std::stable_sort(rec_.events.begin(), rec_.events.end(), [](const RunEvent& a, const RunEvent& b) { return a.t_s < b.t_s; });
  rec_.ended_wall_ms = clock_.wallMs();
  return std::move(rec_);
}

}  // namespace memstrain
