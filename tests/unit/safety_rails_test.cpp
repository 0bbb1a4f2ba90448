// Safety rails and Kubernetes attach, decided before anything changes: the node placement's guard
// rails on synthetic /proc/meminfo figures, the cgroups memstrain refuses to pressure, and plans
// that name their target by pod UID or container id, resolved on cgroup v2 fixture trees (systemd
// and cgroupfs drivers, Guaranteed pods, a pid seen through a cgroup namespace).

#include <gtest/gtest.h>

#include "memstrain/executor/node_guard.hpp"
#include "memstrain/executor/resolve.hpp"
#include "memstrain/plan/plan_parse.hpp"
#include "support/fs_fixture.hpp"

namespace memstrain {
namespace {

using namespace memstrain::testing;
constexpr std::uint64_t MiB = 1ULL << 20;
constexpr std::uint64_t GiB = 1ULL << 30;

// --- Node rails (pure) ---------------------------------------------------------------------------

TEST(NodeRails, DefaultsAreNinetyPercentCapAndAFloorOfFivePercentOrHalfAGig) {
  const NodeRails big = nodeRails(SafetySpec{}, 64 * GiB, false);
  EXPECT_EQ(big.cap_bytes, static_cast<std::uint64_t>(0.9 * 64.0 * GiB));
  EXPECT_EQ(big.floor_bytes, 64 * GiB / 20);  // 3.2 GiB > 512 MiB
  const NodeRails small = nodeRails(SafetySpec{}, 4 * GiB, false);
  EXPECT_EQ(small.floor_bytes, 512 * MiB);                 // 5% = 205 MiB < 512 MiB
  EXPECT_EQ(defaultNodeFloorBytes(512 * MiB), 256 * MiB);  // never more than half the node
  SafetySpec s;
  s.node_max_fraction = 0.5;
  s.node_min_available_bytes = 2 * GiB;
  const NodeRails set = nodeRails(s, 16 * GiB, true);
  EXPECT_EQ(set.cap_bytes, 8 * GiB);
  EXPECT_EQ(set.floor_bytes, 2 * GiB);
  EXPECT_TRUE(set.force);
  s.node_min_available_bytes.reset();
  s.node_min_available_fraction = 0.25;
  EXPECT_EQ(nodeRails(s, 16 * GiB, false).floor_bytes, 4 * GiB);
}

TEST(NodeRails, ControlMarginIsTheCapOrTheFloorWhicheverIsTighter) {
  SafetySpec s;  // cap 90% of 16 GiB: margin 1.6 GiB; floor default 819 MiB
  EXPECT_EQ(nodeControlMarginBytes(nodeRails(s, 16 * GiB, false)), 16 * GiB - static_cast<std::uint64_t>(0.9 * 16.0 * GiB));
  // --force lifts the cap but never the floor.
  EXPECT_EQ(nodeControlMarginBytes(nodeRails(s, 16 * GiB, true)), 16 * GiB / 20);
  s.node_min_available_bytes = 4 * GiB;
  EXPECT_EQ(nodeControlMarginBytes(nodeRails(s, 16 * GiB, false)), 4 * GiB);
}

TEST(NodeRails, LevelAboveTheCapIsRefusedUnlessForced) {
  const NodeMemory now{16 * GiB, 12 * GiB};  // 4 GiB in use
  const NodeRails rails = nodeRails(SafetySpec{}, 16 * GiB, false);
  EXPECT_FALSE(refuseNodePressure(rails, now, 0.80, std::nullopt).has_value());
  auto why = refuseNodePressure(rails, now, 0.95, std::nullopt);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("above the node cap of 90.0%"), std::string::npos) << *why;
  EXPECT_NE(why->find("--force"), std::string::npos) << *why;
  // Forced: the cap is lifted; 96% would leave 655 MiB, below the 819 MiB floor: still refused.
  auto forced = refuseNodePressure(nodeRails(SafetySpec{}, 16 * GiB, true), now, 0.96, std::nullopt);
  ASSERT_TRUE(forced.has_value());
  EXPECT_NE(forced->find("below the floor"), std::string::npos) << *forced;
  EXPECT_FALSE(refuseNodePressure(nodeRails(SafetySpec{}, 16 * GiB, true), now, 0.93, std::nullopt).has_value());
}

TEST(NodeRails, SizeIsJudgedOnTopOfWhatIsInUse) {
  const NodeRails rails = nodeRails(SafetySpec{}, 16 * GiB, false);                                  // cap 14.4 GiB
  EXPECT_FALSE(refuseNodePressure(rails, {16 * GiB, 10 * GiB}, std::nullopt, 8 * GiB).has_value());  // 6 + 8 = 14 GiB
  auto why = refuseNodePressure(rails, {16 * GiB, 8 * GiB}, std::nullopt, 8 * GiB);                  // 8 + 8 = 16 GiB
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("100.0% of MemTotal"), std::string::npos) << *why;
}

TEST(NodeRails, AFloorAlreadyCrossedRefusesEvenWhenForced) {
  SafetySpec s;
  s.node_min_available_bytes = 2 * GiB;
  const NodeMemory tight{16 * GiB, 1 * GiB};
  for (bool force : {false, true}) {
    auto why = refuseNodePressure(nodeRails(s, 16 * GiB, force), tight, std::nullopt, 10 * MiB);
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("already below the floor"), std::string::npos) << *why;
  }
  // A level already reached adds nothing, but the floor still counts.
  EXPECT_FALSE(refuseNodePressure(nodeRails(s, 16 * GiB, false), {16 * GiB, 4 * GiB}, 0.5, std::nullopt).has_value());
}

TEST(NodeRails, FloorBreachDuringTheRun) {
  SafetySpec s;
  s.node_min_available_bytes = 1 * GiB;
  const NodeRails rails = nodeRails(s, 8 * GiB, false);
  EXPECT_FALSE(nodeFloorBreach(rails, {8 * GiB, 1 * GiB}).has_value());
  auto why = nodeFloorBreach(rails, {8 * GiB, 1 * GiB - 1});
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("fell below the floor of 1.00 GiB"), std::string::npos) << *why;
  EXPECT_EQ(nodeUsedBytes({8 * GiB, 3 * GiB}), 5 * GiB);
  EXPECT_EQ(nodeUsedBytes({8 * GiB, 9 * GiB}), 0u);  // inconsistent figures never underflow
}

// --- Cgroups memstrain refuses (pure) ------------------------------------------------------------

TEST(RefusedPressureCgroup, RootSelfAndAncestorsOfSelfAlways) {
  EXPECT_TRUE(refusedPressureCgroup("/", "", true).has_value());
  const std::string self = "/user.slice/user-0.slice/session-3.scope";
  auto own = refusedPressureCgroup(self, self, true);
  ASSERT_TRUE(own.has_value());
  EXPECT_NE(own->find("memstrain's own cgroup"), std::string::npos) << *own;
  auto anc = refusedPressureCgroup("/kubepods", "/kubepods/burstable/podX/ctr", true);
  ASSERT_TRUE(anc.has_value());
  EXPECT_NE(anc->find("contains memstrain's own cgroup"), std::string::npos) << *anc;
  // A sibling whose name shares a prefix is not an ancestor.
  EXPECT_FALSE(refusedPressureCgroup("/kube", "/kubepods/x", false).has_value());
  EXPECT_FALSE(refusedPressureCgroup("/kubepods/burstable/podY", "/kubepods/burstable/podX/ctr", false).has_value());
}

TEST(RefusedPressureCgroup, SystemSlicesUnlessForced) {
  for (const char* cg : {"/system.slice", "/system.slice/sshd.service", "/init.scope", "/user.slice/user-1000.slice", "/-.slice"}) {
    auto why = refusedPressureCgroup(cg, "", false);
    ASSERT_TRUE(why.has_value()) << cg;
    EXPECT_NE(why->find("--force"), std::string::npos) << *why;
    EXPECT_FALSE(refusedPressureCgroup(cg, "", true).has_value()) << cg;
  }
  for (const char* cg : {"/kubepods.slice/kubepods-pod1.slice", "/machine.slice/libpod-1.scope", "/system.slicex", "/memstrain/x"}) {
    EXPECT_FALSE(refusedPressureCgroup(cg, "", false).has_value()) << cg;
  }
}

// --- Plans: attach keys and node placement -------------------------------------------------------

std::string attachPlan(const std::string& attach, const std::string& pressure = R"({"size": "10MiB"})") {
  return R"({"name": "x", "target": {"attach": )" + attach + R"(}, "stages": [{"name": "a", "duration": "1s", "pressure": )" + pressure +
         "}]}";
}

std::string parseError(const std::string& text) {
  auto p = parsePlan(text);
  return p.ok() ? std::string("(accepted)") : p.error().message;
}

TEST(AttachPlan, PodUidAndContainerIdAreNormalised) {
  auto p = parsePlan(attachPlan(R"({"pod_uid": "POD6B1D4C2E_0A9F_4E7B_8C3D_2F1E0D9C8B7A", "container": "app"})"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p->target.attach->pod_uid, "6b1d4c2e-0a9f-4e7b-8c3d-2f1e0d9c8b7a");
  EXPECT_EQ(*p->target.attach->container, "app");
  auto q = parsePlan(attachPlan(R"({"container_id": "containerd://ABCDEF0123456789"})"));
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(*q->target.attach->container_id, "abcdef0123456789");
  EXPECT_TRUE(parsePlan(attachPlan(R"({"pod_uid": "6b1d4c2e-0a9f", "container_id": "abcdef0123456789"})")).ok());
}

TEST(AttachPlan, BadAttachKeysNameTheirPointer) {
  EXPECT_NE(parseError(attachPlan(R"({"pod_uid": "not-a-uid!"})")).find("/target/attach/pod_uid: expected the pod's metadata.uid"),
            std::string::npos);
  EXPECT_NE(parseError(attachPlan(R"({"container_id": "abc"})")).find("/target/attach/container_id: expected a container id"),
            std::string::npos);
  EXPECT_NE(parseError(attachPlan(R"({"cgroup": "/a/b", "container": "app"})"))
                .find("/target/attach/container: a container name needs \"pod_uid\""),
            std::string::npos);
  EXPECT_NE(parseError(attachPlan(R"({"pod_uid": "6b1d4c2e0a9f", "container": "App_1"})"))
                .find("/target/attach/container: expected a Kubernetes container name"),
            std::string::npos);
  EXPECT_NE(parseError(attachPlan(R"({"pod_uid": "6b1d4c2e0a9f", "container": "app", "container_id": "abcdef0123456789"})"))
                .find("/target/attach/container: give \"container\" or \"container_id\", not both"),
            std::string::npos);
  EXPECT_NE(parseError(attachPlan(R"({"cgroup": "/a", "pod_uid": "6b1d4c2e0a9f"})")).find("/target/attach: give exactly one of"),
            std::string::npos);
  EXPECT_NE(parseError(attachPlan(R"({"pod_uid": 12345678})")).find("/target/attach/pod_uid: expected a string"), std::string::npos);
}

TEST(NodePlan, PlacementAndSafetyKeys) {
  auto p = parsePlan(R"({"name": "x", "target": {"attach": {"cgroup": "/a"}},
      "safety": {"node_max": "80%", "node_min_available": "2GiB"},
      "stages": [{"name": "a", "duration": "1s", "pressure": {"placement": "node", "level": "70%"}}]})");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->stages[0].pressure->placement, Placement::kNode);
  EXPECT_DOUBLE_EQ(*p->stages[0].pressure->level_fraction, 0.70);
  EXPECT_DOUBLE_EQ(p->safety.node_max_fraction, 0.80);
  EXPECT_EQ(*p->safety.node_min_available_bytes, 2 * GiB);
  EXPECT_NE(parseError(attachPlan(R"({"cgroup": "/a"})", R"({"placement": "node", "size": "10MiB", "allow_oom": true})"))
                .find("/stages/0/pressure/allow_oom: not allowed with \"placement\": \"node\""),
            std::string::npos);
  EXPECT_NE(parseError(R"({"name": "x", "target": {"attach": {"cgroup": "/a"}}, "safety": {"node_max": "99%"},
      "stages": [{"name": "a", "duration": "1s"}]})")
                .find("/safety/node_max: expected a percent"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"name": "x", "target": {"attach": {"cgroup": "/a"}}, "safety": {"node_min_available": "60%"},
      "stages": [{"name": "a", "duration": "1s"}]})")
                .find("/safety/node_min_available: expected a percent of MemTotal"),
            std::string::npos);
  EXPECT_NE(parseError(attachPlan(R"({"cgroup": "/a"})", R"({"placement": "nodes", "size": "10MiB"})")).find("\"node\""),
            std::string::npos);
}

// --- Resolving attach targets on v2 fixture trees -----------------------------------------------

const std::string kUid = "6b1d4c2e-0a9f-4e7b-8c3d-2f1e0d9c8b7a";
const std::string kUidSd = "6b1d4c2e_0a9f_4e7b_8c3d_2f1e0d9c8b7a";
const std::string kApp = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";
const std::string kUid2 = "7a7a7a7a-1111-2222-3333-444444444444";
const std::string kPause = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809";

FsEntry cg(std::string name, std::string max, std::string procs, std::vector<FsEntry> children = {}) {
  std::vector<FsEntry> files = {file("memory.max", max + "\n"), file("memory.current", "1048576\n"), file("cgroup.procs", procs)};
  for (auto& c : children) files.push_back(std::move(c));
  return dir(std::move(name), std::move(files));
}

class AttachResolveTest : public ::testing::Test {
 protected:
  // systemd driver, Burstable pod (256 MiB) with containerd app (200 MiB) and pause; a Guaranteed
  // pod with a CRI-O container; a cgroupfs-driver pod; /proc with comm and cgroup files.
  void SetUp() override {
    fx_ = std::make_unique<FsFixture>(std::vector<FsEntry>{
        dir("mnt", {file("memory.current", "1048576\n"), file("cgroup.procs", ""),
                    cg("kubepods.slice", "max", "",
                       {cg("kubepods-burstable.slice", "max", "",
                           {cg("kubepods-burstable-pod" + kUidSd + ".slice", std::to_string(256 * MiB), "",
                               {cg("cri-containerd-" + kApp + ".scope", std::to_string(200 * MiB), "4242\n"),
                                cg("cri-containerd-" + kPause + ".scope", "max", "4100\n")})}),
                        cg("kubepods-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice", std::to_string(128 * MiB), "",
                           {cg("crio-abcdefabcdef0123456789.scope", std::to_string(128 * MiB), "5000\n")})}),
                    cg("kubepods", "max", "",
                       {cg("besteffort", "max", "", {cg("pod" + kUid2, "max", "", {cg("cafebabecafe0123", "max", "6000\n")})})}),
                    cg("system.slice", "max", "", {cg("sshd.service", std::to_string(64 * MiB), "700\n")})}),
        dir("proc", {dir("4242", {file("comm", "demo-target\n"),
                                  file("cgroup", "0::/../kubepods-burstable-pod" + kUidSd + ".slice/cri-containerd-" + kApp + ".scope\n")}),
                     dir("4100", {file("comm", "pause\n")}), dir("5000", {file("comm", "app\n")}), dir("6000", {file("comm", "app\n")}),
                     dir("700", {file("comm", "sshd\n"), file("cgroup", "0::/system.slice/sshd.service\n")})})});
    ASSERT_TRUE(fx_->ok()) << fx_->error();
    ctx_.proc_root = fx_->path("proc");
    ctx_.host_root = fx_->path("no-host");
    ctx_.run_id = "run-1";
    ctx_.node_memory_bytes = 16 * GiB;
    ctx_.node_available_bytes = 12 * GiB;
  }
  Result<Resolution> resolve(const std::string& attach, const std::string& pressure = R"({"size": "10MiB"})",
                             CgroupFs fs = CgroupFs("", CgroupVersion::kV2)) {
    auto p = parsePlan(attachPlan(attach, pressure));
    EXPECT_TRUE(p.ok()) << p.error().message;
    if (!p.ok()) return p.error();
    if (fs.mount().empty()) fs = CgroupFs(fx_->path("mnt"), CgroupVersion::kV2);
    return resolvePlan(*p, fs, ctx_);
  }
  std::unique_ptr<FsFixture> fx_;
  ResolveContext ctx_;
};

TEST_F(AttachResolveTest, PodUidPicksTheAppContainerNotThePause) {
  auto r = resolve(R"({"pod_uid": ")" + kUid + R"("})", R"({"placement": "beside", "level": "50%"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSd + ".slice";
  EXPECT_EQ(r->target_cgroup, pod + "/cri-containerd-" + kApp + ".scope");
  EXPECT_EQ(r->attach_matched_by, "pod-uid");
  EXPECT_EQ(r->pod_uid, kUid);
  EXPECT_EQ(r->container_id, kApp);
  EXPECT_EQ(r->target_limit_bytes, 200 * MiB);
  // Beside: the stressor competes in the pod cgroup, for the pod's limit.
  EXPECT_EQ(r->measured_cgroup, pod);
  EXPECT_EQ(r->stressor_cgroup, pod + "/memstrain-stressor-run-1");
  EXPECT_EQ(r->effective_limit_bytes, 256 * MiB);
  EXPECT_NE(
      describeResolution(*parsePlan(attachPlan(R"({"pod_uid": ")" + kUid + R"("})")), *r).find("found by:         pod-uid (pod " + kUid),
      std::string::npos);
}

TEST_F(AttachResolveTest, ContainerIdOnAGuaranteedPodAndOnTheCgroupfsDriver) {
  auto g = resolve(R"({"container_id": "cri-o://abcdefabcdef"})");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->target_cgroup, "/kubepods.slice/kubepods-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice/crio-abcdefabcdef0123456789.scope");
  EXPECT_EQ(g->pod_uid, "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b");
  auto c = resolve(R"({"container_id": "cafebabecafe0123"})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->target_cgroup, "/kubepods/besteffort/pod" + kUid2 + "/cafebabecafe0123");
}

TEST_F(AttachResolveTest, ContainerOfAnotherPodIsRefused) {
  // The Guaranteed CRI-O container belongs to another pod.
  auto r = resolve(R"({"pod_uid": ")" + kUid + R"(", "container_id": "abcdefabcdef"})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/target/attach/container_id: container"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("belongs to pod 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"), std::string::npos) << r.error().message;
}

TEST_F(AttachResolveTest, UnknownPodAndNamesWithoutMetadataAreErrorsWithPointers) {
  auto r = resolve(R"({"pod_uid": "11111111-2222-3333-4444-555555555555"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("/target/attach/pod_uid: no cgroup of pod", 0), 0u) << r.error().message;
  auto n = resolve(R"({"pod_uid": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "container": "app"})");
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find("cannot tell which container is \"app\""), std::string::npos) << n.error().message;
}

TEST_F(AttachResolveTest, PidSeenThroughACgroupNamespace) {
  // As from a pod: the mount shows the host hierarchy 2 levels above this reader's namespace root,
  // and the target (another pod's process) is printed 1 level up: the strings cannot decide it, so
  // locate finds the cgroup that ends with the tail and lists the pid.
  CgroupFs ns(fx_->path("mnt"), CgroupVersion::kV2, "/../..");
  auto r = resolve(R"({"pid": 4242})", R"({"size": "10MiB"})", ns);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->target_cgroup,
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSd + ".slice/cri-containerd-" + kApp + ".scope");
  EXPECT_EQ(r->attach_matched_by, "pid");
}

TEST_F(AttachResolveTest, SystemSlicesAndOwnCgroupAreRefused) {
  auto r = resolve(R"({"pid": 700})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/target/attach: /system.slice/sshd.service is in systemd's system.slice"), std::string::npos)
      << r.error().message;
  ctx_.force = true;
  EXPECT_TRUE(resolve(R"({"pid": 700})").ok());
  ctx_.self_cgroup = "/system.slice/sshd.service";
  auto self = resolve(R"({"cgroup": "/system.slice/sshd.service"})");
  ASSERT_FALSE(self.ok());
  EXPECT_NE(self.error().message.find("memstrain's own cgroup"), std::string::npos) << self.error().message;
  // Beside competes in the parent: refused when the parent holds memstrain.
  ctx_.self_cgroup = "/kubepods/besteffort/pod" + kUid2 + "/memstrain-job";
  auto beside = resolve(R"({"container_id": "cafebabecafe0123"})", R"({"placement": "beside", "size": "10MiB"})");
  ASSERT_FALSE(beside.ok());
  EXPECT_NE(beside.error().message.find("/stages: beside placement competes in /kubepods/besteffort/pod"), std::string::npos)
      << beside.error().message;
}

TEST_F(AttachResolveTest, NodePlacementUsesTheMemstrainParentAndTheRails) {
  auto r = resolve(R"({"container_id": "cafebabecafe0123"})", R"({"placement": "node", "level": "50%"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stressor_cgroup, "/memstrain/run-1-node");
  EXPECT_EQ(r->cgroups_to_create, (std::vector<std::string>{"/memstrain", "/memstrain/run-1-node"}));
  EXPECT_EQ(r->measured_cgroup, kNodeMeasured);
  EXPECT_EQ(r->effective_limit_bytes, 16 * GiB);
  EXPECT_EQ(*r->stages[0].setpoint_bytes, 8 * GiB);
  ASSERT_TRUE(r->node.has_value());
  EXPECT_EQ(r->safety_margin_bytes, nodeControlMarginBytes(*r->node));
  auto above = resolve(R"({"container_id": "cafebabecafe0123"})", R"({"placement": "node", "level": "95%"})");
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(above.error().message.rfind("/stages/0/pressure/level: level 95.0% of MemTotal is above the node cap", 0), 0u)
      << above.error().message;
  auto size = resolve(R"({"container_id": "cafebabecafe0123"})", R"({"placement": "node", "size": "11GiB"})");
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.error().message.rfind("/stages/0/pressure/size: ", 0), 0u) << size.error().message;
  ctx_.force = true;
  EXPECT_TRUE(resolve(R"({"container_id": "cafebabecafe0123"})", R"({"placement": "node", "level": "92%"})").ok());
}

}  // namespace
}  // namespace memstrain
