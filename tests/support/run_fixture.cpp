#include "support/run_fixture.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace memstrain::testing {

namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

double timeScale() {
  static const double scale = [] {
    const char* v = std::getenv("MEMSTRAIN_TEST_TIME_SCALE");
    if (v == nullptr) return 1.0;
    char* end = nullptr;
    const double d = std::strtod(v, &end);
    // Nonsense or below 1 is ignored; above 10 the runs would outlast the guest's timeout.
    return end != v && d >= 1 ? std::min(d, 10.0) : 1.0;
  }();
  return scale;
}

std::string scaledMs(double ms) { return std::to_string(static_cast<long long>(ms * timeScale() + 0.5)) + "ms"; }

std::string lastLine(const std::string& text) {
  std::string last;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    if (!l.empty()) last = l;
  }
  return last;
}

std::vector<pid_t> strayStressors() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != 0 || pid <= 0 || pid == ::getpid()) continue;
    // Only stressors of this build's binary: other checkouts on the same machine run their own.
    const std::string cmd = slurp(fs::path("/proc") / e->d_name / "cmdline");
    if (cmd.find("__stressor") != std::string::npos && cmd.rfind(MEMSTRAIN_BINARY, 0) == 0) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

void RunFixture::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  auto cg = CgroupFs::detect();
  if (!cg.ok()) GTEST_SKIP() << "no cgroup memory controller: " << cg.error().message;
  fs_.emplace(*cg);
  target_ = fs::path(MEMSTRAIN_SOURCE_DIR) / "tests/target/bin/demo-target";
  if (!fs::exists(target_)) GTEST_SKIP() << target_ << " missing: run `make go` (tests/go-build.sh)";
  parent_ = "/memstrain-test-" + std::to_string(::getpid());
  dir_ = fs::path(::testing::TempDir()) /
         (prefix_ + "-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

void RunFixture::TearDown() {
  if (!fs_) return;
  // Whatever a failed run left behind is removed here, so that one failure does not leak.
  const std::string mount = fs_->mount();
  if (fs::exists(mount + parent_)) {
    std::vector<fs::path> dirs;
    for (auto& e : fs::recursive_directory_iterator(mount + parent_)) {
      if (e.is_directory()) dirs.push_back(e.path());
    }
    std::sort(dirs.rbegin(), dirs.rend());
    for (auto& d : dirs) {
      (void)killAllMembers(*fs_, d.string().substr(mount.size()));
      ::rmdir(d.c_str());
    }
    ::rmdir((mount + parent_).c_str());
  }
  if (!HasFailure()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

fs::path RunFixture::writePlan(const std::string& name, const json& plan) const {
  fs::path p = dir_ / (name + ".json");
  std::ofstream(p) << plan.dump(2);
  return p;
}

json RunFixture::launch(int port, const std::string& limit, const std::vector<std::string>& extra_args) const {
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  std::vector<std::string> command = {target_.string(), "-addr", addr};
  command.insert(command.end(), extra_args.begin(), extra_args.end());
  return {{"launch", {{"command", command}, {"memory_limit", limit}, {"ready_url", "http://" + addr + "/healthz"}}}};
}

int RunFixture::run(const fs::path& plan, const fs::path& out, const std::string& log_name, const std::string& stderr_name,
                    const std::string& extra_args) const {
  const std::string err = stderr_name.empty() ? std::string(" 2>&1") : " 2> " + (dir_ / stderr_name).string();
  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " run " + plan.string() + " --out " + out.string() + " --cgroup-parent " +
                          parent_ + (extra_args.empty() ? "" : " " + extra_args) + " > " + (dir_ / log_name).string() + err;
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void RunFixture::expectNothingLeft(const json& report) const {
  EXPECT_EQ(report["cleanup"]["status"], "ok") << report["cleanup"].dump();
  const std::string run_id = report["run"]["id"].get<std::string>();
  EXPECT_FALSE(fs::exists(fs_->mount() + parent_ + "/" + run_id)) << "run cgroup left behind";
  // Nor any other cgroup under the test's parent (a beside stressor's sibling, a node cgroup).
  if (std::error_code ec; fs::is_directory(fs_->mount() + parent_, ec)) {
    for (const auto& e : fs::directory_iterator(fs_->mount() + parent_, ec)) {
      EXPECT_FALSE(e.is_directory()) << "cgroup left behind: " << e.path();
    }
  }
  // The journal is deleted after a cleanup that went well (the runs use the default directory).
  EXPECT_FALSE(fs::exists(fs::path(kDefaultJournalDir) / (run_id + ".json"))) << "journal left behind for " << run_id;
  EXPECT_TRUE(strayStressors().empty()) << "a stressor process is still running";
  if (report["target"]["pid"].is_number()) {
    const pid_t pid = report["target"]["pid"].get<pid_t>();
    EXPECT_NE(::kill(pid, 0), 0) << "target " << pid << " is still running";
  }
}

}  // namespace memstrain::testing
