#include "memstrain/executor/executor.hpp"

#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "memstrain/actuators/cgroup_spawn.hpp"
#include "memstrain/actuators/setpoint.hpp"
#include "memstrain/actuators/stressor.hpp"
#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/analysis/release.hpp"
#include "memstrain/analysis/window_checks.hpp"
#include "memstrain/executor/actions.hpp"
#include "memstrain/executor/node_guard.hpp"
#include "memstrain/executor/readiness.hpp"
#include "memstrain/executor/resolve.hpp"
#include "memstrain/model/samples_format.hpp"
#include "memstrain/observers/latency_probe.hpp"
#include "memstrain/observers/pprof_observer.hpp"
#include "memstrain/plan/plan_parse.hpp"
#include "memstrain/proc/proc_memory.hpp"
#include "memstrain/proc/proc_pressure.hpp"
#include "memstrain/proc/proc_stat.hpp"
#include "memstrain/proc/thp.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {

std::string makeRunId() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "run-%Y%m%d-%H%M%S", &tm);
  return std::string(buf) + "-" + std::to_string(::getpid());
}

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double secondsBetween(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Undo actions, run in reverse order of registration. Each records its own failure.
class CleanupStack {
 public:
  void push(std::string what, std::function<Status()> undo) { steps_.push_back({std::move(what), std::move(undo)}); }
  void runAll(RunRecord& rec) {
    while (!steps_.empty()) {
      auto step = std::move(steps_.back());
      steps_.pop_back();
      Status st = step.undo();
      if (!st) {
        rec.cleanup_ok = false;
        rec.cleanup_errors.push_back(step.what + ": " + st.error().message);
        spdlog::error("cleanup: {}: {}", step.what, st.error().message);
      } else {
        spdlog::debug("cleanup: {}", step.what);
      }
    }
  }

 private:
  struct Step {
    std::string what;
    std::function<Status()> undo;
  };
  std::vector<Step> steps_;
};

bool stopRequested(const std::atomic<int>* flag) { return flag && flag->load() != 0; }

Result<ProbeConfig> toProbeConfig(const ProbeSpec& p) {
  ProbeConfig c;
  c.name = p.name;
  c.url = p.url;
  c.method = p.method;
  c.headers = p.headers;
  c.body = p.body;
  c.rate_per_s = p.rate_per_s;
  c.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(p.timeout);
  auto ranges = parseStatusRanges(p.expect_status);
  if (!ranges) return Error{"probe " + p.name + ": " + ranges.error().message};
  c.expect_status = *ranges;
  c.max_in_flight = p.max_in_flight;
  c.concurrency = p.concurrency;
  return c;
}

}  // namespace

Executor::Executor(CgroupFs fs, std::unique_ptr<CgroupEditor> editor, ExecutorOptions options)
    : fs_(std::move(fs)), editor_(std::move(editor)), options_(std::move(options)) {}

RunRecord Executor::run(const Plan& plan, const Resolution& res, const std::string& run_id) {
  RunRecord rec;
  rec.plan = plan;
  rec.plan_path = options_.plan_path;
  rec.resolution = res;
  rec.run_id = run_id;
  rec.out_dir = options_.out_dir;
  {
    utsname u{};
    if (::uname(&u) == 0) {
      rec.kernel = u.release;
      rec.hostname = u.nodename;
    }
  }
  if (auto thp = readThpMode(); thp) {
    rec.thp = *thp;
  } else {
    spdlog::debug("transparent huge pages: {}", thp.error().message);
  }
  rec.started_wall_ms = wallMs();
  CleanupStack cleanup;
  auto fail = [&](const std::string& msg) {
    if (rec.status == RunStatus::kCompleted) {
      rec.status = RunStatus::kError;
      rec.error = msg;
    }
    spdlog::error("{}", msg);
  };
  std::optional<JournalWriter> journal;
  auto finish = [&]() -> RunRecord {
    if (options_.progress) options_.progress->finish();
    cleanup.runAll(rec);
    if (journal) {
      if (rec.cleanup_ok) {
        if (auto st = journal->remove(); !st) spdlog::warn("journal: {}", st.error().message);
      } else {
        spdlog::error("cleanup was incomplete; `memstrain recover` will retry it from {}", journal->path());
      }
    }
    std::stable_sort(rec.events.begin(), rec.events.end(), [](const RunEvent& a, const RunEvent& b) { return a.t_s < b.t_s; });
    rec.ended_wall_ms = wallMs();
    return std::move(rec);
  };

  // Crash safety: a dead run's leftovers block new runs until recovered; this run's own journal is
  // on disk before the first change.
  {
    std::vector<std::string> problems;
    auto dead = findDeadJournals(options_.journal_dir, &problems, options_.proc_root);
    for (const auto& p : problems) spdlog::warn("journal: {}", p);
    if (!dead.empty()) {
      fail("a previous run (" + dead.front().second.run_id + ") died without cleaning up; its journal is " + dead.front().first +
           ": run `memstrain recover` first (`memstrain recover --dry-run` shows what it will undo)");
      return finish();
    }
    Journal j;
    j.run_id = run_id;
    j.owner_pid = ::getpid();
    j.owner_start_time = processStartTime(::getpid(), options_.proc_root).value_or(0);
    j.cgroup_mount = fs_.mount();
    j.cgroup_version = fs_.version();
    j.cgroups = res.cgroups_to_create;
    journal.emplace(options_.journal_dir, std::move(j));
    if (auto st = journal->save(); !st) {
      journal.reset();
      fail("write the run journal: " + st.error().message);
      return finish();
    }
  }
  auto journalProcess = [&](pid_t pid, const char* role) {
    journal->journal().processes.push_back({pid, processStartTime(pid, options_.proc_root).value_or(0), role});
    if (auto st = journal->save(); !st) spdlog::warn("journal: {}", st.error().message);
  };

  std::ofstream samples_out(joinPath(options_.out_dir, "samples.jsonl"), std::ios::trunc);
  if (!samples_out) {
    fail("cannot write " + joinPath(options_.out_dir, "samples.jsonl"));
    return finish();
  }
  // samples.jsonl is written by this thread (cgroup samples) and the pprof observer's.
  std::mutex samples_mu;
  auto writeSampleLine = [&samples_out, &samples_mu](const nlohmann::json& j) {
    std::lock_guard<std::mutex> lock(samples_mu);
    samples_out << j.dump() << '\n';
    samples_out.flush();
  };
  // Progress sees every sample as it is written (the sink has its own lock).
  auto writeSample = [&writeSampleLine, this](const nlohmann::json& j) {
    writeSampleLine(j);
    if (options_.progress) options_.progress->observeSample(j);
  };

  // 1. Cgroups, parents first; each removal is registered before anything is put inside it.
  for (const auto& cg : res.cgroups_to_create) {
    if (auto st = editor_->create(cg); !st) {
      fail("create cgroup " + cg + ": " + st.error().message);
      return finish();
    }
    const bool shared_parent = (res.launch && cg == parentCgroup(res.run_cgroup)) || (res.node && cg == options_.cgroup_parent);
    cleanup.push("remove cgroup " + cg, [this, cg, shared_parent]() -> Status {
      if (!fs_.exists(cg)) return {};
      if (shared_parent) {
        // Other runs may be using the memstrain parent: remove it only when it is empty.
        Status st = editor_->remove(cg);
        return st.ok() || st.error().sys_errno == EBUSY || st.error().sys_errno == ENOTEMPTY ? Status{} : st;
      }
      if (auto st = killAllMembers(fs_, cg); !st) return st;
      return editor_->remove(cg);
    });
  }
  if (res.launch) {
    if (auto st = editor_->setLimit(res.run_cgroup, plan.target.launch->memory_limit_bytes); !st) {
      fail("set memory limit of " + res.run_cgroup + ": " + st.error().message);
      return finish();
    }
  }

  // 2. The target (launch mode): started suspended, moved into its cgroup, then released.
  if (res.launch) {
    const LaunchSpec& l = *plan.target.launch;
    SpawnOptions so;
    so.argv = l.command;
    so.env_overrides = l.env;
    so.workdir = l.workdir;
    so.parent_death_signal = SIGKILL;
    so.output_path = joinPath(options_.out_dir, "target.log");
    CgroupEntry entry = CgroupEntry::kMoved;
    std::string why_moved;
    auto child = spawnSuspendedIn(so, *editor_, res.target_cgroup, &entry, &why_moved);
    if (!child) {
      fail("start target in " + res.target_cgroup + ": " + child.error().message);
      return finish();
    }
    if (!why_moved.empty()) spdlog::debug("target moved into its cgroup ({})", why_moved);
    const pid_t pid = child->pid();
    if (auto st = child->release(); !st) {
      fail("start target `" + l.command[0] + "`: " + st.error().message);
      return finish();
    }
    rec.target_pid = pid;
    journalProcess(pid, "target");
    cleanup.push("stop target " + std::to_string(pid), [pid, &rec]() -> Status {
      ExitInfo e = terminate(pid, SIGTERM, std::chrono::milliseconds(3000));
      if (!rec.target_exit) spdlog::debug("target {} stopped: {}", pid, e.describe());
      return {};
    });
    spdlog::info("target started: pid {} in {} ({})", pid, res.target_cgroup, toString(entry));
    if (l.ready_url) {
      if (auto st = waitForReady(*l.ready_url, l.ready_timeout, pid, options_.stop_signal); !st) {
        if (stopRequested(options_.stop_signal)) {
          rec.status = RunStatus::kInterrupted;
          rec.error = "interrupted while waiting for the target";
        } else {
          fail("target not ready: " + st.error().message + " (see " + joinPath(options_.out_dir, "target.log") + ")");
        }
        return finish();
      }
      spdlog::info("target ready: {}", *l.ready_url);
    }
  } else {
    const AttachSpec& a = *plan.target.attach;
    if (a.pid) {
      rec.target_pid = *a.pid;
    } else if (auto procs = fs_.procs(res.target_cgroup); procs && !procs->empty()) {
      rec.target_pid = *std::min_element(procs->begin(), procs->end());
    }
  }

  if (rec.target_pid) {
    // GCCPUFraction is a share of the process's whole life; its start turns it into per-stage shares.
    if (auto start = readProcessStartUnixNs(*rec.target_pid, options_.proc_root)) {
      rec.target_start_unix_ns = *start;
      if (options_.progress) options_.progress->targetStarted(*start);
    } else {
      spdlog::debug("target start time: {}", start.error().message);
    }
  }

  // 3. The stressor, when any stage applies pressure.
  std::string self = options_.self_exe;
  if (self.empty()) {
    auto s = selfExePath();
    if (!s) {
      fail(s.error().message);
      return finish();
    }
    self = *s;
  }
  std::unique_ptr<Stressor> stressor;
  std::uint32_t stressor_spawns = 0;
  auto spawnStressor = [&]() -> bool {
    Stressor::Options so;
    so.self_exe = self;
    so.reserve_bytes = res.stressor_reserve_bytes;
    so.log_path = joinPath(options_.out_dir, "stressor.log");
    for (const auto& s : plan.stages) {
      if (s.pressure) {
        so.oom_score_adj = s.pressure->oom_score_adj;
        break;
      }
    }
    auto st = Stressor::spawn(so, *editor_, res.stressor_cgroup);
    if (!st) {
      fail(st.error().message);
      return false;
    }
    stressor = std::move(*st);
    ++stressor_spawns;
    journalProcess(stressor->pid(), "stressor");
    spdlog::info("stressor started: pid {} in {}", stressor->pid(), res.stressor_cgroup);
    return true;
  };
  cleanup.push("stop stressor", [&stressor]() -> Status {
    if (stressor) stressor->stop();
    return {};
  });
  if (res.placement && !spawnStressor()) return finish();

  // 4. Stages.
  // Latency probes start with the first stage; each keeps one merged window for the current stage.
  std::vector<std::unique_ptr<LatencyProbe>> probes;
  for (const auto& spec : plan.target.probes) {
    auto cfg = toProbeConfig(spec);
    if (!cfg) {
      fail(cfg.error().message);
      return finish();
    }
    probes.push_back(std::make_unique<LatencyProbe>(std::move(*cfg)));
  }
  cleanup.push("stop latency probes", [&probes]() -> Status {
    for (auto& p : probes) p->stop();
    return {};
  });
  const Clock::time_point t0 = Clock::now();
  for (auto& p : probes) {
    if (auto st = p->start(); !st) {
      fail("start probe " + p->config().name + ": " + st.error().message);
      return finish();
    }
  }
  std::vector<std::optional<ProbeWindow>> stage_windows(probes.size());
  // Window checks: a slice a second (probe windows + the samples since the last slice) goes to a
  // pure evaluator; a failing `abort` check ends the run as aborted.
  std::vector<std::string> probe_names;
  for (const auto& spec : plan.target.probes) probe_names.push_back(spec.name);
  std::vector<std::string> stage_names;
  for (const auto& st : plan.stages) stage_names.push_back(st.name);
  WindowEvaluator window_eval(plan.checks, stage_names, probe_names);
  std::vector<std::optional<ProbeWindow>> slice_probes(probes.size());
  Clock::time_point next_latency_window = t0 + std::chrono::seconds(1);
  // Takes a window from every probe, writes it as a per-second sample and folds it into the stage.
  auto collectLatency = [&](std::size_t stage_idx) {
    const double t = secondsBetween(t0, Clock::now());
    for (std::size_t k = 0; k < probes.size(); ++k) {
      ProbeWindow w = probes[k]->takeWindow();
      writeSample(latencyWindowToJson(w, probes[k]->config().name, t, plan.stages[stage_idx].name));
      if (window_eval.needsLatency()) {
        if (slice_probes[k])
          slice_probes[k]->merge(w);
        else
          slice_probes[k] = w;
      }
      if (stage_windows[k])
        stage_windows[k]->merge(w);
      else
        stage_windows[k] = std::move(w);
    }
  };
  ActionRunner actions;
  std::unique_ptr<PprofObserver> pprof;
  if (plan.target.pprof_url) {
    PprofObserver::Options po;
    po.base_url = *plan.target.pprof_url;
    po.interval = plan.sampling.pprof_interval;
    po.client.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(plan.pprof.timeout);
    po.client.connect_timeout = std::min(po.client.connect_timeout, po.client.timeout);
    po.client.limits.max_compressed_bytes = plan.pprof.max_body_bytes;
    po.client.limits.max_decompressed_bytes = plan.pprof.max_decompressed_bytes;
    po.client.gc_before_heap = plan.pprof.gc_before_heap;
    po.profiles_dir = joinPath(options_.out_dir, "profiles");
    if (plan.pprof.growth_objects || plan.pprof.growth_fraction) {
      po.trigger = GrowthTrigger{plan.pprof.growth_objects, plan.pprof.growth_fraction, plan.pprof.growth_window, 5};
    }
    pprof = std::make_unique<PprofObserver>(std::move(po), t0, writeSample);
    pprof->setStage(0, plan.stages.front().name);
    pprof->start();
  }
  std::uint64_t last_target_oom = 0;
  std::uint32_t stressor_kills_unattributed = 0;
  bool have_oom_baseline = false;
  const bool separate_measured = res.measured_cgroup != res.target_cgroup;
  // Node placement measures the node: in use (MemTotal - MemAvailable) against MemTotal.
  auto nodeSample = [&]() -> std::optional<NodeMemory> {
    auto m = readNodeMemory(options_.proc_root);
    return m ? std::optional<NodeMemory>(*m) : std::nullopt;
  };
  auto measuredUsage = [&]() -> Result<std::uint64_t> {
    if (!res.node) return fs_.usage(res.measured_cgroup);
    auto m = readNodeMemory(options_.proc_root);
    if (!m) return m.error();
    return nodeUsedBytes(*m);
  };
  const bool separate_stressor_cg = res.stressor_cgroup != res.target_cgroup;

  std::uint64_t pending_kills = 0;
  double pending_since_s = 0;
  std::size_t pending_stage = 0;
  constexpr double kOomGraceS = 0.5;
  auto takeSample = [&](std::size_t stage_idx, std::optional<std::uint64_t> setpoint, bool final_sample = false) -> bool {
    Sample s;
    s.t_s = secondsBetween(t0, Clock::now());
    s.wall_ms = wallMs();
    s.stage = stage_idx;
    auto tc = fs_.sample(res.target_cgroup);
    if (!tc) {
      fail("sample " + res.target_cgroup + ": " + tc.error().message);
      return false;
    }
    s.target_cgroup = std::move(*tc);
    if (res.node) {
      if (auto m = nodeSample()) {
        CgroupSample node;
        node.usage_bytes = nodeUsedBytes(*m);
        node.limit_bytes = m->total_bytes;
        s.measured_cgroup = node;
      }
    } else if (separate_measured) {
      if (auto mc = fs_.sample(res.measured_cgroup)) s.measured_cgroup = std::move(*mc);
    }
    if (separate_stressor_cg) {
      if (auto sc = fs_.sample(res.stressor_cgroup)) s.stressor_cgroup = std::move(*sc);
    }
    s.effective_limit_bytes = res.effective_limit_bytes;
    s.setpoint_bytes = setpoint;
    if (stressor) {
      s.stressor_target_bytes = stressor->targetBytes();
      s.stressor_populated_bytes = stressor->populatedBytes();
      // status, not smaps_rollup: walking the page tables of gigabytes every sample costs a core.
      if (auto pm = readProcessMemoryCheap(stressor->pid(), options_.proc_root)) s.stressor_process = *pm;
    }
    if (rec.target_pid) {
      if (auto pm = readProcessMemory(*rec.target_pid, options_.proc_root)) s.target_process = *pm;
    }
    // cgroup v1 has no PSI per cgroup: the host's figure is what there is (the report says so).
    if (!(s.measured_cgroup ? s.measured_cgroup->pressure : s.target_cgroup.pressure)) {
      if (auto psi = readSystemMemoryPressure(options_.proc_root); psi && *psi) s.system_pressure = **psi;
    }
    // OOM kills since the last sample, split between target and stressor. The kernel bumps the
    // counter before we can reap a killed stressor, so new kills wait up to kOomGraceS for a
    // stressor death to explain them before they are counted against the target.
    const std::uint64_t target_oom = s.target_cgroup.oom_kill_count;
    if (have_oom_baseline && !rec.stages.empty()) {
      const std::uint64_t d = target_oom >= last_target_oom ? target_oom - last_target_oom : 0;
      if (d > 0 && pending_kills == 0) {
        pending_since_s = s.t_s;
        pending_stage = rec.stages.size() - 1;
      }
      pending_kills += d;
      if (!separate_stressor_cg) {
        // Inside: the target cgroup's counter also counts the stressor's kills.
        const std::uint64_t mine = std::min<std::uint64_t>(pending_kills, stressor_kills_unattributed);
        pending_kills -= mine;
        stressor_kills_unattributed -= static_cast<std::uint32_t>(mine);
      }
      if (pending_kills > 0 && (final_sample || s.t_s - pending_since_s >= kOomGraceS)) {
        StageRecord& st = rec.stages[pending_stage];
        st.target_oom_kills += static_cast<std::uint32_t>(pending_kills);
        rec.events.push_back({pending_since_s, "target_oom_kill", st.name,
                              std::to_string(pending_kills) + " OOM kill(s) of target processes in " + res.target_cgroup});
        spdlog::warn("OOM kill in the target's cgroup {} ({} new)", res.target_cgroup, pending_kills);
        pending_kills = 0;
      }
    }
    last_target_oom = target_oom;
    have_oom_baseline = true;
    writeSample(sampleToJson(s, plan.stages[stage_idx].name));
    rec.samples.push_back(std::move(s));
    return true;
  };

  bool stop_all = false;
  double last_slice_s = 0;
  std::optional<std::pair<double, double>> latest_gc_cpu;  // (t, cumulative GC s) of the latest MemStats reading
  std::optional<double> last_reading_t;                    // and its time
  std::size_t slice_first_sample = 0;
  Clock::time_point next_slice = t0 + std::chrono::seconds(1);
  // Feeds the window evaluator what happened since the last slice; true when it says abort.
  auto feedWindows = [&](std::size_t stage_idx) -> bool {
    WindowSlice sl;
    sl.end_s = secondsBetween(t0, Clock::now());
    sl.seconds = sl.end_s - last_slice_s;
    sl.stage = stage_idx;
    if (pprof && rec.target_start_unix_ns) {
      // Readings newer than the last one seen: a reading is stamped when its request starts and
      // lands when it ends, so a cut by slice time would lose the one in flight at the cut.
      const auto readings = pprof->memstatsSince(last_reading_t ? *last_reading_t + 1e-6 : 0.0);
      if (!readings.empty()) {
        last_reading_t = readings.back().t_s;
        if (auto c = gcCpuSeconds(readings.back().stats, *rec.target_start_unix_ns))
          latest_gc_cpu = std::make_pair(readings.back().t_s, *c);
      }
      sl.gc_cpu = latest_gc_cpu;
    }
    last_slice_s = sl.end_s;
    if (window_eval.needsLatency()) {
      for (auto& w : slice_probes) {
        sl.probes.push_back(w ? std::move(*w) : ProbeWindow{});
        w.reset();
      }
    }
    std::vector<double> usage, rss;
    for (; slice_first_sample < rec.samples.size(); ++slice_first_sample) {
      const Sample& smp = rec.samples[slice_first_sample];
      usage.push_back(static_cast<double>(smp.measuredUsage()));
      if (smp.target_process) rss.push_back(static_cast<double>(smp.target_process->rss_bytes));
      const CgroupSample& mc = smp.measured_cgroup ? *smp.measured_cgroup : smp.target_cgroup;
      const std::optional<Psi>& psi = mc.pressure ? mc.pressure : smp.system_pressure;
      if (psi) {
        sl.psi_some_avg10 = std::max(sl.psi_some_avg10.value_or(0.0), psi->some.avg10 / 100.0);
        if (psi->full) sl.psi_full_avg10 = std::max(sl.psi_full_avg10.value_or(0.0), psi->full->avg10 / 100.0);
      }
    }
    sl.usage = summarize(usage);
    sl.target_rss = summarize(rss);
    auto verdict = window_eval.push(std::move(sl));
    if (!verdict || rec.status != RunStatus::kCompleted) return false;  // an error or a signal ended it first
    rec.status = RunStatus::kAborted;
    rec.error = "aborted by check \"" + verdict->check + "\" in stage " + verdict->stage + ": " + verdict->explanation;
    rec.events.push_back({verdict->t_s, "aborted", verdict->stage, rec.error});
    spdlog::warn("{}; stopping the pressure", rec.error);
    rec.abort = std::move(*verdict);
    return true;
  };
  auto checkProcesses = [&](std::size_t stage_idx) {
    const double t = secondsBetween(t0, Clock::now());
    if (stressor) {
      stressor->pollPopulated();
      if (auto e = stressor->checkExited()) {
        const bool oom = e->signaled && e->signal == SIGKILL;
        std::string detail = "stressor pid " + std::to_string(stressor->pid()) + " " + e->describe() + " while holding " +
                             formatBytes(stressor->populatedBytes());
        if (oom) {
          detail += " (OOM killer)";
          rec.stages.back().stressor_oom_kills += 1;
          ++stressor_kills_unattributed;
        }
        rec.events.push_back({t, oom ? "stressor_oom_kill" : "stressor_exit", plan.stages[stage_idx].name, detail});
        spdlog::warn("{}", detail);
        stressor.reset();
      }
    }
    if (res.launch && rec.target_pid && !rec.target_exit) {
      if (auto e = pollExit(*rec.target_pid)) {
        rec.target_exit = *e;
        rec.events.push_back(
            {t, "target_exit", plan.stages[stage_idx].name, "target pid " + std::to_string(*rec.target_pid) + " " + e->describe()});
        fail("target exited during stage " + plan.stages[stage_idx].name + ": " + e->describe());
        stop_all = true;
      }
    } else if (!res.launch && rec.target_pid && ::kill(*rec.target_pid, 0) != 0 && errno == ESRCH) {
      rec.events.push_back({t, "target_exit", plan.stages[stage_idx].name, "target pid " + std::to_string(*rec.target_pid) + " is gone"});
      fail("target pid " + std::to_string(*rec.target_pid) + " ended during stage " + plan.stages[stage_idx].name);
      stop_all = true;
    }
  };

  // The stressor's own release: the measured cgroup's charge before the first pressure.
  std::optional<StressorReleaseMeasure> stressor_release;
  auto targetRssCheap = [&]() -> std::uint64_t {
    if (!rec.target_pid) return 0;
    auto pm = readProcessMemoryCheap(*rec.target_pid, options_.proc_root);
    return pm ? pm->rss_bytes : 0;
  };

  // The measured cgroup's anonymous memory and the target's (RssAnon), for the stressor's release:
  // left unset when either cannot be read (node placement measures no cgroup).
  auto readAnon = [&](std::optional<std::uint64_t>& cgroup_anon, std::optional<std::uint64_t>& target_anon) {
    if (res.node || !rec.target_pid) return;
    auto s = fs_.sample(res.measured_cgroup);
    auto pm = readProcessMemoryCheap(*rec.target_pid, options_.proc_root);
    if (!s || !pm) return;
    cgroup_anon = s->stat.anon_bytes;
    target_anon = pm->anonymous_bytes;
  };
  for (std::size_t i = 0; i < res.stages.size() && !stop_all; ++i) {
    const ResolvedStage& stage = res.stages[i];
    const Clock::time_point stage_start = Clock::now();
    const Clock::time_point stage_end = stage_start + stage.duration;
    StageRecord started;
    started.name = stage.name;
    started.start_s = secondsBetween(t0, stage_start);
    rec.stages.push_back(std::move(started));
    spdlog::info("stage {}/{} {} ({})", i + 1, res.stages.size(), stage.name, formatDuration(stage.duration));
    if (pprof) pprof->setStage(i, stage.name);
    const std::optional<ReleaseSpec>& release = plan.stages[i].release;
    if ((stage.pressure || (release && release->reclaim)) && !stressor_release) {
      if (auto u = fs_.usage(res.measured_cgroup)) {
        stressor_release = StressorReleaseMeasure{};
        stressor_release->baseline_usage_bytes = *u;
        stressor_release->baseline_target_rss_bytes = targetRssCheap();
        readAnon(stressor_release->baseline_anon_bytes, stressor_release->baseline_target_anon_bytes);
      }
    }
    if (stage.pressure && !stressor) {
      if (stressor_spawns >= 16) {
        fail("stressor was killed " + std::to_string(stressor_spawns) + " times; giving up");
        break;
      }
      if (!spawnStressor()) break;
    }
    // CPU accounting for the stage: read now, and again at its end.
    auto cpuOf = [&](pid_t pid) -> std::optional<double> {
      auto c = readProcessCpu(pid, options_.proc_root);
      return c ? std::optional<double>(c->total()) : std::nullopt;
    };
    const std::optional<double> cpu_self0 = cpuOf(::getpid());
    const pid_t stressor_pid0 = stressor ? stressor->pid() : -1;
    const std::optional<double> cpu_stressor0 = stressor ? cpuOf(stressor_pid0) : std::nullopt;
    auto cgroupCpu = [&]() -> std::optional<double> {
      auto procs = fs_.procs(res.target_cgroup);
      if (!procs) return std::nullopt;
      return sumProcessCpuSeconds(*procs, options_.proc_root);
    };
    const std::optional<double> cpu_cgroup0 = cgroupCpu();
    std::uint64_t start_usage = 0;
    if (auto u = measuredUsage()) start_usage = *u;
    const std::uint64_t start_stressor = stressor ? stressor->populatedBytes() : 0;
    Clock::time_point next_sample = stage_start;
    // Release stages sample faster (the time to return is read from these samples) and read
    // MemStats faster; the trigger fires after a short "before" window.
    const std::chrono::nanoseconds sample_interval =
        release ? std::min<std::chrono::nanoseconds>(plan.sampling.interval, std::chrono::milliseconds(100)) : plan.sampling.interval;
    // kBefore: waiting for a MemStats reading of this stage (the "before" of the runtime view);
    // the stage's actions are held back meanwhile. kArmed: waiting for the trigger's time.
    enum class ReleasePhase { kBefore, kArmed, kWatching, kReclaim, kDone };
    ReleasePhase phase = ReleasePhase::kDone;
    Clock::time_point trigger_due = stage_start, deadline = stage_start, reclaim_end = stage_start;
    const Clock::time_point before_give_up =
        stage_start + std::min<std::chrono::nanoseconds>(plan.pprof.timeout + std::chrono::milliseconds(500), stage.duration / 4);
    std::optional<pid_t> trigger_child;
    if (release) {
      rec.stages.back().release.emplace();
      rec.stages.back().release->trigger = release->trigger ? toString(release->trigger->kind) : "none";
      trigger_due = stage_start + (release->trigger ? release->trigger->at : std::chrono::nanoseconds(0));
      phase = ReleasePhase::kBefore;
      if (pprof) pprof->setFastInterval(std::min<std::chrono::nanoseconds>(plan.sampling.pprof_interval, std::chrono::milliseconds(250)));
    }
    // Fires the trigger; returns an error text when it could not be fired.
    auto fireTrigger = [&](const ReleaseTrigger& t, double t_s) -> std::string {
      switch (t.kind) {
        case ReleaseTrigger::Kind::kHttp: {
          StageAction a;
          a.method = t.method;
          a.url = t.url;
          a.timeout = t.timeout;
          actions.submit(a, stage.name, t_s);
          return {};
        }
        case ReleaseTrigger::Kind::kSignal: {
          if (!rec.target_pid) return "no target pid to signal";
          if (::kill(*rec.target_pid, t.signal) != 0) return Error::fromErrno("kill " + std::to_string(*rec.target_pid)).message;
          rec.events.push_back({t_s, "release_trigger", stage.name,
                                std::string("sent SIG") + (sigabbrev_np(t.signal) ? sigabbrev_np(t.signal) : "?") + " to target pid " +
                                    std::to_string(*rec.target_pid)});
          return {};
        }
        case ReleaseTrigger::Kind::kCommand: {
          SpawnOptions so;
          so.argv = t.command;
          so.output_path = joinPath(options_.out_dir, "release-trigger.log");
          auto child = spawnSuspended(so);
          if (!child) return child.error().message;
          const pid_t pid = child->pid();
          if (auto st = child->release(); !st) return st.error().message;
          trigger_child = pid;
          rec.events.push_back({t_s, "release_trigger", stage.name, "started `" + t.command[0] + "` as pid " + std::to_string(pid)});
          return {};
        }
      }
      return "unknown trigger";
    };
    const std::vector<StageAction>& stage_actions = plan.stages[i].actions;
    std::size_t next_action = 0;
    std::optional<std::uint64_t> setpoint;
    for (;;) {
      const Clock::time_point now = Clock::now();
      if (stopRequested(options_.stop_signal)) {
        rec.status = RunStatus::kInterrupted;
        const char* sig_name = sigabbrev_np(options_.stop_signal->load());
        rec.error = std::string("interrupted by SIG") + (sig_name ? sig_name : "?") + " during stage " + stage.name;
        rec.events.push_back({secondsBetween(t0, now), "interrupted", stage.name, rec.error});
        stop_all = true;
        break;
      }
      checkProcesses(i);
      if (stop_all) break;
      if (now >= stage_end) break;
      const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - stage_start);
      if (release && phase == ReleasePhase::kBefore) {
        const bool have_runtime = !pprof || !pprof->memstatsSince(rec.stages.back().start_s).empty();
        // Right after a pressure stage the stressor is still giving its pages back: the "before"
        // of the OS view waits until it holds nothing, or the cgroup's drop would be its drop.
        bool stressor_drained = true;
        if (stressor) {
          (void)stressor->setTarget(0);
          stressor->pollPopulated();
          stressor_drained = stressor->populatedBytes() == 0;
        }
        if ((have_runtime && stressor_drained) || now >= before_give_up) {
          (void)takeSample(i, std::nullopt);
          ReleaseRecord& rr = *rec.stages.back().release;
          rr.window_start_s = secondsBetween(t0, Clock::now());
          rr.trigger_s = rr.deadline_s = rr.window_start_s;
          phase = ReleasePhase::kArmed;
        }
      }
      while (phase != ReleasePhase::kBefore && next_action < stage_actions.size() && elapsed >= stage_actions[next_action].at) {
        actions.submit(stage_actions[next_action++], stage.name, secondsBetween(t0, now));
      }
      if (release && phase == ReleasePhase::kArmed && (now >= trigger_due || !release->trigger)) {
        ReleaseRecord& rr = *rec.stages.back().release;
        if (release->trigger) {
          rr.trigger_s = secondsBetween(t0, Clock::now());
          rr.trigger_error = fireTrigger(*release->trigger, rr.trigger_s);
          if (!rr.trigger_error.empty()) {
            rec.events.push_back({rr.trigger_s, "release_trigger_error", stage.name, rr.trigger_error});
            spdlog::warn("release trigger: {}", rr.trigger_error);
          }
        }
        deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rr.trigger_s)) + release->within;
        rr.deadline_s = rr.trigger_s + std::chrono::duration<double>(release->within).count();
        phase = ReleasePhase::kWatching;
      }
      if (trigger_child) {
        if (auto e = pollExit(*trigger_child)) {
          rec.events.push_back({secondsBetween(t0, now), "release_trigger", stage.name, "trigger command " + e->describe()});
          trigger_child.reset();
        }
      }
      if (release && phase == ReleasePhase::kWatching && now >= deadline) {
        (void)takeSample(i, std::nullopt);
        phase = ReleasePhase::kDone;
        if (release->reclaim) {
          ReleaseRecord& rr = *rec.stages.back().release;
          rr.reclaim.emplace();
          const ReleaseResult so_far =
              analyzeRelease(releaseInputFor(rec, i, pprof ? pprof->memstatsSince(0) : std::vector<MemStatsSample>{}));
          if (!reclaimFollows(so_far.outcome)) {
            rr.reclaim->skipped = true;
            rr.reclaim->skipped_reason = std::string("the outcome at the deadline was ") + toString(so_far.outcome);
          } else if (!stressor && !spawnStressor()) {
            stop_all = true;
            break;
          } else {
            // Fill the measured cgroup to limit - margin, counting the held pages (LazyFree, or pieces
            // of huge pages still charged) as free: the kernel has to take them back for the
            // stressor to get there.
            const Sample& last = rec.samples.back();
            const std::uint64_t lazy = so_far.outcome == ReleaseOutcome::kHugePagesHeld             ? so_far.huge_page_held_bytes
                                       : last.target_process && last.target_process->lazyfree_bytes ? *last.target_process->lazyfree_bytes
                                                                                                    : so_far.lazy_bytes.value_or(0);
            const std::uint64_t others =
                last.measuredUsage() > last.stressor_populated_bytes ? last.measuredUsage() - last.stressor_populated_bytes : 0;
            const std::uint64_t non_lazy = others > lazy ? others - lazy : 0;
            const std::uint64_t ceiling =
                res.effective_limit_bytes > res.safety_margin_bytes ? res.effective_limit_bytes - res.safety_margin_bytes : 0;
            const std::uint64_t want = release->reclaim->size_bytes.value_or(ceiling > non_lazy ? ceiling - non_lazy : 0);
            rr.reclaim->start_s = secondsBetween(t0, Clock::now());
            rr.reclaim->stressor_requested_bytes = want;
            reclaim_end = Clock::now() + release->reclaim->duration;
            if (auto st = stressor->setTarget(want); !st) spdlog::debug("{}", st.error().message);
            spdlog::info("release: {} after {}; reclaim pressure: stressor {} for {}", toString(so_far.outcome),
                         formatDuration(release->within), formatBytes(want), formatDuration(release->reclaim->duration));
            phase = ReleasePhase::kReclaim;
          }
        }
      }
      if (phase == ReleasePhase::kReclaim) {
        ReclaimRecord& rc = *rec.stages.back().release->reclaim;
        if (stressor) rc.stressor_reached_bytes = std::max(rc.stressor_reached_bytes, stressor->populatedBytes());
        if (now >= reclaim_end) {
          (void)takeSample(i, std::nullopt);
          rc.end_s = secondsBetween(t0, Clock::now());
          if (stressor) (void)stressor->setTarget(0);
          phase = ReleasePhase::kDone;
        }
      }
      PressureGoal goal;
      setpoint.reset();
      if (stage.setpoint_bytes) {
        setpoint = rampValue(start_usage, *stage.setpoint_bytes, elapsed, stage.pressure->ramp);
        goal.usage_setpoint_bytes = setpoint;
      } else if (stage.size_bytes) {
        goal.stressor_bytes = rampValue(start_stressor, *stage.size_bytes, elapsed, stage.pressure->ramp);
      }
      if (stressor && res.node) {
        // The floor is a hard stop: the stressor goes at once, then the run ends with the reason.
        if (auto m = nodeSample(); m) {
          if (auto why = nodeFloorBreach(*res.node, *m)) {
            const std::uint64_t held = stressor->populatedBytes();
            stressor->stop(std::chrono::milliseconds(0));
            stressor.reset();
            const std::string msg = *why + " while the stressor held " + formatBytes(held) + "; pressure stopped";
            rec.events.push_back({secondsBetween(t0, now), "node_floor", stage.name, msg});
            fail(msg);
            stop_all = true;
            break;
          }
        }
      }
      if (stressor && phase != ReleasePhase::kReclaim) {
        auto usage = measuredUsage();
        if (!usage) {
          fail("read usage of " + res.measured_cgroup + ": " + usage.error().message);
          stop_all = true;
          break;
        }
        ControlInput in;
        in.usage_bytes = *usage;
        in.stressor_bytes = stressor->populatedBytes();
        in.effective_limit_bytes = res.effective_limit_bytes == kUnlimited ? 0 : res.effective_limit_bytes;
        in.safety_margin_bytes = res.safety_margin_bytes;
        in.allow_oom = stage.pressure && stage.pressure->allow_oom;
        const std::uint64_t want = nextStressorBytes(goal, in);
        if (auto st = stressor->setTarget(want); !st) spdlog::debug("{}", st.error().message);
      }
      if (now >= next_sample) {
        if (!takeSample(i, setpoint)) {
          stop_all = true;
          break;
        }
        next_sample += sample_interval;
        if (next_sample < now) next_sample = now + sample_interval;
      }
      if (options_.progress) {
        options_.progress->tick({stage.name, i, res.stages.size(), std::chrono::duration<double>(elapsed).count(),
                                 std::chrono::duration<double>(stage.duration).count(), secondsBetween(t0, now),
                                 std::chrono::duration<double>(plan.totalDuration()).count()});
      }
      for (auto& e : actions.drain()) rec.events.push_back(std::move(e));
      if (!probes.empty() && now >= next_latency_window) {
        collectLatency(i);
        next_latency_window += std::chrono::seconds(1);
        if (next_latency_window < now) next_latency_window = now + std::chrono::seconds(1);
      }
      if (window_eval.active() && now >= next_slice) {
        next_slice += std::chrono::seconds(1);
        if (next_slice < now) next_slice = now + std::chrono::seconds(1);
        if (feedWindows(i)) {
          stop_all = true;
          break;
        }
      }
      Clock::time_point wake = std::min({now + options_.control_period, stage_end, next_sample});
      if (next_action < stage_actions.size()) wake = std::min(wake, stage_start + stage_actions[next_action].at);
      if (phase == ReleasePhase::kArmed) wake = std::min(wake, trigger_due);
      if (phase == ReleasePhase::kWatching) wake = std::min(wake, deadline);
      if (phase == ReleasePhase::kReclaim) wake = std::min(wake, reclaim_end);
      std::this_thread::sleep_until(wake);
    }
    if (release) {
      ReleaseRecord& rr = *rec.stages.back().release;
      const double end_s = secondsBetween(t0, Clock::now());
      if (phase == ReleasePhase::kBefore) rr.window_start_s = rr.trigger_s = end_s;
      if (phase == ReleasePhase::kBefore || phase == ReleasePhase::kArmed) rr.deadline_s = end_s;
      if (phase == ReleasePhase::kWatching) rr.deadline_s = std::min(rr.deadline_s, end_s);
      if (phase == ReleasePhase::kReclaim) {
        rr.reclaim->end_s = end_s;
        if (stressor) (void)stressor->setTarget(0);
      }
      if (pprof) pprof->setFastInterval(std::nullopt);
      if (trigger_child) {
        ExitInfo e = terminate(*trigger_child, SIGTERM, std::chrono::milliseconds(1000));
        rec.events.push_back({end_s, "release_trigger", stage.name, "trigger command stopped at the stage's end: " + e.describe()});
      }
    }
    StageRecord& done = rec.stages.back();
    if (!probes.empty()) {
      collectLatency(i);  // the partial second up to the boundary belongs to this stage
      for (std::size_t k = 0; k < probes.size(); ++k) {
        if (stage_windows[k]) done.latency.push_back(stageLatencyOf(probes[k]->config().name, *stage_windows[k]));
        stage_windows[k].reset();
      }
    }
    done.end_s = secondsBetween(t0, Clock::now());
    done.completed = !stop_all;
    // The partial second up to the boundary; an abort here still ends the run before the next stage.
    if (window_eval.active() && !stop_all && feedWindows(i)) stop_all = true;
    if (auto c = cpuOf(::getpid()); c && cpu_self0) done.controller_cpu_s = *c - *cpu_self0;
    if (stressor && stressor->pid() == stressor_pid0 && cpu_stressor0) {
      if (auto c = cpuOf(stressor_pid0)) done.stressor_cpu_s = *c - *cpu_stressor0;
    } else if (stressor_pid0 < 0 && !stressor) {
      done.stressor_cpu_s = 0.0;
    }
    if (auto c = cgroupCpu(); c && cpu_cgroup0) done.target_cgroup_cpu_s = *c - *cpu_cgroup0;
    if (pprof && !(rec.target_exit)) pprof->requestStageSnapshot(i, stage.name);
  }
  // One last look so the final stage's end (and any late OOM kill, e.g. the one that ended the
  // target) is on record. After an error this may fail again; the first error is kept.
  if (!rec.stages.empty()) {
    if (!stop_all) checkProcesses(rec.stages.size() - 1);
    (void)takeSample(rec.stages.size() - 1, std::nullopt, /*final_sample=*/true);
  }
  // After the last look (which shows the last stage as it ended): the stressor's own release.
  // Told to hold nothing, the cgroup's non-target charge must return to what it was before the
  // first pressure.
  if (stressor_release && stressor && rec.status == RunStatus::kCompleted && !stop_all) {
    (void)stressor->setTarget(0);
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < give_up) {
      stressor->pollPopulated();
      if (stressor->populatedBytes() == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (auto u = fs_.usage(res.measured_cgroup)) {
      stressor_release->after_usage_bytes = *u;
      stressor_release->after_target_rss_bytes = targetRssCheap();
      readAnon(stressor_release->after_anon_bytes, stressor_release->after_target_anon_bytes);
      rec.stressor_release = stressor_release;
    }
  }
  // Interrupted: actions in flight are cut short at once, so cleanup is never held up by a peer.
  actions.stop(rec.status == RunStatus::kInterrupted ? std::chrono::milliseconds(0) : std::chrono::milliseconds(10000));
  for (auto& e : actions.drain()) rec.events.push_back(std::move(e));
  for (auto& p : probes) p->stop();
  rec.window_checks = window_eval.records();
  // The observer finishes its queued snapshots before cleanup stops the target.
  if (pprof) {
    pprof->stop();
    rec.memstats = pprof->memstats();
    rec.pprof_failures = pprof->failures();
    rec.profiles = pprof->snapshots();
  }
  return finish();
}

}  // namespace memstrain
