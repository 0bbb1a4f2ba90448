#include "memstrain/cgroup/cgroup_parse.hpp"

#include <gtest/gtest.h>

namespace memstrain {
namespace {

constexpr std::uint64_t MiB = 1ULL << 20;

// memory.stat of a v1 cgroup on Linux 6.18 (abridged): local keys first, then total_*.
constexpr const char* kV1Stat =
    "cache 12111872\n"
    "rss 4100096\n"
    "rss_huge 0\n"
    "shmem 9166848\n"
    "mapped_file 7737344\n"
    "inactive_file 753664\n"
    "active_file 2191360\n"
    "hierarchical_memory_limit 9223372036854771712\n"
    "total_cache 119320576\n"
    "total_rss 8073216\n"
    "total_shmem 9166848\n"
    "total_inactive_file 77869056\n"
    "total_active_file 32284672\n";

constexpr const char* kV2Stat =
    "anon 104857600\n"
    "file 20971520\n"
    "kernel 1048576\n"
    "shmem 4096\n"
    "active_file 8388608\n"
    "inactive_file 12582912\n"
    "pgfault 1234\n"
    "pglazyfree 2560\n"
    "pglazyfreed 512\n";

TEST(CgroupParseMemoryStat, V1TakesTheHierarchicalTotals) {
  auto st = parseMemoryStat(kV1Stat, CgroupVersion::kV1);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->anon_bytes, 8073216u);
  EXPECT_EQ(st->file_bytes, 119320576u);
  EXPECT_EQ(st->active_file_bytes, 32284672u);
  EXPECT_EQ(st->inactive_file_bytes, 77869056u);
  EXPECT_EQ(st->shmem_bytes, 9166848u);
  EXPECT_FALSE(st->pglazyfree.has_value());
  EXPECT_FALSE(st->pglazyfreed.has_value());
  EXPECT_EQ(st->raw.size(), 13u);
  EXPECT_EQ(st->raw.at("rss"), 4100096u);
  EXPECT_EQ(st->raw.at("hierarchical_memory_limit"), 9223372036854771712u);
}

TEST(CgroupParseMemoryStat, V1FallsBackToLocalKeysWithoutTotals) {
  auto st = parseMemoryStat("cache 4096\nrss 8192\nshmem 0\n", CgroupVersion::kV1);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->anon_bytes, 8192u);
  EXPECT_EQ(st->file_bytes, 4096u);
  EXPECT_EQ(st->inactive_file_bytes, 0u);
}

TEST(CgroupParseMemoryStat, V2TakesPlainKeysAndLazyFreeCounters) {
  auto st = parseMemoryStat(kV2Stat, CgroupVersion::kV2);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->anon_bytes, 100 * MiB);
  EXPECT_EQ(st->file_bytes, 20 * MiB);
  EXPECT_EQ(st->active_file_bytes, 8 * MiB);
  EXPECT_EQ(st->inactive_file_bytes, 12 * MiB);
  EXPECT_EQ(st->shmem_bytes, 4096u);
  EXPECT_EQ(st->pglazyfree, std::optional<std::uint64_t>(2560));
  EXPECT_EQ(st->pglazyfreed, std::optional<std::uint64_t>(512));
  EXPECT_EQ(st->raw.at("kernel"), MiB);
}

TEST(CgroupParseMemoryStat, V2WithoutLazyFreeLeavesThemEmpty) {
  auto st = parseMemoryStat("anon 1\nfile 2\n", CgroupVersion::kV2);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_FALSE(st->pglazyfree.has_value());
  EXPECT_FALSE(st->pglazyfreed.has_value());
  EXPECT_EQ(st->shmem_bytes, 0u);
}

TEST(CgroupParseMemoryStat, MajorFaultsAndFileRefaultsOnBothVersions) {
  // v1: the hierarchical totals, as for the byte counts (the local keys are this cgroup alone).
  auto v1 = parseMemoryStat(
      "pgmajfault 3\nworkingset_refault_file 5\ntotal_pgmajfault 76811\n"
      "total_workingset_refault_file 1948549\n",
      CgroupVersion::kV1);
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  EXPECT_EQ(v1->major_faults, std::optional<std::uint64_t>(76811));
  EXPECT_EQ(v1->refaults_file, std::optional<std::uint64_t>(1948549));
  auto v2 = parseMemoryStat("anon 1\npgmajfault 42\nworkingset_refault_anon 7\nworkingset_refault_file 900\n", CgroupVersion::kV2);
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  EXPECT_EQ(v2->major_faults, std::optional<std::uint64_t>(42));
  EXPECT_EQ(v2->refaults_file, std::optional<std::uint64_t>(900));
  // Before Linux 5.9 refaults were not split into anon and file: workingset_refault.
  auto old_v2 = parseMemoryStat("pgmajfault 1\nworkingset_refault 12\n", CgroupVersion::kV2);
  ASSERT_TRUE(old_v2.ok());
  EXPECT_EQ(old_v2->refaults_file, std::optional<std::uint64_t>(12));
  auto old_v1 = parseMemoryStat("total_workingset_refault 13\n", CgroupVersion::kV1);
  ASSERT_TRUE(old_v1.ok());
  EXPECT_EQ(old_v1->refaults_file, std::optional<std::uint64_t>(13));
  EXPECT_FALSE(old_v1->major_faults.has_value());
  // Hand-made trees without the counters: absent, not zero.
  auto none = parseMemoryStat(kV2Stat, CgroupVersion::kV2);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->major_faults.has_value());
  EXPECT_FALSE(none->refaults_file.has_value());
}

TEST(CgroupParseMemoryStat, EmptyTextIsAllZero) {
  auto st = parseMemoryStat("", CgroupVersion::kV2);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->anon_bytes, 0u);
  EXPECT_TRUE(st->raw.empty());
}

TEST(CgroupParseMemoryStat, MalformedLineIsAnErrorNamingTheLine) {
  auto st = parseMemoryStat("anon 1\nfile lots\n", CgroupVersion::kV2);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("line 2"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("\"file lots\""), std::string::npos) << st.error().message;
  EXPECT_FALSE(parseMemoryStat("anon 1 2\n", CgroupVersion::kV2).ok());
  EXPECT_FALSE(parseMemoryStat("anon -1\n", CgroupVersion::kV2).ok());
  EXPECT_FALSE(parseMemoryStat("anon 99999999999999999999\n", CgroupVersion::kV2).ok());
}

TEST(CgroupParseMemoryStat, ErrorEscapesControlBytes) {
  auto st = parseMemoryStat(std::string_view("anon \x01\x7f", 7), CgroupVersion::kV2);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("\\x01\\x7f"), std::string::npos) << st.error().message;
}

TEST(CgroupParseOomControl, ReadsTheKillCounter) {
  auto k = parseOomControlKills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(*k, 3u);
}

TEST(CgroupParseOomControl, OldKernelsWithoutTheCounterGiveZero) {
  auto k = parseOomControlKills("oom_kill_disable 0\nunder_oom 1\n");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, 0u);
  EXPECT_FALSE(parseOomControlKills("oom_kill x\n").ok());
}

TEST(CgroupParseMemoryEvents, FillsOomAndOomKill) {
  CgroupSample s;
  auto st = parseMemoryEvents("low 0\nhigh 12\nmax 40\noom 2\noom_kill 1\noom_group_kill 0\n", s);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(s.oom_count, 2u);
  EXPECT_EQ(s.oom_kill_count, 1u);
}

TEST(CgroupParseMemoryEvents, MalformedLeavesTheSampleUntouched) {
  CgroupSample s;
  s.oom_kill_count = 7;
  EXPECT_FALSE(parseMemoryEvents("oom 1\noom_kill\n", s).ok());
  EXPECT_EQ(s.oom_kill_count, 7u);
}

TEST(CgroupParsePsi, SomeAndFull) {
  auto p = parsePsi(
      "some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\n"
      "full avg10=0.75 avg60=0.10 avg300=0.01 total=65432\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_DOUBLE_EQ(p->some.avg10, 1.5);
  EXPECT_DOUBLE_EQ(p->some.avg60, 0.25);
  EXPECT_DOUBLE_EQ(p->some.avg300, 0.0);
  EXPECT_EQ(p->some.total_us, 123456u);
  ASSERT_TRUE(p->full.has_value());
  EXPECT_DOUBLE_EQ(p->full->avg10, 0.75);
  EXPECT_EQ(p->full->total_us, 65432u);
}

TEST(CgroupParsePsi, SomeOnlyAsForCpuOnOldKernels) {
  auto p = parsePsi("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->full.has_value());
}

TEST(CgroupParsePsi, ToleratesKeysAndKindsANewerKernelMightAdd) {
  auto p = parsePsi("some avg10=0.10 avg60=0.00 avg300=0.00 total=5 avg1=9.9\nboth avg10=x\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->some.total_us, 5u);
}

TEST(CgroupParsePsi, Rejects) {
  EXPECT_FALSE(parsePsi("").ok());
  EXPECT_FALSE(parsePsi("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").ok());  // no some
  EXPECT_FALSE(parsePsi("some avg10=0.00 avg60=0.00 total=0\n").ok());              // no avg300
  EXPECT_FALSE(parsePsi("some avg10=abc avg60=0.00 avg300=0.00 total=0\n").ok());
  EXPECT_FALSE(parsePsi("some avg10=-1 avg60=0.00 avg300=0.00 total=0\n").ok());
  EXPECT_FALSE(parsePsi("some avg10=inf avg60=0.00 avg300=0.00 total=0\n").ok());
  EXPECT_FALSE(parsePsi("some avg10 avg60=0.00 avg300=0.00 total=0\n").ok());
  EXPECT_FALSE(parsePsi("some avg10=0.00 avg60=0.00 avg300=0.00 total=1.5\n").ok());
}

TEST(CgroupParseLimit, NumbersMaxAndV1Unlimited) {
  EXPECT_EQ(parseLimit("67108864\n").valueOr(0), 64 * MiB);
  EXPECT_EQ(parseLimit("max\n").valueOr(0), kUnlimited);
  EXPECT_EQ(parseLimit("9223372036854771712\n").valueOr(0), kUnlimited);  // v1: LONG_MAX page-rounded
  EXPECT_EQ(parseLimit("4611686018427387904").valueOr(0), kUnlimited);    // 2^62
  EXPECT_EQ(parseLimit("4611686018427387903").valueOr(0), 4611686018427387903u);
  EXPECT_EQ(parseLimit("0").valueOr(1), 0u);
}

TEST(CgroupParseLimit, Rejects) {
  EXPECT_FALSE(parseLimit("").ok());
  EXPECT_FALSE(parseLimit("-1").ok());
  EXPECT_FALSE(parseLimit("1G").ok());
  EXPECT_FALSE(parseLimit("MAX").ok());
  EXPECT_FALSE(parseLimit("18446744073709551616").ok());
}

TEST(CgroupParseRel, Normalises) {
  EXPECT_EQ(normalizeCgroupRel("/").valueOr("?"), "/");
  EXPECT_EQ(normalizeCgroupRel("//").valueOr("?"), "/");
  EXPECT_EQ(normalizeCgroupRel("/a//b/./c/").valueOr("?"), "/a/b/c");
  EXPECT_EQ(normalizeCgroupRel("/memstrain/run-1").valueOr("?"), "/memstrain/run-1");
  EXPECT_EQ(normalizeCgroupRel("/a..b/..c").valueOr("?"), "/a..b/..c");  // dots inside a name are fine
}

TEST(CgroupParseRel, RejectsRelativeDotDotAndNul) {
  for (std::string_view bad : {std::string_view(""), std::string_view("relative"), std::string_view("a/b"), std::string_view("/.."),
                               std::string_view("/a/../b"), std::string_view("/a/.."), std::string_view("/a\0b", 4)}) {
    auto r = normalizeCgroupRel(bad);
    EXPECT_FALSE(r.ok()) << "accepted " << std::string(bad);
    if (!r.ok()) {
      EXPECT_EQ(r.error().sys_errno, EINVAL);
    }
  }
}

TEST(CgroupParsePids, OnePerLine) {
  auto p = parsePidList("1\n4242\n\n77\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p, (std::vector<pid_t>{1, 4242, 77}));
  EXPECT_TRUE(parsePidList("").valueOr({1}).empty());
}

TEST(CgroupParsePids, Rejects) {
  EXPECT_FALSE(parsePidList("0\n").ok());
  EXPECT_FALSE(parsePidList("12 13\n").ok());
  EXPECT_FALSE(parsePidList("-5\n").ok());
  EXPECT_FALSE(parsePidList("2147483648\n").ok());
  EXPECT_FALSE(parsePidList("pid\n").ok());
}

TEST(CgroupParseControllers, ListsController) {
  EXPECT_TRUE(listsController("cpuset cpu io memory hugetlb pids\n", "memory"));
  EXPECT_FALSE(listsController("hugetlb\n", "memory"));  // this host's /sys/fs/cgroup/unified
  EXPECT_FALSE(listsController("memoryx\n", "memory"));
  EXPECT_FALSE(listsController("", "memory"));
}

TEST(CgroupParseProcCgroup, V1HybridLines) {
  auto e = parseProcCgroup(
      "9:name=systemd:/\n"
      "4:memory:/process_api/ff60\n"
      "2:cpu,cpuacct:/a\n"
      "0::/\n");
  ASSERT_TRUE(e.ok()) << e.error().message;
  ASSERT_EQ(e->size(), 4u);
  EXPECT_EQ((*e)[0].hierarchy_id, 9);
  EXPECT_EQ((*e)[0].controllers, (std::vector<std::string>{"name=systemd"}));
  EXPECT_EQ((*e)[1].controllers, (std::vector<std::string>{"memory"}));
  EXPECT_EQ((*e)[1].path, "/process_api/ff60");
  EXPECT_EQ((*e)[2].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ((*e)[3].hierarchy_id, 0);
  EXPECT_TRUE((*e)[3].controllers.empty());
  EXPECT_EQ((*e)[3].path, "/");
}

TEST(CgroupParseProcCgroup, V2PathMayHoldColonsAndSpaces) {
  auto e = parseProcCgroup("0::/system.slice/a:b c.service\n");
  ASSERT_TRUE(e.ok()) << e.error().message;
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].path, "/system.slice/a:b c.service");
}

TEST(CgroupParseProcCgroup, Rejects) {
  EXPECT_FALSE(parseProcCgroup("memory:/a\n").ok());
  EXPECT_FALSE(parseProcCgroup("x:memory:/a\n").ok());
  EXPECT_FALSE(parseProcCgroup("-1:memory:/a\n").ok());
  EXPECT_FALSE(parseProcCgroup("99999999999:memory:/a\n").ok());
  EXPECT_TRUE(parseProcCgroup("").valueOr({ProcCgroupEntry{}}).empty());
}

// This host: a hybrid layout, v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified.
constexpr const char* kHybridMountinfo =
    "22 1 0:21 / / rw,relatime - ext4 /dev/vda rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(CgroupParseMounts, HybridHost) {
  auto m = parseCgroupMounts(kHybridMountinfo);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->size(), 4u);  // ext4 and tmpfs are not cgroups
  EXPECT_EQ((*m)[0].mount_point, "/sys/fs/cgroup/cpu");
  EXPECT_EQ((*m)[1].mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ((*m)[1].root, "/");
  EXPECT_EQ((*m)[1].version, CgroupVersion::kV1);
  EXPECT_EQ((*m)[1].controllers, (std::vector<std::string>{"memory"}));
  EXPECT_EQ((*m)[2].controllers, (std::vector<std::string>{"name=systemd"}));
  EXPECT_EQ((*m)[3].version, CgroupVersion::kV2);
  EXPECT_TRUE((*m)[3].controllers.empty());
}

TEST(CgroupParseMounts, OptionalFieldsAndCombinedControllers) {
  auto m = parseCgroupMounts(
      "36 35 98:0 / /sys/fs/cgroup/memory rw,relatime shared:1 - cgroup cgroup rw,memory\n"
      "37 35 98:1 / /sys/fs/cgroup/cpu,cpuacct rw shared:2 master:7 - cgroup cgroup "
      "rw,cpu,cpuacct,release_agent=/x,clone_children\n"
      "30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0].controllers, (std::vector<std::string>{"memory"}));
  EXPECT_EQ((*m)[1].mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ((*m)[1].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ((*m)[2].mount_point, "/sys/fs/cgroup/unified");
}

TEST(CgroupParseMounts, NamespacedRootAndOctalEscapes) {
  auto m = parseCgroupMounts(
      "1200 1100 0:31 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
      "1201 1100 0:37 /my\\040pod /mnt/cg\\0402 rw - cgroup2 cgroup2 rw,nsdelegate\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].root, "/docker/abc");
  EXPECT_EQ((*m)[1].root, "/my pod");
  EXPECT_EQ((*m)[1].mount_point, "/mnt/cg 2");
}

TEST(CgroupParseMounts, Rejects) {
  EXPECT_FALSE(parseCgroupMounts("36 35 98:0 / /sys/fs/cgroup/memory rw\n").ok());  // no separator
  EXPECT_FALSE(parseCgroupMounts("36 35 98:0 / /x rw - cgroup\n").ok());            // no source
  EXPECT_FALSE(parseCgroupMounts("- cgroup cgroup rw,memory\n").ok());              // too short
  EXPECT_TRUE(parseCgroupMounts("").valueOr({CgroupMount{}}).empty());
}

}  // namespace
}  // namespace memstrain
