// `memstrain run`, `memstrain validate` and the hidden stressor entry point.

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "memstrain/actuators/stressor.hpp"
#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/cli/logging.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/cli/plan_input.hpp"
#include "memstrain/executor/executor.hpp"
#include "memstrain/executor/live_metrics.hpp"
#include "memstrain/executor/resolve.hpp"
#include "memstrain/plan/plan_parse.hpp"
#include "memstrain/proc/proc_memory.hpp"
#include "memstrain/report/html.hpp"
#include "memstrain/report/junit.hpp"
#include "memstrain/report/metrics_server.hpp"
#include "memstrain/report/prometheus.hpp"
#include "memstrain/report/report.hpp"
#include "memstrain/report/sha256.hpp"
#include "memstrain/report/summary_md.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/json_write.hpp"
#include "memstrain/util/text.hpp"
#include "memstrain/util/units.hpp"

namespace po = boost::program_options;

namespace memstrain {
namespace {

std::atomic<int> g_stop_signal{0};
// Signals received. Only these count towards the second signal that exits at once: a stop for a
// broken stdout (StdoutWatch) is no signal, and must not make the next Ctrl-C skip the cleanup.
std::atomic<int> g_signals_received{0};
// What a second signal skips, written before the handlers are installed (the handler may only
// write(2) it).
char g_skipped[2048] = "";

void onSignal(int sig) {
  int expected = 0;
  const bool first = g_signals_received.fetch_add(1) == 0;
  // The stop reason stays the first one, whatever it was (a broken stdout names SIGPIPE).
  g_stop_signal.compare_exchange_strong(expected, sig);
  if (!first) {
    // Second signal: leave at once. Only async-signal-safe calls here.
    const char msg[] = "\nmemstrain: second signal, exiting at once without cleanup.\n";
    ssize_t ignored = ::write(2, msg, sizeof msg - 1);
    ignored = ::write(2, g_skipped, std::strlen(g_skipped));
    (void)ignored;
    ::_exit(kExitInterrupted);
  }
}

void installSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  // Ignored so that a reset probe or pprof socket never kills the run; a broken stdout pipe is
  // noticed by StdoutWatch instead.
  ::signal(SIGPIPE, SIG_IGN);
}

// While the run goes on, watches stdout: when it is a pipe or socket whose reader went away (a
// `memstrain run … | head` that ended, a dead log collector), it stops the run as SIGPIPE would,
// so that cleanup runs and the report is written. Nothing is written to stdout during a run, so
// no write would notice.
class StdoutWatch {
 public:
  StdoutWatch() {
    struct stat st {};
    if (::fstat(1, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return;
    thread_ = std::thread([this] {
      while (!done_.load()) {
        pollfd p{1, 0, 0};
        if (::poll(&p, 1, 100) > 0 && (p.revents & (POLLERR | POLLHUP)) != 0) {
          int expected = 0;
          g_stop_signal.compare_exchange_strong(expected, SIGPIPE);
          return;
        }
      }
    });
  }
  ~StdoutWatch() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  StdoutWatch(const StdoutWatch&) = delete;
  StdoutWatch& operator=(const StdoutWatch&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The second-signal message for this run: what cleanup would have done and how to finish it.
std::string skippedMessage(const Resolution& res, const std::string& journal_path) {
  std::string m = "Skipped: stopping the stressor";
  if (res.launch)
    m += " and the launched target (both die with memstrain: PR_SET_PDEATHSIG)";
  else
    m += " (it dies with memstrain: PR_SET_PDEATHSIG)";
  if (!res.cgroups_to_create.empty()) {
    m += "; removing the cgroups";
    for (auto it = res.cgroups_to_create.rbegin(); it != res.cgroups_to_create.rend(); ++it) m += " " + *it;
  }
  m += "; writing the report.\nThe run journal " + journal_path + " stays: run `memstrain recover` to finish the cleanup.\n";
  return m;
}

// What the live metrics know before the run: stages, probes and each check's stages.
LiveRunInfo liveRunInfo(const Plan& plan) {
  LiveRunInfo info;
  info.plan = plan.name;
  for (const auto& s : plan.stages) info.stages.push_back(s.name);
  for (const auto& p : plan.target.probes) info.probes.push_back(p.name);
  for (const auto& c : plan.checks) info.checks.emplace_back(c.name, c.stages.empty() ? info.stages : c.stages);
  info.start_unix_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return info;
}

Result<CgroupFs> cgroupFsFrom(const po::variables_map& vm) {
  if (vm.count("cgroup-mount")) {
    const std::string v = vm["cgroup-version"].as<std::string>();
    if (v != "1" && v != "2") return Error{"--cgroup-version must be 1 or 2"};
    return CgroupFs(vm["cgroup-mount"].as<std::string>(), v == "1" ? CgroupVersion::kV1 : CgroupVersion::kV2);
  }
  return CgroupFs::detect();
}

}  // namespace

int runValidateCommand(const std::vector<std::string>& args) {
  po::options_description desc;
  desc.add_options()("json", "print the result as one JSON object on stdout (problems included)");
  const CommandHelp help{"memstrain validate PLAN [--json]",
                         "Checks a plan's syntax, keys, types, units and ranges; every problem is listed with the JSON pointer\n"
                         "of its field. PLAN \"-\" (or /dev/stdin) reads the plan from standard input. Changes nothing.",
                         "memstrain validate plans/demo.json\n"
                         "kubectl get configmap memstrain-plans -o jsonpath='{.data.demo\\.json}' | memstrain validate -\n"
                         "memstrain validate plans/demo.json --json | jq .total_duration_s",
                         "0 valid, 2 invalid plan or usage"};
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {{"plan"}}, help, vm)) return *done;
  const PlanInput in = readPlanInput(optionString(vm, "plan"));
  if (vm.count("json")) std::printf("%s\n", dumpJson(validateJson(in), 2).c_str());
  if (!in.plan) {
    if (!vm.count("json")) logPlanProblems(in.label, in.plan.error().message);
    spdlog::error("{}: invalid plan", in.label);
    return kExitUsage;
  }
  if (!vm.count("json")) {
    std::printf("%s: valid plan \"%s\" with %zu stage(s), %s in all\n", in.label.c_str(), in.plan->name.c_str(), in.plan->stages.size(),
                formatDuration(in.plan->totalDuration()).c_str());
  }
  return kExitPass;
}

int runRunCommand(const std::vector<std::string>& args) {
  po::options_description desc;
  desc.add_options()                                                                               //
      ("out,o", po::value<std::string>(), "output directory (default: out/<plan name>-<run id>)")  //
      ("dry-run,n", "resolve the plan and print what would be done; change nothing")               //
      ("json", "with --dry-run: print the resolution as one JSON object")                          //
      ("verbose,v", "debug logging")                                                               //
      ("quiet,q", "no live progress; warnings and errors only")                                    //
      ("cgroup-parent", po::value<std::string>()->default_value("/memstrain"),
       "launch mode: parent cgroup (relative to the memory mount) for run cgroups; must be named for memstrain")             //
      ("cgroup-mount", po::value<std::string>(), "memory controller mount (default: detected from /proc/self/mountinfo)")    //
      ("cgroup-version", po::value<std::string>()->default_value("1"), "with --cgroup-mount: 1 or 2")                        //
      ("editor", po::value<std::string>()->default_value("auto"), "how cgroups are changed: auto, libcgroup or direct")      //
      ("force", "allow targets in systemd's system slices and node pressure above safety.node_max")                          //
      ("allow-commands", "allow the plan to run commands of its own (release.trigger.command), as root")                     //
      ("journal-dir", po::value<std::string>()->default_value(kDefaultJournalDir), "where the run keeps its crash journal")  //
      ("textfile-dir", po::value<std::string>(),
       "also write metrics.prom as DIR/memstrain_<plan>.prom (node_exporter's textfile collector)")  //
      ("metrics-addr", po::value<std::string>(),
       "serve Prometheus metrics at http://HOST:PORT/metrics while the run is in progress (127.0.0.1:9464, [::1]:9464, :9464)")  //
      ("metrics-linger", po::value<std::string>()->default_value("0s"),
       "with --metrics-addr: keep serving this long after the run, with the verdict and every check's outcome");
  const CommandHelp help{"memstrain run PLAN [--out DIR] [--dry-run [--json]] [-v] [-q]",
                         "Runs PLAN's stages against its target, writes samples.jsonl, report.json, report.html, junit.xml,\n"
                         "summary.md and metrics.prom, prints a summary and a last line for machines. PLAN \"-\" reads stdin.",
                         "memstrain run plans/demo.json --dry-run            # what would happen; changes nothing\n"
                         "memstrain run plans/demo.json --out out/demo\n"
                         "memstrain run plans/demo.json --metrics-addr 127.0.0.1:9464 --metrics-linger 30s  # Prometheus scrapes the run\n"
                         "memstrain run plans/demo.json --log-format json -q  # JSON log lines for kubectl logs",
                         "0 pass, 1 fail, 2 invalid plan, 3 run error, 4 interrupted, 5 inconclusive, 6 cleanup failed,\n"
                         "7 aborted by a window check (abort: true)"};
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {{"plan"}}, help, vm)) return *done;
  if (vm.count("json") && !vm.count("dry-run")) {
    spdlog::error("--json goes with --dry-run (a run's results are in OUT/report.json)");
    return kExitUsage;
  }
  const auto linger = parseDuration(optionString(vm, "metrics-linger"));
  if (!linger || *linger > std::chrono::hours(1)) {
    spdlog::error("--metrics-linger: {}", linger ? "at most 1h" : linger.error().message);
    return kExitUsage;
  }
  if (vm.count("metrics-addr")) {
    if (auto a = parseListenAddress(optionString(vm, "metrics-addr")); !a) {
      spdlog::error("{}", a.error().message);
      return kExitUsage;
    }
  }

  const PlanInput in = readPlanInput(optionString(vm, "plan"));
  const std::string& plan_path = in.label;
  if (!in.plan) {
    logPlanProblems(in.label, in.plan.error().message);
    spdlog::error("{}: invalid plan; nothing was started or changed", plan_path);
    return kExitUsage;
  }
  const Plan* plan = &*in.plan;
  const std::string parent = optionString(vm, "cgroup-parent");
  if (const std::string problem = cgroupParentProblem(parent); !problem.empty()) {
    spdlog::error("{}", problem);
    return kExitUsage;
  }
  auto fs = cgroupFsFrom(vm);
  if (!fs) {
    spdlog::error("cgroup memory controller: {}", fs.error().message);
    return kExitRunError;
  }
  ResolveContext ctx;
  ctx.cgroup_parent = parent;
  ctx.run_id = makeRunId();
  if (auto nm = readNodeMemory()) {
    ctx.node_memory_bytes = nm->total_bytes;
    ctx.node_available_bytes = nm->available_bytes;
  }
  ctx.force = vm.count("force") > 0;
  ctx.allow_commands = vm.count("allow-commands") > 0;
  // memstrain's own cgroup is never a target; unknown (another hierarchy) leaves the rail off.
  if (auto self = fs->cgroupOfPid(::getpid())) ctx.self_cgroup = *self;
  auto res = resolvePlan(*plan, *fs, ctx);
  if (!res) {
    // A target this node does not have is a run error, as `locate` says, not an invalid plan.
    const bool not_found = isTargetNotFound(res.error());
    logPlanProblems(plan_path, plan_path + ": " + res.error().message);
    spdlog::error("{}: {}nothing was started or changed", plan_path, not_found ? "target not found; " : "");
    return not_found ? kExitRunError : kExitUsage;
  }
  if (vm.count("dry-run")) {
    if (vm.count("json")) {
      std::printf("%s\n", dumpJson(dryRunJson(*plan, *res, plan_path), 2).c_str());
    } else {
      std::printf("%s", describeResolution(*plan, *res).c_str());
      std::printf("dry run: nothing was started or changed\n");
    }
    return kExitPass;
  }

  std::unique_ptr<CgroupEditor> editor;
  const std::string editor_kind = optionString(vm, "editor");
  if (editor_kind == "direct") {
    editor = makeDirectEditor(*fs);
  } else if (editor_kind == "libcgroup") {
    auto e = makeLibcgroupEditor(*fs);
    if (!e) {
      spdlog::error("libcgroup: {}", e.error().message);
      return kExitRunError;
    }
    editor = std::move(*e);
  } else if (editor_kind == "auto") {
    editor = makeDefaultEditor(*fs);
  } else {
    spdlog::error("--editor must be auto, libcgroup or direct");
    return kExitUsage;
  }

  const std::string out_dir = vm.count("out") ? optionString(vm, "out") : "out/" + plan->name + "-" + ctx.run_id;
  // Outputs go through this directory's fd: no symlink planted in it is followed (util/fs).
  auto out_fd = openOutputDir(out_dir, DirTrust::kOutput);
  if (!out_fd) {
    spdlog::error("output directory: {}; nothing was started or changed", out_fd.error().message);
    return out_fd.error().sys_errno == EPERM || out_fd.error().sys_errno == ELOOP || out_fd.error().sys_errno == ENOTDIR ? kExitUsage
                                                                                                                         : kExitRunError;
  }
  std::optional<UniqueFd> textfile_fd;
  if (vm.count("textfile-dir")) {
    auto tf = openTrustedDir(optionString(vm, "textfile-dir"), DirTrust::kShared);
    if (!tf) {
      spdlog::error("--textfile-dir: {}; nothing was started or changed", tf.error().message);
      return kExitUsage;
    }
    textfile_fd = std::move(*tf);
  }
  std::snprintf(g_skipped, sizeof g_skipped, "%s",
                skippedMessage(*res, joinPath(optionString(vm, "journal-dir"), ctx.run_id + ".json")).c_str());
  installSignalHandlers();
  // Each outstanding probe request may hold a socket: allow as many descriptors as the hard limit.
  if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }

  ExecutorOptions eo;
  eo.out_dir = out_dir;
  eo.plan_path = plan_path;
  eo.cgroup_parent = parent;
  eo.stop_signal = &g_stop_signal;
  eo.journal_dir = optionString(vm, "journal-dir");
  if (!vm.count("quiet")) {
    if (currentLogFormat() == LogFormat::kJson) {
      // JSON lines only: progress as a log record every 5 s, never a line rewritten in place.
      TextProgress::Options po;
      po.interval = std::chrono::seconds(5);
      po.write = [](std::string_view line) { spdlog::info("{}", line); };
      eo.progress = std::make_shared<TextProgress>(std::move(po));
    } else {
      eo.progress = makeStderrProgress();
      // On a terminal the progress line is rewritten in place; a log line first erases it, and the
      // next tick draws it again below.
      if (stderrIsTerminal()) setupLogging({LogFormat::kText, vm.count("verbose") > 0, false, /*erase_progress_line=*/true});
    }
  }
  // Live metrics: the sink sees what the progress line sees (and each probe window), the server
  // renders it on every scrape. Bound before anything is started: a port in use changes nothing.
  std::shared_ptr<LiveMetrics> live;
  std::unique_ptr<MetricsServer> metrics_server;
  if (vm.count("metrics-addr")) {
    live = std::make_shared<LiveMetrics>(liveRunInfo(*plan));
    auto server = MetricsServer::start(optionString(vm, "metrics-addr"), [live] { return live->render(); });
    if (!server) {
      spdlog::error("{}; nothing was started or changed", server.error().message);
      return kExitRunError;
    }
    metrics_server = std::move(*server);
    eo.progress = std::make_shared<LiveMetricsSink>(live, eo.progress);
    spdlog::info("live metrics at http://{}/metrics", metrics_server->address());
  }
  spdlog::info("run {} of plan \"{}\" ({} stages, {}), output in {}", ctx.run_id, plan->name, plan->stages.size(),
               formatDuration(plan->totalDuration()), out_dir);
  Executor ex(std::move(*fs), std::move(editor), eo);
  RunRecord rec;
  {
    StdoutWatch watch;
    rec = ex.run(*plan, *res, ctx.run_id);
  }

  RunAnalysis analysis = analyzeRun(rec);
  int exit_code = exitCodeFor(rec, analysis.verdict);
  const std::string report_path = joinPath(out_dir, "report.json");
  // The plan's bytes as they are now; the plan was read once before the run and a changed file
  // would show as a hash that does not match the copy in the report. Standard input is hashed as
  // it was read.
  std::string plan_sha256;
  if (isStdinPlan(optionString(vm, "plan"))) {
    plan_sha256 = sha256Hex(in.text);
  } else if (auto text = readFile(plan_path, kMaxPlanBytes)) {
    plan_sha256 = sha256Hex(*text);
  } else {
    spdlog::warn("plan hash: {}", text.error().message);
  }
  // Outputs are written in order; a failed write turns a pass into a run error, and the summary
  // and last line still come out so that a human and a machine see what happened.
  auto write = [&](const std::string& name, const std::string& body) {
    if (auto st = writeFileAtomicAt(out_fd->get(), name, body, 0644, joinPath(out_dir, name)); !st) {
      spdlog::error("write {}: {}", name, st.error().message);
      if (exit_code == kExitPass) exit_code = kExitRunError;
    }
  };
  const nlohmann::json report_json = buildReportJson(rec, analysis, plan_sha256);
  write("report.json", dumpJson(report_json, 2) + "\n");
  write("junit.xml", renderJunitXml(rec, analysis));
  write("summary.md", renderSummaryMarkdown(rec, analysis, exit_code));
  {
    const double end_unix_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string prom = renderPrometheusText(report_json, exit_code, end_unix_s);
    write("metrics.prom", prom);
    if (vm.count("textfile-dir")) {
      // writeFileAtomic renames a finished temporary file into place, so the collector never
      // reads half a file.
      const std::string path = joinPath(optionString(vm, "textfile-dir"), prometheusFileName(plan->name));
      if (auto st = writeFileAtomicAt(textfile_fd->get(), prometheusFileName(plan->name), prom, 0644, path); !st) {
        spdlog::error("--textfile-dir: {}", st.error().message);
        if (exit_code == kExitPass) exit_code = kExitRunError;
      }
    }
  }
  {
    // report.html draws its charts from samples.jsonl, which the executor wrote beside report.json.
    std::string warning;
    write("report.html", renderHtmlReportWithSamples(report_json, joinPath(out_dir, "samples.jsonl"), &warning));
    if (!warning.empty()) spdlog::warn("report.html: {}", warning);
  }
  std::printf("%s", renderSummary(rec, analysis).c_str());
  std::printf("%s\n", machineLine(rec, analysis, exit_code, report_path).c_str());
  std::fflush(stdout);
  if (live) {
    std::vector<LiveCheckOutcome> outcomes;
    for (const auto& c : analysis.checks) outcomes.push_back({c.check, c.stage, toString(c.outcome)});
    live->onFinished(outcomes, toString(analysis.verdict.verdict), exit_code);
    // A scrape after the end sees the verdict; a signal ends the wait (a second one exits at once).
    const auto until = std::chrono::steady_clock::now() + *linger;
    if (linger->count() > 0) spdlog::info("serving the final metrics for {} more", formatDuration(*linger));
    while (std::chrono::steady_clock::now() < until && g_stop_signal.load() == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    metrics_server.reset();
  }
  return exit_code;
}

int runStressorCommand(const std::vector<std::string>& args) {
  StressorChildOptions o;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--reserve") {
      if (auto v = parseUint64(args[i + 1])) o.reserve_bytes = *v;
    } else if (args[i] == "--oom-score-adj") {
      if (auto v = parseInt64(args[i + 1])) o.oom_score_adj = static_cast<int>(*v);
    } else if (args[i] == "--populate-threads") {
      if (auto v = parseUint64(args[i + 1]); v && *v <= 1024) o.populate_threads = static_cast<unsigned>(*v);
    }
  }
  return runStressorChild(o);
}

}  // namespace memstrain
