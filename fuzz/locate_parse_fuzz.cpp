// libFuzzer target: the pure half of `memstrain locate` (src/discovery/locate.cpp) over untrusted
// bytes, fed the way locateByPid feeds it: /proc/PID/cgroup and mountinfo text are parsed, each
// cgroup path is joined with each mount's root (cgroup namespaces), and what comes out is read as
// a kubelet pod/container cgroup. The raw input also goes to every parser directly (a path, a pod
// UID, a container id, a runtime metadata file). Besides "no crash, no UB", it checks the
// properties callers rely on: canonical forms are fixed points, and what parseKubeCgroupPath says
// about a path it also says about the pod and container cgroups it names.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memstrain/cgroup/cgroup_parse.hpp"
#include "memstrain/discovery/locate.hpp"

namespace {

using namespace memstrain;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// What parseKubeCgroupPath returns must be self-consistent, whatever `rel` was.
void checkKube(std::string_view rel) {
  auto k = parseKubeCgroupPath(rel);
  if (!k) return;
  auto uid = normalizePodUid(k->pod_uid);
  check(uid.ok() && *uid == k->pod_uid);
  check(!k->pod_cgroup.empty() && k->pod_cgroup.front() == '/');

  // The pod cgroup alone reads as the same pod, without a container.
  auto pod = parseKubeCgroupPath(k->pod_cgroup);
  check(pod.has_value());
  check(pod->pod_uid == k->pod_uid && pod->pod_cgroup == k->pod_cgroup && pod->qos == k->qos && pod->driver == k->driver);
  check(pod->container_cgroup.empty() && pod->container_id.empty());
  check(matchPodUid({std::string(rel)}, k->pod_uid).size() == 1);

  if (k->container_cgroup.empty()) {
    check(k->container_id.empty());
    return;
  }
  check(k->container_cgroup.size() > k->pod_cgroup.size() + 1);
  check(k->container_cgroup.compare(0, k->pod_cgroup.size() + 1, k->pod_cgroup + "/") == 0);
  check(k->container_id.size() >= 12 && k->container_id.size() <= 64 && isLowerHex(k->container_id));
  auto id = normalizeContainerId(k->container_id);
  check(id.ok() && *id == k->container_id);
  auto ctr = parseKubeCgroupPath(k->container_cgroup);
  check(ctr.has_value());
  check(ctr->container_id == k->container_id && ctr->container_cgroup == k->container_cgroup && ctr->runtime == k->runtime &&
        ctr->pod_uid == k->pod_uid);
  // Any prefix of the id finds it again.
  const std::vector<std::string> paths{std::string(rel)};
  check(matchContainerId(paths, k->container_id.substr(0, 12)).size() == 1);
}

// What parseContainerCgroupPath returns names a container cgroup that reads as itself, at the
// start of `rel`, found again by any 12-digit prefix of its id.
void checkContainer(std::string_view rel) {
  auto c = parseContainerCgroupPath(rel);
  if (!c) return;
  check(c->id.size() >= 12 && c->id.size() <= 64 && isLowerHex(c->id));
  check(!c->cgroup.empty() && c->cgroup.front() == '/' && c->cgroup.size() <= rel.size() + 1);
  auto again = parseContainerCgroupPath(c->cgroup);
  check(again.has_value() && again->cgroup == c->cgroup && again->id == c->id && again->runtime == c->runtime);
  check(matchContainerId({std::string(rel)}, c->id.substr(0, 12)).size() == 1);
}

// A joined path is relative to the mount: absolute, no "." or ".." left, no empty component.
void checkJoined(std::string_view mount_root, std::string_view proc_path) {
  auto joined = joinNamespacedCgroup(mount_root, proc_path);
  if (!joined.ok() || !joined->has_value()) return;
  const std::string& rel = **joined;
  check(!rel.empty() && rel.front() == '/');
  check(rel == "/" || rel.back() != '/');
  check(rel.find("//") == std::string::npos);
  check(rel.find("/../") == std::string::npos && rel.find("/./") == std::string::npos);
  check(rel != "/.." && rel != "/." && !rel.ends_with("/..") && !rel.ends_with("/."));
  // Joining with the root "/" of a mount that shows the whole hierarchy is a fixed point.
  auto again = joinNamespacedCgroup("/", rel);
  check(again.ok() && again->has_value() && **again == rel);
  checkKube(rel);
  checkContainer(rel);
}

void checkTail(std::string_view proc_path) {
  const std::string tail = namespacedTail(proc_path);
  check(!tail.empty() && tail.front() == '/');
  check(tail.find("/../") == std::string::npos && !tail.ends_with("/.."));
  check(namespacedTail(tail) == tail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // The input as one value of each kind a user or the node hands locate.
  checkKube(text);
  checkContainer(text);
  checkTail(text);
  if (auto uid = normalizePodUid(text); uid.ok()) {
    auto again = normalizePodUid(*uid);
    check(again.ok() && *again == *uid);
  }
  if (auto id = normalizeContainerId(text); id.ok()) {
    check(id->size() >= 12 && id->size() <= 64 && isLowerHex(*id));
    auto again = normalizeContainerId(*id);
    check(again.ok() && *again == *id);
  }
  if (auto meta = parseContainerMeta(text); meta.ok() && meta->sandbox) check(!meta->name.has_value());

  // The first line as a mount root, the rest as a /proc path (the two strings locate joins).
  if (const auto nl = text.find('\n'); nl != std::string_view::npos) {
    checkJoined(text.substr(0, nl), text.substr(nl + 1));
  }

  // The input as /proc/PID/cgroup and as mountinfo at once: every path with every mount's root.
  auto entries = parseProcCgroup(text);
  auto mounts = parseCgroupMounts(text);
  if (entries.ok()) {
    // Capped: a long input would otherwise spend the fuzzer's time on the product, not on parsing.
    constexpr std::size_t kMaxPairs = 256;
    std::size_t pairs = 0;
    std::vector<std::string> paths;
    for (const auto& e : *entries) {
      paths.push_back(e.path);
      checkTail(e.path);
      checkJoined("/", e.path);
      if (mounts.ok()) {
        for (const auto& m : *mounts) {
          if (++pairs > kMaxPairs) break;
          checkJoined(m.root, e.path);
        }
      }
    }
    for (const auto& k : matchPodUid(paths, "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")) {
      check(k.pod_uid == "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b");
    }
  }
  return 0;
}
