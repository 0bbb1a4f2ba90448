#include "memstrain/cli/cli.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "memstrain/actuators/stressor.hpp"
#include "memstrain/cli/cmd_locate.hpp"
#include "memstrain/cli/cmd_pprof.hpp"
#include "memstrain/cli/cmd_sweep.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/version.hpp"

namespace memstrain {
namespace {

constexpr const char* kUsage =
    "usage: memstrain <command> [options]\n"
    "\n"
    "Memory-pressure chaos experiments for Go services in cgroups.\n"
    "\n"
    "commands:\n"
    "  run PLAN [--out DIR] [--dry-run] [-v]   run a plan and judge the target\n"
    "  validate PLAN                           check a plan without touching anything\n"
    "  sweep PLAN --set GOGC=50,100 [...]      run a plan under each GOGC/GOMEMLIMIT/GODEBUG setting and compare\n"
    "  report OUT/report.json [--out FILE]     write report.html (charts) from a finished run\n"
    "  pprof top|diff FILE...                  summarise saved Go heap profiles like `go tool pprof -top`\n"
    "  recover [--dry-run]                     undo runs that died without cleaning up\n"
    "  locate --pid N|--container-id ID|--pod-uid UID   find a target's memory cgroup on this node\n"
    "  compare A/report.json B/report.json     two runs side by side, per stage and check, with the change\n"
    "  version                                 print the version\n"
    "\n"
    "Run `memstrain <command> --help` for the options of a command.\n"
    "Exit codes: 0 pass, 1 fail, 2 invalid plan or usage, 3 run error, 4 interrupted, 5 inconclusive,\n"
    "6 cleanup failed, 7 aborted by a window check.\n";

}  // namespace

std::string cgroupParentProblem(const std::string& parent) {
  const auto slash = parent.find_last_of('/');
  const std::string leaf = slash == std::string::npos ? parent : parent.substr(slash + 1);
  if (parent.empty() || parent.front() != '/' || parent.find("..") != std::string::npos || leaf.find("memstrain") == std::string::npos) {
    return "--cgroup-parent must be an absolute path whose last part names memstrain, got \"" + parent + "\"";
  }
  return "";
}

int cliMain(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string cmd = args.front();
  std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::fputs(kUsage, stdout);
      return kExitPass;
    }
    if (cmd == "--version" || cmd == "version") {
      std::printf("memstrain %s\n", kVersion);
      return kExitPass;
    }
    if (cmd == "run") return runRunCommand(rest);
    if (cmd == "validate") return runValidateCommand(rest);
    if (cmd == "pprof") return runPprofCommand(rest);
    if (cmd == "recover") return runRecoverCommand(rest);
    if (cmd == "report") return runReportCommand(rest);
    if (cmd == "locate") return runLocateCommand(rest);
    if (cmd == "sweep") return runSweepCommand(rest);
    if (cmd == "compare") return runCompareCommand(rest);
    if (cmd == kStressorSubcommand) return runStressorCommand(rest);
  } catch (const std::exception& e) {
    // The one place exceptions stop: anything that escaped a command becomes a message.
    std::fprintf(stderr, "memstrain: %s\n", e.what());
    return kExitRunError;
  }
  std::fprintf(stderr, "memstrain: unknown command \"%s\"\n\n%s", cmd.c_str(), kUsage);
  return kExitUsage;
}

}  // namespace memstrain
