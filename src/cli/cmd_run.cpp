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

// `memstrain run`'s options; PLAN is the one positional.
po::options_description runOptions() {
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
  return desc;
}

const CommandHelp kRunHelp{
    "memstrain run PLAN [--out DIR] [--dry-run [--json]] [-v] [-q]",
    "Runs PLAN's stages against its target, writes samples.jsonl, report.json, report.html, junit.xml,\n"
    "summary.md and metrics.prom, prints a summary and a last line for machines. PLAN \"-\" reads stdin.",
    "memstrain run plans/demo.json --dry-run            # what would happen; changes nothing\n"
    "memstrain run plans/demo.json --out out/demo\n"
    "memstrain run plans/demo.json --metrics-addr 127.0.0.1:9464 --metrics-linger 30s  # Prometheus scrapes the run\n"
    "memstrain run plans/demo.json --log-format json -q  # JSON log lines for kubectl logs",
    "0 pass, 1 fail, 2 invalid plan, 3 run error, 4 interrupted, 5 inconclusive, 6 cleanup failed,\n"
    "7 aborted by a window check (abort: true)"};

// The options that need no plan: --json only with --dry-run, --metrics-linger at most 1h (into
// `linger`), a --metrics-addr that parses. Returns nullopt when they are fine, else the exit code
// after logging why.
std::optional<int> checkRunOptions(const po::variables_map& vm, std::chrono::nanoseconds& linger) {
  if (vm.count("json") && !vm.count("dry-run")) {
    spdlog::error("--json goes with --dry-run (a run's results are in OUT/report.json)");
    return kExitUsage;
  }
  const auto parsed = parseDuration(optionString(vm, "metrics-linger"));
  if (!parsed || *parsed > std::chrono::hours(1)) {
    spdlog::error("--metrics-linger: {}", parsed ? "at most 1h" : parsed.error().message);
    return kExitUsage;
  }
  linger = *parsed;
  if (vm.count("metrics-addr")) {
    if (auto a = parseListenAddress(optionString(vm, "metrics-addr")); !a) {
      spdlog::error("{}", a.error().message);
      return kExitUsage;
    }
  }
  return std::nullopt;
}

// What resolvePlan needs to know of this host and this invocation: a new run id, the node's
// memory, --force, --allow-commands and memstrain's own cgroup.
ResolveContext resolveContextFor(const po::variables_map& vm, const CgroupFs& fs, const std::string& parent) {
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
  if (auto self = fs.cgroupOfPid(::getpid())) ctx.self_cgroup = *self;
  return ctx;
}

// Logs why the plan could not be resolved and returns the exit code: a target this node does not
// have is a run error, as `locate` says, not an invalid plan.
int resolveFailure(const std::string& plan_path, const Error& e) {
  const bool not_found = isTargetNotFound(e);
  logPlanProblems(plan_path, plan_path + ": " + e.message);
  spdlog::error("{}: {}nothing was started or changed", plan_path, not_found ? "target not found; " : "");
  return not_found ? kExitRunError : kExitUsage;
}

// --dry-run: prints the resolution (as JSON with --json) and changes nothing.
int printDryRun(const po::variables_map& vm, const Plan& plan, const Resolution& res, const std::string& plan_path) {
  if (vm.count("json")) {
    std::printf("%s\n", dumpJson(dryRunJson(plan, res, plan_path), 2).c_str());
  } else {
    std::printf("%s", describeResolution(plan, res).c_str());
    std::printf("dry run: nothing was started or changed\n");
  }
  return kExitPass;
}

// The cgroup editor --editor names, into `editor`. Returns nullopt when made, else the exit code
// after logging why.
std::optional<int> makeEditor(const po::variables_map& vm, const CgroupFs& fs, std::unique_ptr<CgroupEditor>& editor) {
  const std::string editor_kind = optionString(vm, "editor");
  if (editor_kind == "direct") {
    editor = makeDirectEditor(fs);
  } else if (editor_kind == "libcgroup") {
    auto e = makeLibcgroupEditor(fs);
    if (!e) {
      spdlog::error("libcgroup: {}", e.error().message);
      return kExitRunError;
    }
    editor = std::move(*e);
  } else if (editor_kind == "auto") {
    editor = makeDefaultEditor(fs);
  } else {
    spdlog::error("--editor must be auto, libcgroup or direct");
    return kExitUsage;
  }
  return std::nullopt;
}

// The directories a run writes into, opened before anything starts.
struct RunOutputs {
  std::string dir;                      ///< --out, or out/<plan name>-<run id>
  UniqueFd dir_fd;                      ///< outputs go through it: no symlink planted in it is followed (util/fs)
  std::optional<UniqueFd> textfile_fd;  ///< --textfile-dir
};

// Opens the output directory (made if missing) and the --textfile-dir into `outs`. Returns nullopt
// when both are open, else the exit code after logging why.
std::optional<int> openRunOutputs(const po::variables_map& vm, const Plan& plan, const std::string& run_id, RunOutputs& outs) {
  outs.dir = vm.count("out") ? optionString(vm, "out") : "out/" + plan.name + "-" + run_id;
  auto out_fd = openOutputDir(outs.dir, DirTrust::kOutput);
  if (!out_fd) {
    spdlog::error("output directory: {}; nothing was started or changed", out_fd.error().message);
    const int err = out_fd.error().sys_errno;
    return err == EPERM || err == ELOOP || err == ENOTDIR ? kExitUsage : kExitRunError;
  }
  outs.dir_fd = std::move(*out_fd);
  if (vm.count("textfile-dir")) {
    auto tf = openTrustedDir(optionString(vm, "textfile-dir"), DirTrust::kShared);
    if (!tf) {
      spdlog::error("--textfile-dir: {}; nothing was started or changed", tf.error().message);
      return kExitUsage;
    }
    outs.textfile_fd = std::move(*tf);
  }
  return std::nullopt;
}

// Just before the run: the second-signal message, the signal handlers, and as many descriptors as
// the hard limit allows (each outstanding probe request may hold a socket).
void prepareProcessForRun(const Resolution& res, const std::string& journal_dir, const std::string& run_id) {
  std::snprintf(g_skipped, sizeof g_skipped, "%s", skippedMessage(res, joinPath(journal_dir, run_id + ".json")).c_str());
  installSignalHandlers();
  if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// The live progress unless --quiet: with JSON logs a log record every 5 s (never a line rewritten
// in place); otherwise the stderr progress line, which on a terminal is rewritten in place (a log
// line first erases it, and the next tick draws it again below).
std::shared_ptr<ProgressSink> makeRunProgress(const po::variables_map& vm) {
  if (vm.count("quiet")) return nullptr;
  if (currentLogFormat() == LogFormat::kJson) {
    TextProgress::Options po;
    po.interval = std::chrono::seconds(5);
    po.write = [](std::string_view line) { spdlog::info("{}", line); };
    return std::make_shared<TextProgress>(std::move(po));
  }
  auto progress = makeStderrProgress();
  if (stderrIsTerminal()) setupLogging({LogFormat::kText, vm.count("verbose") > 0, false, /*erase_progress_line=*/true});
  return progress;
}

// --metrics-addr: live metrics and the server that renders them on every scrape.
struct LiveMetricsServing {
  std::shared_ptr<LiveMetrics> live;
  std::unique_ptr<MetricsServer> server;
};

// With --metrics-addr, starts serving live metrics into `serving` and wraps `eo.progress` so that
// the metrics see what the progress line sees (and each probe window). Bound before anything is
// started: a port in use changes nothing. Returns nullopt when serving (or not asked to), else the
// exit code after logging why.
std::optional<int> startLiveMetrics(const po::variables_map& vm, const Plan& plan, ExecutorOptions& eo, LiveMetricsServing& serving) {
  if (!vm.count("metrics-addr")) return std::nullopt;
  serving.live = std::make_shared<LiveMetrics>(liveRunInfo(plan));
  auto server = MetricsServer::start(optionString(vm, "metrics-addr"), [live = serving.live] { return live->render(); });
  if (!server) {
    spdlog::error("{}; nothing was started or changed", server.error().message);
    return kExitRunError;
  }
  serving.server = std::move(*server);
  eo.progress = std::make_shared<LiveMetricsSink>(serving.live, eo.progress);
  spdlog::info("live metrics at http://{}/metrics", serving.server->address());
  return std::nullopt;
}

// The plan's bytes as they are now; the plan was read once before the run and a changed file would
// show as a hash that does not match the copy in the report. Standard input is hashed as it was
// read. "" (with a warning) when the file cannot be read again.
std::string planSha256(const PlanInput& in, const std::string& plan_arg) {
  if (isStdinPlan(plan_arg)) return sha256Hex(in.text);
  auto text = readFile(in.label, kMaxPlanBytes);
  if (!text) {
    spdlog::warn("plan hash: {}", text.error().message);
    return "";
  }
  return sha256Hex(*text);
}

// Writes report.json, junit.xml, summary.md, metrics.prom (and the --textfile-dir copy) and
// report.html, in that order. A failed write turns a pass into a run error; the others are still
// written. Returns the exit code after the writes.
int writeRunOutputs(const po::variables_map& vm, const RunOutputs& outs, const Plan& plan, const RunRecord& rec,
                    const RunAnalysis& analysis, const std::string& plan_sha256, int exit_code) {
  auto write = [&](const std::string& name, const std::string& body) {
    if (auto st = writeFileAtomicAt(outs.dir_fd.get(), name, body, 0644, joinPath(outs.dir, name)); !st) {
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
    if (outs.textfile_fd) {
      // writeFileAtomic renames a finished temporary file into place, so the collector never
      // reads half a file.
      const std::string path = joinPath(optionString(vm, "textfile-dir"), prometheusFileName(plan.name));
      if (auto st = writeFileAtomicAt(outs.textfile_fd->get(), prometheusFileName(plan.name), prom, 0644, path); !st) {
        spdlog::error("--textfile-dir: {}", st.error().message);
        if (exit_code == kExitPass) exit_code = kExitRunError;
      }
    }
  }
  {
    // report.html draws its charts from samples.jsonl, which the executor wrote beside report.json.
    std::string warning;
    write("report.html", renderHtmlReportWithSamples(report_json, joinPath(outs.dir, "samples.jsonl"), &warning));
    if (!warning.empty()) spdlog::warn("report.html: {}", warning);
  }
  return exit_code;
}

// After the run, with --metrics-addr: the verdict and every check's outcome go to the live metrics,
// which stay served for `linger` so that a scrape after the end sees them; a signal ends the wait
// (a second one exits at once).
void finishLiveMetrics(LiveMetricsServing& serving, const RunAnalysis& analysis, int exit_code, std::chrono::nanoseconds linger) {
  if (!serving.live) return;
  std::vector<LiveCheckOutcome> outcomes;
  for (const auto& c : analysis.checks) outcomes.push_back({c.check, c.stage, toString(c.outcome)});
  serving.live->onFinished(outcomes, toString(analysis.verdict.verdict), exit_code);
  const auto until = std::chrono::steady_clock::now() + linger;
  if (linger.count() > 0) spdlog::info("serving the final metrics for {} more", formatDuration(linger));
  while (std::chrono::steady_clock::now() < until && g_stop_signal.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  serving.server.reset();
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
  const po::options_description desc = runOptions();
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {{"plan"}}, kRunHelp, vm)) return *done;
  std::chrono::nanoseconds linger{0};
  if (auto done = checkRunOptions(vm, linger)) return *done;

  const PlanInput in = readPlanInput(optionString(vm, "plan"));
  const std::string& plan_path = in.label;
  if (!in.plan) {
    logPlanProblems(in.label, in.plan.error().message);
    spdlog::error("{}: invalid plan; nothing was started or changed", plan_path);
    return kExitUsage;
  }
  const Plan& plan = *in.plan;
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
  const ResolveContext ctx = resolveContextFor(vm, *fs, parent);
  auto res = resolvePlan(plan, *fs, ctx);
  if (!res) return resolveFailure(plan_path, res.error());
  if (vm.count("dry-run")) return printDryRun(vm, plan, *res, plan_path);

  std::unique_ptr<CgroupEditor> editor;
  if (auto done = makeEditor(vm, *fs, editor)) return *done;
  RunOutputs outs;
  if (auto done = openRunOutputs(vm, plan, ctx.run_id, outs)) return *done;
  const std::string journal_dir = optionString(vm, "journal-dir");
  prepareProcessForRun(*res, journal_dir, ctx.run_id);

  ExecutorOptions eo;
  eo.out_dir = outs.dir;
  eo.plan_path = plan_path;
  eo.cgroup_parent = parent;
  eo.stop_signal = &g_stop_signal;
  eo.journal_dir = journal_dir;
  eo.progress = makeRunProgress(vm);
  LiveMetricsServing serving;
  if (auto done = startLiveMetrics(vm, plan, eo, serving)) return *done;
  spdlog::info("run {} of plan \"{}\" ({} stages, {}), output in {}", ctx.run_id, plan.name, plan.stages.size(),
               formatDuration(plan.totalDuration()), outs.dir);
  Executor ex(std::move(*fs), std::move(editor), eo);
  RunRecord rec;
  {
    StdoutWatch watch;
    rec = ex.run(plan, *res, ctx.run_id);
  }

  const RunAnalysis analysis = analyzeRun(rec);
  const int exit_code =
      writeRunOutputs(vm, outs, plan, rec, analysis, planSha256(in, optionString(vm, "plan")), exitCodeFor(rec, analysis.verdict));
  std::printf("%s", renderSummary(rec, analysis).c_str());
  std::printf("%s\n", machineLine(rec, analysis, exit_code, joinPath(outs.dir, "report.json")).c_str());
  std::fflush(stdout);
  finishLiveMetrics(serving, analysis, exit_code, linger);
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
