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
  ResolveContext ctx{"/memstrain", "run-1", "/proc", 24ULL << 30, 20ULL << 30};
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
  auto r = resolvePlan(p, cg, {"/memstrain", "run-2", "/proc", 24ULL << 30, 20ULL << 30});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stressor_cgroup, "/memstrain/run-2/stressor");
  EXPECT_EQ(r->measured_cgroup, "/memstrain/run-2");
  EXPECT_EQ(r->cgroups_to_create.back(), "/memstrain/run-2/stressor");
}

TEST_F(ResolveTest, AttachInsideUsesTheSmallestAncestorLimit) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"level": "50%"}}]})");
  auto r = resolvePlan(p, cg, {"/memstrain", "run-3", "/proc", 24ULL << 30, 20ULL << 30});
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
  auto r = resolvePlan(p, cg, {"/memstrain", "run-4", "/proc", 24ULL << 30, 20ULL << 30});
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
                        cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30});
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.error().message.find("/stages/0/pressure/size"), std::string::npos) << r1.error().message;
  EXPECT_NE(r1.error().message.find("allow_oom"), std::string::npos);
  // ... but with allow_oom it is the user's call.
  EXPECT_TRUE(resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"size": "2GiB", "allow_oom": true}}]})"),
                          cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30})
                  .ok());
  // A level against a cgroup with no limit anywhere above it.
  file("free/memory.max", "max\n");
  auto r2 = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/free"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"level": "50%"}}]})"),
                        cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30});
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message.find("no memory limit"), std::string::npos);
  // Beside with the target directly under the root.
  auto r3 = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/free"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"placement": "beside", "size": "10MiB"}}]})"),
                        cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30});
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.error().message.find("beside"), std::string::npos);
  // A cgroup that does not exist.
  auto r4 = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/nope"}},
      "stages": [{"name": "a", "duration": "1s"}]})"),
                        cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30});
  ASSERT_FALSE(r4.ok());
  EXPECT_TRUE(isTargetNotFound(r4.error())) << "a missing target is a run error (exit 3), not an invalid plan";
  EXPECT_FALSE(isTargetNotFound(r3.error())) << "a plan the host cannot satisfy stays an invalid plan (exit 2)";
  // Mixed placements.
  auto r5 = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"size": "10MiB"}},
                 {"name": "b", "duration": "1s", "pressure": {"placement": "beside", "size": "10MiB"}}]})"),
                        cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30});
  ASSERT_FALSE(r5.ok());
  EXPECT_NE(r5.error().message.find("same placement"), std::string::npos);
}

TEST_F(ResolveTest, DryRunDescriptionNamesCgroupsAndBytes) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "base", "duration": "1s"}, {"name": "hold", "duration": "10s", "pressure": {"level": "80%", "ramp": "5s"}}]})");
  auto r = resolvePlan(p, cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30});
  ASSERT_TRUE(r.ok());
  std::string d = describeResolution(p, *r);
  EXPECT_NE(d.find("/kubepods/pod/ctr"), std::string::npos) << d;
  EXPECT_NE(d.find("effective limit 1.00 GiB"), std::string::npos) << d;
  EXPECT_NE(d.find("inside usage at 80.0% = 819.2 MiB"), std::string::npos) << d;
  // The hold's hysteresis: by default 1% of the 1 GiB limit (above the 4 MiB floor), else the plan's.
  EXPECT_EQ(r->stages[1].hysteresis_bytes, (1ULL << 30) / 100);
  EXPECT_NE(d.find("hysteresis 10.2 MiB"), std::string::npos) << d;
  EXPECT_FALSE(r->stages[0].hysteresis_bytes.has_value());
  for (const auto& [text, want] :
       {std::pair<std::string, std::uint64_t>{"\"5%\"", (1ULL << 30) / 20}, {"\"16MiB\"", 16ULL << 20}, {"\"0\"", 0}}) {
    Plan q = plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
        "stages": [{"name": "hold", "duration": "10s", "pressure": {"level": "80%", "hysteresis": )" +
                  text + "}}]}");
    auto rq = resolvePlan(q, cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30});
    ASSERT_TRUE(rq.ok()) << text;
    EXPECT_EQ(rq->stages[0].hysteresis_bytes, want) << text;
  }
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
  auto r = resolvePlan(p, cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30});
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
  // The pod's only limit is "max": its pressure is held to the node's rails (24 GiB, 20 available).
  const ResolveContext node{"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30};
  const std::string stages = R"("stages": [{"name": "a", "duration": "1s", "pressure": {"size": "8MiB"}}])";
  auto hidden = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/hidden"}}, )" + stages + "}"), cg, node);
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
                         node);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->hidden_target.has_value()) << visible;
  }
}

// Issue 15, item 2: the node's rails hold for inside and beside placement too. The node here:
// 24 GiB MemTotal, 20 GiB available (so 4 GiB in use); cap 90% = 21.6 GiB, floor 1.2 GiB.
TEST_F(ResolveTest, NodeRailsHoldForInsideAndBesidePlacement) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  const ResolveContext ctx{"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30};
  // A BestEffort pod: its only limit is the kubepods one, a little below the node.
  file("kp/memory.max", std::to_string(23ULL << 30) + "\n");
  file("kp/besteffort/pod/memory.max", "max\n");
  file("kp/besteffort/pod/ctr/memory.max", "max\n");
  file("kp/besteffort/pod/ctr/memory.current", std::to_string(100 * MiB) + "\n");
  auto level = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kp/besteffort/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"level": "80%"}}]})"),
                           cg, ctx);
  ASSERT_FALSE(level.ok()) << "80% of a 23 GiB limit is 18.4 GiB on a node with 4 GiB in use";
  EXPECT_EQ(level.error().message.rfind("/stages/0/pressure/level: holding 18.4 GiB in /kp/besteffort/pod/ctr: ", 0), 0u)
      << level.error().message;
  EXPECT_NE(level.error().message.find("safety.node_max"), std::string::npos) << level.error().message;
  // --force lifts the cap but never the MemAvailable floor.
  ResolveContext forced = ctx;
  forced.force = true;
  forced.node_available_bytes = 10ULL << 30;
  auto floor = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kp/besteffort/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"level": "50%"}}]})"),
                           cg, forced);
  ASSERT_FALSE(floor.ok());
  EXPECT_NE(floor.error().message.find("below the floor"), std::string::npos) << floor.error().message;
  // A limit above MemTotal can never be reached: a level of it is node pressure in disguise.
  file("kp/memory.max", std::to_string(30ULL << 30) + "\n");
  auto above = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kp/besteffort/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"level": "10%"}}]})"),
                           cg, ctx);
  ASSERT_FALSE(above.ok());
  EXPECT_NE(above.error().message.find("is above the node's MemTotal"), std::string::npos) << above.error().message;
  // A small level on a pod with a real limit passes, and the rails are kept for the run.
  auto ok = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"level": "80%"}}]})"),
                        cg, ctx);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_TRUE(ok->node_guard.has_value());
  EXPECT_EQ(ok->node_guard->floor_bytes, nodeRails(SafetySpec{}, 24ULL << 30, false).floor_bytes);
}

TEST_F(ResolveTest, ASizeOnAnUnlimitedCgroupIsCheckedAgainstTheNodeAndNeedsMeminfo) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  file("free/memory.max", "max\n");
  const std::string p = R"({"name": "x", "target": {"attach": {"cgroup": "/free"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"size": "19GiB"}}]})";
  // Under MemTotal (what was checked before), but it would leave 1 GiB available: below the floor.
  auto r = resolvePlan(plan(p), cg, {"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("/stages/0/pressure/size: ", 0), 0u) << r.error().message;
  // Without /proc/meminfo nothing can be checked: refused, not waved through.
  auto blind = resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/free"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"size": "10MiB"}}]})"),
                           cg, {"/memstrain", "r", "/proc", 0, 0});
  ASSERT_FALSE(blind.ok());
  EXPECT_NE(blind.error().message.find("/proc/meminfo was not readable"), std::string::npos) << blind.error().message;
  // A plan without pressure does not need it.
  EXPECT_TRUE(resolvePlan(plan(R"({"name": "x", "target": {"attach": {"cgroup": "/free"}}, "stages": [{"name": "a", "duration": "1s"}]})"),
                          cg, {"/memstrain", "r", "/proc", 0, 0})
                  .ok());
}

TEST_F(ResolveTest, ReclaimSizeStaysBelowTheLimitMinusTheMargin) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  auto withReclaim = [&](const std::string& size) {
    return plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}, "pprof_url": "http://127.0.0.1:1/debug/pprof"},
      "stages": [{"name": "release", "duration": "15s", "release": {"reclaim": {"duration": "4s", "size": ")" +
                size + R"("}}}]})");
  };
  const ResolveContext ctx{"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30};
  // 1 GiB limit, 30.72 MiB margin (3%): at most 993.28 MiB.
  auto huge = resolvePlan(withReclaim("1024TiB"), cg, ctx);
  ASSERT_FALSE(huge.ok()) << "1 PiB of reclaim pressure in a 1 GiB pod";
  EXPECT_EQ(huge.error().message.rfind("/stages/0/release/reclaim/size: ", 0), 0u) << huge.error().message;
  EXPECT_NE(huge.error().message.find("safety margin"), std::string::npos) << huge.error().message;
  EXPECT_FALSE(resolvePlan(withReclaim("1000MiB"), cg, ctx).ok());
  auto fits = resolvePlan(withReclaim("900MiB"), cg, ctx);
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(fits->stressor_reserve_bytes, 900 * MiB);
}

TEST(ResolvePlanParse, NodePlacementRefusesANegativeOomScoreAdj) {
  auto p = parsePlan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"placement": "node", "size": "10MiB", "oom_score_adj": -1000}}]})");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("/stages/0/pressure/oom_score_adj: must be 0 or more"), std::string::npos) << p.error().message;
  EXPECT_TRUE(parsePlan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"size": "10MiB", "oom_score_adj": -1000}}]})")
                  .ok())
      << "inside, a negative value is a rehearsal of the target being killed first";
}

// Issue 15, item 7: a --cgroup-parent whose ancestors are missing used to have them created on the
// way and never journaled or removed.
TEST_F(ResolveTest, AParentWhoseAncestorsAreMissingIsRefused) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"launch": {"command": ["t"], "memory_limit": "512MiB"}},
      "stages": [{"name": "a", "duration": "1s"}]})");
  ResolveContext ctx{"/staging/teams/memstrain", "run-1", "/proc", 24ULL << 30, 20ULL << 30};
  auto r = resolvePlan(p, cg, ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("--cgroup-parent /staging/teams/memstrain: /staging/teams does not exist"), std::string::npos)
      << r.error().message;
  file("staging/teams/memory.max", "max\n");
  auto ok = resolvePlan(p, cg, ctx);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->cgroups_to_create.front(), "/staging/teams/memstrain");
}

TEST_F(ResolveTest, CommandTriggersNeedAllowCommands) {
  CgroupFs cg(root_.string(), CgroupVersion::kV2);
  Plan p = plan(R"({"name": "x", "target": {"attach": {"cgroup": "/kubepods/pod/ctr"}, "pprof_url": "http://127.0.0.1:1/debug/pprof"},
      "stages": [{"name": "release", "duration": "15s", "release": {"trigger": {"command": ["/usr/bin/touch", "/tmp/x"]}}}]})");
  ResolveContext ctx{"/memstrain", "r", "/proc", 24ULL << 30, 20ULL << 30};
  auto r = resolvePlan(p, cg, ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "/stages/0/release/trigger/command: the plan runs a command (`/usr/bin/touch`) as memstrain's user (root); pass "
            "--allow-commands to allow it");
  ctx.allow_commands = true;
  EXPECT_TRUE(resolvePlan(p, cg, ctx).ok());
}

TEST(ResolveParent, ParentOfPaths) {
  EXPECT_EQ(parentCgroup("/a/b"), "/a");
  EXPECT_EQ(parentCgroup("/a"), "/");
  EXPECT_EQ(parentCgroup("/"), "/");
}

}  // namespace
}  // namespace memstrain
