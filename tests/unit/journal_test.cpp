#include "memstrain/executor/journal.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace memstrain {
namespace {

namespace fs = std::filesystem;

Journal sample() {
  Journal j;
  j.run_id = "run-1";
  j.owner_pid = 4242;
  j.owner_start_time = 777;
  j.cgroup_mount = "/sys/fs/cgroup/memory";
  j.cgroup_version = CgroupVersion::kV1;
  j.cgroups = {"/memstrain", "/memstrain/run-1", "/memstrain/run-1/target"};
  j.processes = {{4243, 800, "target"}, {4244, 801, "stressor"}};
  return j;
}

TEST(Journal, RoundTripsThroughJson) {
  auto back = journalFromJson(journalToJson(sample()).dump());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->run_id, "run-1");
  EXPECT_EQ(back->owner_pid, 4242);
  EXPECT_EQ(back->owner_start_time, 777U);
  EXPECT_EQ(back->cgroups, sample().cgroups);
  ASSERT_EQ(back->processes.size(), 2U);
  EXPECT_EQ(back->processes[1].role, "stressor");
  EXPECT_EQ(back->processes[1].start_time, 801U);
}

TEST(Journal, MalformedJournalsAreErrorsNotCrashes) {
  for (
      const char* bad :
      {"", "[]", "{}", "{\"run_id\": 5}", "not json",
       R"({"run_id":"r","owner_pid":1,"owner_start_time":1,"cgroup_mount":"/x","cgroup_version":"v1","cgroups":[1],"processes":[]})",
       R"({"run_id":"r","owner_pid":1,"owner_start_time":1,"cgroup_mount":"/x","cgroup_version":"v1","cgroups":[],"processes":[{"pid":1}]})"}) {
    EXPECT_FALSE(journalFromJson(bad).ok()) << bad;
  }
}

TEST(Journal, StartTimeIsField22AfterTheCommandName) {
  const char* stat = "4242 (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 123456 1000000 200 0 0\n";
  EXPECT_EQ(parseStartTime(stat), 123456U);
  EXPECT_FALSE(parseStartTime("4242 (a) S 1 2").has_value());
  EXPECT_TRUE(processStartTime(::getpid()).has_value());
}

// A fake /proc: the owner of one journal is alive (same start time), the other is dead (its pid
// now belongs to a process with another start time).
TEST(Journal, FindsOnlyJournalsOfDeadOwners) {
  const fs::path root = fs::path(::testing::TempDir()) / ("memstrain-journal-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "proc/100");
  fs::create_directories(root / "proc/200");
  fs::create_directories(root / "journals");
  auto stat = [](std::uint64_t start) { return "1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 " + std::to_string(start) + " 0 0\n"; };
  std::ofstream(root / "proc/100/stat") << stat(5000);
  std::ofstream(root / "proc/200/stat") << stat(9999);
  Journal alive = sample();
  alive.run_id = "alive";
  alive.owner_pid = 100;
  alive.owner_start_time = 5000;
  Journal dead = sample();
  dead.run_id = "dead";
  dead.owner_pid = 200;
  dead.owner_start_time = 6000;  // pid 200 was reused
  JournalWriter(root / "journals", alive).save().ok();
  JournalWriter(root / "journals", dead).save().ok();
  std::ofstream(root / "journals/garbage.json") << "{";
  std::vector<std::string> problems;
  auto found = findDeadJournals((root / "journals").string(), &problems, (root / "proc").string());
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].second.run_id, "dead");
  EXPECT_EQ(problems.size(), 1U);
  fs::remove_all(root);
}

// Recovery on a fixture tree (not a cgroup filesystem: nothing can be killed there) removes the
// run's directories deepest first, keeps a shared parent that is not empty, and with --dry-run
// changes nothing.
TEST(Journal, RecoverRemovesTheRunsCgroupsDeepestFirst) {
  const fs::path root = fs::path(::testing::TempDir()) / ("memstrain-recover-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "cg/memstrain/run-1/target");
  fs::create_directories(root / "cg/memstrain/other-run");
  Journal j = sample();
  j.cgroup_mount = (root / "cg").string();
  j.processes.clear();
  const std::string path = (root / "run-1.json").string();
  std::ofstream(path) << journalToJson(j).dump();

  RecoveryReport dry = recoverJournal(path, j, /*dry_run=*/true, (root / "proc").string());
  EXPECT_TRUE(dry.ok());
  EXPECT_GE(dry.actions.size(), 3U);
  EXPECT_TRUE(fs::exists(root / "cg/memstrain/run-1/target"));
  EXPECT_TRUE(fs::exists(path));

  RecoveryReport r = recoverJournal(path, j, /*dry_run=*/false, (root / "proc").string());
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_FALSE(fs::exists(root / "cg/memstrain/run-1"));
  EXPECT_TRUE(fs::exists(root / "cg/memstrain/other-run"));  // shared parent kept: not empty
  EXPECT_FALSE(fs::exists(path));
  fs::remove_all(root);
}

}  // namespace
}  // namespace memstrain
