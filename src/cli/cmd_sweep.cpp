// `memstrain sweep`: thin driver. Parsing, combination, resolution and aggregation are in
// sweep/sweep; running child runs in sweep/child_runs; rendering in sweep/sweep_report.

#include "memstrain/cli/cmd_sweep.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/logging.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/cli/plan_input.hpp"
#include "memstrain/executor/executor.hpp"
#include "memstrain/os/process.hpp"
#include "memstrain/plan/plan_parse.hpp"
#include "memstrain/sweep/child_runs.hpp"
#include "memstrain/sweep/sweep.hpp"
#include "memstrain/sweep/sweep_report.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/json_write.hpp"
#include "memstrain/util/units.hpp"

namespace po = boost::program_options;

namespace memstrain {
namespace {

int sweepMain(const std::vector<std::string>& args) {
  po::options_description desc;
  desc.add_options()                                                                                                         //
      ("set", po::value<std::vector<std::string>>()->composing(), "NAME=V1,V2,...: a variable and its values (repeatable)")  //
      ("repeat", po::value<int>()->default_value(1), "runs per setting (1-100)")                                             //
      ("out,o", po::value<std::string>(), "output directory (default: out/<plan name>-sweep-<id>)")                          //
      ("dry-run,n", "print the settings, their environment and directories; run nothing")                                    //
      ("cgroup-parent", po::value<std::string>()->default_value("/memstrain"),
       "parent cgroup of the runs' cgroups, passed to each `memstrain run`");
  const CommandHelp help{"memstrain sweep PLAN --set NAME=V1,V2[,...] [--set ...] [--repeat N] [--out DIR] [--dry-run]",
                         "Runs PLAN (launch mode) once per combination of the --set values (times --repeat), each as a\n"
                         "child `memstrain run` in its own fresh cgroup, and writes DIR/sweep.json, sweep.md and sweep.html\n"
                         "with one row per setting and a recommendation. Each run's report is in DIR/<setting>/.\n"
                         "NAME: GOGC (integer percent or off), GOMEMLIMIT (size like 400MiB, or percent of the plan's\n"
                         "memory_limit like 90%), GODEBUG (one key=value, merged into the plan's GODEBUG); any takes none\n"
                         "(unset). PLAN \"-\" reads the plan from standard input.",
                         "memstrain sweep plans/sweep-demo.json --set GOGC=25,100,300,off --set GOMEMLIMIT=none,90% --out out/sweep\n"
                         "memstrain sweep plans/demo.json --set GODEBUG=madvdontneed=0,madvdontneed=1 --repeat 3 --dry-run",
                         "0 done and a setting passed, 1 no setting passed, 2 usage or plan error (nothing run),\n"
                         "3 a run could not be judged, 4 interrupted"};
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {{"plan"}}, help, vm)) return *done;
  const int repeat = vm["repeat"].as<int>();
  if (repeat < 1 || repeat > 100) {
    spdlog::error("--repeat must be 1 to 100, got {}", repeat);
    return kExitUsage;
  }
  auto axes = parseSweepSets(vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{});
  if (!axes) {
    spdlog::error("{}; nothing was run", axes.error().message);
    return kExitUsage;
  }
  const std::string parent = optionString(vm, "cgroup-parent");
  if (const std::string problem = cgroupParentProblem(parent); !problem.empty()) {
    spdlog::error("{}", problem);
    return kExitUsage;
  }
  const PlanInput in = readPlanInput(optionString(vm, "plan"));
  const std::string& plan_path = in.label;
  if (!in.plan) {
    logPlanProblems(in.label, in.plan.error().message);
    spdlog::error("{}: invalid plan; nothing was run", plan_path);
    return kExitUsage;
  }
  const Plan* plan = &*in.plan;
  if (!plan->target.launch) {
    spdlog::error(
        "{}: a sweep needs a launch-mode target (target.launch): it sets GOGC, GOMEMLIMIT and GODEBUG in the environment of a "
        "target it starts, which an attached target (target.attach) does not get; nothing was run",
        plan_path);
    return kExitUsage;
  }

  // Every setting is resolved and its plan copy validated before anything runs.
  const std::vector<SweepSetting> settings = expandSweep(*axes);
  std::error_code ec;
  const std::string cwd = std::filesystem::current_path(ec).string();
  if (ec) {
    spdlog::error("current directory: {}", ec.message());
    return kExitRunError;
  }
  std::vector<std::map<std::string, std::string>> envs;
  std::vector<std::string> plan_texts;
  for (const auto& s : settings) {
    auto env = settingEnvironment(s, *plan->target.launch);
    if (!env) {
      spdlog::error("{}: {}; nothing was run", s.label(), env.error().message);
      return kExitUsage;
    }
    auto copy = settingPlanJson(plan->source, *env, cwd);
    if (!copy) {
      spdlog::error("{}: {}; nothing was run", plan_path, copy.error().message);
      return kExitUsage;
    }
    std::string text = dumpJson(*copy, 2) + "\n";
    if (auto check = parsePlan(text); !check) {
      spdlog::error("the plan copy for {} is invalid: {}; nothing was run", s.label(), check.error().message);
      return kExitUsage;
    }
    envs.push_back(*env);
    plan_texts.push_back(std::move(text));
  }
  const std::string out_dir = vm.count("out") ? optionString(vm, "out") : "out/" + plan->name + "-sweep-" + makeRunId();
  const std::size_t total = settings.size() * static_cast<std::size_t>(repeat);
  auto runDir = [&](std::size_t i, int rep) {
    const std::string base = joinPath(out_dir, settings[i].dirName());
    return repeat == 1 ? base : joinPath(base, "repeat-" + std::to_string(rep));
  };
  // Only the swept variables, as the target gets them (others come from the plan unchanged).
  auto sweptEnv = [&](std::size_t i) {
    std::map<std::string, std::string> m;
    for (const auto& a : *axes) {
      if (auto it = envs[i].find(a.name); it != envs[i].end()) m[a.name] = it->second;
    }
    return m;
  };

  if (vm.count("dry-run")) {
    std::printf("sweep of %s: %zu setting(s) x %d repeat(s) = %zu run(s) of %s each\n", plan_path.c_str(), settings.size(), repeat, total,
                formatDuration(plan->totalDuration()).c_str());
    for (std::size_t i = 0; i < settings.size(); ++i) {
      std::string env_text;
      for (const auto& a : *axes) {
        auto it = envs[i].find(a.name);
        env_text += " " + a.name + "=" + (it == envs[i].end() ? std::string("(unset)") : it->second);
      }
      std::printf("  %-36s env:%s  -> %s\n", settings[i].label().c_str(), env_text.c_str(), runDir(i, 1).c_str());
    }
    std::printf("dry run: nothing was run\n");
    return kExitPass;
  }

  auto self = prepareChildRuns(out_dir);
  if (!self) {
    spdlog::error("{}", self.error().message);
    return kExitRunError;
  }
  // A swept variable must reach the target only through the plan copy: `none` means unset, so
  // memstrain's own value (inherited by the child and then the target) is dropped here.
  for (const auto& a : *axes) ::unsetenv(a.name.c_str());
  installChildRunSignalHandlers("memstrain sweep");

  std::vector<std::vector<SweepRunFigures>> runs(settings.size());
  bool run_error = false;
  std::size_t n = 0;
  // Repeats are interleaved (all settings once, then again) so that drift on the host over the
  // sweep does not line up with one setting.
  for (int rep = 1; rep <= repeat && childRunSignalCount() == 0; ++rep) {
    for (std::size_t i = 0; i < settings.size() && childRunSignalCount() == 0; ++i) {
      ++n;
      const std::string dir = runDir(i, rep);
      const std::string plan_copy = joinPath(joinPath(out_dir, settings[i].dirName()), "plan.json");
      std::string tag = "[" + std::to_string(n) + "/" + std::to_string(total) + "] " + settings[i].label();
      if (repeat > 1) tag += " (repeat " + std::to_string(rep) + "/" + std::to_string(repeat) + ")";
      spdlog::info("memstrain sweep: {} -> {}", tag, dir);
      double took = 0;
      SweepRunFigures f = runPlanCopy({*self, plan_copy, plan_texts[i], dir, parent}, took);
      if (runNotJudged(f)) run_error = true;
      spdlog::info("memstrain sweep: {}: {} (exit {}, {:.0f} s)", tag, runOutcomeText(f), f.exit_code, took);
      // An interrupted run is not a measurement of the setting: it is left out of the table.
      if (f.exit_code != kExitInterrupted) runs[i].push_back(std::move(f));
    }
  }
  const bool interrupted = childRunSignalCount() > 0;

  SweepDocument doc;
  doc.plan_path = plan_path;
  doc.plan_name = plan->name;
  doc.memory_limit_bytes = plan->target.launch->memory_limit_bytes;
  for (const auto& s : plan->stages) doc.stage_names.push_back(s.name);
  doc.baseline_stage = plan->baseline_stage;
  doc.axes = *axes;
  doc.repeat = repeat;
  doc.interrupted = interrupted;
  for (std::size_t i = 0; i < settings.size(); ++i) doc.settings.push_back(summarizeSetting(settings[i], sweptEnv(i), std::move(runs[i])));
  doc.recommendation = recommendSetting(doc.settings);

  int exit_code = kExitPass;
  auto write = [&](const std::string& name, const std::string& body) {
    if (auto st = writeFileAtomic(joinPath(out_dir, name), body); !st) {
      spdlog::error("write {}: {}", name, st.error().message);
      exit_code = kExitRunError;
    }
  };
  write("sweep.json", dumpJson(sweepJson(doc), 2) + "\n");
  const std::string md = renderSweepMarkdown(doc);
  write("sweep.md", md);
  write("sweep.html", renderSweepHtml(doc));
  std::printf("%s", md.c_str());
  if (interrupted) {
    exit_code = kExitInterrupted;
  } else if (run_error) {
    exit_code = kExitRunError;
  } else if (exit_code == kExitPass && !doc.recommendation.index) {
    exit_code = kExitFail;
  }
  std::printf("memstrain sweep: settings=%zu runs=%zu recommended=%s interrupted=%s exit=%d out=%s\n", settings.size(), n,
              doc.recommendation.index ? ("\"" + doc.settings[*doc.recommendation.index].setting.label() + "\"").c_str() : "none",
              interrupted ? "yes" : "no", exit_code, out_dir.c_str());
  std::fflush(stdout);
  return exit_code;
}

}  // namespace

int runSweepCommand(const std::vector<std::string>& args) { return runGuarded("sweep", sweepMain, args); }

}  // namespace memstrain
