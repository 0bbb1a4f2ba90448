// Issue 15, item 5: `memstrain recover` must not trust a journal. Planted journals point at a
// /kubepods-like tree built under the test's cgroup parent, with a real process in it; recover
// refuses them, touches nothing of theirs, and still undoes the one journal that is a run's.
// Needs root and a cgroup memory controller.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "memstrain/executor/journal.hpp"
#include "memstrain/util/fs.hpp"
#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using memstrain::testing::slurp;

class RecoverTest : public memstrain::testing::RunFixture {
 protected:
  RecoverTest() : RunFixture("memstrain-recover") {}

  void TearDown() override {
    if (sleeper_ > 0) {
      ::kill(sleeper_, SIGKILL);
      ::waitpid(sleeper_, nullptr, 0);
    }
    RunFixture::TearDown();
  }

  // mkdir -p of a cgroup under the test parent.
  void makeCgroup(const std::string& rel) const { fs::create_directories(fs_->mount() + rel); }

  void plant(const std::string& file, const Journal& j) const {
    auto dir = openOutputDir((dir_ / "journals").string(), DirTrust::kPrivate, 0700);
    ASSERT_TRUE(dir.ok()) << dir.error().message;
    ASSERT_TRUE(writeFileAtomicAt(dir->get(), file, journalToJson(j).dump(), 0600).ok());
  }

  Journal journal(const std::string& run_id, std::vector<std::string> cgroups) const {
    Journal j;
    j.run_id = run_id;
    j.owner_pid = 1;
    j.owner_start_time = 999999999;  // pid 1 started at another time: the owner is dead
    j.cgroup_mount = fs_->mount();
    j.cgroup_version = fs_->version();
    j.cgroups = std::move(cgroups);
    return j;
  }

  pid_t sleeper_ = -1;
};

TEST_F(RecoverTest, PlantedJournalsAreRefusedAndNothingOfTheirsIsTouched) {
  // A pod with a real process in it, under the test parent.
  const std::string pod = parent_ + "/kubepods/burstable/pod1";
  makeCgroup(pod);
  sleeper_ = ::fork();
  if (sleeper_ == 0) {
    ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(sleeper_, 0);
  std::ofstream(fs_->mount() + pod + "/cgroup.procs") << sleeper_ << "\n";
  ASSERT_NE(slurp(fs_->mount() + pod + "/cgroup.procs").find(std::to_string(sleeper_)), std::string::npos);
  const auto start = processStartTime(sleeper_);
  ASSERT_TRUE(start.has_value());

  // The exploit: a run id that the pod's path contains.
  plant("a-substring.json", journal("burstable", {parent_ + "/kubepods", parent_ + "/kubepods/burstable", pod}));
  // A well-formed run id, cgroups that are not a run's, and the pod's process as its "target".
  Journal b = journal("run-20240101-000000-4242", {parent_ + "/kubepods"});
  b.processes = {{sleeper_, *start, "target"}};
  plant("b-shape.json", b);
  // The right shapes, but on another tree than the one mounted now.
  Journal c = journal("run-20240101-000000-4243", {parent_ + "/memstrain", parent_ + "/memstrain/run-20240101-000000-4243"});
  c.cgroup_mount = (dir_ / "fake-mount").string();
  plant("c-mount.json", c);
  // A real run's journal whose process entry names the pod's process (pid and start time right):
  // the run's cgroups go, the process is not the run's and stays.
  const std::string run = parent_ + "/memstrain/run-20240101-000000-4244";
  makeCgroup(run + "/target");
  Journal d = journal("run-20240101-000000-4244", {parent_ + "/memstrain", run, run + "/target"});
  d.processes = {{sleeper_, *start, "target"}};
  plant("d-real.json", d);

  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " recover --journal-dir " + (dir_ / "journals").string() + " > " +
                          (dir_ / "recover.log").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string log = slurp(dir_ / "recover.log");
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 3) << "refused journals are something left undone\n" << log;
  EXPECT_EQ(::kill(sleeper_, 0), 0) << "recover killed a process of a cgroup that was not the run's\n" << log;
  EXPECT_NE(slurp(fs_->mount() + pod + "/cgroup.procs").find(std::to_string(sleeper_)), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(fs_->mount() + pod)) << log;
  for (const char* kept : {"a-substring.json", "b-shape.json", "c-mount.json"}) EXPECT_TRUE(fs::exists(dir_ / "journals" / kept)) << kept;
  EXPECT_NE(log.find("is not one memstrain makes"), std::string::npos) << log;
  EXPECT_NE(log.find("is not one a run creates"), std::string::npos) << log;
  EXPECT_NE(log.find("not the one mounted now"), std::string::npos) << log;
  // The real one is undone, without its stray process entry.
  EXPECT_FALSE(fs::exists(fs_->mount() + run)) << log;
  EXPECT_FALSE(fs::exists(dir_ / "journals/d-real.json")) << log;
  EXPECT_NE(log.find("leave pid " + std::to_string(sleeper_) + " alone"), std::string::npos) << log;
}

}  // namespace
}  // namespace memstrain
