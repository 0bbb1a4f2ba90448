// Kill memstrain at random points with SIGTERM, SIGINT or SIGKILL and check that nothing is left:
// no cgroup, no stressor, no target, no journal — after `memstrain recover` for SIGKILL.
// MEMSTRAIN_KILL_TRIALS sets the number of trials (default 6; `make soak` runs 50).

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup.hpp"
#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using memstrain::testing::slurp;

// Pids whose command line contains `needle` and, when `cgroup_part` is not empty, whose
// /proc/PID/cgroup mentions it (other memstrain runs on the machine are not ours to judge).
std::vector<pid_t> processesMatching(const std::string& needle, const std::string& cgroup_part = "") {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = slurp(e.path() / "cmdline");
    for (auto& ch : cmd) {
      if (ch == '\0') ch = ' ';
    }
    if (cmd.find(needle) == std::string::npos) continue;
    if (!cgroup_part.empty() && slurp(e.path() / "cgroup").find(cgroup_part) == std::string::npos) continue;
    out.push_back(std::stoi(name));
  }
  return out;
}

int runCommand(const std::string& cmd) {
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(KillTest, RandomSignalsAtRandomPointsLeaveNothingBehind) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  auto cg = CgroupFs::detect();
  if (!cg.ok()) GTEST_SKIP() << "no cgroup memory controller";
  const fs::path target = fs::path(MEMSTRAIN_SOURCE_DIR) / "tests/target/bin/demo-target";
  if (!fs::exists(target)) GTEST_SKIP() << target << " missing: run `make go`";
  int trials = 6;
  if (const char* t = std::getenv("MEMSTRAIN_KILL_TRIALS")) trials = std::max(1, std::atoi(t));

  const std::string parent = "/memstrain-test-" + std::to_string(::getpid());
  const fs::path dir = fs::path(::testing::TempDir()) / ("memstrain-kill-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // The runs' own journal directory: a journal left behind is seen, whoever else runs on the host.
  const fs::path journals = dir / "journal";
  const std::string recover = std::string(MEMSTRAIN_BINARY) + " recover --journal-dir " + journals.string();
  const std::string port = "16095";
  json plan = {{"name", "kill"},
               {"target",
                {{"launch",
                  {{"command", {target.string(), "-addr", "127.0.0.1:" + port}},
                   {"memory_limit", "256MiB"},
                   {"ready_url", "http://127.0.0.1:" + port + "/healthz"}}}}},
               {"sampling", {{"interval", "100ms"}}},
               {"stages",
                {{{"name", "baseline"}, {"duration", "500ms"}},
                 {{"name", "ramp"}, {"duration", "2s"}, {"pressure", {{"level", "70%"}, {"ramp", "1500ms"}}}},
                 {{"name", "hold"}, {"duration", "3s"}, {"pressure", {{"level", "70%"}}}}}}};
  std::ofstream(dir / "plan.json") << plan.dump();

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(50, 4500);
  const int signals[] = {SIGTERM, SIGINT, SIGKILL};
  std::uniform_int_distribution<int> pick(0, 2);
  int recovered = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const int sig = signals[pick(rng)];
    const int after = delay_ms(rng);
    const fs::path out = dir / ("out" + std::to_string(trial));
    const std::string log = (dir / ("log" + std::to_string(trial))).string();
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(MEMSTRAIN_BINARY, MEMSTRAIN_BINARY, "run", (dir / "plan.json").c_str(), "--out", out.c_str(), "--cgroup-parent",
              parent.c_str(), "--journal-dir", journals.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(after));
    ::kill(pid, sig);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    const std::string what = "trial " + std::to_string(trial) + ": " + sigabbrev_np(sig) + " after " + std::to_string(after) + " ms";
    if (sig == SIGKILL && WIFSIGNALED(status)) {
      // Children die with memstrain (PR_SET_PDEATHSIG); cgroups and the journal stay for recover.
      EXPECT_EQ(runCommand(recover + " >> " + log + " 2>&1"), 0) << what << "\n" << slurp(log);
      ++recovered;
    } else if (WIFEXITED(status)) {
      // A signal after the run finished changes nothing; otherwise the run was interrupted.
      const int code = WEXITSTATUS(status);
      EXPECT_TRUE(code == 0 || code == 4 || code == 3) << what << ": exit " << code << "\n" << slurp(log);
    }
    // Nothing left: no cgroup of this run, no stressor, no target.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    std::vector<pid_t> left;
    do {
      left = processesMatching("127.0.0.1:" + port);
      auto stressors = processesMatching("__stressor", parent + "/");
      left.insert(left.end(), stressors.begin(), stressors.end());
      if (left.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    EXPECT_TRUE(left.empty()) << what << ": processes left, e.g. pid " << (left.empty() ? 0 : left[0]);
    std::vector<std::string> cgroups_left;
    if (fs::exists(cg->mount() + parent)) {
      for (const auto& e : fs::directory_iterator(cg->mount() + parent)) {
        if (e.is_directory()) cgroups_left.push_back(e.path().filename().string());
      }
    }
    EXPECT_TRUE(cgroups_left.empty()) << what << ": cgroup left: " << (cgroups_left.empty() ? "" : cgroups_left[0]) << "\n" << slurp(log);
    std::vector<std::string> journals_left;
    std::error_code ec;  // no directory yet: killed before the journal was written
    for (const auto& e : fs::directory_iterator(journals, ec)) {
      journals_left.push_back(e.path().filename().string());
    }
    EXPECT_TRUE(journals_left.empty()) << what << ": journal left: " << (journals_left.empty() ? "" : journals_left[0]) << "\n"
                                       << slurp(log);
    if (!cgroups_left.empty() || !left.empty() || !journals_left.empty()) break;  // later trials would only pile up
  }
  // Clean up whatever a failed trial left, then the test parent.
  (void)runCommand(recover + " > /dev/null 2>&1");
  if (fs::exists(cg->mount() + parent)) ::rmdir((cg->mount() + parent).c_str());
  RecordProperty("sigkill_recoveries", recovered);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memstrain
