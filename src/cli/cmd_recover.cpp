// `memstrain recover`: undoes runs that died without cleaning up, from their journals.

#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/executor/journal.hpp"
#include "memstrain/util/text.hpp"

namespace po = boost::program_options;

namespace memstrain {

int runRecoverCommand(const std::vector<std::string>& args) {
  po::options_description desc;
  desc.add_options()                                                                                                       //
      ("dry-run,n", "say what would be undone; change nothing")                                                            //
      ("journal-dir", po::value<std::string>()->default_value(kDefaultJournalDir), "where runs keep their journals")       //
      ("cgroup-mount", po::value<std::string>(), "memory controller mount (default: detected from /proc/self/mountinfo)")  //
      ("cgroup-version", po::value<std::string>()->default_value("1"), "with --cgroup-mount: 1 or 2");
  const CommandHelp help{"memstrain recover [--dry-run] [--journal-dir DIR] [--cgroup-mount DIR --cgroup-version 1|2]",
                         "Finds journals of memstrain runs that died without cleaning up (their process is gone) and undoes\n"
                         "them: kills the target, stressor and command triggers they started (only if the same pid still\n"
                         "has the same start time and is the run's: in its cgroups, a memstrain stressor, or a trigger's\n"
                         "process group), empties and removes the cgroups they created, deletes the journal. Runs still in\n"
                         "progress are left alone. A journal is trusted only when it is a regular file of memstrain's user\n"
                         "that no one else can write, its run id has the shape memstrain gives (run-YYYYMMDD-HHMMSS-PID),\n"
                         "its memory controller is the one mounted now and each cgroup has one of the exact names a run\n"
                         "creates under a parent that names memstrain; anything else is refused and nothing of it is\n"
                         "touched. What was (or would be) undone is printed on stdout.",
                         "memstrain recover --dry-run   # what would be undone\n"
                         "memstrain recover",
                         "0 nothing left to do, 3 something could not be undone or a journal was refused"};
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {}, help, vm)) return *done;
  const bool dry_run = vm.count("dry-run") > 0;
  const std::string dir = optionString(vm, "journal-dir");
  // The mount found now, not the one a journal names: a journal cannot point recover elsewhere.
  Result<CgroupFs> fs = Error{""};
  if (vm.count("cgroup-mount")) {
    const std::string v = optionString(vm, "cgroup-version");
    if (v != "1" && v != "2") {
      spdlog::error("--cgroup-version must be 1 or 2");
      return kExitUsage;
    }
    fs = CgroupFs(optionString(vm, "cgroup-mount"), v == "1" ? CgroupVersion::kV1 : CgroupVersion::kV2);
  } else {
    fs = CgroupFs::detect();
  }
  std::vector<std::string> problems;
  auto dead = findDeadJournals(dir, &problems);
  for (const auto& p : problems) spdlog::error("unreadable journal: {}", p);
  if (dead.empty()) {
    std::printf("memstrain: no dead runs to recover in %s\n", dir.c_str());
    return problems.empty() ? kExitPass : kExitRunError;
  }
  if (!fs) {
    spdlog::error("cgroup memory controller: {}", fs.error().message);
    return kExitRunError;
  }
  bool ok = problems.empty();
  for (const auto& [path, journal] : dead) {
    std::printf("%s run %s (pid %d, gone):\n", dry_run ? "would recover" : "recovering", sanitizeUntrusted(journal.run_id, 80).c_str(),
                journal.owner_pid);
    RecoveryReport r = recoverJournal(path, journal, dry_run, *fs);
    for (const auto& a : r.actions) std::printf("  %s%s\n", dry_run ? "would " : "", a.c_str());
    for (const auto& e : r.errors) std::printf("  FAILED: %s\n", e.c_str());
    ok = ok && r.ok();
  }
  return ok ? kExitPass : kExitRunError;
}

}  // namespace memstrain
