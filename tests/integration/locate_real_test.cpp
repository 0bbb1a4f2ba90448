// `memstrain locate` through the real binary on the host's real memory hierarchy (v1 here, v2 in
// the guest of `make test-cgroup2`). The test builds a kubelet-shaped tree under
// /memstrain-test-<pid>, by hand, as kubelet and containerd would:
//   cgroupfs driver: kubepods/burstable/pod<uid>          64 MiB
//                      <sandbox id>                       a child renamed "pause"
//                      <app id>                           48 MiB, a child
//   systemd driver:  kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice
//                      cri-containerd-<sandbox id>.scope, cri-containerd-<app id>.scope
// and locates the app by --pid, --container-id and --pod-uid with --json, also from inside a
// cgroup namespace (unshare -C). TearDown kills only its own children (by pid) and removes every
// directory under the test's base, whatever happened.

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
#include <memory>
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
  /// The kubelet cgroup driver whose names the tree uses.
  virtual bool systemdDriver() const { return false; }

  void SetUp() override {
    auto fs = testing::realMemoryHierarchy();
    if (!fs.ok()) GTEST_SKIP() << fs.error().message;
    fs_.emplace(*fs);
    base_ = testing::testCgroupBase();
    std::vector<std::string> levels;
    if (systemdDriver()) {
      std::string uid_ = kUid;
      std::replace(uid_.begin(), uid_.end(), '-', '_');
      levels = {base_, base_ + "/kubepods.slice", base_ + "/kubepods.slice/kubepods-burstable.slice"};
      pod_ = levels.back() + "/kubepods-burstable-pod" + uid_ + ".slice";
      app_ = pod_ + "/cri-containerd-" + kAppId + ".scope";
      sandbox_ = pod_ + "/cri-containerd-" + kSandboxId + ".scope";
    } else {
      levels = {base_, base_ + "/kubepods", base_ + "/kubepods/burstable"};
      pod_ = base_ + "/kubepods/burstable/pod" + kUid;
      app_ = pod_ + "/" + kAppId;
      sandbox_ = pod_ + "/" + kSandboxId;
    }
    levels.push_back(pod_);
    char tmpl[] = "/tmp/memstrain-locate-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    scratch_ = tmpl;

    const bool v2 = fs_->version() == CgroupVersion::kV2;
    for (const std::string& rel : levels) {
      ASSERT_EQ(::mkdir((fs_->mount() + rel).c_str(), 0755), 0) << rel << ": " << std::strerror(errno);
      // v2: a parent hands the memory controller down, as kubelet's parents do.
      if (v2) {
        ASSERT_TRUE(writeFile(fs_->mount() + rel + "/" + cgroup_file::kSubtreeControl, "+memory").ok()) << rel;
      }
    }
    for (const std::string& rel : {sandbox_, app_}) {
      ASSERT_EQ(::mkdir((fs_->mount() + rel).c_str(), 0755), 0) << rel << ": " << std::strerror(errno);
    }
    const std::string limit_file = testing::limitFileOf(*fs_);
    ASSERT_TRUE(writeFile(fs_->mount() + pod_ + "/" + limit_file, std::to_string(kPodLimit)).ok());
    ASSERT_TRUE(writeFile(fs_->mount() + app_ + "/" + limit_file, std::to_string(kAppLimit)).ok());

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
    EXPECT_EQ(j["cgroup_version"], toString(fs_->version()));
    EXPECT_EQ(j["mount"], fs_->mount());
    EXPECT_EQ(j["effective_limit_bytes"], kAppLimit);
    EXPECT_EQ(j["limit_cgroup"], app_);
    EXPECT_EQ(j["pids"], nlohmann::json::array({app_pid_}));
    EXPECT_EQ(j["main_pid"], main_pid);
    EXPECT_EQ(j["pod_uid"], kUid);
    EXPECT_EQ(j["pod_cgroup"], pod_);
    EXPECT_EQ(j["qos_class"], "burstable");
    EXPECT_EQ(j["cgroup_driver"], systemdDriver() ? "systemd" : "cgroupfs");
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

TEST_F(LocateRealTest, ByPid) { expectApp(locateJson({"--pid", std::to_string(app_pid_)}), "pid", app_pid_); }

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

// The systemd driver's names (kubepods.slice/…-pod<uid_>.slice/cri-containerd-<id>.scope).
class LocateSystemdRealTest : public LocateRealTest {
 protected:
  bool systemdDriver() const override { return true; }
};

TEST_F(LocateSystemdRealTest, ByPidContainerIdAndPodUid) {
  expectApp(locateJson({"--pid", std::to_string(app_pid_)}), "pid", app_pid_);
  expectApp(locateJson({"--container-id", "containerd://" + kAppId}), "container-id", app_pid_);
  const auto j = locateJson({"--pod-uid", kUid});
  expectApp(j, "pod-uid", app_pid_);
  ASSERT_EQ(j["containers"].size(), 2u) << j.dump();
}

TEST_F(LocateRealTest, PidOneInWhateverCgroupItIs) {
  // On v2, PID 1 of a node without systemd (and of the test guest) sits in the root cgroup, which
  // has no memory.current: usage is then the machine's memory in use.
  const auto j = locateJson({"--pid", "1"});
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["cgroup"], fs_->cgroupOfPid(1).valueOr("?"));
  EXPECT_EQ(j["main_pid"], 1);
  ASSERT_TRUE(j["usage_bytes"].is_number_unsigned()) << j.dump();
  EXPECT_GT(j["usage_bytes"].get<std::uint64_t>(), 0u);
  const std::string meminfo = readFile("/proc/meminfo").valueOr("");
  const std::uint64_t total = std::stoull(meminfo.substr(meminfo.find("MemTotal:") + 9)) * 1024;
  EXPECT_LE(j["usage_bytes"].get<std::uint64_t>(), total);
}

TEST_F(LocateRealTest, FromInsideACgroupNamespace) {
  // memstrain as a Job pod sees it: its own cgroup namespace (rooted at its own cgroup, a sibling of
  // kubepods here), the node's hierarchy mounted as it is, the target's /proc/PID/cgroup relative
  // to the namespace ("0::/../kubepods/..."). locate must still name the app's cgroup on the mount.
  if (!pathExists("/usr/bin/unshare")) GTEST_SKIP() << "unshare (util-linux) missing";
  const std::string job = base_ + "/memstrain-job";
  ASSERT_EQ(::mkdir((fs_->mount() + job).c_str(), 0755), 0) << std::strerror(errno);
  const std::string procs = fs_->mount() + job + "/cgroup.procs";
  const std::string cmd = "echo $$ > " + procs + " && exec unshare -C " + MEMSTRAIN_BINARY + " locate --pid " + std::to_string(app_pid_) +
                          " --json > " + scratch_ + "/stdout 2> " + scratch_ + "/stderr";
  const int status = std::system(("sh -c '" + cmd + "'").c_str());
  const std::string err = readFile(scratch_ + "/stderr").valueOr("");
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << ": " << err;
  const auto j = nlohmann::json::parse(readFile(scratch_ + "/stdout").valueOr(""), nullptr, false);
  expectApp(j, "pid", app_pid_);
}

TEST_F(LocateRealTest, GoneContainerIsNotFoundWithExitNine) {
  const Output o = runBinary({"locate", "--container-id", std::string(64, 'e')}, scratch_);
  EXPECT_EQ(o.exit_code, 9) << o.err;
  EXPECT_TRUE(o.out.empty()) << o.out;
  EXPECT_NE(o.err.find("no container cgroup with id eeeeeeeeeeee"), std::string::npos) << o.err;
}

// --- Plans that attach by pod UID / container id, and node placement, on the same real tree -----

class AttachRealTest : public LocateRealTest {
 protected:
  // Writes `plan` to the scratch dir and runs `memstrain run` on it with a journal directory and a
  // memstrain parent of the test's own.
  Output runPlan(const nlohmann::json& plan, const std::vector<std::string>& extra = {}) {
    const std::string path = scratch_ + "/plan.json";
    EXPECT_TRUE(writeFileAtomic(path, plan.dump()).ok());
    std::vector<std::string> args = {
        "run",      path,    "--out", scratch_ + "/out", "--journal-dir", scratch_ + "/journal", "--cgroup-parent", base_ + "/memstrain",
        "--editor", "direct"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runBinary(args, scratch_);
  }
  nlohmann::json report() { return nlohmann::json::parse(readFile(scratch_ + "/out/report.json").valueOr("{}"), nullptr, false); }
  void TearDown() override {
    for (const char* f :
         {"/plan.json", "/out/report.json", "/out/samples.jsonl", "/out/junit.xml", "/out/summary.md", "/out/stressor.log"}) {
      ::unlink((scratch_ + f).c_str());
    }
    ::rmdir((scratch_ + "/out/profiles").c_str());
    ::rmdir((scratch_ + "/out").c_str());
    ::rmdir((scratch_ + "/journal").c_str());
    LocateRealTest::TearDown();
  }
  static nlohmann::json plan(const nlohmann::json& attach, const nlohmann::json& pressure, const nlohmann::json& safety = nullptr) {
    nlohmann::json p = {{"name", "attach-real"},
                        {"target", {{"attach", attach}}},
                        {"sampling", {{"interval", "100ms"}}},
                        {"stages", {{{"name", "squeeze"}, {"duration", "1500ms"}, {"pressure", pressure}}}}};
    if (!safety.is_null()) p["safety"] = safety;
    return p;
  }
};

TEST_F(AttachRealTest, DryRunResolvesPodUidAndContainerIdToTheAppContainer) {
  for (const auto& attach : {nlohmann::json{{"pod_uid", kUid}}, nlohmann::json{{"container_id", "containerd://" + kAppId.substr(0, 16)}},
                             nlohmann::json{{"pod_uid", kUid}, {"container_id", kAppId}}}) {
    const Output o = runPlan(plan(attach, {{"placement", "beside"}, {"size", "8MiB"}}), {"--dry-run"});
    EXPECT_EQ(o.exit_code, 0) << attach.dump() << "\n" << o.err;
    EXPECT_NE(o.out.find("target cgroup:    " + app_ + " (effective limit 48.0 MiB)"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("found by:         "), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("measured cgroup:  " + pod_ + " (effective limit 64.0 MiB"), std::string::npos) << o.out;
  }
  // The sandbox is another container of the same pod; a container of no pod of that UID is refused.
  const Output wrong =
      runPlan(plan({{"pod_uid", "11111111-2222-3333-4444-555555555555"}, {"container_id", kAppId}}, {{"size", "8MiB"}}), {"--dry-run"});
  EXPECT_EQ(wrong.exit_code, 3) << "a target this node does not have is a run error, as locate says: " << wrong.err;
  EXPECT_NE(wrong.err.find("/target/attach/container_id: container " + app_ + " belongs to pod " + kUid), std::string::npos) << wrong.err;
  // A container that is not here at all: exit 3, as `memstrain locate` and the Job's launcher say.
  const Output missing = runPlan(plan({{"container_id", "containerd://" + std::string(64, 'f')}}, {{"size", "8MiB"}}), {"--dry-run"});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find("target not found; nothing was started or changed"), std::string::npos) << missing.err;
}

TEST_F(AttachRealTest, BesideRunByPodUidCompetesInThePodAndLeavesNothing) {
  const Output o = runPlan(plan({{"pod_uid", kUid}}, {{"placement", "beside"}, {"size", "16MiB"}}));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  const auto r = report();
  ASSERT_TRUE(r.is_object()) << o.err;
  EXPECT_EQ(r["cgroup"]["target"], app_);
  EXPECT_EQ(r["cgroup"]["measured"], pod_);
  // The attached container's process, found through its cgroup, and when it started (for GC shares).
  EXPECT_EQ(r["target"]["pid"], app_pid_);
  ASSERT_TRUE(r["target"]["started_unix_ms"].is_number()) << r["target"].dump();
  const auto started_ms = r["target"]["started_unix_ms"].get<std::int64_t>();
  const auto run_started_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LT(started_ms, run_started_ms);
  EXPECT_GT(started_ms, run_started_ms - 600'000) << "the test's container process started minutes ago at most";
  const std::string stressor = r["cgroup"]["stressor"].get<std::string>();
  EXPECT_EQ(stressor.rfind(pod_ + "/memstrain-stressor-run-", 0), 0u) << stressor;
  EXPECT_EQ(r["cleanup"]["status"], "ok");
  EXPECT_FALSE(pathExists(fs_->mount() + stressor)) << "the stressor's sibling cgroup is removed";
  // The pod's own limit was not touched.
  EXPECT_EQ(readFile(fs_->mount() + pod_ + "/" + testing::limitFileOf(*fs_)).valueOr(""), std::to_string(kPodLimit) + "\n");
}

TEST_F(AttachRealTest, NodePlacementRunsUnderTheMemstrainParentAndRemovesItsCgroup) {
  // Small: a 64 MiB stressor at node level for 1.5 s, with a low floor that this cannot reach.
  const Output o = runPlan(plan({{"container_id", kAppId}}, {{"placement", "node"}, {"size", "64MiB"}}, {{"node_min_available", "64MiB"}}));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  const auto r = report();
  ASSERT_TRUE(r.is_object()) << o.err;
  EXPECT_EQ(r["cgroup"]["measured"], "(node)");
  const std::string stressor = r["cgroup"]["stressor"].get<std::string>();
  EXPECT_EQ(stressor.rfind(base_ + "/memstrain/run-", 0), 0u) << stressor;
  EXPECT_EQ(stressor.substr(stressor.size() - 5), "-node") << stressor;
  EXPECT_FALSE(pathExists(fs_->mount() + stressor));
  EXPECT_FALSE(pathExists(fs_->mount() + base_ + "/memstrain")) << "the memstrain parent it created goes when empty";
}

TEST_F(AttachRealTest, OwnCgroupIsNeverATarget) {
  // memstrain runs as this test's child, in the test's memory cgroup: attaching to it is refused.
  const std::string own = fs_->cgroupOfPid(::getpid()).valueOr("");
  if (own.empty() || own == "/") GTEST_SKIP() << "this test runs in the root memory cgroup";
  for (const auto& extra : {std::vector<std::string>{"--dry-run"}, std::vector<std::string>{"--dry-run", "--force"}}) {
    const Output o = runPlan(plan({{"cgroup", own}}, {{"size", "8MiB"}}), extra);
    EXPECT_EQ(o.exit_code, 2) << o.err;
    EXPECT_NE(o.err.find("/target/attach: " + own + " is memstrain's own cgroup"), std::string::npos) << o.err;
  }
}

// MemAvailable now, from /proc/meminfo.
std::uint64_t memAvailableBytes() {
  const std::string m = readFile("/proc/meminfo").valueOr("");
  const auto pos = m.find("MemAvailable:");
  return pos == std::string::npos ? 0 : std::stoull(m.substr(pos + 13)) * 1024;
}

TEST_F(AttachRealTest, NodeFloorRefusesAtStartAndStopsTheRunWhenCrossed) {
  // A floor above what is available: refused before anything starts, even with --force.
  const std::uint64_t avail = memAvailableBytes();
  ASSERT_GT(avail, 2ULL << 30) << "this test needs 2 GiB available";
  const Output refused = runPlan(plan({{"container_id", kAppId}}, {{"placement", "node"}, {"size", "64MiB"}},
                                      {{"node_min_available", std::to_string(avail + (1ULL << 30))}}),
                                 {"--force"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("/stages/0/pressure/size: node MemAvailable is"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("already below the floor"), std::string::npos) << refused.err;

  // A floor 400 MiB below MemAvailable and a 128 MiB stressor: this test then takes memory itself
  // (at most 768 MiB, in 64 MiB steps) until MemAvailable crosses the floor. memstrain must kill
  // its stressor, end the run with exit 3 and say why.
  nlohmann::json p = plan({{"container_id", kAppId}}, {{"placement", "node"}, {"size", "128MiB"}},
                          {{"node_min_available", std::to_string(memAvailableBytes() - (400ULL << 20))}});
  p["stages"][0]["duration"] = "20s";
  const std::string path = scratch_ + "/plan.json";
  ASSERT_TRUE(writeFileAtomic(path, p.dump()).ok());
  pid_t pid = ::fork();
  if (pid == 0) {
    const int err = ::open((scratch_ + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(err, 1);
    ::dup2(err, 2);
    ::execl(MEMSTRAIN_BINARY, MEMSTRAIN_BINARY, "run", path.c_str(), "--out", (scratch_ + "/out").c_str(), "--journal-dir",
            (scratch_ + "/journal").c_str(), "--cgroup-parent", (base_ + "/memstrain").c_str(), "--editor", "direct",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the stressor is up
  std::vector<std::unique_ptr<char[]>> held;
  int status = 0;
  pid_t done = 0;
  for (int step = 0; step < 12 && done == 0; ++step) {
    auto block = std::make_unique<char[]>(64ULL << 20);
    volatile char* page = block.get();  // volatile: the stores that fault the pages in must happen
    for (std::size_t off = 0; off < (64ULL << 20); off += 4096) page[off] = 1;
    held.push_back(std::move(block));
    for (int i = 0; i < 10 && (done = ::waitpid(pid, &status, WNOHANG)) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (done == 0) done = ::waitpid(pid, &status, 0);
  held.clear();
  ASSERT_EQ(done, pid);
  const std::string err = readFile(scratch_ + "/stderr").valueOr("");
  ::unlink((scratch_ + "/stderr").c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << err;
  const auto r = report();
  ASSERT_TRUE(r.is_object()) << err;
  EXPECT_NE(r["run"]["error"].get<std::string>().find("fell below the floor"), std::string::npos) << r["run"]["error"];
  bool event = false;
  for (const auto& e : r["events"]) event = event || e["kind"] == "node_floor";
  EXPECT_TRUE(event) << r["events"].dump();
  EXPECT_EQ(r["cleanup"]["status"], "ok");
  EXPECT_FALSE(pathExists(fs_->mount() + r["cgroup"]["stressor"].get<std::string>()));
}

}  // namespace
}  // namespace memstrain
