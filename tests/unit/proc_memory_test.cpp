#include "memstrain/proc/proc_memory.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "support/fs_fixture.hpp"

namespace memstrain {
namespace {

using testing::dir;
using testing::file;
using testing::FsFixture;

constexpr std::uint64_t KiB = 1024;

// /proc/PID/smaps_rollup of a small process on Linux 6.18.
constexpr const char* kRollup =
    "55c6f0e08000-7ffdf77a7000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:                1752 kB\n"
    "Pss:                 548 kB\n"
    "Pss_Anon:            116 kB\n"
    "Shared_Clean:       1496 kB\n"
    "Private_Dirty:       116 kB\n"
    "Referenced:         1708 kB\n"
    "Anonymous:           120 kB\n"
    "KSM:                   0 kB\n"
    "LazyFree:             64 kB\n"
    "AnonHugePages:         0 kB\n"
    "Swap:                  8 kB\n"
    "SwapPss:               8 kB\n"
    "Locked:                0 kB\n";

constexpr const char* kStatus =
    "Name:\tdemo-target\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Pid:\t4242\n"
    "VmPeak:\t  1236580 kB\n"
    "VmRSS:\t    20480 kB\n"
    "RssAnon:\t    16384 kB\n"
    "RssFile:\t     4096 kB\n"
    "VmSwap:\t       12 kB\n"
    "Threads:\t7\n";

constexpr const char* kMeminfo =
    "MemTotal:       24683620 kB\n"
    "MemFree:        24385448 kB\n"
    "MemAvailable:   24366556 kB\n"
    "Buffers:            9848 kB\n"
    "Cached:           106660 kB\n"
    "HugePages_Total:       0\n";

TEST(ProcSmapsRollup, KilobytesBecomeBytes) {
  auto m = parseSmapsRollup(kRollup);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->rss_bytes, 1752 * KiB);
  EXPECT_EQ(m->anonymous_bytes, 120 * KiB);
  EXPECT_EQ(m->lazyfree_bytes, std::optional<std::uint64_t>(64 * KiB));
  EXPECT_EQ(m->swap_bytes, 8 * KiB);
}

TEST(ProcSmapsRollup, OldKernelWithoutLazyFree) {
  auto m = parseSmapsRollup("Rss: 4 kB\nAnonymous: 4 kB\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(m->lazyfree_bytes.has_value());
  EXPECT_EQ(m->swap_bytes, 0u);
}

TEST(ProcSmapsRollup, Rejects) {
  auto no_rss = parseSmapsRollup("Anonymous: 4 kB\n");
  ASSERT_FALSE(no_rss.ok());
  EXPECT_NE(no_rss.error().message.find("Rss"), std::string::npos);
  EXPECT_FALSE(parseSmapsRollup("").ok());  // a zombie's rollup is empty
  EXPECT_FALSE(parseSmapsRollup("Rss: lots kB\n").ok());
  EXPECT_FALSE(parseSmapsRollup("Rss: 4 MB\n").ok());
  EXPECT_FALSE(parseSmapsRollup("Rss: 18014398509481984 kB\n").ok());  // 2^54 KiB overflows bytes
  auto bad = parseSmapsRollup("Rss: 4 kB\nSwap: -1 kB\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 2"), std::string::npos) << bad.error().message;
}

TEST(ProcSmapsRollup, IgnoresUnknownAndOddLinesItDoesNotNeed) {
  auto m = parseSmapsRollup("garbage without colon\nFuture_Field: x y z\nRss: 8 kB\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->rss_bytes, 8 * KiB);
}

TEST(ProcStatus, VmRssRssAnonVmSwap) {
  auto m = parseProcStatus(kStatus);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->rss_bytes, 20480 * KiB);
  EXPECT_EQ(m->anonymous_bytes, 16384 * KiB);
  EXPECT_EQ(m->swap_bytes, 12 * KiB);
  EXPECT_FALSE(m->lazyfree_bytes.has_value());
}

TEST(ProcStatus, KernelThreadHasNoRss) {
  auto m = parseProcStatus("Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("VmRSS"), std::string::npos);
}

TEST(ProcMeminfo, TotalAndAvailable) {
  auto n = parseMeminfo(kMeminfo);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->total_bytes, 24683620 * KiB);
  EXPECT_EQ(n->available_bytes, 24366556 * KiB);
}

TEST(ProcMeminfo, BeforeMemAvailableEstimatesIt) {
  auto n = parseMeminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->available_bytes, 310 * KiB);
}

TEST(ProcMeminfo, Rejects) {
  EXPECT_FALSE(parseMeminfo("MemFree: 1 kB\n").ok());
  EXPECT_FALSE(parseMeminfo("MemTotal: 1 GB\n").ok());
}

TEST(ProcRead, SmapsRollupFromAProcRoot) {
  FsFixture fx({dir("proc", {dir("42", {file("smaps_rollup", kRollup), file("status", kStatus)}), file("meminfo", kMeminfo)})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  auto m = readProcessMemory(42, fx.path("proc"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->rss_bytes, 1752 * KiB);  // smaps_rollup wins over status
  auto n = readNodeMemory(fx.path("proc"));
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->total_bytes, 24683620 * KiB);
}

TEST(ProcRead, FallsBackToStatusWithoutSmapsRollup) {
  FsFixture fx({dir("proc", {dir("42", {file("status", kStatus)})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  auto m = readProcessMemory(42, fx.path("proc"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->rss_bytes, 20480 * KiB);
  EXPECT_FALSE(m->lazyfree_bytes.has_value());
}

TEST(ProcRead, CheapReadUsesStatusEvenWhenSmapsRollupExists) {
  FsFixture fx(
      {dir("proc", {dir("42", {file("smaps_rollup", kRollup), file("status", kStatus)}), dir("43", {file("smaps_rollup", kRollup)})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  auto m = readProcessMemoryCheap(42, fx.path("proc"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->rss_bytes, 20480 * KiB);
  EXPECT_FALSE(m->lazyfree_bytes.has_value());
  auto no_status = readProcessMemoryCheap(43, fx.path("proc"));
  ASSERT_FALSE(no_status.ok());
  EXPECT_EQ(no_status.error().sys_errno, ENOENT);
  EXPECT_NE(no_status.error().message.find(fx.path("proc/43/status")), std::string::npos);
}

TEST(ProcRead, ErrorsNameTheFile) {
  FsFixture fx({dir("proc", {dir("43", {file("smaps_rollup", "Rss: x kB\n")}), file("meminfo", "nothing\n")})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  auto gone = readProcessMemory(99, fx.path("proc"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().sys_errno, ENOENT);
  EXPECT_NE(gone.error().message.find(fx.path("proc/99/status")), std::string::npos) << gone.error().message;
  auto bad = readProcessMemory(43, fx.path("proc"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find(fx.path("proc/43/smaps_rollup")), std::string::npos) << bad.error().message;
  auto node = readNodeMemory(fx.path("proc"));
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.error().message.find(fx.path("proc/meminfo")), std::string::npos) << node.error().message;
}

TEST(ProcRead, ThisProcessGrowsWhenItTouchesMemory) {
  auto before = readProcessMemory(::getpid());
  ASSERT_TRUE(before.ok()) << before.error().message;
  std::vector<char> block(32u << 20, 1);  // touched by the constructor
  auto after = readProcessMemory(::getpid());
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_GE(after->anonymous_bytes + (4u << 20), before->anonymous_bytes + block.size());
  EXPECT_GE(after->rss_bytes, after->anonymous_bytes);
  auto node = readNodeMemory();
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_GT(node->total_bytes, node->available_bytes);
  EXPECT_GT(node->available_bytes, 0u);
}

}  // namespace
}  // namespace memstrain
