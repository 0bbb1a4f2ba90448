#include "support/synthetic_run.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <utility>

#include "memstrain/analysis/window_checks.hpp"
#include "memstrain/model/samples_format.hpp"
#include "memstrain/plan/plan_parse.hpp"
#include "support/profile_builder.hpp"

namespace memstrain::testing {
namespace {

constexpr std::uint64_t MiB = 1024 * 1024;
constexpr std::int64_t kWall0Ms = 1'700'000'000'000;                // the first stage's start, Unix ms
constexpr std::int64_t kTargetStartNs = 1'699'999'990'000'000'000;  // 10 s before it

constexpr const char* kPlan = R"({
  "name": "golden",
  "description": "a synthetic run <pinned> & \"escaped\"",
  "target": {
    "launch": {"command": ["tests/target/bin/demo-target", "-addr", "127.0.0.1:6060"],
               "env": {"GOGC": "50", "GOMEMLIMIT": "400MiB", "GODEBUG": "madvdontneed=1"},
               "memory_limit": "512MiB", "ready_url": "http://127.0.0.1:6060/healthz"},
    "pprof_url": "http://127.0.0.1:6060/debug/pprof",
    "probe": [{"name": "work", "url": "http://127.0.0.1:6060/work", "rate_per_s": 50},
              {"name": "health", "url": "http://127.0.0.1:6060/healthz"}]
  },
  "sampling": {"interval": "500ms", "pprof_interval": "2s"},
  "pprof": {"diff_top": 3, "live_interval": "2s"},
  "stages": [
    {"name": "baseline", "duration": "10s"},
    {"name": "ramp", "duration": "10s", "pressure": {"level": "80%", "ramp": "8s"}},
    {"name": "hold", "duration": "10s", "pressure": {"level": "80%"},
     "actions": [{"at": "2s", "url": "http://127.0.0.1:6060/grow?mib=20"}]},
    {"name": "release", "duration": "10s",
     "release": {"trigger": {"url": "http://127.0.0.1:6060/debug/free", "at": "1s"},
                 "expect": {"returned_ratio": 0.8, "within": "4s"},
                 "reclaim": {"duration": "3s"}}}
  ],
  "checks": [
    {"name": "p99 <under> pressure", "metric": "latency.p99", "stages": ["hold"], "max": "40ms",
     "description": "the SLO & its <limit>"},
    {"name": "p99 vs baseline", "metric": "latency.p99", "stages": ["ramp", "hold"], "max_vs_baseline": "2x+5ms"},
    {"name": "health p50", "metric": "latency.p50", "probe": "health", "max": "20ms"},
    {"name": "no OOM kill of target", "metric": "target.oom_kills", "max": 0},
    {"name": "heap growth", "metric": "heap.objects.slope", "stages": ["hold"], "max": "2000/s"},
    {"name": "GC CPU", "metric": "heap.gc_cpu_fraction", "stages": ["hold"], "max": "25%"},
    {"name": "retention", "metric": "heap.live_objects.delta", "stages": ["hold"], "max": 5000},
    {"name": "usage", "metric": "cgroup.usage.max", "max": "450MiB"},
    {"name": "page cache", "metric": "cgroup.file.min", "stages": ["hold"], "min": "8MiB"},
    {"name": "stall", "metric": "psi.some_avg10.max", "max": "30%"},
    {"name": "errors", "metric": "latency.error_rate", "window": "3s", "max": 0.05, "abort": true},
    {"name": "released", "metric": "release.outcome", "stages": ["release"], "equals": "returned"},
    {"name": "goroutines", "metric": "goroutines.delta", "max": 50}
  ]
})";

// The stage a run time falls in (stages are 10 s each).
std::size_t stageAt(double t) { return std::min<std::size_t>(3, static_cast<std::size_t>(t / 10.0)); }

// Usage of the target's cgroup at time t, bytes: flat, a ramp to 80% of 512 MiB, a wobbling hold,
// then a drop after the release trigger (31 s) and a reclaim fill (35-38 s).
std::uint64_t usageAt(double t, bool aborted) {
  const double base = 100.0 * MiB;
  const double level = 0.8 * 512 * MiB;
  double u = base;
  if (t >= 10 && t < 18) u = base + (level - base) * (t - 10) / 8;
  if (t >= 18 && t < 30) u = level + 3.0 * MiB * std::sin(t * 1.3);
  if (aborted && t >= 24) u = 430.0 * MiB;
  if (t >= 30) u = t < 31.5 ? 160.0 * MiB : 110.0 * MiB;
  if (t >= 35 && t < 38) u = 380.0 * MiB;
  return static_cast<std::uint64_t>(u);
}

std::uint64_t stressorAt(double t, bool aborted) {
  const std::uint64_t u = usageAt(t, aborted);
  if (t < 10 || (t >= 30 && t < 35) || t >= 38) return 0;
  if (t >= 35) return 270 * MiB;
  return u > 100 * MiB ? u - 100 * MiB : 0;
}

Sample sampleAt(double t, bool aborted, std::uint64_t oom_kills) {
  Sample s;
  s.t_s = t;
  s.wall_ms = kWall0Ms + static_cast<std::int64_t>(t * 1000);
  s.stage = stageAt(t);
  s.target_cgroup.usage_bytes = usageAt(t, aborted);
  s.target_cgroup.limit_bytes = 512 * MiB;
  s.target_cgroup.oom_kill_count = oom_kills;
  s.target_cgroup.stat.anon_bytes = s.target_cgroup.usage_bytes - 20 * MiB;
  const std::uint64_t file = t >= 20 && t < 30 ? 9 * MiB + static_cast<std::uint64_t>(t) * 4096 : 18 * MiB;
  s.target_cgroup.stat.file_bytes = file;
  s.target_cgroup.stat.inactive_file_bytes = file / 2;
  s.target_cgroup.stat.major_faults = static_cast<std::uint64_t>(t * t * 3);
  s.target_cgroup.stat.refaults_file = static_cast<std::uint64_t>(t * 7);
  s.effective_limit_bytes = 512 * MiB;
  if (t >= 10 && t < 18) s.setpoint_bytes = static_cast<std::uint64_t>(100.0 * MiB + (0.8 * 512 * MiB - 100.0 * MiB) * (t - 10) / 8);
  if (t >= 18 && t < 30) s.setpoint_bytes = static_cast<std::uint64_t>(0.8 * 512 * MiB);
  s.stressor_populated_bytes = stressorAt(t, aborted);
  s.stressor_target_bytes = s.stressor_populated_bytes + (t >= 10 && t < 30 ? 2 * MiB : 0);
  if (s.stressor_populated_bytes > 0)
    s.stressor_process = ProcessMemory{s.stressor_populated_bytes + MiB, s.stressor_populated_bytes, {}, 0, {}};
  ProcessMemory target;
  const std::uint64_t target_usage = s.target_cgroup.usage_bytes - s.stressor_populated_bytes;
  target.rss_bytes = target_usage - 12 * MiB;
  target.anonymous_bytes = target_usage - 16 * MiB;
  target.lazyfree_bytes = t >= 31.5 && t < 35 ? 6 * MiB : 0;
  s.target_process = target;
  Psi psi;
  psi.some.avg10 = t >= 18 && t < 30 ? 4.25 + (t - 18) : 0.0;
  psi.some.total_us = static_cast<std::uint64_t>(t * t * 1000);
  psi.full = PsiLine{psi.some.avg10 / 2, 0, 0, psi.some.total_us / 3};
  s.system_pressure = psi;
  return s;
}

MemStatsSample memstatsAt(double t) {
  MemStatsSample m;
  m.t_s = t;
  m.wall_ms = kWall0Ms + static_cast<std::int64_t>(t * 1000);
  m.stage = stageAt(t);
  GoMemStats& g = m.stats;
  g.heap_objects = 150'000 + static_cast<std::uint64_t>(t >= 20 ? 1'500 * (t - 20) + 20'000 : 500 * t);
  g.heap_alloc_bytes = 60 * MiB + static_cast<std::uint64_t>(t) * MiB;
  g.heap_inuse_bytes = 64 * MiB + static_cast<std::uint64_t>(t) * MiB;
  g.heap_idle_bytes = 40 * MiB;
  g.heap_released_bytes = t >= 31 ? 36 * MiB : 2 * MiB;
  g.heap_sys_bytes = g.heap_inuse_bytes + g.heap_idle_bytes;
  g.sys_bytes = g.heap_sys_bytes + 8 * MiB;
  g.next_gc_bytes = 96 * MiB;
  g.num_gc = 10 + static_cast<std::uint64_t>(t * 1.5);
  g.pause_total_ns = 1'000'000 + static_cast<std::uint64_t>(t * 250'000);
  g.gc_cpu_fraction = 0.01 + t / 2000.0;
  g.last_gc_unix_ns = static_cast<std::uint64_t>(kWall0Ms * 1'000'000 + static_cast<std::int64_t>(t * 1e9) - 300'000'000);
  g.max_rss_bytes = 300 * MiB;
  m.goroutines = 12 + static_cast<std::uint64_t>(t / 4);
  return m;
}

// One second of one probe: latencies that grow with the memory pressure, a few errors in the hold.
ProbeWindow probeWindowAt(std::size_t probe, double t, bool aborted) {
  ProbeWindow w;
  const std::uint64_t requests = probe == 0 ? 50 : 20;
  const double pressure = static_cast<double>(stressorAt(t, aborted)) / (300.0 * MiB);
  const std::uint64_t base_ns = probe == 0 ? 2'000'000 : 700'000;
  for (std::uint64_t i = 0; i < requests; ++i) {
    const std::uint64_t v = base_ns + i * 37'000 + static_cast<std::uint64_t>(pressure * 9'000'000.0 * static_cast<double>(i % 7));
    w.corrected.record(v);
    w.uncorrected.record(v - v / 10);
    w.sched_lag.record(20'000 + i * 100);
  }
  w.sent = requests;
  w.completed = requests;
  w.ok = requests;
  if (probe == 0 && t >= 20 && t < 30) {
    const std::uint64_t errors = aborted && t >= 23 ? 8 : (static_cast<int>(t) % 3 == 0 ? 1 : 0);
    w.errors.timeout = errors / 2;
    w.errors.http_status = errors - errors / 2;
    w.ok -= errors;
  }
  if (probe == 1 && t >= 25 && t < 26) w.missed = 2;
  w.probe_cpu = std::chrono::microseconds(1500 + probe * 100);
  return w;
}

// A Go heap profile in which `leak` scales the leaking function's objects.
void writeProfile(const std::filesystem::path& path, std::int64_t leak) {
  ProfileBuilder b;
  auto main = b.loc({"main.main"});
  auto grow = b.loc({"main.(*cache).grow"});
  auto leaker = b.loc({"main.leak<T>"});
  auto malg = b.loc({"runtime.malg & co"});
  auto sample = [&](std::vector<std::uint64_t> stack, std::int64_t objects, std::int64_t bytes) {
    b.sample(stack, {objects * 2, bytes * 2, objects, bytes});
  };
  sample({grow, main}, 4'000 + leak / 10, (4'000 + leak / 10) * 512);
  sample({leaker, main}, 1'000 + leak, (1'000 + leak) * 64);
  sample({malg}, 300, 300 * 8192);
  std::ofstream(path, std::ios::binary) << b.gz();
}

}  // namespace

SyntheticRun makeSyntheticRun(SyntheticVariant variant, const std::filesystem::path& dir) {
  const bool aborted = variant == SyntheticVariant::kAborted;
  SyntheticRun out;
  RunRecord& rec = out.record;
  auto plan = parsePlan(kPlan);
  if (!plan) {
    ADD_FAILURE() << plan.error().message;
    return out;
  }
  rec.plan = std::move(*plan);
  rec.plan_path = "plans/golden.json";
  rec.run_id = aborted ? "run-20231114-221320-4242" : "run-20231114-221320-4141";
  rec.out_dir = "out/golden";
  rec.kernel = "6.1.0-test";
  rec.hostname = "node-1";
  rec.started_wall_ms = kWall0Ms - 1'250;
  rec.target_pid = 4321;
  rec.target_start_unix_ns = kTargetStartNs;

  Resolution& r = rec.resolution;
  r.version = CgroupVersion::kV1;
  r.mount = "/sys/fs/cgroup/memory";
  r.launch = true;
  r.run_cgroup = "/memstrain/" + rec.run_id;
  r.target_cgroup = r.run_cgroup + "/target";
  r.stressor_cgroup = r.target_cgroup;
  r.measured_cgroup = r.target_cgroup;
  r.placement = Placement::kInside;
  r.effective_limit_bytes = 512 * MiB;
  r.target_limit_bytes = 512 * MiB;
  r.safety_margin_bytes = static_cast<std::uint64_t>(0.03 * 512 * MiB);
  r.stressor_reserve_bytes = 400 * MiB;
  r.cgroups_to_create = {"/memstrain", r.run_cgroup, r.target_cgroup};
  for (const auto& st : rec.plan.stages) {
    ResolvedStage rs;
    rs.name = st.name;
    rs.duration = st.duration;
    rs.pressure = st.pressure;
    if (st.pressure) rs.setpoint_bytes = static_cast<std::uint64_t>(*st.pressure->level_fraction * 512 * MiB);
    r.stages.push_back(rs);
  }

  const double end_s = aborted ? 26.0 : 40.0;
  const std::size_t stage_count = aborted ? 3 : 4;
  for (std::size_t i = 0; i < stage_count; ++i) {
    StageRecord s;
    s.name = rec.plan.stages[i].name;
    s.start_s = 10.0 * static_cast<double>(i);
    s.end_s = std::min(end_s, s.start_s + 10.0);
    s.completed = s.end_s == s.start_s + 10.0;
    s.controller_cpu_s = 0.125 * static_cast<double>(i + 1);
    s.stressor_cpu_s = i == 0 ? 0.0 : 0.5;
    s.target_cgroup_cpu_s = 2.25 + static_cast<double>(i);
    rec.stages.push_back(s);
  }
  if (!aborted) {
    ReleaseRecord rr;
    rr.trigger = "http";
    rr.window_start_s = 30.4;
    rr.trigger_s = 31.0;
    rr.deadline_s = 35.0;
    ReclaimRecord rc;
    rc.start_s = 35.0;
    rc.end_s = 38.0;
    rc.stressor_requested_bytes = 300 * MiB;
    rc.stressor_reached_bytes = 270 * MiB;
    rr.reclaim = rc;
    rec.stages[3].release = rr;
  }

  // Samples, MemStats, pprof failures and one-second probe windows, in time order per source.
  std::vector<std::pair<double, nlohmann::json>> lines;
  std::uint64_t oom_kills = 0;
  for (int k = 0; k * 0.5 <= end_s; ++k) {
    const double t = k * 0.5;
    if (aborted && t >= 24.5) oom_kills = 1;
    Sample s = sampleAt(t, aborted, oom_kills);
    lines.emplace_back(t, sampleToJson(s, rec.plan.stages[s.stage].name));
    rec.samples.push_back(std::move(s));
  }
  for (int k = 0; k * 2.0 <= end_s; ++k) {
    const double t = k * 2.0 + 0.125;
    if (t == 16.125) {
      PprofFailure f{t, stageAt(t), "memstats", "timeout", "GET /debug/pprof/heap?debug=1: timed out after 2 s <slow>"};
      lines.emplace_back(t, pprofFailureToJson(f, rec.plan.stages[f.stage].name));
      rec.pprof_failures.push_back(f);
      continue;
    }
    MemStatsSample m = memstatsAt(t);
    lines.emplace_back(t, memStatsToJson(m, rec.plan.stages[m.stage].name));
    rec.memstats.push_back(m);
  }
  if (!aborted) {
    for (double t : {31.25, 31.5, 32.0}) {  // the release stage reads MemStats faster
      MemStatsSample m = memstatsAt(t);
      lines.emplace_back(t, memStatsToJson(m, "release"));
      rec.memstats.push_back(m);
    }
    std::sort(rec.memstats.begin(), rec.memstats.end(), [](const MemStatsSample& a, const MemStatsSample& b) { return a.t_s < b.t_s; });
  }

  // Live readings (forced GC): before the first stage, at each stage's end, and every 2 s in the
  // hold, where the target retains 1,000 objects/s (with a little deterministic scatter).
  auto liveAt = [](double t, int k) {
    const double hold = t < 20 ? 0 : std::min(t - 20, 10.0) * 1000;
    return static_cast<std::uint64_t>(100'000 + hold + ((k * 37) % 7 - 3) * 40);
  };
  std::vector<LiveHeapReading> live = {{0.02, 0, "start", 0, 0, 3, 4.5}};
  for (std::size_t i = 0; i < 4; ++i) live.push_back({10.0 * static_cast<double>(i + 1) + 0.05, i, "stage_end", 0, 0, 3, 5.0});
  for (double t : {21.05, 23.05, 25.05, 27.05, 29.05}) live.push_back({t, 2, "interval", 0, 0, 3, 4.0});
  std::sort(live.begin(), live.end(), [](const LiveHeapReading& a, const LiveHeapReading& b) { return a.t_s < b.t_s; });
  for (std::size_t k = 0; k < live.size(); ++k) {
    LiveHeapReading& lr = live[k];
    if (lr.t_s > end_s) continue;
    lr.objects = liveAt(lr.t_s, static_cast<int>(k));
    lr.bytes = lr.objects * 512;
    lines.emplace_back(lr.t_s, liveHeapToJson(lr, rec.plan.stages[lr.stage].name));
    rec.live_heap.push_back(lr);
  }

  const std::vector<std::string> probe_names = {"work", "health"};
  std::vector<std::string> stage_names;
  for (const auto& st : rec.plan.stages) stage_names.push_back(st.name);
  WindowEvaluator windows(rec.plan.checks, stage_names, probe_names);
  std::vector<std::optional<ProbeWindow>> stage_windows(2);
  std::size_t next_sample = 0;
  double last_slice = 0;
  for (int sec = 1; sec <= static_cast<int>(end_s); ++sec) {
    const double t = sec;
    const std::size_t stage = stageAt(t - 0.5);
    WindowSlice slice;
    slice.end_s = t;
    slice.seconds = t - last_slice;
    slice.stage = stage;
    last_slice = t;
    for (std::size_t p = 0; p < 2; ++p) {
      ProbeWindow w = probeWindowAt(p, t - 1, aborted);
      lines.emplace_back(t, latencyWindowToJson(w, probe_names[p], t, rec.plan.stages[stage].name));
      slice.probes.push_back(w);
      if (stage_windows[p])
        stage_windows[p]->merge(w);
      else
        stage_windows[p] = w;
    }
    std::vector<double> usage, rss;
    for (; next_sample < rec.samples.size() && rec.samples[next_sample].t_s <= t; ++next_sample) {
      usage.push_back(static_cast<double>(rec.samples[next_sample].measuredUsage()));
      rss.push_back(static_cast<double>(rec.samples[next_sample].target_process->rss_bytes));
    }
    slice.usage = summarize(usage);
    slice.target_rss = summarize(rss);
    const bool stage_ends = sec % 10 == 0 || t == end_s;
    auto abort = windows.push(std::move(slice));
    if (abort && !rec.abort && aborted) rec.abort = *abort;
    if (stage_ends && stage < rec.stages.size()) {
      for (std::size_t p = 0; p < 2; ++p) {
        rec.stages[stage].latency.push_back(stageLatencyOf(probe_names[p], *stage_windows[p]));
        stage_windows[p].reset();
      }
    }
  }
  rec.window_checks = windows.records();

  rec.events.push_back({0.0, "action", "baseline", "GET http://127.0.0.1:6060/healthz -> 200 in 1.2 ms"});
  rec.events.push_back({22.0, "action", "hold", "POST http://127.0.0.1:6060/grow?mib=20 -> 200 in 31.0 ms"});
  if (aborted && !rec.abort) ADD_FAILURE() << "the window check did not abort the run";
  if (aborted && rec.abort) {
    rec.status = RunStatus::kAborted;
    rec.error = "aborted by check \"errors\" in stage hold: " + rec.abort->explanation;
    rec.events.push_back({24.5, "target_oom_kill", "hold", "1 OOM kill(s) of target processes in " + r.target_cgroup});
    rec.events.push_back({rec.abort->t_s, "aborted", "hold", rec.error});
    rec.stages[2].target_oom_kills = 1;
    rec.cleanup_ok = false;
    rec.cleanup_errors = {"remove cgroup " + r.target_cgroup + ": Device or resource busy"};
  } else {
    rec.events.push_back({31.0, "action", "release", "POST http://127.0.0.1:6060/debug/free -> 200 in 80.5 ms"});
    rec.events.push_back(
        {36.5, "stressor_oom_kill", "release", "stressor pid 4400 killed by SIGKILL while holding 270.0 MiB (OOM killer)"});
    rec.stages[3].stressor_oom_kills = 1;
    rec.stressor_release = StressorReleaseMeasure{100 * MiB, 88 * MiB, 110 * MiB, 98 * MiB, {}, {}, {}, {}};
  }
  std::stable_sort(rec.events.begin(), rec.events.end(), [](const RunEvent& a, const RunEvent& b) { return a.t_s < b.t_s; });

  const std::vector<std::pair<std::size_t, std::int64_t>> profiles =
      aborted ? std::vector<std::pair<std::size_t, std::int64_t>>{{0, 0}, {1, 4'000}}
              : std::vector<std::pair<std::size_t, std::int64_t>>{{0, 0}, {1, 4'000}, {2, 9'000}, {3, 8'000}};
  for (auto [stage, leak] : profiles) {
    const auto path = dir / (rec.plan.stages[stage].name + ".pb.gz");
    writeProfile(path, leak);
    rec.profiles.push_back({10.0 * static_cast<double>(stage + 1), stage, "stage_end", path.string()});
  }
  rec.ended_wall_ms = kWall0Ms + static_cast<std::int64_t>(end_s * 1000) + 2'500;

  std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [t, j] : lines) out.sample_lines.push_back(j.dump());
  return out;
}

}  // namespace memstrain::testing
