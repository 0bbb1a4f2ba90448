// Can a container on cgroup v2 do memstrain's job with CAP_SYS_ADMIN and CAP_SYS_PTRACE instead of
// `privileged`, by entering the host's cgroup namespace itself (k8s/README, "CAP_SYS_ADMIN and the
// host cgroup namespace")? The test emulates such a container with the kernel's own primitives, no
// runtime: a child in a cgroup of its own (base/container) unshares its cgroup and mount
// namespaces, mounts a fresh cgroup2 (the container's /sys/fs/cgroup: only its subtree), keeps the
// host's mount visible (the Job's hostPath /host/sys/fs/cgroup) and drops every capability but
// SYS_ADMIN and SYS_PTRACE. It then moves a process of its own (the "stressor") into sibling
// cgroups before and after setns(/proc/1/ns/cgroup), and tries setns without one of the two
// capabilities in grandchildren. What it asserts are the kernel's rules (cgroup-v2.rst "Namespace",
// "nsdelegate"; setns(2); ptrace(2) "access mode checking" for /proc/PID/ns):
//   - under nsdelegate a migration needs source and destination below the writer's cgroup
//     namespace root, else ENOENT, whatever its capabilities and the mount it writes through; the
//     namespace that counts is the one it had when it opened cgroup.procs (Linux 5.16+);
//   - setns into a cgroup namespace needs CAP_SYS_ADMIN (EPERM); opening /proc/1/ns/cgroup needs
//     ptrace read access to PID 1, which a process lacking some of PID 1's capabilities gets only
//     with CAP_SYS_PTRACE (EACCES);
//   - a cgroup2 mount made in the init cgroup namespace sets the hierarchy's global options
//     (nsdelegate, memory_recursiveprot, ...) to its own: the test's fresh mount passes the host's.
// Only in a throwaway kernel (MEMSTRAIN_TEST_THROWAWAY_KERNEL=1: the guest of `make test-cgroup2`)
// does the container also mount without options, to show that this drops the node's nsdelegate,
// and then restore them. v2 only (skips with the reason on v1). Cgroups live under
// /memstrain-test-<pid>; the mounts are in the child's private mount namespace, unmounted by it.

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/util/fs.hpp"
#include "support/real_cgroup.hpp"

namespace memstrain {
namespace {

constexpr int kNotTried = -1;

// What the emulated container saw. Errno fields: 0 for success, kNotTried, or the errno.
struct Findings {
  int step = 0;                           ///< the last set-up step reached
  int setup_errno = 0;                    ///< errno of the set-up step that failed, if one did
  pid_t stressor = -1;                    ///< the process the container moves
  char self_cgroup_private[64] = {};      ///< /proc/self/cgroup in the private namespace
  bool private_mount_is_subtree = false;  ///< its fresh mount lists the stressor at its root, has no base/target
  int move_private = kNotTried;           ///< private ns: stressor into base/target, through the host's mount
  int mkdir_private = kNotTried;          ///< private ns: mkdir base/made-from-private, through the host's mount
  int no_admin_open = kNotTried;          ///< without SYS_ADMIN: open("/proc/1/ns/cgroup")
  int no_admin_setns = kNotTried;         ///< without SYS_ADMIN: setns on it
  int no_ptrace_open = kNotTried;         ///< without SYS_PTRACE, with SYS_ADMIN: open("/proc/1/ns/cgroup")
  int setns_host = kNotTried;             ///< SYS_ADMIN + SYS_PTRACE: setns into PID 1's cgroup namespace
  char self_cgroup_host[128] = {};        ///< /proc/self/cgroup after it
  int move_stale_fd = kNotTried;          ///< a base/target/cgroup.procs opened before setns, written after
  int move_host_path = kNotTried;         ///< after setns: into base/target through the host's mount, opened anew
  int mount_fresh = kNotTried;            ///< after setns: a fresh cgroup2 mount with the host's options
  bool fresh_mount_is_host_root = false;  ///< it shows base/target
  int move_fresh_mount = kNotTried;       ///< after setns: into base/beside through the fresh mount
  int mount_bare = kNotTried;             ///< throwaway kernel only: a fresh mount without options
  char options_after_bare[128] = {};      ///< the host mount's super options right after it
  int restore = kNotTried;                ///< a mount with the host's options again
  int umounts = kNotTried;                ///< every mount of the child undone
};

int errnoOf(bool ok) { return ok ? 0 : errno; }

// Writes `text` to an open file: 0 or the errno of write(2).
int writeFd(int fd, const std::string& text) { return errnoOf(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())); }

// Opens `path` for writing and writes `text` once, as `echo PID > cgroup.procs` does: 0 or errno.
int writeOnce(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int e = writeFd(fd, text);
  ::close(fd);
  return e;
}

constexpr std::uint32_t capBit(int cap) { return 1U << cap; }
static_assert(CAP_SYS_ADMIN < 32 && CAP_SYS_PTRACE < 32, "both live in the low word of the capability sets");

// Keeps only `keep` (bits of the low word) in the effective and permitted sets, none inheritable.
// 0 or errno.
int keepOnlyCaps(std::uint32_t keep) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].effective = data[0].permitted = keep;
  return errnoOf(::syscall(SYS_capset, &hdr, data) == 0);
}

// Runs `fn` in a forked process and returns its exit code (an errno fits in 0..255), or 255 when it
// did not exit normally.
template <typename Fn>
int inGrandchild(Fn fn) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn());
  if (pid < 0) return 255;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 255;
  return WEXITSTATUS(status);
}

template <std::size_t N>
void copyLine(char (&dst)[N], const std::string& src) {
  std::snprintf(dst, N, "%s", src.substr(0, src.find('\n')).c_str());
}

// The super options of the cgroup2 mount at `mount_point` in /proc/self/mountinfo ("rw,nsdelegate,
// memory_recursiveprot"): the hierarchy's global options. Empty when there is no such mount.
std::string cgroup2SuperOptions(const std::string& mount_point) {
  std::istringstream in(readFile("/proc/self/mountinfo").valueOr(""));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    const auto dash = line.find(" - ");
    if (point != mount_point || dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype, source, super;
    tail >> fstype >> source >> super;
    if (fstype == "cgroup2") return super;
  }
  return "";
}

bool hasOption(const std::string& options, const char* name) {
  return ("," + options + ",").find(std::string(",") + name + ",") != std::string::npos;
}

// The super options as mount(2) data for cgroup2: without rw/ro, which are mount flags.
std::string cgroup2MountData(const std::string& options) {
  std::string data;
  std::istringstream in(options);
  for (std::string opt; std::getline(in, opt, ',');) {
    if (opt == "rw" || opt == "ro" || opt.empty()) continue;
    data += (data.empty() ? "" : ",") + opt;
  }
  return data;
}

class CgroupV2NamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fs = testing::realV2MemoryHierarchy();
    if (!fs.ok()) GTEST_SKIP() << fs.error().message;
    if (!pathExists("/proc/self/ns/cgroup")) GTEST_SKIP() << "this kernel has no cgroup namespaces";
    fs_.emplace(*fs);
    base_ = testing::testCgroupBase();
    host_options_ = cgroup2SuperOptions(fs_->mount());
    ASSERT_FALSE(host_options_.empty()) << fs_->mount() << " is not a cgroup2 mount in /proc/self/mountinfo";
    for (const char* d : {"", "/container", "/target", "/beside"}) {
      ASSERT_EQ(::mkdir((fs_->mount() + base_ + d).c_str(), 0755), 0) << base_ << d << ": " << std::strerror(errno);
    }
    char tmpl[] = "/tmp/memstrain-cgns-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
    scratch_ = tmpl;
    ASSERT_EQ(::mkdir((scratch_ + "/private").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((scratch_ + "/fresh").c_str(), 0755), 0);
  }
  void TearDown() override {
    testing::killAndReap(container_);  // its stressor follows (PR_SET_DEATHSIG), its mounts go with its namespace
    if (!fs_) return;
    (void)killAllMembers(*fs_, base_);
    EXPECT_TRUE(testing::removeCgroupTree(fs_->mount() + base_)) << base_ << " was left behind";
    if (!scratch_.empty()) {
      // Empty directories unless a mount leaked onto them in this namespace (then EBUSY).
      EXPECT_EQ(::rmdir((scratch_ + "/private").c_str()), 0) << std::strerror(errno);
      EXPECT_EQ(::rmdir((scratch_ + "/fresh").c_str()), 0) << std::strerror(errno);
      EXPECT_EQ(::rmdir(scratch_.c_str()), 0) << std::strerror(errno);
    }
    EXPECT_EQ(cgroup2SuperOptions(fs_->mount()), host_options_) << "the hierarchy's options were changed";
  }

  // The emulated container, in a forked child: writes its Findings to `out_fd`, then waits to be
  // killed (its stressor stays where it ended for the test to look at). Does not return.
  void container(int out_fd, bool throwaway_kernel) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    Findings f;
    const std::string host = fs_->mount();  // the Job's hostPath /host/sys/fs/cgroup
    const std::string priv = scratch_ + "/private", fresh = scratch_ + "/fresh";
    const std::string host_data = cgroup2MountData(host_options_);
    auto report = [&](int setup_errno) {
      f.setup_errno = setup_errno;
      (void)!::write(out_fd, &f, sizeof f);
      for (;;) ::pause();
    };
    // The runtime's part: into the container's cgroup, the stressor started there, private cgroup
    // and mount namespaces, the container's own cgroup2 mount, capabilities dropped.
    f.step = 1;
    if (int e = writeOnce(host + base_ + "/container/cgroup.procs", "0"); e != 0) report(e);
    f.stressor = ::fork();
    if (f.stressor == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      for (;;) ::pause();
    }
    f.step = 2;
    if (::unshare(CLONE_NEWCGROUP | CLONE_NEWNS) != 0) report(errno);
    f.step = 3;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) report(errno);
    f.step = 4;
    if (::mount("cgroup2", priv.c_str(), "cgroup2", 0, nullptr) != 0) report(errno);
    copyLine(f.self_cgroup_private, readFile("/proc/self/cgroup").valueOr("?"));
    const std::string root_procs = "\n" + readFile(priv + "/cgroup.procs").valueOr("");
    f.private_mount_is_subtree =
        root_procs.find("\n" + std::to_string(f.stressor) + "\n") != std::string::npos && !pathExists(priv + base_ + "/target");
    f.step = 5;
    if (int e = keepOnlyCaps(capBit(CAP_SYS_ADMIN) | capBit(CAP_SYS_PTRACE)); e != 0) report(e);

    // memstrain's part. In the private namespace, through the hostPath.
    const std::string stressor = std::to_string(f.stressor);
    f.move_private = writeOnce(host + base_ + "/target/cgroup.procs", stressor);
    f.mkdir_private = errnoOf(::mkdir((host + base_ + "/made-from-private").c_str(), 0755) == 0);
    const int stale_fd = ::open((host + base_ + "/target/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    // Without one of the two capabilities (each in a grandchild, which drops it).
    f.no_admin_open = inGrandchild([] {
      if (keepOnlyCaps(capBit(CAP_SYS_PTRACE)) != 0) return 254;
      return errnoOf(::open("/proc/1/ns/cgroup", O_RDONLY | O_CLOEXEC) >= 0);
    });
    f.no_admin_setns = inGrandchild([] {
      if (keepOnlyCaps(capBit(CAP_SYS_PTRACE)) != 0) return 254;
      const int ns = ::open("/proc/1/ns/cgroup", O_RDONLY | O_CLOEXEC);
      return ns < 0 ? 253 : errnoOf(::setns(ns, CLONE_NEWCGROUP) == 0);
    });
    f.no_ptrace_open = inGrandchild([] {
      if (keepOnlyCaps(capBit(CAP_SYS_ADMIN)) != 0) return 254;
      return errnoOf(::open("/proc/1/ns/cgroup", O_RDONLY | O_CLOEXEC) >= 0);
    });
    // With both: into the host's cgroup namespace.
    const int ns = ::open("/proc/1/ns/cgroup", O_RDONLY | O_CLOEXEC);
    f.setns_host = ns < 0 ? errno : errnoOf(::setns(ns, CLONE_NEWCGROUP) == 0);
    copyLine(f.self_cgroup_host, readFile("/proc/self/cgroup").valueOr("?"));
    f.move_stale_fd = stale_fd < 0 ? errno : writeFd(stale_fd, stressor);
    f.move_host_path = writeOnce(host + base_ + "/target/cgroup.procs", stressor);
    f.mount_fresh = errnoOf(::mount("cgroup2", fresh.c_str(), "cgroup2", 0, host_data.c_str()) == 0);
    if (f.mount_fresh == 0) {
      f.fresh_mount_is_host_root = pathExists(fresh + base_ + "/target/cgroup.procs");
      f.move_fresh_mount = writeOnce(fresh + base_ + "/beside/cgroup.procs", stressor);
      ::umount2(fresh.c_str(), 0);
    }
    if (throwaway_kernel && f.setns_host == 0) {
      f.mount_bare = errnoOf(::mount("cgroup2", fresh.c_str(), "cgroup2", 0, nullptr) == 0);
      copyLine(f.options_after_bare, cgroup2SuperOptions(host));
      if (f.mount_bare == 0) ::umount2(fresh.c_str(), 0);
      f.restore = errnoOf(::mount("cgroup2", fresh.c_str(), "cgroup2", 0, host_data.c_str()) == 0);
      if (f.restore == 0) ::umount2(fresh.c_str(), 0);
    }
    f.umounts = errnoOf(::umount2(priv.c_str(), 0) == 0);
    if (f.umounts == 0 && (!cgroup2SuperOptions(priv).empty() || !cgroup2SuperOptions(fresh).empty())) f.umounts = EBUSY;
    report(0);
  }

  std::optional<CgroupFs> fs_;
  std::string base_;
  std::string scratch_;
  std::string host_options_;
  pid_t container_ = -1;
};

TEST_F(CgroupV2NamespaceTest, SysAdminMovesAProcessOutsideItsCgroupNamespaceOnlyAfterSetnsIntoTheHosts) {
  const bool nsdelegate = hasOption(host_options_, "nsdelegate");
  const char* throwaway = std::getenv("MEMSTRAIN_TEST_THROWAWAY_KERNEL");
  const bool throwaway_kernel = throwaway != nullptr && std::string(throwaway) == "1";
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  container_ = ::fork();
  ASSERT_GE(container_, 0) << std::strerror(errno);
  if (container_ == 0) {
    ::close(fds[0]);
    container(fds[1], throwaway_kernel);
    ::_exit(1);
  }
  ::close(fds[1]);
  Findings f;
  const ssize_t n = ::read(fds[0], &f, sizeof f);
  ::close(fds[0]);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof f)) << "the container died before it reported";
  ASSERT_EQ(f.setup_errno, 0) << "set-up step " << f.step << " failed: " << std::strerror(f.setup_errno);
  const std::string base = base_;
  std::cout << "[figures] host options " << host_options_ << "; private ns: move errno " << f.move_private << ", mkdir " << f.mkdir_private
            << "; without SYS_ADMIN: open " << f.no_admin_open << ", setns errno " << f.no_admin_setns
            << "; without SYS_PTRACE: open errno " << f.no_ptrace_open << "; setns " << f.setns_host << "; after it: stale fd errno "
            << f.move_stale_fd << ", hostPath move " << f.move_host_path << ", fresh mount " << f.mount_fresh << ", move through it "
            << f.move_fresh_mount << "; bare mount " << f.mount_bare << " left options " << f.options_after_bare << ", restore "
            << f.restore << "\n";

  // The private namespace is rooted at the container's cgroup; a fresh mount shows only that.
  EXPECT_STREQ(f.self_cgroup_private, "0::/");
  EXPECT_TRUE(f.private_mount_is_subtree);
  // Moving the stressor out, through the host's mount: ENOENT under nsdelegate, even with
  // SYS_ADMIN; without nsdelegate the namespace is no boundary.
  EXPECT_EQ(f.move_private, nsdelegate ? ENOENT : 0) << std::strerror(f.move_private) << "; host options " << host_options_;
  // Creating a cgroup anywhere is a matter of file permissions, not of the namespace.
  EXPECT_EQ(f.mkdir_private, 0) << std::strerror(f.mkdir_private);
  EXPECT_TRUE(pathExists(fs_->mount() + base + "/made-from-private"));
  // setns needs SYS_ADMIN; the open before it needs SYS_PTRACE (the opener lacks caps PID 1 has).
  EXPECT_EQ(f.no_admin_open, 0) << std::strerror(f.no_admin_open);
  EXPECT_EQ(f.no_admin_setns, EPERM) << f.no_admin_setns;
  EXPECT_EQ(f.no_ptrace_open, EACCES) << f.no_ptrace_open;
  // With both, setns into PID 1's cgroup namespace: the container now sees its full path.
  ASSERT_EQ(f.setns_host, 0) << std::strerror(f.setns_host);
  EXPECT_EQ(std::string(f.self_cgroup_host), "0::" + base + "/container");
  // A cgroup.procs opened in the private namespace keeps that namespace (Linux 5.16+).
  EXPECT_EQ(f.move_stale_fd, nsdelegate ? ENOENT : 0) << std::strerror(f.move_stale_fd);
  // Opened anew through the same hostPath: the move works, without any mount.
  EXPECT_EQ(f.move_host_path, 0) << std::strerror(f.move_host_path);
  // A fresh cgroup2 mount is now rooted at the host's root, and moves work through it too.
  EXPECT_EQ(f.mount_fresh, 0) << std::strerror(f.mount_fresh);
  EXPECT_TRUE(f.fresh_mount_is_host_root);
  EXPECT_EQ(f.move_fresh_mount, 0) << std::strerror(f.move_fresh_mount);
  EXPECT_EQ(fs_->cgroupOfPid(f.stressor).valueOr("?"), base + "/beside");
  if (throwaway_kernel) {
    // The same mount without options resets the hierarchy's options for the whole node: nsdelegate
    // and memory_recursiveprot are gone until someone mounts or remounts with them.
    EXPECT_EQ(f.mount_bare, 0) << std::strerror(f.mount_bare);
    EXPECT_STREQ(f.options_after_bare, "rw");
    EXPECT_EQ(f.restore, 0) << std::strerror(f.restore);
  }
  EXPECT_EQ(f.umounts, 0) << std::strerror(f.umounts);
}

}  // namespace
}  // namespace memstrain
