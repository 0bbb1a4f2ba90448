#include "support/real_cgroup.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "memstrain/util/fs.hpp"

namespace memstrain::testing {
namespace {

// `dir` and every directory below it (d_type, so a symlink to a directory is not entered).
void collectDirs(const std::string& dir, std::vector<std::string>& out) {
  out.push_back(dir);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..") collectDirs(dir + "/" + name, out);
  }
  ::closedir(d);
}

}  // namespace

Result<CgroupFs> realMemoryHierarchy() {
  if (::geteuid() != 0) return Error{"needs root to create cgroups", EPERM};
  auto fs = CgroupFs::detect();
  if (!fs.ok()) return Error{"no cgroup memory controller: " + fs.error().message, fs.error().sys_errno};
  return fs;
}

Result<CgroupFs> realV1MemoryHierarchy() {
  auto fs = realMemoryHierarchy();
  if (fs && fs->version() != CgroupVersion::kV1) return Error{"this test needs cgroup v1; " + fs->mount() + " is v2", ENOTSUP};
  return fs;
}

Result<CgroupFs> realV2MemoryHierarchy() {
  auto fs = realMemoryHierarchy();
  if (fs && fs->version() != CgroupVersion::kV2) {
    return Error{"this test needs a cgroup v2 memory controller; " + fs->mount() + " is v1 (make test-cgroup2 runs it in a VM)", ENOTSUP};
  }
  return fs;
}

const char* limitFileOf(const CgroupFs& fs) { return fs.version() == CgroupVersion::kV1 ? cgroup_file::kV1Limit : cgroup_file::kV2Max; }

std::string testCgroupBase() { return "/memstrain-test-" + std::to_string(::getpid()); }

bool removeCgroupTree(const std::string& abs_root, int attempts) {
  for (int attempt = 0; attempt < attempts && pathExists(abs_root); ++attempt) {
    std::vector<std::string> dirs;
    collectDirs(abs_root, dirs);
    // A child's path is longer than its parent's: longest first removes children first.
    std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& d : dirs) ::rmdir(d.c_str());
    if (pathExists(abs_root)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !pathExists(abs_root);
}

void killAndReap(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

}  // namespace memstrain::testing
