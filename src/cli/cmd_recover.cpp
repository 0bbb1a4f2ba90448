// `memstrain recover`: undoes runs that died without cleaning up, from their journals.

#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/executor/journal.hpp"

namespace po = boost::program_options;

namespace memstrain {

int runRecoverCommand(const std::vector<std::string>& args) {
  po::options_description desc;
  desc.add_options()                                             //
      ("dry-run,n", "say what would be undone; change nothing")  //
      ("journal-dir", po::value<std::string>()->default_value(kDefaultJournalDir), "where runs keep their journals");
  const CommandHelp help{"memstrain recover [--dry-run] [--journal-dir DIR]",
                         "Finds journals of memstrain runs that died without cleaning up (their process is gone) and undoes\n"
                         "them: kills the target and stressor they started (only if the same pid still has the same start\n"
                         "time), empties and removes the cgroups they created, deletes the journal. Runs still in progress\n"
                         "are left alone. What was (or would be) undone is printed on stdout.",
                         "memstrain recover --dry-run   # what would be undone\n"
                         "memstrain recover",
                         "0 nothing left to do, 3 something could not be undone"};
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {}, help, vm)) return *done;
  const bool dry_run = vm.count("dry-run") > 0;
  const std::string dir = optionString(vm, "journal-dir");
  std::vector<std::string> problems;
  auto dead = findDeadJournals(dir, &problems);
  for (const auto& p : problems) spdlog::error("unreadable journal: {}", p);
  if (dead.empty()) {
    std::printf("memstrain: no dead runs to recover in %s\n", dir.c_str());
    return problems.empty() ? kExitPass : kExitRunError;
  }
  bool ok = problems.empty();
  for (const auto& [path, journal] : dead) {
    std::printf("%s run %s (pid %d, gone):\n", dry_run ? "would recover" : "recovering", journal.run_id.c_str(), journal.owner_pid);
    RecoveryReport r = recoverJournal(path, journal, dry_run);
    for (const auto& a : r.actions) std::printf("  %s%s\n", dry_run ? "would " : "", a.c_str());
    for (const auto& e : r.errors) std::printf("  FAILED: %s\n", e.c_str());
    ok = ok && r.ok();
  }
  return ok ? kExitPass : kExitRunError;
}

}  // namespace memstrain
