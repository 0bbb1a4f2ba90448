// Target discovery: kubelet cgroup naming (pure), matching (pure), and the walk and /proc reads
// that feed them.

#include "memstrain/discovery/locate.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup_parse.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {
namespace {

constexpr std::string_view kSystemdRoot = "kubepods.slice";
constexpr std::string_view kCgroupfsRoot = "kubepods";
constexpr std::string_view kScopeSuffix = ".scope";
constexpr std::string_view kSliceSuffix = ".slice";
constexpr std::string_view kSandboxComm = "pause";

// The runtimes' prefixes for container cgroups. Order matters: "crio-conmon-" before "crio-".
struct RuntimePrefix {
  std::string_view prefix;
  ContainerRuntime runtime;
  bool is_container;
};
constexpr RuntimePrefix kRuntimePrefixes[] = {
    {"cri-containerd-", ContainerRuntime::kContainerd, true},
    {"crio-conmon-", ContainerRuntime::kCrio, false},
    {"crio-", ContainerRuntime::kCrio, true},
    {"docker-", ContainerRuntime::kDocker, true},
    {"libpod-conmon-", ContainerRuntime::kPodman, false},
    {"libpod-", ContainerRuntime::kPodman, true},
};
// dockerd's cgroupfs driver: /docker/<id>, a bare id below a cgroup of this name.
constexpr std::string_view kDockerCgroupfsParent = "docker";

// The schemes of status.containerStatuses[].containerID.
struct IdScheme {
  std::string_view scheme;
  ContainerRuntime runtime;
};
constexpr IdScheme kIdSchemes[] = {
    {"containerd://", ContainerRuntime::kContainerd},
    {"cri-o://", ContainerRuntime::kCrio},
    {"docker://", ContainerRuntime::kDocker},
};

// Runtime metadata keys (OCI annotations, Docker labels) that name a container or mark a sandbox.
constexpr const char* kContainerdName = "io.kubernetes.cri.container-name";
constexpr const char* kContainerdType = "io.kubernetes.cri.container-type";
constexpr const char* kCrioType = "io.kubernetes.cri-o.ContainerType";
constexpr const char* kCrioLabels = "io.kubernetes.cri-o.Labels";
constexpr const char* kKubeletNameLabel = "io.kubernetes.container.name";
constexpr const char* kDockerType = "io.kubernetes.docker.type";

bool isHex(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string joinComponents(const std::vector<std::string_view>& parts, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count && i < parts.size(); ++i) {
    out += '/';
    out += parts[i];
  }
  return out.empty() ? std::string("/") : out;
}

// A pod UID as it appears in a cgroup name (after "pod"), canonicalised; nullopt if it is not one.
std::optional<std::string> podUidFromComponent(std::string_view raw) {
  auto uid = normalizePodUid(raw);
  if (!uid) return std::nullopt;
  return *uid;
}

struct ContainerComponent {
  std::string id;
  ContainerRuntime runtime = ContainerRuntime::kUnknown;
};

// "cri-containerd-<id>.scope", "crio-<id>", "docker-<id>.scope", "libpod-<id>", "<id>"; nullopt
// for anything else (crio-conmon-<id>, memstrain's own stressor sibling, …).
std::optional<ContainerComponent> parseContainerComponent(std::string_view comp) {
  if (endsWith(comp, kScopeSuffix)) comp.remove_suffix(kScopeSuffix.size());
  ContainerComponent out;
  for (const auto& p : kRuntimePrefixes) {
    if (startsWith(comp, p.prefix)) {
      if (!p.is_container) return std::nullopt;
      comp.remove_prefix(p.prefix.size());
      out.runtime = p.runtime;
      break;
    }
  }
  if (comp.size() < 12 || comp.size() > 64 || !isHex(comp)) return std::nullopt;
  out.id = lower(comp);
  return out;
}

// True when `comp` starts with one of the runtimes' prefixes (a container's or a monitor's).
bool hasRuntimePrefix(std::string_view comp) {
  return std::any_of(std::begin(kRuntimePrefixes), std::end(kRuntimePrefixes),
                     [comp](const RuntimePrefix& p) { return startsWith(comp, p.prefix); });
}

Error withErrno(std::string message, int err) { return Error{std::move(message), err}; }

std::string joinPids(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t p : pids) {
    if (!out.empty()) out += ' ';
    out += std::to_string(p);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

const char* toString(CgroupDriver d) { return d == CgroupDriver::kSystemd ? "systemd" : "cgroupfs"; }

const char* toString(QosClass q) {
  switch (q) {
    case QosClass::kGuaranteed: return "guaranteed";
    case QosClass::kBurstable: return "burstable";
    case QosClass::kBestEffort: return "besteffort";
  }
  return "?";
}

const char* toString(ContainerRuntime r) {
  switch (r) {
    case ContainerRuntime::kUnknown: return "unknown";
    case ContainerRuntime::kContainerd: return "containerd";
    case ContainerRuntime::kCrio: return "cri-o";
    case ContainerRuntime::kDocker: return "docker";
    case ContainerRuntime::kPodman: return "podman";
  }
  return "?";
}

std::optional<KubeCgroup> parseKubeCgroupPath(std::string_view rel) {
  const auto parts = components(rel);
  std::size_t root = parts.size();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == kSystemdRoot || parts[i] == kCgroupfsRoot) {
      root = i;
      break;
    }
  }
  if (root + 1 >= parts.size()) return std::nullopt;

  KubeCgroup k;
  std::size_t pod = root + 1;
  std::optional<std::string> uid;
  if (parts[root] == kSystemdRoot) {
    // systemd escapes '-' in unit names, so kubelet writes the UID's dashes as '_'; the QoS class
    // is repeated in the pod slice's name: kubepods-burstable-pod<uid>.slice.
    k.driver = CgroupDriver::kSystemd;
    std::string_view qos_slice = parts[pod];
    std::string_view pod_prefix = "kubepods-pod";
    k.qos = QosClass::kGuaranteed;
    if (qos_slice == "kubepods-burstable.slice" || qos_slice == "kubepods-besteffort.slice") {
      const bool burstable = qos_slice == "kubepods-burstable.slice";
      k.qos = burstable ? QosClass::kBurstable : QosClass::kBestEffort;
      pod_prefix = burstable ? "kubepods-burstable-pod" : "kubepods-besteffort-pod";
      ++pod;
      if (pod >= parts.size()) return std::nullopt;
    }
    std::string_view name = parts[pod];
    if (!startsWith(name, pod_prefix) || !endsWith(name, kSliceSuffix)) return std::nullopt;
    name.remove_prefix(pod_prefix.size());
    name.remove_suffix(kSliceSuffix.size());
    uid = podUidFromComponent(name);
  } else {
    k.driver = CgroupDriver::kCgroupfs;
    k.qos = QosClass::kGuaranteed;
    if (parts[pod] == "burstable" || parts[pod] == "besteffort") {
      k.qos = parts[pod] == "burstable" ? QosClass::kBurstable : QosClass::kBestEffort;
      ++pod;
      if (pod >= parts.size()) return std::nullopt;
    }
    if (!startsWith(parts[pod], "pod")) return std::nullopt;
    uid = podUidFromComponent(parts[pod].substr(3));
  }
  if (!uid) return std::nullopt;
  k.pod_uid = std::move(*uid);
  k.pod_cgroup = joinComponents(parts, pod + 1);
  if (pod + 1 == parts.size()) return k;

  auto ctr = parseContainerComponent(parts[pod + 1]);
  if (!ctr) return std::nullopt;
  k.container_id = std::move(ctr->id);
  k.runtime = ctr->runtime;
  k.container_cgroup = joinComponents(parts, pod + 2);
  return k;
}

std::optional<ContainerCgroup> parseContainerCgroupPath(std::string_view rel) {
  if (auto k = parseKubeCgroupPath(rel)) {
    if (k->container_id.empty()) return std::nullopt;  // a pod cgroup, not a container's
    return ContainerCgroup{k->container_cgroup, k->container_id, k->runtime};
  }
  // Outside kubelet's tree only names a runtime gave itself count: a bare hex component elsewhere
  // could be anything (a machine id, another tool's cgroup).
  const auto parts = components(rel);
  std::optional<ContainerCgroup> out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool docker_bare = i > 0 && parts[i - 1] == kDockerCgroupfsParent;
    if (!docker_bare && !hasRuntimePrefix(parts[i])) continue;
    auto c = parseContainerComponent(parts[i]);
    if (!c) continue;
    if (c->runtime == ContainerRuntime::kUnknown) c->runtime = ContainerRuntime::kDocker;  // only a bare id below "docker" gets here
    out = ContainerCgroup{joinComponents(parts, i + 1), std::move(c->id), c->runtime};     // the innermost wins
  }
  return out;
}

ContainerRuntime runtimeOfContainerIdScheme(std::string_view id) {
  id = trim(id);
  for (const auto& s : kIdSchemes) {
    if (id.size() > s.scheme.size() && lower(id.substr(0, s.scheme.size())) == s.scheme) return s.runtime;
  }
  return ContainerRuntime::kUnknown;
}

Result<std::string> normalizePodUid(std::string_view uid) {
  std::string u = lower(trim(uid));
  if (startsWith(u, "pod")) u.erase(0, 3);
  std::replace(u.begin(), u.end(), '_', '-');
  const bool chars_ok = std::all_of(u.begin(), u.end(), [](char c) { return c == '-' || isHex(std::string_view(&c, 1)); });
  const bool has_hex = std::any_of(u.begin(), u.end(), [](char c) { return c != '-'; });
  if (!chars_ok || !has_hex || u.size() < 8 || u.size() > 64) {
    return withErrno("pod UID \"" + std::string(uid) + "\": expected the pod's metadata.uid, e.g. 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
                     kLocateBadInput);
  }
  return u;
}

Result<std::string> normalizeContainerId(std::string_view id) {
  std::string_view s = trim(id);
  if (auto scheme = s.find("://"); scheme != std::string_view::npos) s.remove_prefix(scheme + 3);
  if (s.size() < 12 || s.size() > 64 || !isHex(s)) {
    return withErrno("container id \"" + std::string(id) +
                         "\": expected 12 to 64 hex digits, optionally as in status.containerStatuses[].containerID "
                         "(\"containerd://<id>\")",
                     kLocateBadInput);
  }
  return lower(s);
}

std::vector<KubeCgroup> matchPodUid(const std::vector<std::string>& paths, std::string_view uid) {
  std::vector<KubeCgroup> out;
  std::set<std::string> seen;
  for (const auto& p : paths) {
    auto k = parseKubeCgroupPath(p);
    if (!k || k->pod_uid != uid) continue;
    const std::string key = k->container_cgroup.empty() ? k->pod_cgroup : k->container_cgroup;
    if (seen.insert(key).second) out.push_back(std::move(*k));
  }
  return out;
}

std::vector<ContainerCgroup> matchContainerId(const std::vector<std::string>& paths, std::string_view id_prefix) {
  std::vector<ContainerCgroup> out;
  std::set<std::string> seen;
  for (const auto& p : paths) {
    auto c = parseContainerCgroupPath(p);
    if (!c || !startsWith(c->id, id_prefix)) continue;
    if (seen.insert(c->cgroup).second) out.push_back(std::move(*c));
  }
  return out;
}

namespace {

// A path printed relative to a cgroup namespace root: the number of leading ".." and what follows.
struct NsPath {
  std::size_t up = 0;
  std::vector<std::string> down;
};

Result<NsPath> resolveNsPath(std::string_view p) {
  if (p.empty() || p.front() != '/' || p.find('\0') != std::string_view::npos) {
    return withErrno("cgroup path \"" + std::string(p) + "\" is not absolute", EINVAL);
  }
  NsPath out;
  for (auto c : components(p)) {
    if (c == ".") continue;
    if (c == "..") {
      if (out.down.empty()) {
        ++out.up;
      } else {
        out.down.pop_back();
      }
    } else {
      out.down.emplace_back(c);
    }
  }
  return out;
}

}  // namespace

Result<std::optional<std::string>> joinNamespacedCgroup(std::string_view mount_root, std::string_view proc_path) {
  auto root = resolveNsPath(mount_root);
  if (!root) return root.error();
  auto pid = resolveNsPath(proc_path);
  if (!pid) return pid.error();
  // Equal numbers of "..": both are relative to the same ancestor, so the strings compare exactly.
  if (root->up != pid->up) return std::optional<std::string>();
  if (pid->down.size() < root->down.size() || !std::equal(root->down.begin(), root->down.end(), pid->down.begin())) {
    return withErrno(
        "cgroup " + std::string(proc_path) + " is outside " + std::string(mount_root) + ", the part of the hierarchy this mount shows",
        EXDEV);
  }
  std::string out;
  for (std::size_t i = root->down.size(); i < pid->down.size(); ++i) out += "/" + pid->down[i];
  return std::optional<std::string>(out.empty() ? std::string("/") : out);
}

std::string namespacedTail(std::string_view proc_path) {
  auto p = resolveNsPath(proc_path);
  if (!p) return "/";
  std::string out;
  for (const auto& c : p->down) out += "/" + c;
  return out.empty() ? std::string("/") : out;
}

Result<ContainerMeta> parseContainerMeta(std::string_view json_text) {
  const auto doc = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Error{"runtime metadata: not a JSON object"};
  ContainerMeta meta;
  auto str = [](const nlohmann::json& obj, const char* key) -> std::optional<std::string> {
    if (!obj.is_object()) return std::nullopt;
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto take_name = [&meta](std::optional<std::string> n) {
    if (!meta.name && n && !n->empty()) meta.name = std::move(n);
  };
  if (auto a = doc.find("annotations"); a != doc.end() && a->is_object()) {  // OCI config.json
    take_name(str(*a, kContainerdName));
    take_name(str(*a, kKubeletNameLabel));
    if (auto labels = str(*a, kCrioLabels)) {  // CRI-O keeps the kubelet's labels as one JSON string
      const auto l = nlohmann::json::parse(*labels, nullptr, false);
      if (!l.is_discarded()) take_name(str(l, kKubeletNameLabel));
    }
    meta.sandbox =
        str(*a, kContainerdType) == std::optional<std::string>("sandbox") || str(*a, kCrioType) == std::optional<std::string>("sandbox");
  }
  if (auto c = doc.find("Config"); c != doc.end() && c->is_object()) {  // Docker config.v2.json
    if (auto l = c->find("Labels"); l != c->end() && l->is_object()) {
      take_name(str(*l, kKubeletNameLabel));
      meta.sandbox = meta.sandbox || str(*l, kDockerType) == std::optional<std::string>("podsandbox");
    }
  }
  // A sandbox has no container name of its own (CRI-O labels it "POD"); never report one for it.
  if (meta.sandbox) meta.name.reset();
  return meta;
}

std::vector<std::string> defaultRuntimeMetaPaths() {
  return {
      "/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json",  // containerd (CRI namespace)
      "/run/containers/storage/overlay-containers/{id}/userdata/config.json",   // CRI-O
      "/var/lib/docker/containers/{id}/config.v2.json",                         // Docker (cri-dockerd)
  };
}

// --- I/O ---------------------------------------------------------------------------------------

namespace {

Status walk(const std::string& abs, const std::string& rel, int depth, int max_depth, std::vector<std::string>& out) {
  DIR* d = ::opendir(abs.c_str());
  if (d == nullptr) {
    if (errno == ENOENT && rel != "/") return {};  // removed while we walked: a pod went away
    return Error::fromErrno("opendir " + abs);
  }
  std::vector<std::string> children;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = ::lstat((abs + "/" + std::string(name)).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) children.emplace_back(name);
  }
  const int read_errno = errno;
  ::closedir(d);
  if (read_errno != 0) return Error::fromErrno("readdir " + abs, read_errno);
  std::sort(children.begin(), children.end());
  for (const auto& c : children) {
    const std::string child_rel = rel == "/" ? "/" + c : rel + "/" + c;
    out.push_back(child_rel);
    if (depth + 1 < max_depth) {
      if (auto st = walk(abs + "/" + c, child_rel, depth + 1, max_depth, out); !st) return st;
    }
  }
  return {};
}

// Runtime metadata for container `id`, from the first configured path that exists.
std::optional<ContainerMeta> readContainerMeta(const LocateOptions& opts, const std::string& id) {
  for (const auto& tmpl : opts.runtime_meta_paths) {
    std::string p = tmpl;
    if (auto pos = p.find("{id}"); pos != std::string::npos) p.replace(pos, 4, id);
    auto text = readFile(opts.host_root == "/" ? p : joinPath(opts.host_root, p), 4 << 20);
    if (!text) continue;  // not this runtime, or not readable from here: names are best effort
    if (auto meta = parseContainerMeta(*text)) return *meta;
  }
  return std::nullopt;
}

// True when every member's comm is the sandbox's ("pause"): runtimes without readable metadata
// still run the sandbox as the pause binary.
bool looksLikeSandbox(const std::vector<pid_t>& pids, const std::string& proc_root) {
  if (pids.empty()) return false;
  for (pid_t p : pids) {
    auto comm = readFile(joinPath(proc_root, std::to_string(p) + "/comm"));
    if (!comm || trim(*comm) != kSandboxComm) return false;
  }
  return true;
}

std::string describeContainer(const LocatedContainer& c) {
  std::string s = "  " + c.id + "  " + c.cgroup;
  if (c.name) s += "  name=" + *c.name;
  s += "  pids=" + joinPids(c.pids);
  if (c.sandbox) s += "  (sandbox)";
  return s;
}

}  // namespace

Result<std::vector<std::string>> listCgroups(const CgroupFs& fs, int max_depth) {
  auto root = fs.absPath("/");
  if (!root) return root.error();
  std::vector<std::string> out;
  if (auto st = walk(*root, "/", 0, max_depth, out); !st) return st.error();
  return out;
}

namespace {

bool endsWithComponents(const std::string& path, const std::string& tail) {
  if (tail == "/") return true;
  return path == tail || endsWith(path, tail);  // tail starts with '/', so this is component-aligned
}

// The one cgroup below the mount that ends with `tail` and lists `pid` as a member.
Result<std::string> findCgroupOfPid(const CgroupFs& fs, pid_t pid, const std::string& tail, int max_depth) {
  auto all = listCgroups(fs, max_depth);
  if (!all) return all.error();
  all->insert(all->begin(), "/");
  std::vector<std::string> hits;
  for (const auto& c : *all) {
    if (!endsWithComponents(c, tail)) continue;
    auto pids = fs.procs(c);
    if (pids && std::find(pids->begin(), pids->end(), pid) != pids->end()) hits.push_back(c);
  }
  if (hits.size() == 1) return hits.front();
  if (hits.empty()) {
    return withErrno("no cgroup below " + fs.mount() + " ending in " + tail + " lists it in cgroup.procs", EXDEV);
  }
  return withErrno("several cgroups list it: " + hits[0] + ", " + hits[1], kLocateAmbiguous);
}

}  // namespace

Status describeCgroup(const CgroupFs& fs, LocateResult& r, std::optional<pid_t> main_pid) {
  r.version = fs.version();
  r.mount = fs.mount();
  auto in = [&r](const Error& e) { return Error{"cgroup " + r.cgroup + ": " + e.message, e.sys_errno}; };
  auto usage = fs.usage(r.cgroup);
  if (!usage) return in(usage.error());
  r.usage_bytes = *usage;
  auto limit = fs.effectiveLimit(r.cgroup);
  if (!limit) return in(limit.error());
  r.effective_limit_bytes = *limit;
  auto holder = fs.constrainingCgroup(r.cgroup);
  if (!holder) return in(holder.error());
  r.limit_cgroup = *holder;
  auto pids = fs.procs(r.cgroup);
  if (!pids) return in(pids.error());
  r.pids = std::move(*pids);
  std::sort(r.pids.begin(), r.pids.end());
  r.main_pid = main_pid;
  if (!r.main_pid && !r.pids.empty()) r.main_pid = r.pids.front();
  return {};
}

Result<std::vector<pid_t>> visibleProcesses(const CgroupFs& fs, const std::string& cgroup, int max_depth) {
  auto abs = fs.absPath(cgroup);
  if (!abs) return abs.error();
  std::vector<std::string> all{cgroup};
  if (auto st = walk(*abs, cgroup, 0, max_depth, all); !st) return st.error();
  std::vector<pid_t> out;
  for (const auto& c : all) {
    auto pids = fs.procs(c);
    if (!pids) {
      if (c != cgroup && pids.error().sys_errno == ENOENT) continue;  // a sub-cgroup removed meanwhile
      return pids.error();
    }
    out.insert(out.end(), pids->begin(), pids->end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string hiddenProcessesExplanation(const std::string& cgroup, std::uint64_t usage_bytes) {
  if (usage_bytes == 0) return "cgroup " + cgroup + " has no processes and no memory charged: nothing runs there";
  return "cgroup " + cgroup + " is charged " + formatBytes(usage_bytes) +
         " but lists no process memstrain can see: memstrain runs in another pid namespace than the target (a pod "
         "without hostPID: true, a container without --pid=host), or the target's processes are gone. Without them "
         "memstrain cannot tell whether the target died, nor read its RSS";
}

Result<LocateResult> locateByPid(const CgroupFs& fs, pid_t pid, const LocateOptions& opts) {
  if (pid <= 0) return withErrno("pid " + std::to_string(pid) + ": expected a positive pid", kLocateBadInput);
  const std::string path = joinPath(opts.proc_root, std::to_string(pid) + "/cgroup");
  auto text = readFile(path);
  if (!text) {
    if (text.error().sys_errno == ENOENT) {
      return withErrno("pid " + std::to_string(pid) + ": no such process (" + path + ")", kLocateNotFound);
    }
    return text.error();
  }
  auto entries = parseProcCgroup(*text);
  if (!entries) return Error{path + ": " + entries.error().message, entries.error().sys_errno};
  const ProcCgroupEntry* found = nullptr;
  for (const auto& e : *entries) {
    const bool v2_line = e.hierarchy_id == 0 && e.controllers.empty();
    const bool memory_line = std::find(e.controllers.begin(), e.controllers.end(), "memory") != e.controllers.end();
    if (fs.version() == CgroupVersion::kV2 ? v2_line : memory_line) found = &e;
  }
  if (found == nullptr) {
    return withErrno(path + ": no " + std::string(fs.version() == CgroupVersion::kV2 ? "\"0::\"" : "memory") +
                         " line: the pid is not in this " + toString(fs.version()) + " hierarchy",
                     kLocateNotFound);
  }
  auto joined = joinNamespacedCgroup(fs.hierarchyRoot(), found->path);
  if (!joined) return Error{"pid " + std::to_string(pid) + ": " + joined.error().message, joined.error().sys_errno};
  std::string rel;
  if (*joined) {
    rel = **joined;
  } else {
    auto searched = findCgroupOfPid(fs, pid, namespacedTail(found->path), opts.max_depth);
    if (!searched) {
      return Error{"pid " + std::to_string(pid) + " (in " + found->path + " as this process's cgroup namespace shows it, mount root " +
                       fs.hierarchyRoot() + "): " + searched.error().message,
                   searched.error().sys_errno};
    }
    rel = *searched;
  }

  LocateResult r;
  r.matched_by = "pid";
  r.cgroup = rel;
  r.kube = parseKubeCgroupPath(r.cgroup);
  r.container = parseContainerCgroupPath(r.cgroup);
  if (r.container) {
    if (auto meta = readContainerMeta(opts, r.container->id)) r.container_name = meta->name;
  }
  if (auto st = describeCgroup(fs, r, pid); !st) return st.error();
  return r;
}

Result<LocateResult> locateByContainerId(const CgroupFs& fs, std::string_view id, const LocateOptions& opts) {
  auto prefix = normalizeContainerId(id);
  if (!prefix) return prefix.error();
  auto all = listCgroups(fs, opts.max_depth);
  if (!all) return all.error();
  auto matches = matchContainerId(*all, *prefix);
  if (matches.empty()) {
    return withErrno("no container cgroup with id " + *prefix + "… among " + std::to_string(all->size()) + " cgroups below " + fs.mount() +
                         " (looked for kubelet layouts: kubepods[.slice]/…/pod<uid>/<runtime>-<id>[.scope], and runtimes' own names: "
                         "libpod-<id>[.scope] (podman), crio-<id>.scope, docker-<id>.scope, docker/<id>, cri-containerd-<id>.scope)",
                     kLocateNotFound);
  }
  if (matches.size() > 1) {
    std::string list;
    for (const auto& m : matches) list += "\n  " + m.id + "  " + m.cgroup;
    return withErrno(
        "container id " + *prefix + " is ambiguous: " + std::to_string(matches.size()) + " containers match; give more digits:" + list,
        kLocateAmbiguous);
  }
  LocateResult r;
  r.matched_by = "container-id";
  r.cgroup = matches.front().cgroup;
  r.container = matches.front();
  // A bare id in the cgroup's name says nothing of the runtime; the id's scheme may.
  if (r.container->runtime == ContainerRuntime::kUnknown) r.container->runtime = runtimeOfContainerIdScheme(id);
  r.kube = parseKubeCgroupPath(r.cgroup);
  if (r.kube) r.kube->runtime = r.container->runtime;
  if (auto meta = readContainerMeta(opts, r.container->id)) r.container_name = meta->name;
  if (auto st = describeCgroup(fs, r); !st) return st.error();
  return r;
}

Result<LocateResult> locateByPodUid(const CgroupFs& fs, std::string_view uid, const LocateOptions& opts) {
  auto canon = normalizePodUid(uid);
  if (!canon) return canon.error();
  auto all = listCgroups(fs, opts.max_depth);
  if (!all) return all.error();
  const auto matches = matchPodUid(*all, *canon);
  if (matches.empty()) {
    return withErrno("no cgroup of pod " + *canon + " among " + std::to_string(all->size()) + " cgroups below " + fs.mount() +
                         " (is the pod on this node? looked for kubepods/…/pod<uid> and "
                         "kubepods.slice/…/kubepods-…-pod<uid with _>.slice)",
                     kLocateNotFound);
  }

  std::vector<LocatedContainer> containers;
  std::vector<const KubeCgroup*> kubes;
  for (const auto& m : matches) {
    if (m.container_id.empty()) continue;
    LocatedContainer c;
    c.cgroup = m.container_cgroup;
    c.id = m.container_id;
    c.runtime = m.runtime;
    // A container that exits between the walk and this read has no members: not a candidate.
    if (auto pids = fs.procs(c.cgroup)) c.pids = std::move(*pids);
    std::sort(c.pids.begin(), c.pids.end());
    if (auto meta = readContainerMeta(opts, c.id)) {
      c.name = meta->name;
      c.sandbox = meta->sandbox;
    }
    if (!c.sandbox) c.sandbox = looksLikeSandbox(c.pids, opts.proc_root);
    containers.push_back(std::move(c));
    kubes.push_back(&m);
  }
  const std::string pod_cgroup = matches.front().pod_cgroup;
  if (containers.empty()) {
    return withErrno("pod " + *canon + ": its cgroup " + pod_cgroup + " has no container cgroups", kLocateNotFound);
  }

  std::vector<std::size_t> picked;
  std::string listing;
  for (const auto& c : containers) listing += "\n" + describeContainer(c);
  if (opts.container_name) {
    bool any_named = false;
    for (std::size_t i = 0; i < containers.size(); ++i) {
      any_named = any_named || containers[i].name.has_value();
      if (containers[i].name == opts.container_name) picked.push_back(i);
    }
    if (!any_named) {
      return withErrno("pod " + *canon + ": cannot tell which container is \"" + *opts.container_name +
                           "\": cgroupfs does not record container names and no runtime metadata was readable below " + opts.host_root +
                           " (containerd, CRI-O and Docker paths tried); use --container-id with the "
                           "id from the pod's status.containerStatuses[].containerID. Containers:" +
                           listing,
                       kLocateNotFound);
    }
    // A restarted container can leave a second cgroup of the same name for a moment: prefer live ones.
    if (picked.size() > 1) {
      std::vector<std::size_t> live;
      for (auto i : picked) {
        if (!containers[i].pids.empty()) live.push_back(i);
      }
      if (!live.empty()) picked = live;
    }
    if (picked.empty()) {
      return withErrno("pod " + *canon + ": no container named \"" + *opts.container_name + "\". Containers:" + listing, kLocateNotFound);
    }
  } else {
    for (std::size_t i = 0; i < containers.size(); ++i) {
      if (!containers[i].sandbox && !containers[i].pids.empty()) picked.push_back(i);
    }
    if (picked.empty()) {
      const bool none_visible = std::all_of(containers.begin(), containers.end(), [](const LocatedContainer& c) { return c.pids.empty(); });
      return withErrno("pod " + *canon + ": no container with processes besides the sandbox" +
                           (none_visible ? std::string(" (no container lists a process memstrain can see: if the pod runs, memstrain is in "
                                                       "another pid namespace — a pod without hostPID: true; use --container-id)")
                                         : std::string()) +
                           ". Containers:" + listing,
                       kLocateNotFound);
    }
  }
  if (picked.size() > 1) {
    return withErrno("pod " + *canon + " has " + std::to_string(picked.size()) +
                         " application containers; choose one with --container-id (or --container NAME where "
                         "runtime metadata is readable):" +
                         listing,
                     kLocateAmbiguous);
  }

  LocateResult r;
  r.matched_by = "pod-uid";
  r.cgroup = containers[picked.front()].cgroup;
  r.kube = *kubes[picked.front()];
  r.container = ContainerCgroup{r.kube->container_cgroup, r.kube->container_id, r.kube->runtime};
  r.container_name = containers[picked.front()].name;
  r.pod_containers = std::move(containers);
  if (auto st = describeCgroup(fs, r); !st) return st.error();
  return r;
}

}  // namespace memstrain
