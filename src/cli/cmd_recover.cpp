// `memstrain recover`: undoes runs that died without cleaning up, from their journals.

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside boost's
// typed_value<std::string>::notify as instantiated in this file; the rest of the build keeps it.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/executor/journal.hpp"
#include "memstrain/util/text.hpp"

namespace po = boost::program_options;

namespace memstrain {

int runRecoverCommand(const std::vector<std::string>& args) {
  std::string dir;
  po::options_description desc("options");
  desc.add_options()                                                                                                       //
      ("help,h", "show this help")                                                                                         //
      ("dry-run,n", "say what would be undone; change nothing")                                                            //
      ("journal-dir", po::value<std::string>()->default_value(kDefaultJournalDir), "where runs keep their journals")       //
      ("cgroup-mount", po::value<std::string>(), "memory controller mount (default: detected from /proc/self/mountinfo)")  //
      ("cgroup-version", po::value<std::string>()->default_value("1"), "with --cgroup-mount: 1 or 2");
  const char* usage =
      "usage: memstrain recover [--dry-run] [--journal-dir DIR]\n\n"
      "Finds journals of memstrain runs that died without cleaning up (their process is gone) and undoes\n"
      "them: kills the target and stressor they started (only if the same pid still has the same start\n"
      "time and is still in the run's cgroups), empties and removes the cgroups they created, deletes the\n"
      "journal. Runs still in progress are left alone. A journal is trusted only when it is a regular\n"
      "file of memstrain's user that no one else can write, its run id has the shape memstrain gives\n"
      "(run-YYYYMMDD-HHMMSS-PID), its memory controller is the one mounted now and each cgroup has one\n"
      "of the exact names a run creates under a parent that names memstrain; anything else is refused\n"
      "and nothing of it is touched. Exit: 0 nothing left to do, 3 something could not be undone or a\n"
      "journal was refused.";
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "memstrain: %s\n\n%s\n", e.what(), usage);
    return kExitUsage;
  }
  if (vm.count("help")) {
    std::printf("%s\n\n", usage);
    std::cout << desc;
    return kExitPass;
  }
  const bool dry_run = vm.count("dry-run") > 0;
  dir = vm["journal-dir"].as<std::string>();
  // The mount found now, not the one a journal names: a journal cannot point recover elsewhere.
  Result<CgroupFs> fs = Error{""};
  if (vm.count("cgroup-mount")) {
    const std::string v = vm["cgroup-version"].as<std::string>();
    if (v != "1" && v != "2") {
      std::fprintf(stderr, "memstrain: --cgroup-version must be 1 or 2\n");
      return kExitUsage;
    }
    fs = CgroupFs(vm["cgroup-mount"].as<std::string>(), v == "1" ? CgroupVersion::kV1 : CgroupVersion::kV2);
  } else {
    fs = CgroupFs::detect();
  }
  std::vector<std::string> problems;
  auto dead = findDeadJournals(dir, &problems);
  for (const auto& p : problems) std::fprintf(stderr, "memstrain: unreadable journal: %s\n", p.c_str());
  if (dead.empty()) {
    std::printf("memstrain: no dead runs to recover in %s\n", dir.c_str());
    return problems.empty() ? kExitPass : kExitRunError;
  }
  if (!fs) {
    std::fprintf(stderr, "memstrain: cgroup memory controller: %s\n", fs.error().message.c_str());
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
