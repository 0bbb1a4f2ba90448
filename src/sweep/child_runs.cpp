#include "memstrain/sweep/child_runs.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "memstrain/model/exit_code.hpp"
#include "memstrain/os/process.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {
namespace {

// Signals seen by the driver; each one is forwarded to the running child once.
std::atomic<int> g_signal{0};
std::atomic<int> g_signal_count{0};
const char* g_who = "memstrain";

void onSignal(int sig) {
  g_signal.store(sig);
  if (g_signal_count.fetch_add(1) >= 2) {
    // Third signal: the child had two already (the second makes it exit at once). Leave.
    ssize_t ignored = ::write(2, "\n", 1);
    ignored = ::write(2, g_who, std::strlen(g_who));
    const char msg[] = ": third signal, exiting\n";
    ignored = ::write(2, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(kExitInterrupted);
  }
}

Status makeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Error{"mkdir " + path + ": " + ec.message()};
  return {};
}

}  // namespace

void installChildRunSignalHandlers(const char* who) {
  g_who = who;
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

int childRunSignalCount() { return g_signal_count.load(); }

Result<std::string> prepareChildRuns(const std::string& out_dir) {
  auto self = selfExePath();
  if (!self) return self.error();
  if (std::error_code mk; !std::filesystem::create_directories(out_dir, mk) && mk) {
    return Error{"output directory: mkdir " + out_dir + ": " + mk.message(), mk.value()};
  }
  return self;
}

Result<int> runChildMemstrain(const std::string& self, const std::vector<std::string>& argv_tail, const std::string& log_path) {
  SpawnOptions so;
  so.argv = {self};
  so.argv.insert(so.argv.end(), argv_tail.begin(), argv_tail.end());
  // SIGTERM, not SIGKILL: if the driver dies, the child still cleans up its cgroup and target.
  so.parent_death_signal = SIGTERM;
  so.new_process_group = true;  // a terminal's Ctrl-C reaches the driver, which forwards it once
  so.output_path = log_path;
  auto child = spawnSuspended(so);
  if (!child) return child.error();
  const pid_t pid = child->pid();
  if (auto st = child->release(); !st) return st.error();
  int forwarded = 0;
  while (true) {
    if (auto e = pollExit(pid)) return e->signaled ? 128 + e->signal : e->code;
    const int seen = g_signal_count.load();
    if (seen > forwarded) {
      ::kill(pid, g_signal.load());
      forwarded = seen;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

SweepRunFigures readRunDir(const std::string& dir, int exit_code) {
  SweepRunFigures f;
  auto text = readFile(joinPath(dir, "report.json"), 256u << 20);
  if (!text) {
    f.verdict = "error";
    f.error = "no report: " + text.error().message + " (see " + joinPath(dir, "memstrain.log") + ")";
  } else {
    const auto report = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    SampleDigest digest;
    std::ifstream samples(joinPath(dir, "samples.jsonl"));
    for (std::string line; std::getline(samples, line);) digest.addLine(line);
    if (report.is_discarded()) {
      f.verdict = "error";
      f.error = joinPath(dir, "report.json") + " is not valid JSON";
    } else {
      f = runFigures(report, digest);
    }
  }
  f.dir = dir;
  f.exit_code = exit_code;
  return f;
}

SweepRunFigures runPlanCopy(const ChildRun& run, double& took_s) {
  SweepRunFigures f;
  Status prepared = makeDirs(run.dir);
  if (prepared) prepared = writeFileAtomic(run.plan_path, run.plan_text);
  const auto t0 = std::chrono::steady_clock::now();
  if (!prepared) {
    f.verdict = "error";
    f.error = prepared.error().message;
    f.dir = run.dir;
  } else {
    auto code = runChildMemstrain(run.self, {"run", run.plan_path, "--out", run.dir, "--cgroup-parent", run.cgroup_parent},
                                  joinPath(run.dir, "memstrain.log"));
    if (!code) {
      f.verdict = "error";
      f.error = "start memstrain run: " + code.error().message;
      f.dir = run.dir;
    } else {
      f = readRunDir(run.dir, *code);
      if (*code == kExitInterrupted && f.error.empty()) f.error = "interrupted";
    }
  }
  took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return f;
}

bool runNotJudged(const SweepRunFigures& f) {
  return f.verdict == "error" || f.exit_code == kExitRunError || f.exit_code == kExitCleanupFailed || f.exit_code == kExitUsage ||
         f.exit_code > 6;
}

std::string runOutcomeText(const SweepRunFigures& f) {
  std::string s = f.verdict;
  if (f.first_target_oom_s) {
    char b[64];
    std::snprintf(b, sizeof b, ", target OOM-killed at %.1f s", *f.first_target_oom_s);
    s += b;
  } else if (f.target_exit) {
    s += ", target " + *f.target_exit;
  } else if (f.error.empty()) {
    s += ", survived";
  }
  if (f.gc_cycles) s += ", " + std::to_string(*f.gc_cycles) + " GC cycles";
  if (f.gc_cpu_max) {
    char b[64];
    std::snprintf(b, sizeof b, ", GC CPU up to %.1f%%", *f.gc_cpu_max * 100);
    s += b + (" (" + f.gc_cpu_max_stage + ")");
  }
  if (f.peak_usage_bytes) s += ", peak " + formatBytes(*f.peak_usage_bytes);
  if (!f.error.empty()) s += " (" + f.error + ")";
  return s;
}

}  // namespace memstrain
