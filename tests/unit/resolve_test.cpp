#include "memstrain/executor/resolve.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "memstrain/plan/plan_parse.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t MiB = 1ULL << 20;

// A small v2 tree: /kubepods (2 GiB) / pod (1 GiB) / ctr (no limit).
class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("memstrain-resolve-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    file("memory.max", "max\n");
    file("memory.current", "1000000\n");
    file("kubepods/memory.max", std::to_string(2048 * MiB) + "\n");
    file("kubepods/pod/memory.max", std::to_string(1024 * MiB) + "\n");
    file("kubepods/pod/ctr/memory.max", "max\n");
    file("kubepods/pod/ctr/cgroup.procs", "4242\n");
  }
  void TearDown() override { fs::remove_all(root_); }
  void file(const std::string& rel, const std::string& content) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << content;
  }
  Plan plan(const std::string& text) {
    auto p = parsePlan(text);
    EXPECT_TRUE(p.ok()) << p.error().message;
    return p.ok() ? *p : Plan{};
  }
  fs::path root_;
};

TEST_F(ResolveTest, LaunchInsideCreatesRunAndTargetCgroups) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"launch": {"command": ["t"], "memory_limit": "512MiB"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"level": "50%"}}]})");
  ResolveContext ctx{"/memstrain", "run-1", "/proc", 24ULL << 30};
  auto r = resolvePlan(p, cg, ctx);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->launch);
  EXPECT_EQ(r->run_cgroup, "/memstrain/run-1");
  EXPECT_EQ(r->target_cgroup, "/memstrain/run-1/target");
  EXPECT_EQ(r->stressor_cgroup, r->target_cgroup);
  EXPECT_EQ(r->measured_cgroup, r->target_cgroup);
  EXPECT_EQ(r->cgroups_to_create, (std::vector<std::string>{"/memstrain", "/memstrain/run-1", "/memstrain/run-1/target"}));
  EXPECT_EQ(r->effective_limit_bytes, 512 * MiB);
  EXPECT_EQ(*r->stages[0].setpoint_bytes, 256 * MiB);
  EXPECT_EQ(r->safety_margin_bytes, 16 * MiB);  // max(3% of 512 MiB = 15.4 MiB, 16 MiB)
}

TEST_F(ResolveTest, LaunchBesideMeasuresTheRunCgroup) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"launch": {"command": ["t"], "memory_limit": "1GiB"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"placement": "beside", "level": "80%"}}]})");
  auto r = resolvePlan(p, cg, {"/memstrain", "run-2", "/proc", 0});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stressor_cgroup, "/memstrain/run-2/stressor");
  EXPECT_EQ(r->measured_cgroup, "/memstrain/run-2");
  EXPECT_EQ(r->cgroups_to_create.back(), "/memstrain/run-2/stressor");
}

TEST_F(ResolveTest, AttachInsideUsesTheSmallestAncestorLimit) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"level": "50%"}}]})");
  auto r = resolvePlan(p, cg, {"/memstrain", "run-3", "/proc", 0});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->launch);
  EXPECT_TRUE(r->cgroups_to_create.empty());
  EXPECT_EQ(r->effective_limit_bytes, 1024 * MiB);
  EXPECT_EQ(*r->stages[0].setpoint_bytes, 512 * MiB);
}

TEST_F(ResolveTest, AttachBesideCreatesANamedSibling) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"placement": "beside", "size": "100MiB"}}]})");
  auto r = resolvePlan(p, cg, {"/memstrain", "run-4", "/proc", 0});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stressor_cgroup, "/kubepods/pod/memstrain-stressor-run-4");
  EXPECT_EQ(r->measured_cgroup, "/kubepods/pod");
  EXPECT_EQ(r->cgroups_to_create, std::vector<std::string>{"/kubepods/pod/memstrain-stressor-run-4"});
  EXPECT_EQ(*r->stages[0].size_bytes, 100 * MiB);
  EXPECT_EQ(r->stressor_reserve_bytes, 100 * MiB);
}

TEST_F(ResolveTest, RefusesWhatTheHostCannotGive) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  // A size beyond the limit without allow_oom.
  auto r1 = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"size": "2GiB"}}]})"),
                        cg, {"/memstrain", "r", "/proc", 0});
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.error().message.find("/stages/0/pressure/size"), std::string::npos) << r1.error().message;
  EXPECT_NE(r1.error().message.find("allow_oom"), std::string::npos);
  // ... but with allow_oom it is the user's call.
  EXPECT_TRUE(resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"size": "2GiB", "allow_oom": true}}]})"),
                          cg, {"/memstrain", "r", "/proc", 0})
                  .ok());
  // A level against a cgroup with no limit anywhere above it.
  file("free/memory.max", "max\n");
  auto r2 = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/free"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"level": "50%"}}]})"),
                        cg, {"/memstrain", "r", "/proc", 0});
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message.find("no memory limit"), std::string::npos);
  // Beside with the target directly under the root.
  auto r3 = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/free"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"placement": "beside", "size": "10MiB"}}]})"),
                        cg, {"/memstrain", "r", "/proc", 0});
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.error().message.find("beside"), std::string::npos);
  // A cgroup that does not exist.
  auto r4 = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/nope"}},
      "stages": [{"name": "a", "duration": "1s"}]})"),
                        cg, {"/memstrain", "r", "/proc", 0});
  ASSERT_FALSE(r4.ok());
  EXPECT_TRUE(isTargetNotFound(r4.error())) << "a missing target is a run error (exit 3), not an invalid plan";
  EXPECT_FALSE(isTargetNotFound(r3.error())) << "a plan the host cannot satisfy stays an invalid plan (exit 2)";
  // Mixed placements.
  auto r5 = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"size": "10MiB"}},
                 {"name": "b", "duration": "1s", "pressure": {"placement": "beside", "size": "10MiB"}}]})"),
                        cg, {"/memstrain", "r", "/proc", 0});
  ASSERT_FALSE(r5.ok());
  EXPECT_NE(r5.error().message.find("same placement"), std::string::npos);
}

TEST_F(ResolveTest, DryRunDescriptionNamesCgroupsAndBytes) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "base", "duration": "1s"}, {"name": "hold", "duration": "10s", "pressure": {"level": "80%", "ramp": "5s"}}]})");
  auto r = resolvePlan(p, cg, {"/memstrain", "r", "/proc", 0});
  ASSERT_TRUE(r.ok());
  std::string d = describeResolution(p, *r);
  EXPECT_NE(d.find("/kubepods/pod/ctr"), std::string::npos) << d;
  EXPECT_NE(d.find("effective limit 1.00 GiB"), std::string::npos) << d;
  EXPECT_NE(d.find("inside usage at 80.0% = 819.2 MiB"), std::string::npos) << d;
  EXPECT_NE(d.find("ramp 5s"), std::string::npos) << d;
}

TEST_F(ResolveTest, DryRunDescriptionListsActionsAndTheReleaseCheck) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}, "pprof_url": "http://127.0.0.1:1/debug/pprof"},
      "stages": [{"name": "hold", "duration": "10s", "pressure": {"level": "80%"},
                  "actions": [{"at": "2s", "url": "http://127.0.0.1:1/grow?mib=8"}]},
                 {"name": "release", "duration": "15s", "actions": [{"url": "http://127.0.0.1:1/drop"}],
                  "release": {"trigger": {"signal": "SIGUSR1", "at": "1s"}, "expect": {"returned_ratio": 0.9, "within": "5s"},
                              "reclaim": {"duration": "4s"}}}]})");
  auto r = resolvePlan(p, cg, {"/memstrain", "r", "/proc", 0});
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string d = describeResolution(p, *r);
  EXPECT_NE(d.find("action at 2s: POST http://127.0.0.1:1/grow?mib=8\n"), std::string::npos) << d;
  EXPECT_NE(d.find("action at 0s: POST http://127.0.0.1:1/drop\n"), std::string::npos) << d;
  EXPECT_NE(d.find("release check: SIGUSR1 to the target at 1s; expect 90% of the released bytes out of RSS and the cgroup "
                   "within 5s; if lazy, reclaim for 4s with the cgroup filled\n"),
            std::string::npos)
      << d;
}

// cgroup.procs lists only the processes of the reader's pid namespace: from a pod without
// hostPID, a running container's cgroup reads as charged but empty.
TEST_F(ResolveTest, ATargetWhoseProcessesAreNotVisibleIsSaidSoBeforeAnythingStarts) {
  file("kubepods/pod/hidden/memory.max", "max\n");
  file("kubepods/pod/hidden/memory.current", std::to_string(12 * MiB) + "\n");
  file("kubepods/pod/hidden/cgroup.procs", "");
  file("kubepods/pod/split/cgroup.procs", "");  // processes in a sub-cgroup are visible ones
  file("kubepods/pod/split/container/cgroup.procs", "4343\n");
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  const std::string stages = R"("stages": [{"name": "a", "duration": "1s", "pressure": {"size": "8MiB"}}])";
  auto hidden = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/hidden"}}, )" + stages + "}"), cg,
                            {"/memstrain", "r", "/proc", 0});
  ASSERT_TRUE(hidden.ok()) << hidden.error().message;
  ASSERT_TRUE(hidden->hidden_target.has_value());
  EXPECT_NE(hidden->hidden_target->find("charged 12.0 MiB but lists no process memstrain can see"), std::string::npos)
      << *hidden->hidden_target;
  EXPECT_NE(hidden->hidden_target->find("hostPID: true"), std::string::npos);
  Plan p = plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/hidden"}}, )" + stages + "}");
  EXPECT_NE(describeResolution(p, *hidden).find("target processes: none visible"), std::string::npos);
  EXPECT_NE(describeResolution(p, *hidden).find("the run will refuse to start"), std::string::npos);
  p.target.attach->cgroup_only = true;
  EXPECT_NE(describeResolution(p, *hidden).find("cgroup_only: watching the cgroup alone"), std::string::npos);

  for (const char* visible : {"/kubepods/pod/ctr", "/kubepods/pod/split"}) {
    auto r = resolvePlan(plan(std::string(R"({"name": "x", "target": {"attach": {"cgroup": ")") + visible + R"("}}, )" + stages + "}"), cg,
                         {"/memstrain", "r", "/proc", 0});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->hidden_target.has_value()) << visible;
  }
}

TEST(ResolveParent, ParentOfPaths) {
  EXPECT_EQ(parentCgroup("/a/b"), "/a");
  EXPECT_EQ(parentCgroup("/a"), "/");
  EXPECT_EQ(parentCgroup("/"), "/");
}

}  // namespace
}  // namespace memstrain
