#include "memstrain/cli/cli.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "memstrain/actuators/stressor.hpp"
#include "memstrain/cli/cmd_locate.hpp"
#include "memstrain/cli/cmd_pprof.hpp"
#include "memstrain/cli/cmd_sweep.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/cli/logging.hpp"
#include "memstrain/util/build_info.hpp"

namespace memstrain {
namespace {

constexpr ExitCodeInfo kExitCodes[] = {
    {kExitPass, "pass: the run completed, every check passed and cleanup was ok (other commands: done)"},
    {kExitFail, "fail: a check failed, or the target was OOM-killed or died during the run"},
    {kExitUsage, "invalid plan, command line or input file: nothing was started or changed"},
    {kExitRunError, "error: the work could not be done (cgroups, target start, a write); a run still cleaned up"},
    {kExitInterrupted, "interrupted by SIGINT, SIGTERM or SIGHUP, or stdout became a broken pipe; cleanup ran"},
    {kExitInconclusive, "inconclusive: a check already failed in the baseline stage, or had no data"},
    {kExitCleanupFailed, "cleanup failed: cgroups or processes may be left behind (see `memstrain recover`)"},
    {kExitAborted, "aborted: a window check with \"abort\": true failed and stopped the run early"},
    {kExitRegression, "regression: `compare --fail-on` found one of the regressions it was asked about"},
    {kExitNotFound, "not found: `locate` found no such target, or more than one"},
};

std::string usageText() {
  std::string u =
      "usage: memstrain <command> [options]\n"
      "\n"
      "Memory-pressure chaos experiments for Go services in cgroups, with a verdict.\n"
      "\n"
      "commands:\n"
      "  run PLAN [--out DIR] [--dry-run] [--metrics-addr HOST:PORT]  run a plan and judge the target\n"
      "  validate PLAN [--json]                  check a plan without touching anything (PLAN - reads stdin)\n"
      "  sweep PLAN --set GOGC=50,100 [...]      run a plan under each GOGC/GOMEMLIMIT/GODEBUG setting and compare\n"
      "  headroom PLAN --vary level|memory_limit|gomemlimit --from A --to B  search for the edge where checks fail\n"
      "  report OUT/report.json [--out FILE]     write report.html (charts) from a finished run\n"
      "  compare A/report.json B/report.json [--fail-on RULE]  two runs side by side; gate CI on a regression\n"
      "  pprof top|diff FILE...                  summarise saved Go heap profiles like `go tool pprof -top`\n"
      "  locate --pid N|--container-id ID|--pod-uid UID   find a target's memory cgroup on this node\n"
      "  recover [--dry-run]                     undo runs that died without cleaning up\n"
      "  version                                 print the version and build (also --version)\n"
      "\n"
      "Every command takes --help (with examples) and --log-format text|json. Diagnostics go to stderr\n"
      "(UTC timestamps; SPDLOG_LEVEL=debug|info|warn|error sets the level), results to stdout.\n"
      "\n"
      "examples:\n"
      "  memstrain validate plans/demo.json\n"
      "  memstrain run plans/demo.json --out out/demo --metrics-addr 127.0.0.1:9464\n"
      "  memstrain compare base/report.json new/report.json --fail-on check-regressed --fail-on p99:+20%\n"
      "\n"
      "exit codes:\n";
  for (const auto& e : kExitCodes) {
    char line[192];
    std::snprintf(line, sizeof line, "  %d  %s\n", e.code, e.meaning);
    u += line;
  }
  return u;
}

}  // namespace

std::span<const ExitCodeInfo> exitCodeTable() { return kExitCodes; }

std::string cgroupParentProblem(const std::string& parent) {
  const auto slash = parent.find_last_of('/');
  const std::string leaf = slash == std::string::npos ? parent : parent.substr(slash + 1);
  if (parent.empty() || parent.front() != '/' || parent.find("..") != std::string::npos || leaf.find("memstrain") == std::string::npos) {
    return "--cgroup-parent must be an absolute path whose last part names memstrain, got \"" + parent + "\"";
  }
  return "";
}

std::string versionText() {
  const BuildInfo& b = buildInfo();
  return std::string("memstrain ") + b.version + "\ncommit: " + shortCommit(b) + "\nbuild: " + b.build_type + "\ncompiler: " + b.compiler +
         "\n";
}

int cliMain(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Until a command parses its own options: text, info, SPDLOG_LEVEL.
  setupLogging({});
  if (args.empty()) {
    std::fputs(usageText().c_str(), stderr);
    return kExitUsage;
  }
  const std::string cmd = args.front();
  std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::fputs(usageText().c_str(), stdout);
      return kExitPass;
    }
    if (cmd == "--version" || cmd == "-V" || cmd == "version") {
      std::fputs(versionText().c_str(), stdout);
      return kExitPass;
    }
    if (cmd == "run") return runRunCommand(rest);
    if (cmd == "validate") return runValidateCommand(rest);
    if (cmd == "pprof") return runPprofCommand(rest);
    if (cmd == "recover") return runRecoverCommand(rest);
    if (cmd == "report") return runReportCommand(rest);
    if (cmd == "locate") return runLocateCommand(rest);
    if (cmd == "sweep") return runSweepCommand(rest);
    if (cmd == "headroom") return runHeadroomCommand(rest);
    if (cmd == "compare") return runCompareCommand(rest);
    if (cmd == kStressorSubcommand) return runStressorCommand(rest);
  } catch (const std::exception& e) {
    // The one place exceptions stop: anything that escaped a command becomes a message.
    spdlog::error("{}", e.what());
    return kExitRunError;
  }
  spdlog::error("unknown command \"{}\"; `memstrain --help` lists the commands", cmd);
  return kExitUsage;
}

}  // namespace memstrain
