#include "memstrain/executor/journal.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "memstrain/util/fs.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRunId = "run-20240101-120000-4242";

Journal sample() {
  Journal j;
  j.run_id = kRunId;
  j.owner_pid = 4242;
  j.owner_start_time = 777;
  j.cgroup_mount = "/sys/fs/cgroup/memory";
  j.cgroup_version = CgroupVersion::kV1;
  j.cgroups = {"/memstrain", "/memstrain/run-20240101-120000-4242", "/memstrain/run-20240101-120000-4242/target"};
  j.processes = {{4243, 800, "target"}, {4244, 801, "stressor"}};
  return j;
}

TEST(Journal, RoundTripsThroughJson) {
  auto back = journalFromJson(journalToJson(sample()).dump());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->run_id, kRunId);
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
  fs::create_directories(root / "cg/memstrain" / kRunId / "target");
  fs::create_directories(root / "cg/memstrain/other-run");
  Journal j = sample();
  j.cgroup_mount = (root / "cg").string();
  j.processes.clear();
  const std::string path = (root / "run.json").string();
  std::ofstream(path) << journalToJson(j).dump();
  const CgroupFs now((root / "cg").string(), CgroupVersion::kV1);

  RecoveryReport dry = recoverJournal(path, j, /*dry_run=*/true, now, (root / "proc").string());
  EXPECT_TRUE(dry.ok());
  EXPECT_GE(dry.actions.size(), 3U);
  EXPECT_TRUE(fs::exists(root / "cg/memstrain" / kRunId / "target"));
  EXPECT_TRUE(fs::exists(path));

  RecoveryReport r = recoverJournal(path, j, /*dry_run=*/false, now, (root / "proc").string());
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_FALSE(fs::exists(root / "cg/memstrain" / kRunId));
  EXPECT_TRUE(fs::exists(root / "cg/memstrain/other-run"));  // shared parent kept: not empty
  EXPECT_FALSE(fs::exists(path));
  fs::remove_all(root);
}

TEST(Journal, RunIdsHaveTheShapeMemstrainGivesThem) {
  EXPECT_TRUE(validRunId("run-20240101-120000-4242"));
  EXPECT_TRUE(validRunId("run-20991231-235959-4194304"));
  for (const char* bad :
       {"", "run-1", "kubepods", "burstable", "run-20240101-120000-", "run-20240101-120000-0", "run-2024010-120000-1",
        "run-20240101-120000-1/..", "run-20240101-120000-1 ", "xrun-20240101-120000-1", "run-20240101-120000-12345678901"}) {
    EXPECT_FALSE(validRunId(bad)) << bad;
  }
}

// What a run really journals passes; each planted shape is named.
TEST(Journal, OnlyTheExactCgroupShapesOfARunUnderItsOwnParentPass) {
  const std::string mount = "/sys/fs/cgroup/memory";
  auto problems = [&](std::vector<std::string> cgroups, std::string run_id = kRunId, std::string journal_mount = "/sys/fs/cgroup/memory") {
    Journal j = sample();
    j.run_id = run_id;
    j.cgroups = std::move(cgroups);
    j.cgroup_mount = journal_mount;
    return journalProblems(j, mount, CgroupVersion::kV1);
  };
  const std::string r = kRunId;
  // Launch (inside, beside, node), attach beside and attach node, with and without a new parent.
  EXPECT_TRUE(problems({"/memstrain", "/memstrain/" + r, "/memstrain/" + r + "/target"}).empty());
  EXPECT_TRUE(problems({"/memstrain/" + r, "/memstrain/" + r + "/target", "/memstrain/" + r + "/stressor"}).empty());
  EXPECT_TRUE(problems({"/memstrain/" + r, "/memstrain/" + r + "/target", "/memstrain/" + r + "-node"}).empty());
  EXPECT_TRUE(problems({"/kubepods/burstable/pod1/memstrain-stressor-" + r}).empty());
  EXPECT_TRUE(problems({"/memstrain-test-7", "/memstrain-test-7/" + r + "-node"}).empty());
  EXPECT_EQ(problems({"/memstrain/"}, r, "/sys/fs/cgroup/memory/").size(), 1U);  // "/memstrain/" is not clean

  // The issue's exploit: a run id that is a substring of /kubepods, and cgroups that contain it.
  EXPECT_FALSE(problems({"/kubepods"}, "kubepods").empty());
  EXPECT_FALSE(problems({"/kubepods/burstable"}, "burstable").empty());
  // A well-formed id but cgroups that are not a run's.
  EXPECT_FALSE(problems({"/kubepods"}).empty());
  EXPECT_FALSE(problems({"/kubepods/burstable/pod1/" + r}).empty()) << "the parent must name memstrain";
  EXPECT_FALSE(problems({"/memstrain/" + r, "/memstrain/" + r + "/target/../../kubepods"}).empty());
  EXPECT_FALSE(problems({"/memstrain/" + r, "/memstrain/" + r + "/other"}).empty());
  EXPECT_TRUE(problems({"/memstrain/" + r, "/memstrain"}).empty()) << "order does not matter";
  EXPECT_FALSE(problems({"/memstrain/" + r, "/other/" + r + "-node"}).empty()) << "two parents";
  EXPECT_FALSE(problems({"/" + r}).empty()) << "the root as parent";
  EXPECT_FALSE(problems({"/memstrain-stressor-x"}).empty());
  // Mount and version: the journal cannot point recover at another tree.
  EXPECT_FALSE(problems({"/memstrain/" + r}, r, "/tmp/planted").empty());
  Journal v2 = sample();
  v2.cgroup_mount = mount;
  v2.cgroup_version = CgroupVersion::kV2;
  EXPECT_FALSE(journalProblems(v2, mount, CgroupVersion::kV1).empty());
  // Roles: the parent is shared (never emptied), the rest run-owned.
  std::vector<JournalCgroupRole> roles;
  Journal j = sample();
  j.cgroup_mount = mount;
  EXPECT_TRUE(journalProblems(j, mount, CgroupVersion::kV1, &roles).empty());
  EXPECT_EQ(roles,
            (std::vector<JournalCgroupRole>{JournalCgroupRole::kSharedParent, JournalCgroupRole::kRunOwned, JournalCgroupRole::kRunOwned}));
}

// A planted journal pointing at a fixture tree like /kubepods: refused, nothing removed, the
// journal kept.
TEST(Journal, RecoverRefusesAPlantedJournalAndChangesNothing) {
  const fs::path root = fs::path(::testing::TempDir()) / ("memstrain-planted-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "cg/kubepods/burstable/pod1/ctr");
  Journal j = sample();
  j.run_id = "burstable";
  j.cgroup_mount = (root / "cg").string();
  j.cgroups = {"/kubepods", "/kubepods/burstable", "/kubepods/burstable/pod1/ctr"};
  j.processes.clear();
  const std::string path = (root / "planted.json").string();
  std::ofstream(path) << journalToJson(j).dump();
  RecoveryReport r = recoverJournal(path, j, /*dry_run=*/false, CgroupFs((root / "cg").string(), CgroupVersion::kV1));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.actions.empty());
  EXPECT_TRUE(fs::exists(root / "cg/kubepods/burstable/pod1/ctr"));
  EXPECT_TRUE(fs::exists(path)) << "a refused journal stays for a human to look at";
  fs::remove_all(root);
}

// Journals are 0600 files of memstrain's user; a symlink planted at the journal's name is
// replaced, not written through; a journal directory others can write is refused.
TEST(Journal, SaveWritesAPrivateFileAndNeverFollowsAPlantedSymlink) {
  const fs::path root = fs::path(::testing::TempDir()) / ("memstrain-journal-save-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const fs::path victim = root / "victim";
  std::ofstream(victim) << "precious\n";
  const fs::path dir = root / "journals";
  JournalWriter w(dir.string(), sample());
  ASSERT_TRUE(w.save().ok());
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
  const fs::path file = dir / (std::string(kRunId) + ".json");
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  fs::remove(file);
  fs::create_symlink(victim, file);
  ASSERT_TRUE(w.save().ok());
  EXPECT_FALSE(fs::is_symlink(file));
  auto text = readFile(victim.string());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "precious\n");
  // No temporary files left beside it.
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) entries += e.path().filename() != file.filename() ? 1 : 0;
  EXPECT_EQ(entries, 0U);

  fs::permissions(dir, fs::perms::others_write, fs::perm_options::add);
  Status st = w.save();
  EXPECT_FALSE(st.ok());
  if (!st.ok()) {
    EXPECT_NE(st.error().message.find("writable by every user"), std::string::npos) << st.error().message;
  }
  fs::remove_all(root);
}

TEST(Journal, FilesMemstrainDidNotWriteAreNotRead) {
  const fs::path root = fs::path(::testing::TempDir()) / ("memstrain-journal-find-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "journals");
  fs::permissions(root / "journals", fs::perms::owner_all, fs::perm_options::replace);
  fs::create_directories(root / "proc");  // every owner is dead: no stat files
  Journal j = sample();
  const std::string text = journalToJson(j).dump();
  std::ofstream(root / "elsewhere.json") << text;
  fs::create_symlink(root / "elsewhere.json", root / "journals/symlink.json");
  std::ofstream(root / "journals/group-writable.json") << text;
  fs::permissions(root / "journals/group-writable.json", fs::perms::group_write, fs::perm_options::add);
  std::ofstream(root / "journals/good.json") << text;
  fs::permissions(root / "journals/good.json", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  std::vector<std::string> problems;
  auto found = findDeadJournals((root / "journals").string(), &problems, (root / "proc").string());
  ASSERT_EQ(found.size(), 1U);
  EXPECT_NE(found[0].first.find("good.json"), std::string::npos);
  EXPECT_EQ(problems.size(), 2U);

  // A journal directory others can write is not read at all.
  fs::permissions(root / "journals", fs::perms::others_write, fs::perm_options::add);
  problems.clear();
  EXPECT_TRUE(findDeadJournals((root / "journals").string(), &problems, (root / "proc").string()).empty());
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_NE(problems[0].find("writable by every user"), std::string::npos) << problems[0];
  fs::remove_all(root);
}

}  // namespace
}  // namespace memstrain
