// `memstrain headroom`: thin driver. The range, the plan copies and the search are in
// headroom/headroom; child runs, signals and figures are sweep's (sweep/child_runs); rendering in
// headroom/headroom_report. Here: options, files and progress.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/cli/logging.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/cli/plan_input.hpp"
#include "memstrain/executor/executor.hpp"
#include "memstrain/headroom/headroom.hpp"
#include "memstrain/headroom/headroom_report.hpp"
#include "memstrain/os/process.hpp"
#include "memstrain/plan/plan_parse.hpp"
#include "memstrain/sweep/child_runs.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/units.hpp"

namespace po = boost::program_options;

namespace memstrain {
namespace {

int headroomMain(const std::vector<std::string>& args) {
  po::options_description desc;
  desc.add_options()                                                                                                                //
      ("vary", po::value<std::string>(), "what to search: level, memory_limit or gomemlimit")                                       //
      ("from", po::value<std::string>(), "one end of the range (level: a percent; memory_limit: a size; gomemlimit: either)")       //
      ("to", po::value<std::string>(), "the other end")                                                                             //
      ("resolution", po::value<std::string>(), "stop when passing and failing values are this close (default: 1/16 of the range)")  //
      ("repeat", po::value<int>()->default_value(1), "runs per point (1-20); a point passes only when every run passes")            //
      ("max-runs", po::value<int>(), "budget of child runs (default: enough for the search, its rechecks and one retreat)")         //
      ("rechecks", po::value<int>()->default_value(1), "rounds of --repeat runs re-testing the passing and failing values (0-5)")   //
      ("margin", po::value<std::string>()->default_value("20%"), "memory_limit: margin of the recommendation over the edge")        //
      ("out,o", po::value<std::string>(), "output directory (default: out/<plan name>-headroom-<id>)")                              //
      ("dry-run,n", "list the points the search could visit and their plan changes; run nothing")                                   //
      ("cgroup-parent", po::value<std::string>()->default_value("/memstrain"),
       "parent cgroup of the runs' cgroups, passed to each `memstrain run`");
  const CommandHelp help{
      "memstrain headroom PLAN --vary level|memory_limit|gomemlimit --from A --to B [--resolution R] [--repeat N] [--max-runs M] "
      "--out DIR [--dry-run]",
      "Finds the edge of PLAN (launch mode): the value of one setting at which its checks stop passing.\n"
      "level: the pressure level of every pressure stage with a level (how much of the limit can be taken);\n"
      "memory_limit: target.launch.memory_limit (the smallest limit at which every check passes);\n"
      "gomemlimit: GOMEMLIMIT (sizes, or percents of the plan's memory_limit). Both ends run first, then\n"
      "bisection (each point a child `memstrain run` in its own fresh cgroup, --repeat times) down to the\n"
      "resolution, then the two values at the edge are run again (--rechecks). Writes DIR/headroom.json,\n"
      "headroom.md (printed too) and headroom.html; the last line is the machine line\n"
      "`memstrain: headroom=… passing<=… failing>=… runs=…` (>= and <= swapped when high values pass).",
      "memstrain headroom plans/sweep-demo.json --vary memory_limit --from 128MiB --to 512MiB --resolution 16MiB --out out/limit\n"
      "memstrain headroom plans/page-cache.json --vary level --from 50% --to 95% --resolution 2.5% --repeat 2 --out out/level\n"
      "memstrain headroom plans/sweep-demo.json --vary gomemlimit --from 50% --to 100% --dry-run",
      "0 an edge was found (or every value passed), 1 no value passed, 2 usage or plan error (nothing run),\n"
      "3 a run could not be judged, 4 interrupted, 5 the run budget ended before the resolution"};
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {{"plan"}}, help, vm)) return *done;
  auto usage = [](const std::string& msg) {
    spdlog::error("{}; nothing was run", msg);
    return kExitUsage;
  };
  if (!vm.count("vary") || !vm.count("from") || !vm.count("to")) return usage("give --vary, --from and --to (see --help)");
  auto variable = parseHeadroomVariable(optionString(vm, "vary"));
  if (!variable) return usage(variable.error().message);
  auto range = parseHeadroomRange(*variable, optionString(vm, "from"), optionString(vm, "to"),
                                  vm.count("resolution") ? optionString(vm, "resolution") : "");
  if (!range) return usage(range.error().message);
  HeadroomSearchOptions options;
  options.repeat = vm["repeat"].as<int>();
  if (options.repeat < 1 || options.repeat > 20) return usage("--repeat must be 1 to 20, got " + std::to_string(options.repeat));
  options.rechecks = vm["rechecks"].as<int>();
  if (options.rechecks < 0 || options.rechecks > 5) return usage("--rechecks must be 0 to 5, got " + std::to_string(options.rechecks));
  const int steps = bisectionSteps(*range);
  // Both ends, the bisection, the rechecks of both bounds, and one retreat (a recheck that fails
  // and one more bisection step with its recheck).
  options.max_runs = options.repeat * (2 + steps + 2 * options.rechecks + 1 + options.rechecks);
  if (vm.count("max-runs")) {
    options.max_runs = vm["max-runs"].as<int>();
    if (options.max_runs < 2 || options.max_runs > 1000)
      return usage("--max-runs must be 2 to 1000, got " + std::to_string(options.max_runs));
  }
  auto margin = parsePercent(optionString(vm, "margin"));
  if (!looksLikePercent(optionString(vm, "margin")) || !margin || *margin > 2) {
    return usage("--margin " + optionString(vm, "margin") + ": expected a percent from 0% to 200%");
  }
  const std::string parent = optionString(vm, "cgroup-parent");
  if (const std::string problem = cgroupParentProblem(parent); !problem.empty()) return usage(problem);
  const PlanInput in = readPlanInput(optionString(vm, "plan"));
  const std::string& plan_path = in.label;
  if (!in.plan) {
    logPlanProblems(in.label, in.plan.error().message);
    return usage(plan_path + ": invalid plan");
  }
  const Plan& plan = *in.plan;
  if (!plan.target.launch) {
    return usage(plan_path +
                 ": a headroom search needs a launch-mode target (target.launch): it sets the limit, the pressure or GOMEMLIMIT of "
                 "runs it starts itself");
  }
  std::error_code ec;
  const std::string cwd = std::filesystem::current_path(ec).string();
  if (ec) {
    spdlog::error("current directory: {}", ec.message());
    return kExitRunError;
  }
  // A plan copy as text, validated: both ends are checked before anything runs, every point again
  // before its run.
  auto planText = [&](double value) -> Result<std::string> {
    auto copy = headroomPlanJson(plan.source, *plan.target.launch, *range, value, cwd);
    if (!copy) return copy.error();
    std::string text = copy->dump(2) + "\n";
    if (auto check = parsePlan(text); !check) {
      return Error{"the plan copy for " + std::string(toString(range->variable)) + " " + formatHeadroomValue(*range, value) +
                   " is invalid: " + check.error().message};
    }
    return text;
  };
  for (double v : {range->from, range->to}) {
    if (auto t = planText(v); !t) return usage(plan_path + ": " + t.error().message);
  }
  const std::string out_dir = vm.count("out") ? optionString(vm, "out") : "out/" + plan.name + "-headroom-" + makeRunId();

  if (vm.count("dry-run")) {
    const auto points = headroomCandidatePoints(*range, 64);
    std::printf(
        "headroom search of %s: %s from %s to %s, resolution %s; %d bisection step(s), %d run(s) per point, budget %d run(s) of %s each\n",
        plan_path.c_str(), toString(range->variable), formatHeadroomValue(*range, range->from).c_str(),
        formatHeadroomValue(*range, range->to).c_str(), formatHeadroomValue(*range, range->resolution).c_str(), steps, options.repeat,
        options.max_runs, formatDuration(plan.totalDuration()).c_str());
    std::printf("points it could visit (both ends first, then each bisection level):\n");
    for (double v : points) {
      std::printf("  %-12s %-12s -> %s\n", formatHeadroomValue(*range, v).c_str(),
                  range->variable == HeadroomVariable::kGomemlimit ? ("GOMEMLIMIT=" + headroomValueText(*range, v)).c_str()
                  : range->variable == HeadroomVariable::kLevel    ? ("level=" + headroomValueText(*range, v)).c_str()
                                                                   : ("memory_limit=" + headroomValueText(*range, v)).c_str(),
                  joinPath(out_dir, headroomValueDir(*range, v)).c_str());
    }
    std::printf("dry run: nothing was run\n");
    return kExitPass;
  }

  auto self = prepareChildRuns(out_dir);
  if (!self) {
    spdlog::error("{}", self.error().message);
    return kExitRunError;
  }
  // GOMEMLIMIT must reach the target only through the plan copy.
  if (range->variable == HeadroomVariable::kGomemlimit) ::unsetenv("GOMEMLIMIT");
  installChildRunSignalHandlers("memstrain headroom");

  const auto t0 = std::chrono::steady_clock::now();
  int n = 0;
  auto runner = [&](double value, TrialPurpose purpose, int attempt, double& took_s) -> SweepRunFigures {
    const std::string base = joinPath(out_dir, headroomValueDir(*range, value));
    const std::string dir = joinPath(base, "run-" + std::to_string(attempt));
    const std::string label = std::string(toString(range->variable)) + "=" + formatHeadroomValue(*range, value);
    ++n;
    const std::string tag = "[" + std::to_string(n) + "/≤" + std::to_string(options.max_runs) + "] " + label + " (" + toString(purpose) +
                            (attempt > 1 ? ", run " + std::to_string(attempt) + " here" : "") + ")";
    spdlog::info("memstrain headroom: {} -> {}", tag, dir);
    auto text = planText(value);
    SweepRunFigures f;
    if (!text) {
      f.verdict = "error";
      f.error = text.error().message;
      f.dir = dir;
      took_s = 0;
    } else {
      f = runPlanCopy({*self, joinPath(base, "plan.json"), *text, dir, parent}, took_s);
    }
    spdlog::info("memstrain headroom: {}: {} (exit {}, {:.0f} s)", tag, runOutcomeText(f), f.exit_code, took_s);
    return f;
  };
  HeadroomDocument doc;
  doc.plan_path = plan_path;
  doc.plan_name = plan.name;
  doc.out_dir = out_dir;
  doc.memory_limit_bytes = plan.target.launch->memory_limit_bytes;
  doc.range = *range;
  doc.options = options;
  doc.margin = *margin;
  doc.outcome = searchHeadroom(*range, options, runner);
  doc.took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  int exit_code = kExitPass;
  switch (doc.outcome.end) {
    case SearchEnd::kEdge:
    case SearchEnd::kAllPass: exit_code = kExitPass; break;
    case SearchEnd::kAllFail: exit_code = kExitFail; break;
    case SearchEnd::kNotJudged: exit_code = kExitRunError; break;
    case SearchEnd::kInterrupted: exit_code = kExitInterrupted; break;
    case SearchEnd::kBudget: exit_code = kExitInconclusive; break;
  }
  // A run that ended with a cleanup failure still judged its point, but the node may hold leftovers.
  for (const auto& t : doc.outcome.trials) {
    if (t.figures.exit_code == kExitCleanupFailed && exit_code == kExitPass) exit_code = kExitRunError;
  }
  bool written = true;
  auto write = [&](const std::string& name, const std::string& body) {
    if (auto st = writeFileAtomic(joinPath(out_dir, name), body); !st) {
      spdlog::error("write {}: {}", name, st.error().message);
      written = false;
    }
  };
  const std::string md = renderHeadroomMarkdown(doc);
  write("headroom.md", md);
  write("headroom.html", renderHeadroomHtml(doc));
  if (!written && exit_code == kExitPass) exit_code = kExitRunError;
  write("headroom.json", headroomJson(doc, exit_code).dump(2) + "\n");
  if (!written && exit_code == kExitPass) exit_code = kExitRunError;
  std::printf("%s%s\n", md.c_str(), headroomMachineLine(doc, exit_code).c_str());
  std::fflush(stdout);
  return exit_code;
}

}  // namespace

int runHeadroomCommand(const std::vector<std::string>& args) { return runGuarded("headroom", headroomMain, args); }

}  // namespace memstrain
