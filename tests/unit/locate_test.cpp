// Target discovery: kubelet path parsing and matching on literal strings, then locate* on fixture
// trees for every layout (v1/v2, systemd/cgroupfs drivers, containerd/CRI-O/Docker, all QoS
// classes), a cgroup namespace, ambiguity and not-found, and the CLI's output and exit codes.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <sstream>
#include <string>
#include <vector>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/cli/cmd_locate.hpp"
#include "memstrain/discovery/locate.hpp"
#include "support/fs_fixture.hpp"
#include "support/log_capture.hpp"

namespace memstrain {
namespace {

using testing::dir;
using testing::file;
using testing::FsEntry;
using testing::FsFixture;

constexpr std::uint64_t MiB = 1ULL << 20;

// 64 hex digits from a short pattern, like a containerd/Docker/CRI-O id.
std::string hex64(const std::string& pattern) {
  std::string s;
  while (s.size() < 64) s += pattern;
  return s.substr(0, 64);
}

const std::string kUid = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const std::string kUidSystemd = "0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b";
const std::string kOtherUid = "11111111-2222-3333-4444-555555555555";
const std::string kAppId = hex64("a1b2c3d4");
const std::string kSandboxId = hex64("5e6f7a8b");
const std::string kOtherId = hex64("c0ffee99");

// --- Pure: kubelet path parsing -----------------------------------------------------------------

TEST(ParseKubeCgroupPath, SystemdBurstableContainerd) {
  const std::string pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd + ".slice";
  auto k = parseKubeCgroupPath(pod + "/cri-containerd-" + kAppId + ".scope");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->pod_uid, kUid);
  EXPECT_EQ(k->qos, QosClass::kBurstable);
  EXPECT_EQ(k->driver, CgroupDriver::kSystemd);
  EXPECT_EQ(k->pod_cgroup, pod);
  EXPECT_EQ(k->container_cgroup, pod + "/cri-containerd-" + kAppId + ".scope");
  EXPECT_EQ(k->container_id, kAppId);
  EXPECT_EQ(k->runtime, ContainerRuntime::kContainerd);
}

TEST(ParseKubeCgroupPath, SystemdBestEffortCrioAndConmonIsNoContainer) {
  const std::string pod = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSystemd + ".slice";
  auto k = parseKubeCgroupPath(pod + "/crio-" + kAppId + ".scope");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->qos, QosClass::kBestEffort);
  EXPECT_EQ(k->runtime, ContainerRuntime::kCrio);
  EXPECT_EQ(k->container_id, kAppId);
  EXPECT_FALSE(parseKubeCgroupPath(pod + "/crio-conmon-" + kAppId + ".scope").has_value());
}

TEST(ParseKubeCgroupPath, SystemdGuaranteedDocker) {
  const std::string pod = "/kubepods.slice/kubepods-pod" + kUidSystemd + ".slice";
  auto k = parseKubeCgroupPath(pod + "/docker-" + kAppId + ".scope");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->qos, QosClass::kGuaranteed);
  EXPECT_EQ(k->pod_uid, kUid);
  EXPECT_EQ(k->pod_cgroup, pod);
  EXPECT_EQ(k->runtime, ContainerRuntime::kDocker);
}

TEST(ParseKubeCgroupPath, CgroupfsDriverAllQosClasses) {
  for (const auto& [qos_dir, qos] : std::vector<std::pair<std::string, QosClass>>{
           {"/burstable", QosClass::kBurstable}, {"/besteffort", QosClass::kBestEffort}, {"", QosClass::kGuaranteed}}) {
    const std::string pod = "/kubepods" + qos_dir + "/pod" + kUid;
    auto k = parseKubeCgroupPath(pod + "/" + kAppId);
    ASSERT_TRUE(k.has_value()) << pod;
    EXPECT_EQ(k->driver, CgroupDriver::kCgroupfs);
    EXPECT_EQ(k->qos, qos);
    EXPECT_EQ(k->pod_uid, kUid);
    EXPECT_EQ(k->pod_cgroup, pod);
    EXPECT_EQ(k->container_id, kAppId);
    EXPECT_EQ(k->runtime, ContainerRuntime::kUnknown) << "a bare id does not name its runtime";
  }
}

TEST(ParseKubeCgroupPath, CgroupfsDriverWithRuntimePrefix) {
  auto k = parseKubeCgroupPath("/kubepods/burstable/pod" + kUid + "/crio-" + kAppId);
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->runtime, ContainerRuntime::kCrio);
  EXPECT_EQ(k->container_id, kAppId);
}

TEST(ParseKubeCgroupPath, PodLevelCgroupHasNoContainer) {
  auto k = parseKubeCgroupPath("/kubepods/burstable/pod" + kUid);
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->pod_cgroup, "/kubepods/burstable/pod" + kUid);
  EXPECT_TRUE(k->container_cgroup.empty());
  EXPECT_TRUE(k->container_id.empty());
}

TEST(ParseKubeCgroupPath, NestedNodePrefixAndSubCgroupsBelowTheContainer) {
  // A kind node is itself a container: the kubelet tree sits below the node's own cgroup.
  const std::string node = "/system.slice/docker-" + kOtherId + ".scope";
  const std::string ctr = node + "/kubepods/pod" + kUid + "/" + kAppId;
  auto k = parseKubeCgroupPath(ctr + "/init.scope");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->pod_cgroup, node + "/kubepods/pod" + kUid);
  EXPECT_EQ(k->container_cgroup, ctr);
  EXPECT_EQ(k->container_id, kAppId);
}

TEST(ParseKubeCgroupPath, RejectsWhatIsNotAPodOrContainer) {
  EXPECT_FALSE(parseKubeCgroupPath("/").has_value());
  EXPECT_FALSE(parseKubeCgroupPath("/system.slice/containerd.service").has_value());
  EXPECT_FALSE(parseKubeCgroupPath("/kubepods").has_value());
  EXPECT_FALSE(parseKubeCgroupPath("/kubepods/burstable").has_value());
  EXPECT_FALSE(parseKubeCgroupPath("/kubepods.slice/kubepods-burstable.slice").has_value());
  EXPECT_FALSE(parseKubeCgroupPath("/kubepods/burstable/podnot-a-uid!").has_value());
  // The wrong QoS word inside a QoS slice is not kubelet's naming.
  EXPECT_FALSE(
      parseKubeCgroupPath("/kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod" + kUidSystemd + ".slice").has_value());
  // memstrain's own beside-stressor sibling in a pod is not a container.
  EXPECT_FALSE(parseKubeCgroupPath("/kubepods/burstable/pod" + kUid + "/memstrain-stressor-run1").has_value());
  EXPECT_FALSE(parseKubeCgroupPath("/kubepods/burstable/pod" + kUid + "/abc").has_value()) << "too short for an id";
}

// --- Pure: input normalisation and matching -----------------------------------------------------

TEST(NormalizePodUid, AcceptsTheFormsUsersHave) {
  EXPECT_EQ(normalizePodUid(kUid).valueOr(""), kUid);
  EXPECT_EQ(normalizePodUid(kUidSystemd).valueOr(""), kUid);
  EXPECT_EQ(normalizePodUid("pod" + kUid).valueOr(""), kUid);
  EXPECT_EQ(normalizePodUid(" 0F1E2D3C-4B5A-6978-8A9B-0C1D2E3F4A5B\n").valueOr(""), kUid);
  EXPECT_EQ(normalizePodUid("6d3b5d4e0f6a4bd2a3f1e2c3b4a59687").valueOr(""), "6d3b5d4e0f6a4bd2a3f1e2c3b4a59687")
      << "static pods have hash UIDs";
}

TEST(NormalizePodUid, RejectsGarbageWithBadInput) {
  for (const std::string& bad : std::vector<std::string>{"", "pod", "xyz-not-hex-at-all", "----------", "abc", "0f1e2d3c/../x"}) {
    auto r = normalizePodUid(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().sys_errno, kLocateBadInput);
    EXPECT_NE(r.error().message.find("pod UID"), std::string::npos);
  }
}

TEST(NormalizeContainerId, AcceptsStatusFormsAndPrefixes) {
  EXPECT_EQ(normalizeContainerId("containerd://" + kAppId).valueOr(""), kAppId);
  EXPECT_EQ(normalizeContainerId("cri-o://" + kAppId).valueOr(""), kAppId);
  EXPECT_EQ(normalizeContainerId("docker://" + kAppId.substr(0, 12)).valueOr(""), kAppId.substr(0, 12));
  EXPECT_EQ(normalizeContainerId("A1B2C3D4A1B2").valueOr(""), "a1b2c3d4a1b2");
}

TEST(NormalizeContainerId, RejectsShortOrNonHex) {
  for (const std::string& bad : std::vector<std::string>{"", "a1b2c3d4a1b", "containerd://", "zzzzzzzzzzzzzz", kAppId + "0"}) {
    auto r = normalizeContainerId(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().sys_errno, kLocateBadInput);
  }
}

TEST(MatchPodUid, FindsPodAndContainersOncePerCgroupInOrder) {
  const std::string pod = "/kubepods/burstable/pod" + kUid;
  const std::vector<std::string> paths{
      "/kubepods",
      "/kubepods/burstable",
      pod,
      pod + "/" + kSandboxId,
      pod + "/" + kAppId,
      pod + "/" + kAppId + "/sub",  // folded into its container
      "/kubepods/burstable/pod" + kOtherUid,
      "/kubepods/burstable/pod" + kOtherUid + "/" + kOtherId,
  };
  auto m = matchPodUid(paths, kUid);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_TRUE(m[0].container_id.empty());
  EXPECT_EQ(m[1].container_id, kSandboxId);
  EXPECT_EQ(m[2].container_id, kAppId);
  EXPECT_TRUE(matchPodUid(paths, "99999999-9999-9999-9999-999999999999").empty());
}

TEST(MatchContainerId, PrefixMatchesAndLeavesAmbiguityToTheCaller) {
  const std::string pod = "/kubepods.slice/kubepods-pod" + kUidSystemd + ".slice";
  const std::string a = "abcdef012345" + std::string(52, '1');
  const std::string b = "abcdef012345" + std::string(52, '2');
  const std::vector<std::string> paths{pod, pod + "/cri-containerd-" + a + ".scope", pod + "/cri-containerd-" + b + ".scope"};
  EXPECT_EQ(matchContainerId(paths, "abcdef012345").size(), 2u);
  auto one = matchContainerId(paths, "abcdef0123452");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].id, b);
  EXPECT_EQ(one[0].cgroup, pod + "/cri-containerd-" + b + ".scope");
  EXPECT_EQ(one[0].runtime, ContainerRuntime::kContainerd);
  EXPECT_TRUE(matchContainerId(paths, "ffffffffffff").empty());
}

// Containers a runtime started outside kubelet's tree, by the names the runtimes give them (the
// libpod ones as podman 4.3 makes them on this machine: cgroupfs manager, then the systemd one).
TEST(ParseContainerCgroupPath, RuntimesOwnNamesOutsideKubelet) {
  struct Case {
    std::string path, cgroup;
    ContainerRuntime runtime;
  };
  const std::vector<Case> cases{
      {"/libpod_parent/libpod-" + kAppId, "/libpod_parent/libpod-" + kAppId, ContainerRuntime::kPodman},
      {"/machine.slice/libpod-" + kAppId + ".scope", "/machine.slice/libpod-" + kAppId + ".scope", ContainerRuntime::kPodman},
      {"/machine.slice/libpod-" + kAppId + ".scope/container", "/machine.slice/libpod-" + kAppId + ".scope", ContainerRuntime::kPodman},
      {"/machine.slice/machine-libpod_pod_" + kOtherId + ".slice/libpod-" + kAppId + ".scope",
       "/machine.slice/machine-libpod_pod_" + kOtherId + ".slice/libpod-" + kAppId + ".scope", ContainerRuntime::kPodman},
      {"/system.slice/crio-" + kAppId + ".scope", "/system.slice/crio-" + kAppId + ".scope", ContainerRuntime::kCrio},
      {"/system.slice/docker-" + kAppId + ".scope", "/system.slice/docker-" + kAppId + ".scope", ContainerRuntime::kDocker},
      {"/docker/" + kAppId, "/docker/" + kAppId, ContainerRuntime::kDocker},
      {"/docker/" + kAppId + "/sub", "/docker/" + kAppId, ContainerRuntime::kDocker},
      {"/system.slice/cri-containerd-" + kAppId + ".scope", "/system.slice/cri-containerd-" + kAppId + ".scope",
       ContainerRuntime::kContainerd},
      // A kubelet container cgroup reads as parseKubeCgroupPath reads it.
      {"/kubepods/burstable/pod" + kUid + "/" + kAppId, "/kubepods/burstable/pod" + kUid + "/" + kAppId, ContainerRuntime::kUnknown},
      // Nested: a podman container inside a Docker container is the podman one.
      {"/docker/" + kOtherId + "/libpod_parent/libpod-" + kAppId, "/docker/" + kOtherId + "/libpod_parent/libpod-" + kAppId,
       ContainerRuntime::kPodman},
  };
  for (const auto& c : cases) {
    auto r = parseContainerCgroupPath(c.path);
    ASSERT_TRUE(r.has_value()) << c.path;
    EXPECT_EQ(r->cgroup, c.cgroup) << c.path;
    EXPECT_EQ(r->runtime, c.runtime) << c.path;
    EXPECT_EQ(r->id, c.path.find(kAppId) != std::string::npos ? kAppId : kOtherId) << c.path;
  }
}

TEST(ParseContainerCgroupPath, MonitorsPodsAndStrayHexAreNoContainers) {
  for (const std::string& p : std::vector<std::string>{
           "/", "/libpod_parent", "/libpod_parent/conmon", "/machine.slice/libpod-conmon-" + kAppId + ".scope",
           "/kubepods/burstable/pod" + kUid + "/crio-conmon-" + kAppId, "/kubepods/burstable/pod" + kUid,
           "/machine.slice/" + kAppId,  // a bare hex name outside kubelet's tree and not below "docker"
           "/system.slice/libpod-" + kAppId.substr(0, 11) + ".scope", "/system.slice/docker-zz" + kAppId.substr(2) + ".scope"}) {
    EXPECT_FALSE(parseContainerCgroupPath(p).has_value()) << p;
  }
}

TEST(RuntimeOfContainerIdScheme, NamesTheRuntimeOfEachStatusForm) {
  EXPECT_EQ(runtimeOfContainerIdScheme("containerd://" + kAppId), ContainerRuntime::kContainerd);
  EXPECT_EQ(runtimeOfContainerIdScheme("cri-o://" + kAppId), ContainerRuntime::kCrio);
  EXPECT_EQ(runtimeOfContainerIdScheme(" docker://" + kAppId), ContainerRuntime::kDocker);
  EXPECT_EQ(runtimeOfContainerIdScheme("CONTAINERD://" + kAppId), ContainerRuntime::kContainerd);
  EXPECT_EQ(runtimeOfContainerIdScheme(kAppId), ContainerRuntime::kUnknown);
  EXPECT_EQ(runtimeOfContainerIdScheme("rkt://" + kAppId), ContainerRuntime::kUnknown);
  EXPECT_EQ(runtimeOfContainerIdScheme("containerd://"), ContainerRuntime::kUnknown);
}

TEST(MatchContainerId, FindsRuntimesOwnNamesOncePerContainer) {
  const std::vector<std::string> paths{"/libpod_parent",
                                       "/libpod_parent/conmon",
                                       "/libpod_parent/libpod-" + kAppId,
                                       "/machine.slice",
                                       "/machine.slice/libpod-" + kOtherId + ".scope",
                                       "/machine.slice/libpod-" + kOtherId + ".scope/container"};
  auto a = matchContainerId(paths, kAppId.substr(0, 12));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].cgroup, "/libpod_parent/libpod-" + kAppId);
  auto b = matchContainerId(paths, kOtherId);
  ASSERT_EQ(b.size(), 1u) << "the scope and its container sub-cgroup are one container";
  EXPECT_EQ(b[0].cgroup, "/machine.slice/libpod-" + kOtherId + ".scope");
}

// --- Pure: cgroup namespaces ---------------------------------------------------------------------

TEST(JoinNamespacedCgroup, WithoutNamespaceIsThePathItself) {
  EXPECT_EQ(joinNamespacedCgroup("/", "/kubepods/pod1").valueOr(std::nullopt), std::optional<std::string>("/kubepods/pod1"));
  EXPECT_EQ(joinNamespacedCgroup("/", "/").valueOr(std::nullopt), std::optional<std::string>("/"));
}

TEST(JoinNamespacedCgroup, SubTreeMountStripsItsRoot) {
  EXPECT_EQ(joinNamespacedCgroup("/docker/abc", "/docker/abc/x/y").valueOr(std::nullopt), std::optional<std::string>("/x/y"));
  EXPECT_EQ(joinNamespacedCgroup("/docker/abc", "/docker/abc").valueOr(std::nullopt), std::optional<std::string>("/"));
  auto out = joinNamespacedCgroup("/docker/abc", "/docker/abcd/x");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().sys_errno, EXDEV);
}

TEST(JoinNamespacedCgroup, HostMountSeenFromANamespaceJoinsWhenBothClimbEqually) {
  // Reader's namespace root is 3 levels deep; the host mount shows "/../../..", a host process
  // outside the reader's branch is printed up to the hierarchy root and down again.
  EXPECT_EQ(joinNamespacedCgroup("/../../..", "/../../../system.slice/kubelet.service").valueOr(std::nullopt),
            std::optional<std::string>("/system.slice/kubelet.service"));
}

TEST(JoinNamespacedCgroup, UnequalClimbsCannotBeDecidedFromTheStrings) {
  auto r = joinNamespacedCgroup("/../../..", "/../pod" + kUid + "/" + kAppId);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(namespacedTail("/../pod" + kUid + "/" + kAppId), "/pod" + kUid + "/" + kAppId);
  EXPECT_EQ(namespacedTail("/../.."), "/");
}

TEST(JoinNamespacedCgroup, RejectsRelativePaths) {
  EXPECT_FALSE(joinNamespacedCgroup("/", "kubepods").ok());
  EXPECT_FALSE(joinNamespacedCgroup("", "/x").ok());
}

// --- Pure: runtime metadata ----------------------------------------------------------------------

TEST(ParseContainerMeta, ContainerdAnnotations) {
  auto m = parseContainerMeta(R"({"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-type":"container",
      "io.kubernetes.cri.container-name":"app","io.kubernetes.cri.sandbox-uid":"x"}})");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->name, std::optional<std::string>("app"));
  EXPECT_FALSE(m->sandbox);
  auto s = parseContainerMeta(R"({"annotations":{"io.kubernetes.cri.container-type":"sandbox"}})");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->sandbox);
  EXPECT_FALSE(s->name.has_value());
}

TEST(ParseContainerMeta, CrioLabelsAndDockerLabels) {
  auto c = parseContainerMeta(R"({"annotations":{"io.kubernetes.cri-o.ContainerType":"container",
      "io.kubernetes.cri-o.Labels":"{\"io.kubernetes.container.name\":\"web\",\"io.kubernetes.pod.uid\":\"u\"}"}})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name, std::optional<std::string>("web"));
  auto cs = parseContainerMeta(R"({"annotations":{"io.kubernetes.cri-o.ContainerType":"sandbox",
      "io.kubernetes.cri-o.Labels":"{\"io.kubernetes.container.name\":\"POD\"}"}})");
  ASSERT_TRUE(cs.ok());
  EXPECT_TRUE(cs->sandbox);
  EXPECT_FALSE(cs->name.has_value()) << "a sandbox has no container name";
  auto d = parseContainerMeta(R"({"Config":{"Labels":{"io.kubernetes.container.name":"db","io.kubernetes.docker.type":"container"}}})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->name, std::optional<std::string>("db"));
  EXPECT_FALSE(parseContainerMeta("not json").ok());
  EXPECT_FALSE(parseContainerMeta("[1,2]").ok());
}

// --- Fixture trees ---------------------------------------------------------------------------------

// A cgroup directory with the memory files of `v`. limit 0 means none set (v1 huge value, v2 "max").
FsEntry cg(const std::string& name, CgroupVersion v, std::uint64_t limit_bytes, std::uint64_t usage_bytes, const std::vector<int>& pids,
           std::vector<FsEntry> children = {}) {
  std::string procs;
  for (int p : pids) procs += std::to_string(p) + "\n";
  std::vector<FsEntry> f;
  if (v == CgroupVersion::kV1) {
    f = {file("memory.limit_in_bytes", limit_bytes == 0 ? "9223372036854771712\n" : std::to_string(limit_bytes) + "\n"),
         file("memory.usage_in_bytes", std::to_string(usage_bytes) + "\n"), file("memory.use_hierarchy", "1\n"),
         file("cgroup.procs", procs)};
  } else {
    f = {file("memory.max", limit_bytes == 0 ? "max\n" : std::to_string(limit_bytes) + "\n"),
         file("memory.current", std::to_string(usage_bytes) + "\n"), file("cgroup.procs", procs)};
  }
  for (auto& c : children) f.push_back(std::move(c));
  return dir(name, std::move(f));
}

// Nests `leaf_children` below the chain of cgroup names (outermost first), no limits on the way.
FsEntry chain(const std::vector<std::string>& names, CgroupVersion v, std::vector<FsEntry> leaf_children, std::uint64_t leaf_limit) {
  FsEntry e = cg(names.back(), v, leaf_limit, 300 * MiB, {}, std::move(leaf_children));
  for (std::size_t i = names.size() - 1; i-- > 0;) e = cg(names[i], v, 0, 900 * MiB, {}, {e});
  return e;
}

struct Layout {
  std::string name;
  CgroupVersion version;
  CgroupDriver driver;
  ContainerRuntime runtime;
  QosClass qos;
  std::vector<std::string> pod_chain;  ///< cgroup names from below the mount down to the pod
  std::string ctr_prefix, ctr_suffix;  ///< around the id in the container's cgroup name
  std::string pod_path() const {
    std::string p;
    for (const auto& c : pod_chain) p += "/" + c;
    return p;
  }
};

std::ostream& operator<<(std::ostream& os, const Layout& l) { return os << l.name; }

std::vector<std::string> systemdChain(const std::string& qos) {
  if (qos.empty()) return {"kubepods.slice", "kubepods-pod" + kUidSystemd + ".slice"};
  return {"kubepods.slice", "kubepods-" + qos + ".slice", "kubepods-" + qos + "-pod" + kUidSystemd + ".slice"};
}
std::vector<std::string> cgroupfsChain(const std::string& qos) {
  if (qos.empty()) return {"kubepods", "pod" + kUid};
  return {"kubepods", qos, "pod" + kUid};
}

const CgroupVersion V1 = CgroupVersion::kV1;
const CgroupVersion V2 = CgroupVersion::kV2;

const Layout kLayouts[] = {
    {"v1_cgroupfs_containerd_burstable", V1, CgroupDriver::kCgroupfs, ContainerRuntime::kUnknown, QosClass::kBurstable,
     cgroupfsChain("burstable"), "", ""},
    {"v1_cgroupfs_docker_guaranteed", V1, CgroupDriver::kCgroupfs, ContainerRuntime::kUnknown, QosClass::kGuaranteed, cgroupfsChain(""), "",
     ""},
    {"v1_cgroupfs_crio_besteffort", V1, CgroupDriver::kCgroupfs, ContainerRuntime::kCrio, QosClass::kBestEffort,
     cgroupfsChain("besteffort"), "crio-", ""},
    {"v1_systemd_docker_burstable", V1, CgroupDriver::kSystemd, ContainerRuntime::kDocker, QosClass::kBurstable, systemdChain("burstable"),
     "docker-", ".scope"},
    {"v1_systemd_containerd_guaranteed", V1, CgroupDriver::kSystemd, ContainerRuntime::kContainerd, QosClass::kGuaranteed, systemdChain(""),
     "cri-containerd-", ".scope"},
    {"v2_systemd_containerd_burstable", V2, CgroupDriver::kSystemd, ContainerRuntime::kContainerd, QosClass::kBurstable,
     systemdChain("burstable"), "cri-containerd-", ".scope"},
    {"v2_systemd_crio_besteffort", V2, CgroupDriver::kSystemd, ContainerRuntime::kCrio, QosClass::kBestEffort, systemdChain("besteffort"),
     "crio-", ".scope"},
    {"v2_systemd_docker_guaranteed", V2, CgroupDriver::kSystemd, ContainerRuntime::kDocker, QosClass::kGuaranteed, systemdChain(""),
     "docker-", ".scope"},
    {"v2_cgroupfs_containerd_guaranteed", V2, CgroupDriver::kCgroupfs, ContainerRuntime::kUnknown, QosClass::kGuaranteed, cgroupfsChain(""),
     "", ""},
    {"v2_cgroupfs_crio_burstable", V2, CgroupDriver::kCgroupfs, ContainerRuntime::kCrio, QosClass::kBurstable, cgroupfsChain("burstable"),
     "crio-", ""},
};

constexpr int kAppPid = 4242, kAppPid2 = 4250, kPausePid = 4100, kOtherPid = 5000;

// A node's memory mount with one pod (a pause sandbox, an application container with two
// processes, 128 MiB on the container and 256 MiB on the pod; CRI-O also gets its conmon cgroup)
// and a second pod that must never match; plus a /proc with those processes.
class LocateLayoutTest : public ::testing::TestWithParam<Layout> {
 protected:
  void SetUp() override {
    const Layout& l = GetParam();
    app_ = l.pod_path() + "/" + l.ctr_prefix + kAppId + l.ctr_suffix;
    std::vector<FsEntry> pod_children{
        cg(l.ctr_prefix + kSandboxId + l.ctr_suffix, l.version, 0, 1 * MiB, {kPausePid}),
        cg(l.ctr_prefix + kAppId + l.ctr_suffix, l.version, 128 * MiB, 40 * MiB, {kAppPid2, kAppPid}),
    };
    if (l.runtime == ContainerRuntime::kCrio) {
      pod_children.push_back(cg("crio-conmon-" + kAppId + l.ctr_suffix, l.version, 0, 1 * MiB, {4300}));
    }
    FsEntry tree = chain(l.pod_chain, l.version, std::move(pod_children), 256 * MiB);
    // The other pod, beside the first one in the same parent.
    std::vector<std::string> other_chain = l.pod_chain;
    const std::string other_pod =
        l.driver == CgroupDriver::kSystemd
            ? std::string(other_chain.back())
                  .replace(other_chain.back().find(kUidSystemd), kUidSystemd.size(), "11111111_2222_3333_4444_555555555555")
            : "pod" + kOtherUid;
    FsEntry* parent = &tree;
    for (std::size_t i = 1; i + 1 < other_chain.size(); ++i) parent = &parent->children.back();
    parent->children.push_back(
        cg(other_pod, l.version, 0, 5 * MiB, {}, {cg(l.ctr_prefix + kOtherId + l.ctr_suffix, l.version, 0, 5 * MiB, {kOtherPid})}));

    const std::string v1_prefix = "12:memory:";
    auto cgroup_line = [&](const std::string& path) {
      return l.version == V1 ? "13:pids:/\n" + v1_prefix + path + "\n1:name=systemd:/\n" : "0::" + path + "\n";
    };
    fx_ = std::make_unique<FsFixture>(std::vector<FsEntry>{
        cg("mnt", l.version, 0, 2000 * MiB, {1}, {tree}),
        dir("proc",
            {dir(std::to_string(kAppPid), {file("cgroup", cgroup_line(app_)), file("comm", "demo-target\n")}),
             dir(std::to_string(kAppPid2), {file("cgroup", cgroup_line(app_)), file("comm", "demo-target\n")}),
             dir(std::to_string(kPausePid),
                 {file("cgroup", cgroup_line(l.pod_path() + "/" + l.ctr_prefix + kSandboxId + l.ctr_suffix)), file("comm", "pause\n")})}),
    });
    ASSERT_TRUE(fx_->ok()) << fx_->error();
    fs_.emplace(fx_->path("mnt"), l.version);
    opts_.proc_root = fx_->path("proc");
    opts_.host_root = fx_->path("no-host");  // no runtime metadata: names unknown, pause found by comm
  }

  /// `runtime`: what the result must say, when not the one the layout's cgroup names say.
  void expectApp(const LocateResult& r, const std::string& matched_by, std::optional<ContainerRuntime> runtime = std::nullopt) {
    const Layout& l = GetParam();
    EXPECT_EQ(r.matched_by, matched_by);
    EXPECT_EQ(r.cgroup, app_);
    EXPECT_EQ(r.version, l.version);
    EXPECT_EQ(r.usage_bytes, 40 * MiB);
    EXPECT_EQ(r.effective_limit_bytes, 128 * MiB);
    EXPECT_EQ(r.limit_cgroup, app_);
    EXPECT_EQ(r.pids, (std::vector<pid_t>{kAppPid, kAppPid2}));
    ASSERT_TRUE(r.kube.has_value());
    EXPECT_EQ(r.kube->pod_uid, kUid);
    EXPECT_EQ(r.kube->pod_cgroup, l.pod_path());
    EXPECT_EQ(r.kube->container_id, kAppId);
    EXPECT_EQ(r.kube->driver, l.driver);
    EXPECT_EQ(r.kube->qos, l.qos);
    EXPECT_EQ(r.kube->runtime, runtime.value_or(l.runtime));
    ASSERT_TRUE(r.container.has_value());
    EXPECT_EQ(r.container->cgroup, app_);
    EXPECT_EQ(r.container->id, kAppId);
    EXPECT_EQ(r.container->runtime, runtime.value_or(l.runtime));
  }

  std::unique_ptr<FsFixture> fx_;
  std::optional<CgroupFs> fs_;
  LocateOptions opts_;
  std::string app_;
};

TEST_P(LocateLayoutTest, ByPodUidPicksTheApplicationContainerNotTheSandboxOrConmon) {
  auto r = locateByPodUid(*fs_, kUid, opts_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  expectApp(*r, "pod-uid");
  EXPECT_EQ(r->main_pid, std::optional<pid_t>(kAppPid)) << "lowest member";
  ASSERT_EQ(r->pod_containers.size(), 2u);
  int sandboxes = 0;
  for (const auto& c : r->pod_containers) sandboxes += c.sandbox ? 1 : 0;
  EXPECT_EQ(sandboxes, 1);
}

TEST_P(LocateLayoutTest, ByPodUidInSystemdSpelling) {
  auto r = locateByPodUid(*fs_, kUidSystemd, opts_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cgroup, app_);
}

TEST_P(LocateLayoutTest, ByContainerIdFullPrefixAndStatusForm) {
  for (const std::string& id : std::vector<std::string>{kAppId, kAppId.substr(0, 12)}) {
    auto r = locateByContainerId(*fs_, id, opts_);
    ASSERT_TRUE(r.ok()) << id << ": " << r.error().message;
    expectApp(*r, "container-id");
    EXPECT_TRUE(r->pod_containers.empty());
  }
  // The status form's scheme names the runtime where the cgroup's name (a bare id) does not.
  const std::pair<std::string, ContainerRuntime> schemes[] = {
      {"containerd://", ContainerRuntime::kContainerd}, {"cri-o://", ContainerRuntime::kCrio}, {"docker://", ContainerRuntime::kDocker}};
  for (const auto& [scheme, runtime] : schemes) {
    auto r = locateByContainerId(*fs_, scheme + kAppId, opts_);
    ASSERT_TRUE(r.ok()) << scheme << ": " << r.error().message;
    const ContainerRuntime named = GetParam().runtime;
    expectApp(*r, "container-id", named == ContainerRuntime::kUnknown ? runtime : named);
  }
}

TEST_P(LocateLayoutTest, ByPidKeepsTheGivenPidAsMain) {
  auto r = locateByPid(*fs_, kAppPid2, opts_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  expectApp(*r, "pid");
  EXPECT_EQ(r->main_pid, std::optional<pid_t>(kAppPid2));
}

TEST_P(LocateLayoutTest, UnknownPodAndContainerAreNotFound) {
  auto p = locateByPodUid(*fs_, "99999999-9999-9999-9999-999999999999", opts_);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().sys_errno, kLocateNotFound);
  EXPECT_NE(p.error().message.find(fs_->mount()), std::string::npos) << p.error().message;
  auto c = locateByContainerId(*fs_, "ffffffffffff", opts_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().sys_errno, kLocateNotFound);
  auto pid = locateByPid(*fs_, 777, opts_);
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().sys_errno, kLocateNotFound);
}

INSTANTIATE_TEST_SUITE_P(Layouts, LocateLayoutTest, ::testing::ValuesIn(kLayouts),
                         [](const ::testing::TestParamInfo<Layout>& i) { return i.param.name; });

// --- Ambiguity, names and odd pods ---------------------------------------------------------------

// v2, systemd driver, containerd: one pod with two application containers ("app", "sidecar"),
// with runtime metadata where the test asks for it.
class LocateTwoContainersTest : public ::testing::Test {
 protected:
  const std::string pod_ = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd + ".slice";
  const std::string sidecar_id_ = kAppId.substr(0, 12) + hex64("99").substr(12);  // shares a 12-digit prefix with app

  void build(bool with_meta) {
    auto meta = [](const std::string& id, const std::string& body) { return dir(id, {file("config.json", body)}); };
    std::vector<FsEntry> host;
    if (with_meta) {
      host.push_back(dir(
          "run",
          {dir(
              "containerd",
              {dir(
                  "io.containerd.runtime.v2.task",
                  {dir(
                      "k8s.io",
                      {
                          meta(
                              kAppId,
                              R"({"annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"app"}})"),
                          meta(
                              sidecar_id_,
                              R"({"annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"sidecar"}})"),
                          meta(kSandboxId, R"({"annotations":{"io.kubernetes.cri.container-type":"sandbox"}})"),
                      })})})}));
    }
    fx_ = std::make_unique<FsFixture>(std::vector<FsEntry>{
        cg("mnt", V2, 0, 0, {},
           {chain({"kubepods.slice", "kubepods-burstable.slice", "kubepods-burstable-pod" + kUidSystemd + ".slice"}, V2,
                  {cg("cri-containerd-" + kSandboxId + ".scope", V2, 0, MiB, {10}),
                   cg("cri-containerd-" + kAppId + ".scope", V2, 0, 30 * MiB, {20}),
                   cg("cri-containerd-" + sidecar_id_ + ".scope", V2, 64 * MiB, 10 * MiB, {30})},
                  512 * MiB)}),
        dir("proc",
            {dir("10", {file("comm", "pause\n")}), dir("20", {file("comm", "demo-target\n")}), dir("30", {file("comm", "envoy\n")})}),
        dir("host", std::move(host)),
    });
    ASSERT_TRUE(fx_->ok()) << fx_->error();
    fs_.emplace(fx_->path("mnt"), V2);
    opts_.proc_root = fx_->path("proc");
    opts_.host_root = fx_->path("host");
  }

  std::unique_ptr<FsFixture> fx_;
  std::optional<CgroupFs> fs_;
  LocateOptions opts_;
};

TEST_F(LocateTwoContainersTest, PodUidWithTwoApplicationContainersIsAmbiguousAndListsThem) {
  build(false);
  auto r = locateByPodUid(*fs_, kUid, opts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, kLocateAmbiguous);
  EXPECT_NE(r.error().message.find(kAppId), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(sidecar_id_), std::string::npos);
  EXPECT_NE(r.error().message.find("(sandbox)"), std::string::npos) << "the listing marks the sandbox";
  EXPECT_NE(r.error().message.find("--container-id"), std::string::npos) << "and says what to do";
}

TEST_F(LocateTwoContainersTest, ContainerIdPrefixSharedByTwoIsAmbiguousLongerPrefixIsNot) {
  build(false);
  auto r = locateByContainerId(*fs_, kAppId.substr(0, 12), opts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, kLocateAmbiguous);
  EXPECT_NE(r.error().message.find(kAppId), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(sidecar_id_), std::string::npos);
  auto ok = locateByContainerId(*fs_, sidecar_id_.substr(0, 16), opts_);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->cgroup, pod_ + "/cri-containerd-" + sidecar_id_ + ".scope");
  EXPECT_EQ(ok->effective_limit_bytes, 64 * MiB);
}

TEST_F(LocateTwoContainersTest, ContainerNameFromContainerdMetadata) {
  build(true);
  opts_.container_name = "sidecar";
  auto r = locateByPodUid(*fs_, kUid, opts_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kube->container_id, sidecar_id_);
  EXPECT_EQ(r->container_name, std::optional<std::string>("sidecar"));
  EXPECT_EQ(r->main_pid, std::optional<pid_t>(30));
  opts_.container_name = "app";
  auto a = locateByPodUid(*fs_, kUid, opts_);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->kube->container_id, kAppId);
  EXPECT_EQ(a->effective_limit_bytes, 512 * MiB) << "no limit of its own: the pod's";
  EXPECT_EQ(a->limit_cgroup, pod_);
}

TEST_F(LocateTwoContainersTest, UnknownContainerNameIsNotFound) {
  build(true);
  opts_.container_name = "nope";
  auto r = locateByPodUid(*fs_, kUid, opts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, kLocateNotFound);
  EXPECT_NE(r.error().message.find("no container named \"nope\""), std::string::npos) << r.error().message;
}

TEST_F(LocateTwoContainersTest, ContainerNameWithoutMetadataSaysWhyAndWhatToDoInstead) {
  build(false);
  opts_.container_name = "app";
  auto r = locateByPodUid(*fs_, kUid, opts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, kLocateNotFound);
  EXPECT_NE(r.error().message.find("cgroupfs does not record container names"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("--container-id"), std::string::npos);
}

TEST(LocateOddPods, PodWhoseOnlyContainerIsTheSandboxIsNotFound) {
  FsFixture fx({cg("mnt", V1, 0, 0, {}, {chain({"kubepods", "besteffort", "pod" + kUid}, V1, {cg(kSandboxId, V1, 0, MiB, {10})}, 0)}),
                dir("proc", {dir("10", {file("comm", "pause\n")})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("mnt"), V1);
  LocateOptions opts;
  opts.proc_root = fx.path("proc");
  opts.host_root = fx.path("none");
  auto r = locateByPodUid(fs, kUid, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, kLocateNotFound);
  EXPECT_NE(r.error().message.find("no container with processes besides the sandbox"), std::string::npos) << r.error().message;
}

TEST(LocateOddPods, NestedKindNodeBelowAPrefix) {
  const std::string node = "docker-" + kOtherId + ".scope";
  FsFixture fx(
      {cg("mnt", V2, 0, 0, {},
          {chain({"system.slice", node, "kubepods", "burstable", "pod" + kUid}, V2, {cg(kAppId, V2, 0, 7 * MiB, {20})}, 100 * MiB)}),
       dir("proc", {dir("20", {file("comm", "demo-target\n")})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("mnt"), V2);
  LocateOptions opts;
  opts.proc_root = fx.path("proc");
  auto r = locateByPodUid(fs, kUid, opts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cgroup, "/system.slice/" + node + "/kubepods/burstable/pod" + kUid + "/" + kAppId);
  EXPECT_EQ(r->effective_limit_bytes, 100 * MiB);
}

// --- A cgroup namespace -------------------------------------------------------------------------

// The reader (memstrain in a pod with hostPID and its own cgroup namespace) sits in
// /kubepods/burstable/pod<other>/<other id>; the host's v2 hierarchy is mounted at mnt and
// mountinfo shows its root as "/../../../..". The target runs in another pod of the same QoS
// class, so /proc/PID/cgroup climbs only two levels; a host daemon climbs all four.
class LocateNamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_ = std::make_unique<FsFixture>(std::vector<FsEntry>{
        cg("mnt", V2, 0, 0, {1},
           {cg("kubepods", V2, 0, 0, {},
               {cg("burstable", V2, 0, 0, {},
                   {cg("pod" + kUid, V2, 256 * MiB, 50 * MiB, {}, {cg(kAppId, V2, 0, 50 * MiB, {4242})}),
                    cg("pod" + kOtherUid, V2, 0, 0, {}, {cg(kOtherId, V2, 0, 0, {77})})})}),
            cg("system.slice", V2, 0, 0, {}, {cg("kubelet.service", V2, 0, 60 * MiB, {900})})}),
        dir("proc",
            {dir("4242", {file("cgroup", "0::/../../pod" + kUid + "/" + kAppId + "\n")}),
             dir("900", {file("cgroup", "0::/../../../../system.slice/kubelet.service\n")}), dir("77", {file("cgroup", "0::/\n")})}),
    });
    ASSERT_TRUE(fx_->ok()) << fx_->error();
    fs_.emplace(fx_->path("mnt"), V2, "/../../../..");
    opts_.proc_root = fx_->path("proc");
  }
  std::unique_ptr<FsFixture> fx_;
  std::optional<CgroupFs> fs_;
  LocateOptions opts_;
};

TEST_F(LocateNamespaceTest, TargetInAnotherPodIsFoundByItsTailAndMembership) {
  auto r = locateByPid(*fs_, 4242, opts_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cgroup, "/kubepods/burstable/pod" + kUid + "/" + kAppId);
  ASSERT_TRUE(r->kube.has_value());
  EXPECT_EQ(r->kube->pod_uid, kUid);
  EXPECT_EQ(r->effective_limit_bytes, 256 * MiB);
  EXPECT_EQ(r->main_pid, std::optional<pid_t>(4242));
}

TEST_F(LocateNamespaceTest, HostDaemonJoinsLexically) {
  auto r = locateByPid(*fs_, 900, opts_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cgroup, "/system.slice/kubelet.service");
  EXPECT_FALSE(r->kube.has_value());
}

TEST_F(LocateNamespaceTest, OwnNamespaceRootIsFoundByMembership) {
  auto r = locateByPid(*fs_, 77, opts_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cgroup, "/kubepods/burstable/pod" + kOtherUid + "/" + kOtherId);
}

TEST_F(LocateNamespaceTest, PidListedNowhereIsAnErrorWithContext) {
  ASSERT_TRUE(fx_->replace("mnt/kubepods/burstable/pod" + kUid + "/" + kAppId + "/cgroup.procs", "").ok());
  auto r = locateByPid(*fs_, 4242, opts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, EXDEV);
  EXPECT_NE(r.error().message.find("/../../pod" + kUid), std::string::npos) << r.error().message;
}

TEST_F(LocateNamespaceTest, PodUidAndContainerIdDoNotDependOnTheNamespace) {
  auto p = locateByPodUid(*fs_, kUid, opts_);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->cgroup, "/kubepods/burstable/pod" + kUid + "/" + kAppId);
  auto c = locateByContainerId(*fs_, kOtherId.substr(0, 20), opts_);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->cgroup, "/kubepods/burstable/pod" + kOtherUid + "/" + kOtherId);
}

// --- listCgroups --------------------------------------------------------------------------------

TEST(VisibleProcesses, TheCgroupAndItsSubCgroupsAscending) {
  FsFixture fx({cg("mnt", V1, 0, 0, {1},
                   {cg("ctr", V1, 0, 9 * MiB, {30, 10}, {cg("sub", V1, 0, 1 * MiB, {20, 10})}), cg("empty", V1, 0, 7 * MiB, {})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("mnt"), V1);
  EXPECT_EQ(visibleProcesses(fs, "/ctr").valueOr({}), (std::vector<pid_t>{10, 20, 30}));
  auto none = visibleProcesses(fs, "/empty");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(visibleProcesses(fs, "/gone").ok());
}

TEST(HiddenProcessesExplanation, ChargedSaysWhyEmptySaysNothingRuns) {
  const std::string charged = hiddenProcessesExplanation("/kubepods/pod/ctr", 7 * MiB);
  EXPECT_NE(charged.find("cgroup /kubepods/pod/ctr is charged 7.00 MiB but lists no process memstrain can see"), std::string::npos)
      << charged;
  EXPECT_NE(charged.find("another pid namespace"), std::string::npos);
  EXPECT_NE(charged.find("cannot tell whether the target died"), std::string::npos);
  EXPECT_EQ(hiddenProcessesExplanation("/x", 0), "cgroup /x has no processes and no memory charged: nothing runs there");
}

TEST(ListCgroups, ParentsFirstSortedAndDepthLimited) {
  FsFixture fx({dir("mnt", {file("cgroup.procs", ""), dir("b", {dir("x", {dir("deep")})}), dir("a")})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  CgroupFs fs(fx.path("mnt"), V2);
  auto all = listCgroups(fs, 16);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(*all, (std::vector<std::string>{"/a", "/b", "/b/x", "/b/x/deep"}));
  auto two = listCgroups(fs, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, (std::vector<std::string>{"/a", "/b", "/b/x"}));
}

TEST(ListCgroups, MissingMountIsAnErrorNamingIt) {
  CgroupFs fs("/nonexistent-memstrain-mount", V2);
  auto all = listCgroups(fs);
  ASSERT_FALSE(all.ok());
  EXPECT_NE(all.error().message.find("/nonexistent-memstrain-mount"), std::string::npos) << all.error().message;
}

// --- The command line -----------------------------------------------------------------------------

class LocateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_ = std::make_unique<FsFixture>(std::vector<FsEntry>{
        cg("mnt", V1, 0, 0, {1}, {chain(cgroupfsChain("burstable"), V1, {cg(kAppId, V1, 64 * MiB, 3 * MiB, {4242})}, 0)}),
        dir("proc", {dir("4242", {file("cgroup", "4:memory:/kubepods/burstable/pod" + kUid + "/" + kAppId + "\n"),
                                  file("comm", "demo-target\n")})}),
    });
    ASSERT_TRUE(fx_->ok()) << fx_->error();
  }
  int run(std::vector<std::string> args) {
    out_.str("");
    log_.clear();
    for (const std::string& a : std::vector<std::string>{"--cgroup-mount", fx_->path("mnt"), "--cgroup-version", "1", "--proc-root",
                                                         fx_->path("proc"), "--host-root", fx_->path("none")}) {
      args.push_back(a);
    }
    return runLocateCommand(args, out_);
  }
  std::string err() const { return log_.text(); }
  std::unique_ptr<FsFixture> fx_;
  std::ostringstream out_;
  LogCapture log_;
};

TEST_F(LocateCliTest, JsonHasEveryKeyAlways) {
  ASSERT_EQ(run({"--pod-uid", kUid, "--json"}), 0) << err();
  const auto j = nlohmann::json::parse(out_.str());
  const std::string cgroup = "/kubepods/burstable/pod" + kUid + "/" + kAppId;
  EXPECT_EQ(j["matched_by"], "pod-uid");
  EXPECT_EQ(j["cgroup"], cgroup);
  EXPECT_EQ(j["cgroup_version"], "v1");
  EXPECT_EQ(j["mount"], fx_->path("mnt"));
  EXPECT_EQ(j["effective_limit_bytes"], 64 * MiB);
  EXPECT_EQ(j["limit_cgroup"], cgroup);
  EXPECT_EQ(j["usage_bytes"], 3 * MiB);
  EXPECT_EQ(j["pids"], nlohmann::json::array({4242}));
  EXPECT_EQ(j["main_pid"], 4242);
  EXPECT_EQ(j["pod_uid"], kUid);
  EXPECT_EQ(j["pod_cgroup"], "/kubepods/burstable/pod" + kUid);
  EXPECT_EQ(j["qos_class"], "burstable");
  EXPECT_EQ(j["cgroup_driver"], "cgroupfs");
  EXPECT_EQ(j["container_id"], kAppId);
  EXPECT_EQ(j["container_runtime"], "unknown");
  EXPECT_TRUE(j["container_name"].is_null());
  EXPECT_EQ(j["containers"].size(), 1u);
  EXPECT_EQ(j.size(), 17u) << "stable key set: " << j.dump();
  EXPECT_EQ(out_.str().find('\n'), out_.str().size() - 1) << "one line";
}

TEST_F(LocateCliTest, JsonForAPidOutsideKubeletHasNullKubeKeys) {
  ASSERT_TRUE(fx_->replace("proc/4242/cgroup", "4:memory:/\n").ok());
  ASSERT_EQ(run({"--pid", "4242", "--json"}), 0) << err();
  const auto j = nlohmann::json::parse(out_.str());
  EXPECT_EQ(j["cgroup"], "/");
  EXPECT_TRUE(j["pod_uid"].is_null());
  EXPECT_TRUE(j["container_id"].is_null());
  EXPECT_TRUE(j["effective_limit_bytes"].is_null()) << "unlimited";
  EXPECT_EQ(j.size(), 17u);
}

TEST_F(LocateCliTest, StatusFormOnABareCgroupNameGivesTheSchemesRuntime) {
  ASSERT_EQ(run({"--container-id", "containerd://" + kAppId, "--json"}), 0) << err();
  EXPECT_EQ(nlohmann::json::parse(out_.str())["container_runtime"], "containerd");
  ASSERT_EQ(run({"--container-id", "cri-o://" + kAppId.substr(0, 12), "--json"}), 0) << err();
  EXPECT_EQ(nlohmann::json::parse(out_.str())["container_runtime"], "cri-o");
}

// A podman container (cgroupfs manager, as podman 4.3 lays it out): found by id, no pod.
TEST(LocateCli, PodmanContainerByIdAndByPid) {
  FsFixture fx({
      cg("mnt", V1, 0, 0, {1},
         {cg("libpod_parent", V1, 0, 20 * MiB, {},
             {cg("conmon", V1, 0, 1 * MiB, {900}), cg("libpod-" + kAppId, V1, 256 * MiB, 9 * MiB, {4242})})}),
      dir("proc", {dir("4242", {file("cgroup", "4:memory:/libpod_parent/libpod-" + kAppId + "\n"), file("comm", "demo-target\n")})}),
  });
  ASSERT_TRUE(fx.ok()) << fx.error();
  for (const std::vector<std::string>& how :
       {std::vector<std::string>{"--container-id", kAppId.substr(0, 12)}, std::vector<std::string>{"--pid", "4242"}}) {
    std::vector<std::string> args = how;
    for (const std::string& a : std::vector<std::string>{"--json", "--cgroup-mount", fx.path("mnt"), "--cgroup-version", "1", "--proc-root",
                                                         fx.path("proc"), "--host-root", fx.path("none")}) {
      args.push_back(a);
    }
    std::ostringstream out;
    LogCapture log;
    ASSERT_EQ(runLocateCommand(args, out), 0) << how[0] << ": " << log.text();
    const auto j = nlohmann::json::parse(out.str());
    EXPECT_EQ(j["cgroup"], "/libpod_parent/libpod-" + kAppId);
    EXPECT_EQ(j["container_id"], kAppId);
    EXPECT_EQ(j["container_runtime"], "podman");
    EXPECT_TRUE(j["pod_uid"].is_null());
    EXPECT_EQ(j["effective_limit_bytes"], 256 * MiB);
    EXPECT_EQ(j["pids"], nlohmann::json::array({4242}));
  }
}

TEST_F(LocateCliTest, ACgroupWithoutVisibleProcessesIsFoundWithAWarning) {
  ASSERT_TRUE(fx_->replace("mnt/kubepods/burstable/pod" + kUid + "/" + kAppId + "/cgroup.procs", "").ok());
  ASSERT_EQ(run({"--container-id", kAppId, "--json"}), 0) << err();
  EXPECT_EQ(nlohmann::json::parse(out_.str())["pids"], nlohmann::json::array());
  EXPECT_NE(err().find("locate: cgroup /kubepods/burstable/pod" + kUid + "/" + kAppId +
                       " is charged 3.00 MiB but lists no process memstrain can see"),
            std::string::npos)
      << err();
  ASSERT_EQ(run({"--container-id", kAppId}), 0);
  EXPECT_NE(err().find("lists no process memstrain can see"), std::string::npos) << "text output warns too";
  // By pod UID the application container is the one with processes: none visible is not found,
  // and the error says why that may be (not found: exit 9).
  ASSERT_EQ(run({"--pod-uid", kUid}), 9);
  EXPECT_NE(err().find("another pid namespace"), std::string::npos) << err();
}

TEST_F(LocateCliTest, TextNamesCgroupLimitAndMainPid) {
  ASSERT_EQ(run({"--container-id", kAppId.substr(0, 12)}), 0) << err();
  const std::string o = out_.str();
  EXPECT_NE(o.find("cgroup           /kubepods/burstable/pod" + kUid + "/" + kAppId), std::string::npos) << o;
  EXPECT_NE(o.find("effective limit  64.0 MiB (67108864 bytes"), std::string::npos) << o;
  EXPECT_NE(o.find("main pid         4242"), std::string::npos) << o;
}

TEST_F(LocateCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}), 2);
  EXPECT_NE(err().find("exactly one of"), std::string::npos) << err();
  EXPECT_EQ(run({"--pid", "1", "--pod-uid", kUid}), 2);
  EXPECT_EQ(run({"--container-id", kAppId, "--container", "app"}), 2);
  EXPECT_NE(err().find("--container NAME needs --pod-uid"), std::string::npos) << err();
  EXPECT_EQ(run({"--container-id", "abc"}), 2) << "too short an id is malformed input";
  EXPECT_EQ(run({"--pid", "-4"}), 2);
  EXPECT_EQ(run({"--pid", "x"}), 2);
  EXPECT_EQ(run({"--bogus"}), 2);
  std::ostringstream out;
  EXPECT_EQ(runLocateCommand({"--pid", "1", "--cgroup-mount", "/x"}, out), 2) << "mount without version";
}

// Not found has its own exit code (9), apart from a run error's 3.
TEST_F(LocateCliTest, NotFoundAndAmbiguousExitNine) {
  EXPECT_EQ(run({"--pod-uid", kOtherUid}), 9);
  EXPECT_NE(err().find("no cgroup of pod " + kOtherUid), std::string::npos) << err();
  EXPECT_EQ(run({"--pid", "99999"}), 9);
  EXPECT_TRUE(out_.str().empty()) << "nothing on stdout when nothing was found";
}

TEST_F(LocateCliTest, HelpExplainsTheContainerNameLimit) {
  std::ostringstream out;
  EXPECT_EQ(runLocateCommand({"--help"}, out), 0);
  EXPECT_NE(out.str().find("cgroupfs does not record"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace memstrain
