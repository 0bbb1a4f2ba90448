// Both cgroup editors on the host's real memory hierarchy: v1 here, v2 in the guest of `make
// test-cgroup2` (where only the direct editor exists: libcgroup is v1-only). Everything is created under
// /memstrain-test-<pid> (relative to the memory mount), no limit exceeds 256 MiB, and TearDown kills
// the children it forked and removes every directory it finds there, whatever the test did.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
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
constexpr std::uint64_t kMaxTestLimit = 256 * MiB;  // the cap on any limit these tests set
constexpr std::size_t kChildAllocation = 16 * MiB;

// A forked child with a second thread (like the Go targets memstrain attaches to) that waits for
// commands on a pipe: 'a' allocates and touches kChildAllocation bytes then answers 'k'; 'o'
// allocates until it dies (for the OOM test). It dies with its parent.
struct Child {
  pid_t pid = -1;
  int cmd_fd = -1;
  int ack_fd = -1;
};

[[noreturn]] void childMain(int cmd_fd, int ack_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent is single-threaded (gtest), so starting a thread after fork() is safe here.
  std::thread([] {
    for (;;) ::pause();
  }).detach();
  for (;;) {
    char c = 0;
    ssize_t n = ::read(cmd_fd, &c, 1);
    if (n == 0) ::_exit(0);
    if (n < 0) continue;
    if (c == 'a') {
      auto* p = static_cast<char*>(std::malloc(kChildAllocation));
      if (p == nullptr) ::_exit(3);
      std::memset(p, 0x5a, kChildAllocation);
      (void)::write(ack_fd, "k", 1);
    } else if (c == 'o') {
      for (;;) {
        auto* p = static_cast<char*>(std::malloc(kChildAllocation));
        if (p == nullptr) ::_exit(4);
        std::memset(p, 0x5a, kChildAllocation);
      }
    }
  }
}

std::vector<pid_t> threadsOf(pid_t pid) {
  std::vector<pid_t> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

class CgroupRealTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto fs = testing::realMemoryHierarchy();
    if (!fs.ok()) GTEST_SKIP() << fs.error().message;
    if (GetParam() == "libcgroup" && fs->version() != CgroupVersion::kV1) GTEST_SKIP() << "the libcgroup editor is v1-only";
    fs_.emplace(*fs);
    v2_ = fs->version() == CgroupVersion::kV2;
    base_ = testing::testCgroupBase();
    if (GetParam() == "libcgroup") {
      auto ed = makeLibcgroupEditor(*fs_);
      ASSERT_TRUE(ed.ok()) << ed.error().message;
      editor_ = std::move(*ed);
    } else {
      editor_ = makeDirectEditor(*fs_);
    }
    ASSERT_EQ(editor_->name(), GetParam());
  }

  void TearDown() override {
    for (auto& c : children_) {
      testing::killAndReap(c.pid);
      if (c.cmd_fd >= 0) ::close(c.cmd_fd);
      if (c.ack_fd >= 0) ::close(c.ack_fd);
    }
    children_.clear();
    if (!fs_) return;
    // Remove whatever is left under base_, deepest first, without the code under test.
    const std::string root = fs_->mount() + base_;
    EXPECT_TRUE(testing::removeCgroupTree(root)) << root << " was left behind";
  }

  std::string rel(const std::string& sub) const { return sub.empty() ? base_ : base_ + "/" + sub; }

  Status setLimit(const std::string& r, std::uint64_t bytes) {
    EXPECT_TRUE(bytes <= kMaxTestLimit || bytes == kUnlimited) << "test sets a limit above the cap";
    return editor_->setLimit(r, bytes);
  }

  // Forks a Child; records it so that TearDown kills it.
  Child& spawn() {
    int cmd[2], ack[2];
    EXPECT_EQ(::pipe2(cmd, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(ack, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(cmd[1]);
      ::close(ack[0]);
      childMain(cmd[0], ack[1]);
    }
    ::close(cmd[0]);
    ::close(ack[1]);
    children_.push_back(Child{pid, cmd[1], ack[0]});
    // Wait until the child's second thread exists, so that attach has two threads to move.
    for (int i = 0; i < 200 && threadsOf(pid).size() < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return children_.back();
  }

  // Tells the child to allocate; true once it says it has touched the memory.
  static bool allocate(const Child& c) {
    if (::write(c.cmd_fd, "a", 1) != 1) return false;
    char k = 0;
    return ::read(c.ack_fd, &k, 1) == 1 && k == 'k';
  }

  // Reaps `c` (which the test expects to die) and returns its wait status.
  static int reap(Child& c) {
    int status = 0;
    if (::waitpid(c.pid, &status, 0) != c.pid) return -1;
    c.pid = -1;
    return status;
  }

  std::optional<CgroupFs> fs_;
  bool v2_ = false;
  std::unique_ptr<CgroupEditor> editor_;
  std::string base_;
  std::deque<Child> children_;  // a deque: spawn() hands out references that must stay valid
};

TEST_P(CgroupRealTest, Lifecycle) {
  const std::string run = rel("run");
  const std::string target = rel("run/target");

  // create: missing parents too, and again without complaint.
  auto st = editor_->create(target);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(fs_->exists(base_));
  EXPECT_TRUE(fs_->exists(run));
  EXPECT_TRUE(fs_->exists(target));
  EXPECT_TRUE(editor_->create(target).ok());

  // setLimit, limit, effectiveLimit, constrainingCgroup.
  ASSERT_TRUE(setLimit(run, 96 * MiB).ok());
  ASSERT_TRUE(setLimit(target, 128 * MiB).ok());
  EXPECT_EQ(fs_->limit(run).valueOr(0), 96 * MiB);
  EXPECT_EQ(fs_->limit(target).valueOr(0), 128 * MiB);
  EXPECT_EQ(fs_->effectiveLimit(target).valueOr(0), 96 * MiB);
  EXPECT_EQ(fs_->constrainingCgroup(target).valueOr("?"), run);
  ASSERT_TRUE(setLimit(target, kUnlimited).ok());  // "-1" (v1), "max" (v2)
  EXPECT_EQ(fs_->limit(target).valueOr(0), kUnlimited);
  EXPECT_EQ(fs_->effectiveLimit(target).valueOr(0), 96 * MiB);
  EXPECT_EQ(fs_->effectiveLimit(base_).valueOr(0), fs_->effectiveLimit("/").valueOr(1));

  // attach moves the whole thread group, then the child's memory is charged to target.
  Child& c = spawn();
  ASSERT_GT(c.pid, 0);
  ASSERT_EQ(threadsOf(c.pid).size(), 2u);
  st = editor_->attach(target, c.pid);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(fs_->procs(target).valueOr({}), std::vector<pid_t>{c.pid});
  EXPECT_EQ(fs_->cgroupOfPid(c.pid).valueOr("?"), target);
  for (pid_t tid : threadsOf(c.pid)) EXPECT_EQ(fs_->cgroupOfPid(tid).valueOr("?"), target) << "thread " << tid;
  ASSERT_TRUE(allocate(c));

  auto s = fs_->sample(target);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_GE(s->usage_bytes, kChildAllocation);
  // memory.stat is summed from per-CPU counters the kernel folds in batches: on a busy machine a
  // page or two of a fresh allocation can still be in a CPU's batch (measured: 4 KiB short).
  constexpr std::size_t kStatBatchSlack = 1 * MiB;
  EXPECT_GE(s->stat.anon_bytes, kChildAllocation - kStatBatchSlack);
  EXPECT_EQ(s->limit_bytes, kUnlimited);
  ASSERT_TRUE(s->peak_bytes.has_value());
  EXPECT_GE(*s->peak_bytes, s->usage_bytes);
  EXPECT_EQ(s->oom_kill_count, 0u);
  // memory.pressure is per cgroup on v2 (with PSI, as Debian's kernel has); v1 has none.
  EXPECT_EQ(s->pressure.has_value(), v2_);
  auto parent = fs_->sample(run);  // usage is hierarchical on both versions
  ASSERT_TRUE(parent.ok()) << parent.error().message;
  EXPECT_GE(parent->usage_bytes, kChildAllocation);
  EXPECT_EQ(parent->limit_bytes, 96 * MiB);

  // remove refuses a cgroup with members or children, and leaves the members where they are.
  auto busy = editor_->remove(target);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().sys_errno, EBUSY) << busy.error().message;
  EXPECT_EQ(fs_->procs(target).valueOr({}), std::vector<pid_t>{c.pid});
  auto has_child = editor_->remove(run);
  ASSERT_FALSE(has_child.ok());
  EXPECT_EQ(has_child.error().sys_errno, EBUSY) << has_child.error().message;
  EXPECT_TRUE(fs_->exists(run));

  // killAllMembers from the top kills the member two levels down.
  st = killAllMembers(*fs_, base_);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(fs_->procs(target).valueOr({1}).empty());
  const int status = reap(c);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;

  // remove, children first.
  for (const auto& r : {target, run, base_}) {
    st = editor_->remove(r);
    ASSERT_TRUE(st.ok()) << r << ": " << st.error().message;
    EXPECT_FALSE(fs_->exists(r)) << r;
  }
  auto gone = editor_->remove(base_);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().sys_errno, ENOENT) << gone.error().message;
}

TEST_P(CgroupRealTest, KillAllMembersCoversEveryLevelAndOnlyThem) {
  ASSERT_TRUE(editor_->create(rel("a/b")).ok());
  ASSERT_TRUE(editor_->create(rel("other")).ok());
  Child& top = spawn();
  Child& deep = spawn();
  Child& bystander = spawn();
  // v2 allows no processes in a cgroup whose children have controllers ("no internal processes"):
  // there the upper member sits in a leaf beside b.
  const std::string upper = v2_ ? rel("a/top") : rel("a");
  if (v2_) {
    ASSERT_TRUE(editor_->create(upper).ok());
  }
  ASSERT_TRUE(editor_->attach(upper, top.pid).ok());
  ASSERT_TRUE(editor_->attach(rel("a/b"), deep.pid).ok());
  ASSERT_TRUE(editor_->attach(rel("other"), bystander.pid).ok());

  auto st = killAllMembers(*fs_, rel("a"), 2000);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(WIFSIGNALED(reap(top)));
  EXPECT_TRUE(WIFSIGNALED(reap(deep)));
  EXPECT_EQ(::kill(bystander.pid, 0), 0) << "a process in a sibling cgroup was killed";
  EXPECT_EQ(fs_->procs(rel("other")).valueOr({}), std::vector<pid_t>{bystander.pid});
  // An empty or vanished cgroup is already done.
  EXPECT_TRUE(killAllMembers(*fs_, rel("a"), 100).ok());
  EXPECT_TRUE(killAllMembers(*fs_, rel("never-made"), 100).ok());
}

TEST_P(CgroupRealTest, OomKillIsCountedInTheSample) {
  std::string swaps = readFile("/proc/swaps").valueOr("");
  if (std::count(swaps.begin(), swaps.end(), '\n') > 1) GTEST_SKIP() << "swap is on: the child would swap, not die";
  const std::string box = rel("oom");
  ASSERT_TRUE(editor_->create(box).ok());
  ASSERT_TRUE(setLimit(box, 32 * MiB).ok());
  Child& c = spawn();
  ASSERT_TRUE(editor_->attach(box, c.pid).ok());
  ASSERT_EQ(::write(c.cmd_fd, "o", 1), 1);
  const int status = reap(c);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  auto s = fs_->sample(box);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->oom_kill_count, 1u);
  EXPECT_EQ(s->limit_bytes, 32 * MiB);
  EXPECT_GE(s->peak_bytes.value_or(0), 30 * MiB);
}

TEST_P(CgroupRealTest, ErrorsNameWhatWasMissing) {
  Child& c = spawn();
  auto attach = editor_->attach(rel("missing"), c.pid);
  ASSERT_FALSE(attach.ok());
  EXPECT_EQ(attach.error().sys_errno, ENOENT);
  EXPECT_NE(attach.error().message.find(rel("missing")), std::string::npos) << attach.error().message;
  auto limit = setLimit(rel("missing"), 64 * MiB);
  ASSERT_FALSE(limit.ok());
  EXPECT_EQ(limit.error().sys_errno, ENOENT) << limit.error().message;
  EXPECT_EQ(editor_->create(rel("a/../../escape")).error().sys_errno, EINVAL);
  EXPECT_FALSE(pathExists(fs_->mount() + "/escape"));
  EXPECT_EQ(editor_->attach(rel(""), 0).error().sys_errno, EINVAL);  // would move this test process
  EXPECT_EQ(editor_->remove("/").error().sys_errno, EINVAL);
}

INSTANTIATE_TEST_SUITE_P(Editors, CgroupRealTest, ::testing::Values("direct", "libcgroup"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(CgroupRealHost, DetectFindsTheV1MemoryMountAndLibcgroupAgrees) {
  auto fs = CgroupFs::detect();
  if (!fs.ok()) GTEST_SKIP() << "no cgroup memory controller: " << fs.error().message;
  if (fs->version() != CgroupVersion::kV1) GTEST_SKIP() << "not a v1 host";
  EXPECT_TRUE(pathExists(joinPath(fs->mount(), cgroup_file::kV1Limit)));
  auto lib = makeLibcgroupEditor(*fs);
  ASSERT_TRUE(lib.ok()) << lib.error().message;
  EXPECT_STREQ((*lib)->name(), "libcgroup");
  // Another spelling of the same mount is still the same mount.
  auto lib2 = makeLibcgroupEditor(CgroupFs(fs->mount() + "/", CgroupVersion::kV1));
  EXPECT_TRUE(lib2.ok());
}

}  // namespace
}  // namespace memstrain
