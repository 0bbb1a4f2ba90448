// `memstrain locate` through the real binary on the host's real v1 memory hierarchy. The test
// builds a kubelet-shaped tree (cgroupfs driver, Burstable) under /memstrain-test-<pid>:
//   kubepods/burstable/pod<uid>            64 MiB
//     <sandbox id>                         a child renamed "pause"
//     <app id>                             48 MiB, a child
// and locates the app by --pid, --container-id and --pod-uid with --json. TearDown kills only its
// own children (by pid) and removes every directory under the test's base, whatever happened.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/util/fs.hpp"
#include "support/real_cgroup.hpp"

namespace memstrain {
namespace {

constexpr std::uint64_t MiB = 1ULL << 20;
constexpr std::uint64_t kPodLimit = 64 * MiB;  // the largest limit this test sets
constexpr std::uint64_t kAppLimit = 48 * MiB;

struct Output {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs MEMSTRAIN_BINARY with `args`, capturing stdout and stderr (through files: no deadlock on
// large output), and waits for it.
Output runBinary(const std::vector<std::string>& args, const std::string& scratch) {
  Output o;
  const std::string out_path = scratch + "/stdout", err_path = scratch + "/stderr";
  pid_t pid = ::fork();
  if (pid == 0) {
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd < 0 || err_fd < 0) ::_exit(126);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    std::vector<char*> argv;
    std::string bin = MEMSTRAIN_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  o.out = readFile(out_path).valueOr("");
  o.err = readFile(err_path).valueOr("");
  return o;
}

// A child that renames itself (the sandbox is "pause") and sleeps until killed; it also dies with
// the test process.
pid_t spawnSleeper(const char* comm) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::prctl(PR_SET_NAME, comm);
    for (;;) ::pause();
  }
  return pid;
}

class LocateRealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The v2 layouts are covered on fixture trees (locate_test.cpp).
    auto fs = testing::realV1MemoryHierarchy();
    if (!fs.ok()) GTEST_SKIP() << fs.error().message;
    fs_.emplace(*fs);
    base_ = testing::testCgroupBase();
    pod_ = base_ + "/kubepods/burstable/pod" + kUid;
    app_ = pod_ + "/" + kAppId;
    sandbox_ = pod_ + "/" + kSandboxId;
    char tmpl[] = "/tmp/memstrain-locate-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    scratch_ = tmpl;

    for (const std::string& rel : {base_, base_ + "/kubepods", base_ + "/kubepods/burstable", pod_, sandbox_, app_}) {
      ASSERT_EQ(::mkdir((fs_->mount() + rel).c_str(), 0755), 0) << rel << ": " << std::strerror(errno);
    }
    ASSERT_TRUE(writeFile(fs_->mount() + pod_ + "/" + cgroup_file::kV1Limit, std::to_string(kPodLimit)).ok());
    ASSERT_TRUE(writeFile(fs_->mount() + app_ + "/" + cgroup_file::kV1Limit, std::to_string(kAppLimit)).ok());

    sandbox_pid_ = spawnSleeper("pause");
    app_pid_ = spawnSleeper("demo-target");
    ASSERT_GT(sandbox_pid_, 0);
    ASSERT_GT(app_pid_, 0);
    ASSERT_TRUE(writeFile(fs_->mount() + sandbox_ + "/cgroup.procs", std::to_string(sandbox_pid_)).ok());
    ASSERT_TRUE(writeFile(fs_->mount() + app_ + "/cgroup.procs", std::to_string(app_pid_)).ok());
    // prctl(PR_SET_NAME) in the child may not have run yet: wait until /proc shows it.
    for (int i = 0; i < 200 && readFile("/proc/" + std::to_string(sandbox_pid_) + "/comm").valueOr("") != "pause\n"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void TearDown() override {
    testing::killAndReap(sandbox_pid_);
    testing::killAndReap(app_pid_);
    if (!scratch_.empty()) {
      ::unlink((scratch_ + "/stdout").c_str());
      ::unlink((scratch_ + "/stderr").c_str());
      ::rmdir(scratch_.c_str());
    }
    if (!fs_) return;
    const std::string root = fs_->mount() + base_;
    EXPECT_TRUE(testing::removeCgroupTree(root)) << root << " was left behind";
  }

  // Runs `memstrain locate ARGS --json` and parses its one line of output.
  nlohmann::json locateJson(std::vector<std::string> args) {
    args.insert(args.begin(), "locate");
    args.push_back("--json");
    const Output o = runBinary(args, scratch_);
    EXPECT_EQ(o.exit_code, 0) << "stderr: " << o.err;
    EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 1) << o.out;
    auto j = nlohmann::json::parse(o.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << o.out;
    return j;
  }

  void expectApp(const nlohmann::json& j, const std::string& matched_by, pid_t main_pid) {
    ASSERT_TRUE(j.is_object()) << j.dump();
    EXPECT_EQ(j["matched_by"], matched_by);
    EXPECT_EQ(j["cgroup"], app_);
    EXPECT_EQ(j["cgroup_version"], "v1");
    EXPECT_EQ(j["mount"], fs_->mount());
    EXPECT_EQ(j["effective_limit_bytes"], kAppLimit);
    EXPECT_EQ(j["limit_cgroup"], app_);
    EXPECT_EQ(j["pids"], nlohmann::json::array({app_pid_}));
    EXPECT_EQ(j["main_pid"], main_pid);
    EXPECT_EQ(j["pod_uid"], kUid);
    EXPECT_EQ(j["pod_cgroup"], pod_);
    EXPECT_EQ(j["qos_class"], "burstable");
    EXPECT_EQ(j["cgroup_driver"], "cgroupfs");
    EXPECT_EQ(j["container_id"], kAppId);
    EXPECT_TRUE(j["usage_bytes"].is_number_unsigned());
  }

  const std::string kUid = "6b1d4c2e-0a9f-4e7b-8c3d-2f1e0d9c8b7a";
  const std::string kAppId = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";
  const std::string kSandboxId = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809";
  std::optional<CgroupFs> fs_;
  std::string base_, pod_, app_, sandbox_, scratch_;
  pid_t sandbox_pid_ = -1, app_pid_ = -1;
};

TEST_F(LocateRealTest, ByPid) {
  expectApp(locateJson({"--pid", std::to_string(app_pid_)}), "pid", app_pid_);
}

TEST_F(LocateRealTest, ByContainerIdPrefixAndStatusForm) {
  expectApp(locateJson({"--container-id", kAppId.substr(0, 12)}), "container-id", app_pid_);
  expectApp(locateJson({"--container-id", "containerd://" + kAppId}), "container-id", app_pid_);
}

TEST_F(LocateRealTest, ByPodUidSkipsThePauseSandbox) {
  const auto j = locateJson({"--pod-uid", kUid});
  expectApp(j, "pod-uid", app_pid_);
  ASSERT_EQ(j["containers"].size(), 2u) << j.dump();
  for (const auto& c : j["containers"]) EXPECT_EQ(c["sandbox"], c["id"] == kSandboxId) << c.dump();
}

TEST_F(LocateRealTest, GoneContainerIsNotFoundWithExitThree) {
  const Output o = runBinary({"locate", "--container-id", std::string(64, 'e')}, scratch_);
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_TRUE(o.out.empty()) << o.out;
  EXPECT_NE(o.err.find("no container cgroup with id eeeeeeeeeeee"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace memstrain
