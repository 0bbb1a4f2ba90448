// The text a release window reads, on fixtures: smaps_rollup with and without LazyFree, v1
// memory.stat after MADV_FREE, and a v2 cgroup tree read through CgroupFs before and after a
// lazy release, judged end to end.

#include <gtest/gtest.h>

#include <string>

#include "memstrain/analysis/release.hpp"
#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/cgroup/cgroup_parse.hpp"
#include "memstrain/model/sample.hpp"
#include "memstrain/proc/proc_memory.hpp"
#include "support/fs_fixture.hpp"

namespace memstrain {
namespace {

using testing::dir;
using testing::file;
using testing::FsFixture;

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

// smaps_rollup of the Go demo target after /drop and FreeOSMemory with GODEBUG=madvdontneed=0
// (Linux 6.1): the released heap is still in Rss, marked LazyFree.
constexpr const char* kSmapsMadvFree =
    "00400000-7ffd4a5e1000 ---p 00000000 00:00 0                              [rollup]\n"
    "Rss:              174088 kB\n"
    "Pss:              173412 kB\n"
    "Pss_Anon:         169024 kB\n"
    "Pss_File:           4388 kB\n"
    "Pss_Shmem:             0 kB\n"
    "Shared_Clean:       1352 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:    155004 kB\n"
    "Private_Dirty:     17732 kB\n"
    "Referenced:        18904 kB\n"
    "Anonymous:        169024 kB\n"
    "LazyFree:         155004 kB\n"
    "AnonHugePages:         0 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FilePmdMapped:         0 kB\n"
    "Shared_Hugetlb:        0 kB\n"
    "Private_Hugetlb:       0 kB\n"
    "Swap:                  0 kB\n"
    "SwapPss:               0 kB\n"
    "Locked:                0 kB\n";

// A 4.14-era kernel: smaps_rollup exists but has no LazyFree line.
constexpr const char* kSmapsNoLazyFree =
    "00400000-7ffd4a5e1000 ---p 00000000 00:00 0                              [rollup]\n"
    "Rss:               19940 kB\n"
    "Pss:               19300 kB\n"
    "Anonymous:         15552 kB\n"
    "AnonHugePages:         0 kB\n"
    "Swap:                  0 kB\n";

TEST(ReleaseFixtures, SmapsRollupWithLazyFree) {
  auto m = parseSmapsRollup(kSmapsMadvFree);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->rss_bytes, 174088 * KiB);
  EXPECT_EQ(m->anonymous_bytes, 169024 * KiB);
  EXPECT_EQ(m->lazyfree_bytes, std::optional<std::uint64_t>(155004 * KiB));
}

TEST(ReleaseFixtures, SmapsRollupWithoutLazyFreeFallsBackToTheCgroup) {
  auto m = parseSmapsRollup(kSmapsNoLazyFree);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_FALSE(m->lazyfree_bytes);
  // Without LazyFree in the process's view, a v1 window reads lazily freed pages off the
  // cgroup's inactive file list.
  Sample before, after;
  before.t_s = 1;
  after.t_s = 3;
  before.target_process = *m;
  after.target_process = *m;
  before.target_cgroup.usage_bytes = after.target_cgroup.usage_bytes = 180 * MiB;
  auto st0 = parseMemoryStat("cache 0\nrss 1\ntotal_cache 1048576\ntotal_rss 187695104\ntotal_inactive_file 1048576\n", CgroupVersion::kV1);
  auto st1 =
      parseMemoryStat("cache 0\nrss 1\ntotal_cache 158334976\ntotal_rss 30408704\ntotal_inactive_file 158334976\n", CgroupVersion::kV1);
  ASSERT_TRUE(st0 && st1);
  EXPECT_EQ(st1->inactive_file_bytes, 151 * MiB);
  EXPECT_FALSE(st1->pglazyfree);
  before.target_cgroup.stat = *st0;
  after.target_cgroup.stat = *st1;
  ReleaseInput in;
  in.window_start_s = in.trigger_s = 1;
  in.deadline_s = 11;
  in.triggered = true;
  in.os = {releaseOsPoint(before), releaseOsPoint(after)};
  in.runtime = {{0.5, 2 * MiB, 2 * MiB, 150 * MiB}, {2, 152 * MiB, 152 * MiB, 2 * MiB}};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kLazy);
  EXPECT_EQ(r.lazy_source, "cgroup_inactive_file");
  EXPECT_EQ(r.lazy_bytes, std::optional<std::uint64_t>(150 * MiB));
}

TEST(ReleaseFixtures, InsideStressorIsNotCountedAsTheTargetsCharge) {
  Sample s;
  s.target_cgroup.usage_bytes = 300 * MiB;
  s.stressor_populated_bytes = 200 * MiB;  // inside: no stressor_cgroup of its own
  EXPECT_EQ(releaseOsPoint(s).cgroup_usage_bytes, std::optional<std::uint64_t>(100 * MiB));
  s.stressor_cgroup = CgroupSample{};  // beside: the target cgroup holds only the target
  EXPECT_EQ(releaseOsPoint(s).cgroup_usage_bytes, std::optional<std::uint64_t>(300 * MiB));
}

std::string v2Stat(std::uint64_t anon, std::uint64_t file, std::uint64_t inactive_file, std::uint64_t pglazyfree,
                   std::uint64_t pglazyfreed) {
  return "anon " + std::to_string(anon) + "\nfile " + std::to_string(file) + "\nkernel_stack 98304\nshmem 0\nactive_anon " +
         std::to_string(anon) + "\ninactive_anon 0\nactive_file 0\ninactive_file " + std::to_string(inactive_file) +
         "\nunevictable 0\npgfault 51234\npgmajfault 0\npglazyfree " + std::to_string(pglazyfree) + "\npglazyfreed " +
         std::to_string(pglazyfreed) + "\nthp_fault_alloc 0\n";
}

CgroupSample sampleV2(const std::string& stat, std::uint64_t current) {
  FsFixture fx({dir("cg", {file("cgroup.controllers", "memory\n"), file("cgroup.subtree_control", "memory\n"),
                           dir("app", {file("memory.max", "536870912\n"), file("memory.current", std::to_string(current) + "\n"),
                                       file("memory.stat", stat), file("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
                                       file("cgroup.procs", "42\n")})})});
  EXPECT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("cg"), CgroupVersion::kV2);
  auto s = fs.sample("/app");
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return s ? *s : CgroupSample{};
}

TEST(ReleaseFixtures, V2TreeBeforeAndAfterALazyRelease) {
  // MADV_FREE on v2: anon moves to the file LRU, pglazyfree counts the pages marked.
  const CgroupSample before = sampleV2(v2Stat(170 * MiB, 1 * MiB, 1 * MiB, 512, 0), 175 * MiB);
  const CgroupSample after = sampleV2(v2Stat(20 * MiB, 151 * MiB, 151 * MiB, 512 + 38400, 100), 175 * MiB);
  EXPECT_EQ(after.stat.file_bytes, 151 * MiB);
  EXPECT_EQ(after.stat.inactive_file_bytes, 151 * MiB);
  EXPECT_EQ(after.stat.pglazyfree, std::optional<std::uint64_t>(38912));
  EXPECT_EQ(after.stat.pglazyfreed, std::optional<std::uint64_t>(100));
  Sample s0, s1;
  s0.t_s = 1;
  s1.t_s = 4;
  s0.target_cgroup = before;
  s1.target_cgroup = after;
  ReleaseInput in;
  in.window_start_s = in.trigger_s = 1;
  in.deadline_s = 11;
  in.os = {releaseOsPoint(s0), releaseOsPoint(s1)};
  in.runtime = {{1, 0, 0, 150 * MiB}, {2, 150 * MiB, 150 * MiB, 1 * MiB}};
  const ReleaseResult r = analyzeRelease(in);
  EXPECT_EQ(r.outcome, ReleaseOutcome::kLazy);
  EXPECT_EQ(r.lazy_source, "cgroup_pglazyfree");
  EXPECT_EQ(r.cgroup_pglazyfree_delta, std::optional<std::int64_t>(38400));
  EXPECT_EQ(r.cgroup_pglazyfreed_delta, std::optional<std::int64_t>(100));
  EXPECT_EQ(r.lazy_bytes, std::optional<std::uint64_t>((38400 - 100) * 4096ULL));
  EXPECT_EQ(r.cgroup_dropped_bytes, std::optional<std::uint64_t>(0));
}

}  // namespace
}  // namespace memstrain
