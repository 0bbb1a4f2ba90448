// CgroupFs, the direct editor and killAllMembers on v1 and v2 trees declared in code.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/proc/proc_memory.hpp"
#include "memstrain/util/fs.hpp"
#include "support/fs_fixture.hpp"

namespace memstrain {
namespace {

using testing::dir;
using testing::file;
using testing::FsFixture;
using testing::symlink;

constexpr std::uint64_t MiB = 1ULL << 20;
constexpr const char* kV1Unlimited = "9223372036854771712\n";

std::string n(std::uint64_t v) { return std::to_string(v) + "\n"; }

// The control files a v1 memory cgroup shows, with the given limit and usage.
std::vector<testing::FsEntry> v1Files(const std::string& limit, std::uint64_t usage, std::vector<testing::FsEntry> more = {}) {
  std::vector<testing::FsEntry> f{
      file("memory.limit_in_bytes", limit),
      file("memory.usage_in_bytes", n(usage)),
      file("memory.max_usage_in_bytes", n(usage + MiB)),
      file("memory.use_hierarchy", "1\n"),
      file("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"),
      file("memory.stat",
           "cache 0\nrss 0\ntotal_cache 2097152\ntotal_rss 6291456\ntotal_shmem 4096\n"
           "total_active_file 1048576\ntotal_inactive_file 1048576\n"),
      file("cgroup.procs", ""),
  };
  for (auto& m : more) f.push_back(std::move(m));
  return f;
}

// /memory (unlimited) / memstrain (512 MiB) / run (1 GiB) / target (unlimited, 2 members).
class CgroupFsV1Test : public ::testing::Test {
 protected:
  CgroupFsV1Test()
      : fx_({dir("memory",
                 v1Files(kV1Unlimited, 900 * MiB,
                         {dir("memstrain", v1Files(n(512 * MiB), 300 * MiB,
                                                   {dir("run", v1Files(n(1024 * MiB), 200 * MiB,
                                                                       {dir("target", v1Files(kV1Unlimited, 100 * MiB))}))}))}))}),
        fs_(fx_.path("memory"), CgroupVersion::kV1) {}
  void SetUp() override { ASSERT_TRUE(fx_.ok()) << fx_.error(); }
  FsFixture fx_;
  CgroupFs fs_;
};

TEST_F(CgroupFsV1Test, SampleReadsEveryV1File) {
  auto s = fs_.sample("/memstrain/run/target");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->usage_bytes, 100 * MiB);
  EXPECT_EQ(s->limit_bytes, kUnlimited);
  EXPECT_EQ(s->peak_bytes, std::optional<std::uint64_t>(101 * MiB));
  EXPECT_EQ(s->oom_kill_count, 3u);
  EXPECT_EQ(s->oom_count, 0u);
  EXPECT_EQ(s->stat.anon_bytes, 6 * MiB);
  EXPECT_EQ(s->stat.file_bytes, 2 * MiB);
  EXPECT_EQ(s->stat.shmem_bytes, 4096u);
  EXPECT_FALSE(s->pressure.has_value());
}

TEST_F(CgroupFsV1Test, SampleWithoutMaxUsageHasNoPeak) {
  ASSERT_EQ(::unlink(fx_.path("memory/memstrain/memory.max_usage_in_bytes").c_str()), 0);
  auto s = fs_.sample("/memstrain");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(s->peak_bytes.has_value());
  EXPECT_EQ(s->limit_bytes, 512 * MiB);
}

TEST_F(CgroupFsV1Test, SampleNamesTheBadFile) {
  ASSERT_TRUE(fx_.replace("memory/memstrain/run/target/memory.stat", "total_rss many\n").ok());
  auto s = fs_.sample("/memstrain/run/target");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(fx_.path("memory/memstrain/run/target/memory.stat")), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("line 1"), std::string::npos) << s.error().message;
}

TEST_F(CgroupFsV1Test, UsageAndLimit) {
  EXPECT_EQ(fs_.usage("/memstrain/run").valueOr(0), 200 * MiB);
  EXPECT_EQ(fs_.limit("/memstrain/run").valueOr(0), 1024 * MiB);
  EXPECT_EQ(fs_.limit("/").valueOr(0), kUnlimited);
  auto missing = fs_.usage("/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  EXPECT_NE(missing.error().message.find("memory.usage_in_bytes"), std::string::npos);
}

// The control loop reads the measured cgroup's usage 20 times a second through one descriptor
// (CgroupSampler): each read from offset 0 gives the file as it is now.
TEST_F(CgroupFsV1Test, AUsageFileReadAgainThroughOneDescriptorSeesEveryNewValue) {
  auto path = fs_.usageFile("/memstrain/run");
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(*path, fx_.path("memory/memstrain/run/memory.usage_in_bytes"));
  RereadFile usage(*path);
  EXPECT_EQ(usage.read().valueOr("?"), n(200 * MiB));
  ASSERT_TRUE(writeFile(*path, n(7 * MiB)).ok());
  EXPECT_EQ(usage.read().valueOr("?"), n(7 * MiB));
  ASSERT_TRUE(writeFile(*path, n(123456789 * MiB)).ok());  // longer than before
  EXPECT_EQ(usage.read().valueOr("?"), n(123456789 * MiB));
  EXPECT_FALSE(fs_.usageFile("/memstrain/../run").ok()) << "checked like every path";
  // A file that is not there yet: the error names it, and a later read opens it.
  RereadFile later(fx_.path("memory/later"));
  auto missing = later.read();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  EXPECT_NE(missing.error().message.find("memory/later"), std::string::npos) << missing.error().message;
  ASSERT_TRUE(writeFileAtomic(fx_.path("memory/later"), "1\n").ok());
  EXPECT_EQ(later.read().valueOr("?"), "1\n");
  // A kernel file (seq_file) read again from offset 0 is produced again, whole.
  RereadFile meminfo("/proc/meminfo");
  for (int i = 0; i < 3; ++i) {
    auto text = meminfo.read();
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_TRUE(parseMeminfo(*text).ok()) << *text;
  }
}

TEST_F(CgroupFsV1Test, EffectiveLimitIsTheSmallestOnTheWayUp) {
  EXPECT_EQ(fs_.effectiveLimit("/memstrain/run/target").valueOr(0), 512 * MiB);
  EXPECT_EQ(fs_.constrainingCgroup("/memstrain/run/target").valueOr("?"), "/memstrain");
  EXPECT_EQ(fs_.effectiveLimit("/memstrain/run").valueOr(0), 512 * MiB);
  EXPECT_EQ(fs_.effectiveLimit("/memstrain").valueOr(0), 512 * MiB);
  EXPECT_EQ(fs_.constrainingCgroup("/memstrain").valueOr("?"), "/memstrain");
}

TEST_F(CgroupFsV1Test, UnlimitedAllTheWayUpNamesRelItself) {
  EXPECT_EQ(fs_.effectiveLimit("/").valueOr(0), kUnlimited);
  EXPECT_EQ(fs_.constrainingCgroup("/").valueOr("?"), "/");
  ASSERT_TRUE(fx_.add("memory", dir("free", v1Files(kV1Unlimited, 0))).ok());
  EXPECT_EQ(fs_.effectiveLimit("/free").valueOr(0), kUnlimited);
  EXPECT_EQ(fs_.constrainingCgroup("/free//").valueOr("?"), "/free");
}

TEST_F(CgroupFsV1Test, TieGoesToTheNearestLevel) {
  ASSERT_TRUE(fx_.add("memory/memstrain/run/target", dir("leaf", v1Files(n(512 * MiB), 0))).ok());
  EXPECT_EQ(fs_.constrainingCgroup("/memstrain/run/target/leaf").valueOr("?"), "/memstrain/run/target/leaf");
}

TEST_F(CgroupFsV1Test, UseHierarchyZeroStopsTheWalk) {
  // The kernel does not charge /memstrain for /memstrain/run when use_hierarchy is 0 there.
  ASSERT_TRUE(fx_.replace("memory/memstrain/memory.use_hierarchy", "0\n").ok());
  EXPECT_EQ(fs_.effectiveLimit("/memstrain/run/target").valueOr(0), 1024 * MiB);
  EXPECT_EQ(fs_.constrainingCgroup("/memstrain/run/target").valueOr("?"), "/memstrain/run");
}

TEST_F(CgroupFsV1Test, EffectiveLimitOfAMissingCgroupIsAnError) {
  auto r = fs_.effectiveLimit("/memstrain/nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, ENOENT);
  EXPECT_FALSE(fs_.constrainingCgroup("relative").ok());
}

TEST_F(CgroupFsV1Test, ProcsAndExists) {
  ASSERT_TRUE(fx_.replace("memory/memstrain/run/target/cgroup.procs", "4242\n4243\n").ok());
  EXPECT_EQ(fs_.procs("/memstrain/run/target").valueOr({}), (std::vector<pid_t>{4242, 4243}));
  EXPECT_TRUE(fs_.procs("/memstrain").valueOr({1}).empty());
  EXPECT_TRUE(fs_.exists("/"));
  EXPECT_TRUE(fs_.exists("/memstrain/run/"));
  EXPECT_FALSE(fs_.exists("/memstrain/nope"));
  EXPECT_FALSE(fs_.exists("/memstrain/memory.stat"));  // a file is not a cgroup
  EXPECT_FALSE(fs_.exists("memstrain"));
  EXPECT_FALSE(fs_.exists("/memstrain/.."));
}

TEST_F(CgroupFsV1Test, MountKeepsItsSpellingWithoutTrailingSlash) {
  CgroupFs fs(fx_.path("memory") + "/", CgroupVersion::kV1);
  EXPECT_EQ(fs.mount(), fx_.path("memory"));
  EXPECT_EQ(fs.hierarchyRoot(), "/");
  EXPECT_STREQ(toString(fs.version()), "v1");
  EXPECT_STREQ(toString(CgroupVersion::kV2), "v2");
}

// A v2 tree like a kubelet's: the root has no memory.max; kubepods 2 GiB / pod 1 GiB / ctr max.
class CgroupFsV2Test : public ::testing::Test {
 protected:
  CgroupFsV2Test()
      : fx_({dir("cg", {file("cgroup.controllers", "cpuset cpu io memory hugetlb pids\n"), file("cgroup.subtree_control", "memory\n"),
                        file("memory.stat", "anon 1\n"), file("memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
                        dir("kubepods", {file("memory.max", n(2048 * MiB)), file("cgroup.subtree_control", "memory\n"),
                                         dir("pod", {file("memory.max", n(1024 * MiB)), file("cgroup.subtree_control", ""),
                                                     dir("ctr", {file("memory.max", "max\n"), file("memory.current", n(300 * MiB)),
                                                                 file("memory.peak", n(400 * MiB)),
                                                                 file("memory.stat",
                                                                      "anon 209715200\nfile 52428800\nshmem 0\n"
                                                                      "active_file 1\ninactive_file 2\n"
                                                                      "pglazyfree 10\npglazyfreed 4\n"),
                                                                 file("memory.events",
                                                                      "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n"
                                                                      "oom_group_kill 0\n"),
                                                                 file("memory.pressure",
                                                                      "some avg10=12.50 avg60=3.00 avg300=0.75 total=987654\n"
                                                                      "full avg10=6.25 avg60=1.00 avg300=0.25 total=123456\n"),
                                                                 file("cgroup.procs", "77\n"), file("cgroup.kill", "")})})})})}),
        fs_(fx_.path("cg"), CgroupVersion::kV2) {}
  void SetUp() override { ASSERT_TRUE(fx_.ok()) << fx_.error(); }
  FsFixture fx_;
  CgroupFs fs_;
};

TEST_F(CgroupFsV2Test, SampleReadsEventsPressureAndPeak) {
  auto s = fs_.sample("/kubepods/pod/ctr");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->usage_bytes, 300 * MiB);
  EXPECT_EQ(s->limit_bytes, kUnlimited);
  EXPECT_EQ(s->peak_bytes, std::optional<std::uint64_t>(400 * MiB));
  EXPECT_EQ(s->oom_count, 2u);
  EXPECT_EQ(s->oom_kill_count, 1u);
  EXPECT_EQ(s->stat.anon_bytes, 200 * MiB);
  EXPECT_EQ(s->stat.file_bytes, 50 * MiB);
  EXPECT_EQ(s->stat.pglazyfree, std::optional<std::uint64_t>(10));
  ASSERT_TRUE(s->pressure.has_value());
  EXPECT_DOUBLE_EQ(s->pressure->some.avg10, 12.5);
  EXPECT_EQ(s->pressure->some.total_us, 987654u);
  ASSERT_TRUE(s->pressure->full.has_value());
  EXPECT_DOUBLE_EQ(s->pressure->full->avg300, 0.25);
}

TEST_F(CgroupFsV2Test, OlderKernelWithoutPeakOrPsi) {
  ASSERT_EQ(::unlink(fx_.path("cg/kubepods/pod/ctr/memory.peak").c_str()), 0);
  ASSERT_EQ(::unlink(fx_.path("cg/kubepods/pod/ctr/memory.pressure").c_str()), 0);
  auto s = fs_.sample("/kubepods/pod/ctr");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(s->peak_bytes.has_value());
  EXPECT_FALSE(s->pressure.has_value());
}

TEST_F(CgroupFsV2Test, MissingEventsIsAnError) {
  ASSERT_EQ(::unlink(fx_.path("cg/kubepods/pod/ctr/memory.events").c_str()), 0);
  auto s = fs_.sample("/kubepods/pod/ctr");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().sys_errno, ENOENT);
  EXPECT_NE(s.error().message.find("memory.events"), std::string::npos);
}

TEST_F(CgroupFsV2Test, EffectiveLimitSkipsLevelsWithoutMemoryMax) {
  EXPECT_EQ(fs_.effectiveLimit("/kubepods/pod/ctr").valueOr(0), 1024 * MiB);
  EXPECT_EQ(fs_.constrainingCgroup("/kubepods/pod/ctr").valueOr("?"), "/kubepods/pod");
  EXPECT_EQ(fs_.effectiveLimit("/").valueOr(0), kUnlimited);  // the v2 root has no memory.max
  // A child of pod, whose subtree_control lacks memory, has no memory.max itself.
  ASSERT_TRUE(fx_.add("cg/kubepods/pod", dir("side")).ok());
  EXPECT_EQ(fs_.effectiveLimit("/kubepods/pod/side").valueOr(0), 1024 * MiB);
  EXPECT_FALSE(fs_.limit("/kubepods/pod/side").ok());
}

TEST_F(CgroupFsV2Test, MemoryHighSomeoneElseSetIsACeilingToo) {
  // Above memory.high, with no swap, a cgroup stalls in reclaim: pressure must stay below it.
  ASSERT_TRUE(fx_.add("cg/kubepods", dir("throttled", {file("memory.max", "max\n"), file("memory.high", n(300 * MiB))})).ok());
  ASSERT_TRUE(fx_.add("cg/kubepods/throttled", dir("app", {file("memory.max", n(512 * MiB)), file("memory.high", "max\n")})).ok());
  EXPECT_EQ(fs_.effectiveLimit("/kubepods/throttled/app").valueOr(0), 300 * MiB);
  EXPECT_EQ(fs_.constrainingCgroup("/kubepods/throttled/app").valueOr("?"), "/kubepods/throttled");
  EXPECT_EQ(fs_.limit("/kubepods/throttled/app").valueOr(0), 512 * MiB);  // its own memory.max, as before
}

TEST_F(CgroupFsV2Test, RootUsageComesFromTheGivenSource) {
  // The v2 root has no memory.current; `locate --pid 1` still needs a usage figure, which the CLI
  // gives as the machine's memory in use.
  auto none = fs_.usage("/");
  ASSERT_FALSE(none.ok()) << "without a source the v2 root has no usage";
  EXPECT_NE(none.error().message.find("the v2 root has none"), std::string::npos) << none.error().message;
  fs_.setRootUsage([]() -> Result<std::uint64_t> { return 123 * MiB; });
  EXPECT_EQ(fs_.usage("/").valueOr(0), 123 * MiB);
  EXPECT_FALSE(fs_.usage("/kubepods").ok()) << "only the root asks the source";
  fs_.setRootUsage([]() -> Result<std::uint64_t> { return Error{"/proc/meminfo: no MemTotal line"}; });
  auto bad = fs_.usage("/");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("no MemTotal line"), std::string::npos) << bad.error().message;
}

TEST_F(CgroupFsV2Test, BadLimitTextIsAnErrorNamingTheFile) {
  ASSERT_TRUE(fx_.add("cg/kubepods/pod", dir("odd", {file("memory.max", "lots\n")})).ok());
  auto r = fs_.effectiveLimit("/kubepods/pod/odd");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(fx_.path("cg/kubepods/pod/odd/memory.max")), std::string::npos) << r.error().message;
}

// --- absPath: what may and may not be reached from the mount ---------------------------------

class CgroupAbsPathTest : public ::testing::Test {
 protected:
  CgroupAbsPathTest()
      : fx_({dir("outside", {file("memory.max", "1\n")}),
             dir("cg", {dir("a", {dir("b")}), symlink("escape_abs", "replaced-in-SetUp"), symlink("escape_rel", "../outside"),
                        symlink("inside", "a"), symlink("dangling", "nowhere"), file("memory.max", "max\n")})}),
        fs_(fx_.path("cg"), CgroupVersion::kV2) {}
  void SetUp() override {
    ASSERT_TRUE(fx_.ok()) << fx_.error();
    // An absolute symlink to the sibling directory, which only exists once the root is known.
    ASSERT_EQ(::unlink(fx_.path("cg/escape_abs").c_str()), 0);
    ASSERT_EQ(::symlink(fx_.path("outside").c_str(), fx_.path("cg/escape_abs").c_str()), 0);
  }
  FsFixture fx_;
  CgroupFs fs_;
};

TEST_F(CgroupAbsPathTest, AcceptsPathsInside) {
  EXPECT_EQ(fs_.absPath("/").valueOr("?"), fx_.path("cg"));
  EXPECT_EQ(fs_.absPath("/a/b").valueOr("?"), fx_.path("cg/a/b"));
  EXPECT_EQ(fs_.absPath("/a//b/").valueOr("?"), fx_.path("cg/a/b"));
  EXPECT_EQ(fs_.absPath("/inside/b").valueOr("?"), fx_.path("cg/inside/b"));  // a symlink that stays inside
}

TEST_F(CgroupAbsPathTest, AcceptsNotYetCreatedLeavesAndParents) {
  EXPECT_EQ(fs_.absPath("/a/new").valueOr("?"), fx_.path("cg/a/new"));
  EXPECT_EQ(fs_.absPath("/new/deeper/still").valueOr("?"), fx_.path("cg/new/deeper/still"));
}

TEST_F(CgroupAbsPathTest, RejectsDotDotAndRelative) {
  for (const char* bad : {"/..", "/a/../..", "/a/..", "relative", "a/b", ""}) {
    auto r = fs_.absPath(bad);
    ASSERT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(r.error().sys_errno, EINVAL) << bad;
    EXPECT_NE(r.error().message.find(fx_.path("cg")), std::string::npos) << r.error().message;
  }
}

TEST_F(CgroupAbsPathTest, RejectsSymlinksThatEscapeTheMount) {
  for (const char* bad : {"/escape_abs", "/escape_rel", "/escape_abs/new", "/escape_rel/new/deeper"}) {
    auto r = fs_.absPath(bad);
    ASSERT_FALSE(r.ok()) << "accepted " << bad;
    EXPECT_EQ(r.error().sys_errno, EXDEV) << bad;
    EXPECT_NE(r.error().message.find("outside the cgroup mount"), std::string::npos) << r.error().message;
  }
  // And nothing reads through them.
  EXPECT_FALSE(fs_.limit("/escape_rel").ok());
  EXPECT_FALSE(fs_.exists("/escape_abs"));
}

TEST_F(CgroupAbsPathTest, RejectsDanglingSymlinksAndFilesAsParents) {
  auto r = fs_.absPath("/dangling/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, ENOENT);
  auto f = fs_.absPath("/memory.max/x");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().sys_errno, ENOTDIR);
}

TEST(CgroupAbsPath, MissingMountIsAnError) {
  CgroupFs fs("/nonexistent/memstrain/mount", CgroupVersion::kV1);
  auto r = fs.absPath("/a");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, ENOENT);
}

// --- detect -------------------------------------------------------------------------------------

std::string mountinfoLine(int id, const std::string& root, const std::string& mount_point, const std::string& fstype,
                          const std::string& super_opts) {
  return std::to_string(id) + " 30 0:" + std::to_string(id) + " " + root + " " + mount_point + " rw,relatime - " + fstype + " " + fstype +
         " " + super_opts + "\n";
}

TEST(CgroupDetect, HybridHostPrefersV1MemoryOverCgroup2WithoutIt) {
  // Like this host: /sys/fs/cgroup/unified is cgroup2 whose cgroup.controllers lists only hugetlb.
  FsFixture fx({dir("memory"), dir("unified", {file("cgroup.controllers", "hugetlb\n")}), dir("cpu")});
  ASSERT_TRUE(fx.ok()) << fx.error();
  const std::string mi = mountinfoLine(40, "/", fx.path("unified"), "cgroup2", "rw") +
                         mountinfoLine(31, "/", fx.path("cpu"), "cgroup", "rw,cpu") +
                         mountinfoLine(34, "/", fx.path("memory"), "cgroup", "rw,memory");
  ASSERT_TRUE(fx.add("", file("mountinfo", mi)).ok());
  auto fs = CgroupFs::detect(fx.path("mountinfo"));
  ASSERT_TRUE(fs.ok()) << fs.error().message;
  EXPECT_EQ(fs->version(), CgroupVersion::kV1);
  EXPECT_EQ(fs->mount(), fx.path("memory"));
  EXPECT_EQ(fs->hierarchyRoot(), "/");
}

TEST(CgroupDetect, PureV2WithMemory) {
  FsFixture fx({dir("cg", {file("cgroup.controllers", "cpuset cpu io memory pids\n")})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  ASSERT_TRUE(fx.add("", file("mountinfo", mountinfoLine(30, "/", fx.path("cg"), "cgroup2", "rw,nsdelegate"))).ok());
  auto fs = CgroupFs::detect(fx.path("mountinfo"));
  ASSERT_TRUE(fs.ok()) << fs.error().message;
  EXPECT_EQ(fs->version(), CgroupVersion::kV2);
  EXPECT_EQ(fs->mount(), fx.path("cg"));
}

TEST(CgroupDetect, NoMemoryAnywhereIsAnErrorThatSaysWhatWasSeen) {
  FsFixture fx({dir("unified", {file("cgroup.controllers", "hugetlb\n")}), dir("systemd")});
  ASSERT_TRUE(fx.ok()) << fx.error();
  const std::string mi = mountinfoLine(40, "/", fx.path("unified"), "cgroup2", "rw") +
                         mountinfoLine(39, "/", fx.path("systemd"), "cgroup", "rw,xattr,name=systemd");
  ASSERT_TRUE(fx.add("", file("mountinfo", mi)).ok());
  auto fs = CgroupFs::detect(fx.path("mountinfo"));
  ASSERT_FALSE(fs.ok());
  EXPECT_NE(fs.error().message.find("hugetlb"), std::string::npos) << fs.error().message;
}

TEST(CgroupDetect, MissingMountinfoNamesThePath) {
  auto fs = CgroupFs::detect("/nonexistent/mountinfo");
  ASSERT_FALSE(fs.ok());
  EXPECT_EQ(fs.error().sys_errno, ENOENT);
  EXPECT_NE(fs.error().message.find("/nonexistent/mountinfo"), std::string::npos);
}

TEST(CgroupDetect, NamespacedMountKeepsItsRootAndPrefersTheFullMount) {
  FsFixture fx({dir("sub"), dir("full")});
  ASSERT_TRUE(fx.ok()) << fx.error();
  std::string mi = mountinfoLine(50, "/docker/abc", fx.path("sub"), "cgroup", "rw,memory");
  ASSERT_TRUE(fx.add("", file("only-sub", mi)).ok());
  auto sub = CgroupFs::detect(fx.path("only-sub"));
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  EXPECT_EQ(sub->hierarchyRoot(), "/docker/abc");
  mi += mountinfoLine(34, "/", fx.path("full"), "cgroup", "rw,memory");
  ASSERT_TRUE(fx.add("", file("both", mi)).ok());
  auto both = CgroupFs::detect(fx.path("both"));
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->mount(), fx.path("full"));
}

// --- cgroupOfPid ------------------------------------------------------------------------------

class CgroupOfPidTest : public ::testing::Test {
 protected:
  CgroupOfPidTest()
      : fx_({dir("cg"),
             dir("proc", {dir("100", {file("cgroup", "9:name=systemd:/\n4:memory:/docker/abc/app\n0::/\n")}),
                          dir("101", {file("cgroup", "4:memory:/docker/abc\n")}), dir("102", {file("cgroup", "4:memory:/docker/abcdef\n")}),
                          dir("103", {file("cgroup", "4:memory:/../../x\n0::/../../y\n")}),
                          dir("104", {file("cgroup", "0::/system.slice/a.service\n")}), dir("105", {file("cgroup", "2:cpu,memory:/k\n")}),
                          dir("106", {file("cgroup", "4:memory\n")})})}) {}
  void SetUp() override { ASSERT_TRUE(fx_.ok()) << fx_.error(); }
  FsFixture fx_;
};

TEST_F(CgroupOfPidTest, V1PicksTheMemoryLine) {
  CgroupFs fs(fx_.path("cg"), CgroupVersion::kV1);
  EXPECT_EQ(fs.cgroupOfPid(100, fx_.path("proc")).valueOr("?"), "/docker/abc/app");
  EXPECT_EQ(fs.cgroupOfPid(105, fx_.path("proc")).valueOr("?"), "/k");
  auto none = fs.cgroupOfPid(104, fx_.path("proc"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no memory line"), std::string::npos) << none.error().message;
}

TEST_F(CgroupOfPidTest, V2PicksTheZeroLine) {
  CgroupFs fs(fx_.path("cg"), CgroupVersion::kV2);
  EXPECT_EQ(fs.cgroupOfPid(100, fx_.path("proc")).valueOr("?"), "/");
  EXPECT_EQ(fs.cgroupOfPid(104, fx_.path("proc")).valueOr("?"), "/system.slice/a.service");
  EXPECT_FALSE(fs.cgroupOfPid(101, fx_.path("proc")).ok());
}

TEST_F(CgroupOfPidTest, NamespacedMountRootIsStripped) {
  // mountinfo said: "... /docker/abc /sys/fs/cgroup/memory ... - cgroup cgroup rw,memory".
  CgroupFs fs(fx_.path("cg"), CgroupVersion::kV1, "/docker/abc");
  EXPECT_EQ(fs.cgroupOfPid(100, fx_.path("proc")).valueOr("?"), "/app");
  EXPECT_EQ(fs.cgroupOfPid(101, fx_.path("proc")).valueOr("?"), "/");
  auto sibling = fs.cgroupOfPid(102, fx_.path("proc"));  // a prefix by bytes, not by component
  ASSERT_FALSE(sibling.ok());
  EXPECT_EQ(sibling.error().sys_errno, EXDEV);
  EXPECT_NE(sibling.error().message.find("outside /docker/abc"), std::string::npos) << sibling.error().message;
}

TEST_F(CgroupOfPidTest, ProcessOutsideOurNamespaceIsAnError) {
  CgroupFs v1(fx_.path("cg"), CgroupVersion::kV1);
  CgroupFs v2(fx_.path("cg"), CgroupVersion::kV2);
  EXPECT_EQ(v1.cgroupOfPid(103, fx_.path("proc")).error().sys_errno, EXDEV);
  EXPECT_EQ(v2.cgroupOfPid(103, fx_.path("proc")).error().sys_errno, EXDEV);
}

TEST_F(CgroupOfPidTest, GoneOrGarbledPid) {
  CgroupFs fs(fx_.path("cg"), CgroupVersion::kV1);
  auto gone = fs.cgroupOfPid(999, fx_.path("proc"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().sys_errno, ENOENT);
  EXPECT_NE(gone.error().message.find("999/cgroup"), std::string::npos);
  auto garbled = fs.cgroupOfPid(106, fx_.path("proc"));
  ASSERT_FALSE(garbled.ok());
  EXPECT_NE(garbled.error().message.find("106/cgroup"), std::string::npos) << garbled.error().message;
}

TEST(CgroupOfPid, ThisProcessOnThisHost) {
  auto fs = CgroupFs::detect();
  if (!fs.ok()) GTEST_SKIP() << "no memory controller here: " << fs.error().message;
  auto cg = fs->cgroupOfPid(::getpid());
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  EXPECT_TRUE(fs->exists(*cg)) << *cg;
}

// --- the direct editor on fixture trees --------------------------------------------------------

TEST(CgroupDirectEditorFixture, CreateMakesMissingParentsAndIsIdempotent) {
  FsFixture fx({dir("memory", {file("memory.limit_in_bytes", kV1Unlimited)})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("memory"), CgroupVersion::kV1);
  auto ed = makeDirectEditor(fs);
  EXPECT_STREQ(ed->name(), "direct");
  ASSERT_TRUE(ed->create("/memstrain/run-1/target").ok());
  EXPECT_TRUE(fs.exists("/memstrain/run-1/target"));
  EXPECT_TRUE(ed->create("/memstrain/run-1/target").ok());
  EXPECT_TRUE(ed->create("/").ok());
}

TEST(CgroupDirectEditorFixture, CreateRefusesBadPaths) {
  FsFixture fx({dir("outside"), dir("memory", {symlink("out", "../outside")})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("memory"), CgroupVersion::kV1);
  auto ed = makeDirectEditor(fs);
  EXPECT_EQ(ed->create("/a/../../x").error().sys_errno, EINVAL);
  EXPECT_EQ(ed->create("x").error().sys_errno, EINVAL);
  EXPECT_EQ(ed->create("/out/x").error().sys_errno, EXDEV);
  EXPECT_FALSE(pathExists(fx.path("outside/x")));
}

TEST(CgroupDirectEditorFixture, V2CreateEnablesMemoryInEachParent) {
  FsFixture fx({dir("cg", {file("cgroup.subtree_control", ""), dir("kubepods", {file("cgroup.subtree_control", "memory\n")})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("cg"), CgroupVersion::kV2);
  auto ed = makeDirectEditor(fs);
  // The new "/kubepods/x" level gets no subtree_control in a fixture, so create one level only.
  auto st = ed->create("/kubepods/x");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(fx.read("cg/cgroup.subtree_control").valueOr("?"), "+memory");
  EXPECT_EQ(fx.read("cg/kubepods/cgroup.subtree_control").valueOr("?"), "memory\n");  // already on: untouched
  EXPECT_TRUE(fs.exists("/kubepods/x"));
  // Below x the fixture has no cgroup.subtree_control, which a kernel would have made: an error.
  auto deeper = ed->create("/kubepods/x/y");
  ASSERT_FALSE(deeper.ok());
  EXPECT_NE(deeper.error().message.find("cgroup.subtree_control"), std::string::npos) << deeper.error().message;
}

TEST(CgroupDirectEditorFixture, SetLimitWritesTheVersionsSpelling) {
  FsFixture fx({dir("v1", {dir("a", {file("memory.limit_in_bytes", "")}), dir("b", {file("memory.limit_in_bytes", "")})}),
                dir("v2", {dir("a", {file("memory.max", "")}), dir("b", {file("memory.max", "")})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  auto v1 = makeDirectEditor(CgroupFs(fx.path("v1"), CgroupVersion::kV1));
  auto v2 = makeDirectEditor(CgroupFs(fx.path("v2"), CgroupVersion::kV2));
  ASSERT_TRUE(v1->setLimit("/a", 256 * MiB).ok());
  ASSERT_TRUE(v1->setLimit("/b", kUnlimited).ok());
  ASSERT_TRUE(v2->setLimit("/a", 256 * MiB).ok());
  ASSERT_TRUE(v2->setLimit("/b", kUnlimited).ok());
  EXPECT_EQ(fx.read("v1/a/memory.limit_in_bytes").valueOr("?"), "268435456");
  EXPECT_EQ(fx.read("v1/b/memory.limit_in_bytes").valueOr("?"), "-1");
  EXPECT_EQ(fx.read("v2/a/memory.max").valueOr("?"), "268435456");
  EXPECT_EQ(fx.read("v2/b/memory.max").valueOr("?"), "max");
  auto missing = v1->setLimit("/nope", MiB);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  EXPECT_NE(missing.error().message.find("memory.limit_in_bytes"), std::string::npos);
}

TEST(CgroupDirectEditorFixture, AttachWritesThePidAndRefusesZero) {
  FsFixture fx({dir("cg", {dir("a", {file("cgroup.procs", "")})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  auto ed = makeDirectEditor(CgroupFs(fx.path("cg"), CgroupVersion::kV2));
  ASSERT_TRUE(ed->attach("/a", 4242).ok());
  EXPECT_EQ(fx.read("cg/a/cgroup.procs").valueOr("?"), "4242");
  // "0" would move the writer (memstrain itself): refused before anything is written.
  ASSERT_TRUE(fx.replace("cg/a/cgroup.procs", "").ok());
  EXPECT_EQ(ed->attach("/a", 0).error().sys_errno, EINVAL);
  EXPECT_EQ(ed->attach("/a", -1).error().sys_errno, EINVAL);
  EXPECT_EQ(fx.read("cg/a/cgroup.procs").valueOr("?"), "");
}

TEST(CgroupDirectEditorFixture, RemoveIsRmdir) {
  FsFixture fx({dir("cg", {dir("empty"), dir("full", {file("memory.max", "max\n")})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("cg"), CgroupVersion::kV2);
  auto ed = makeDirectEditor(fs);
  ASSERT_TRUE(ed->remove("/empty").ok());
  EXPECT_FALSE(fs.exists("/empty"));
  auto again = ed->remove("/empty");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().sys_errno, ENOENT);
  EXPECT_EQ(ed->remove("/full").error().sys_errno, ENOTEMPTY);  // a kernel would say EBUSY for members
  EXPECT_EQ(ed->remove("/").error().sys_errno, EINVAL);
  EXPECT_EQ(ed->remove("//").error().sys_errno, EINVAL);
}

TEST(CgroupEditorFactory, LibcgroupRefusesFixtureRoots) {
  FsFixture fx({dir("memory", {file("memory.limit_in_bytes", kV1Unlimited)})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs v1(fx.path("memory"), CgroupVersion::kV1);
  auto lib = makeLibcgroupEditor(v1);
  ASSERT_FALSE(lib.ok());
  EXPECT_NE(lib.error().message.find(fx.path("memory")), std::string::npos) << lib.error().message;
  EXPECT_FALSE(makeLibcgroupEditor(CgroupFs(fx.path("memory"), CgroupVersion::kV2)).ok());
  EXPECT_STREQ(makeDefaultEditor(v1)->name(), "direct");
  EXPECT_STREQ(makeDefaultEditor(CgroupFs(fx.path("memory"), CgroupVersion::kV2))->name(), "direct");
}

TEST(CgroupEditorFactory, DefaultOnThisHost) {
  auto fs = CgroupFs::detect();
  if (!fs.ok()) GTEST_SKIP() << "no memory controller here: " << fs.error().message;
  auto ed = makeDefaultEditor(*fs);
  if (fs->version() == CgroupVersion::kV1) {
    EXPECT_STREQ(ed->name(), "libcgroup");
  } else {
    EXPECT_STREQ(ed->name(), "direct");
  }
}

// --- killAllMembers on fixture trees: nothing real is in them, so nothing may be killed ---------

TEST(CgroupKillAllMembersFixture, EmptyOrMissingCgroupIsDone) {
  FsFixture fx({dir("cg", {dir("a", {file("cgroup.procs", ""), dir("b", {file("cgroup.procs", "\n")})})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("cg"), CgroupVersion::kV1);
  EXPECT_TRUE(killAllMembers(fs, "/a", 100).ok());
  EXPECT_TRUE(killAllMembers(fs, "/gone", 100).ok());
  EXPECT_EQ(killAllMembers(fs, "/../x", 100).error().sys_errno, EINVAL);
  EXPECT_EQ(killAllMembers(fs, "/", 100).error().sys_errno, EINVAL);  // never the whole hierarchy
  EXPECT_EQ(killAllMembers(fs, "//", 100).error().sys_errno, EINVAL);
}

// A child that pause()s until killed; the destructor kills and reaps it whatever the test did.
class PausedChild {
 public:
  PausedChild() : pid_(::fork()) {
    if (pid_ == 0) {
      ::pause();
      ::_exit(0);
    }
  }
  ~PausedChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  PausedChild(const PausedChild&) = delete;
  PausedChild& operator=(const PausedChild&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

TEST(CgroupKillAllMembersFixture, NeverKillsAPidTheKernelPlacesElsewhere) {
  PausedChild kid;
  const pid_t child = kid.pid();
  ASSERT_GT(child, 0);
  // The fixture's cgroup.procs names the child, but the kernel has it in our own cgroup; and the
  // fixture is not cgroupfs at all.
  FsFixture fx({dir("cg", {dir("a", {dir("b", {file("cgroup.procs", std::to_string(child) + "\n")})})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  for (auto v : {CgroupVersion::kV1, CgroupVersion::kV2}) {
    CgroupFs fs(fx.path("cg"), v);
    auto st = killAllMembers(fs, "/a", 150);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().sys_errno, ETIMEDOUT);
    EXPECT_NE(st.error().message.find(std::to_string(child)), std::string::npos) << st.error().message;
  }
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, WNOHANG), 0) << "the child was killed";
}

}  // namespace
}  // namespace memstrain
