// `memstrain locate`: argument handling and output; the finding is in discovery/locate.cpp.

#include "memstrain/cli/cmd_locate.hpp"

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <exception>
#include <iostream>

#include <spdlog/spdlog.h>

#include "memstrain/cgroup/cgroup_parse.hpp"
#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/discovery/locate.hpp"
#include "memstrain/proc/proc_memory.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/json_write.hpp"
#include "memstrain/util/text.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {
namespace {

namespace po = boost::program_options;

constexpr const char* kDescription =
    "Finds a target's memory cgroup on this node and prints its path (relative to the memory\n"
    "controller's mount: what a plan's target.attach.cgroup takes), the cgroup version, the effective\n"
    "limit, usage, member pids and the main pid (the pid given, else the lowest member).\n"
    "\n"
    "\n"
    "  --pid N           the cgroup of process N, from /proc/N/cgroup (cgroup namespaces are handled:\n"
    "                    the path is joined with the mount's root from /proc/self/mountinfo)\n"
    "  --container-id ID a container id or a unique prefix of at least 12 hex digits; the form in\n"
    "                    status.containerStatuses[].containerID (containerd://…, cri-o://…) works too\n"
    "  --pod-uid UID     the pod's metadata.uid (e.g. from the Downward API); picks the pod's one\n"
    "                    application container (not the pause sandbox) that has processes\n"
    "  --container NAME  with --pod-uid, when the pod has several containers. cgroupfs does not record\n"
    "                    container names: memstrain reads them from the runtime's per-container metadata\n"
    "                    (containerd and CRI-O config.json annotations, Docker config.v2.json labels)\n"
    "                    below --host-root. Where that is not readable (not mounted in a pod, another\n"
    "                    runtime) it fails with exit 3 and lists the containers: use --container-id\n"
    "                    with the id from `kubectl get pod` instead, which always works.\n"
    "\n"
    "Layouts: kubelet's systemd driver (kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/\n"
    "cri-containerd-<id>.scope, crio-<id>.scope, docker-<id>.scope; Guaranteed pods as\n"
    "kubepods.slice/kubepods-pod<uid>.slice) and cgroupfs driver (kubepods/<qos>/pod<uid>/<id>,\n"
    "kubepods/pod<uid>/<id>), cgroup v1 and v2, below any prefix (nested nodes). Containers outside\n"
    "kubelet's tree by --container-id or --pid: podman (machine.slice/libpod-<id>.scope,\n"
    "libpod_parent/libpod-<id>), CRI-O (crio-<id>.scope), Docker (docker-<id>.scope, docker/<id>).\n"
    "container_runtime is the one the cgroup's name says, else the one the id's scheme says.";

nlohmann::json toJson(const LocateResult& r) {
  auto opt = [](const auto& v) -> nlohmann::json {
    if (v) return *v;
    return nullptr;
  };
  nlohmann::json containers = nlohmann::json::array();
  for (const auto& c : r.pod_containers) {
    containers.push_back({{"cgroup", c.cgroup},
                          {"id", c.id},
                          {"runtime", toString(c.runtime)},
                          {"name", opt(c.name)},
                          {"sandbox", c.sandbox},
                          {"pids", c.pids}});
  }
  const KubeCgroup* k = r.kube ? &*r.kube : nullptr;
  auto kstr = [k](auto field) -> nlohmann::json {
    if (k == nullptr) return nullptr;
    const std::string v = field(*k);
    if (v.empty()) return nullptr;
    return v;
  };
  return {
      {"matched_by", r.matched_by},
      {"cgroup", r.cgroup},
      {"cgroup_version", toString(r.version)},
      {"mount", r.mount},
      {"usage_bytes", r.usage_bytes},
      {"effective_limit_bytes", r.effective_limit_bytes == kUnlimited ? nlohmann::json(nullptr) : nlohmann::json(r.effective_limit_bytes)},
      {"limit_cgroup", r.limit_cgroup},
      {"pids", r.pids},
      {"main_pid", opt(r.main_pid)},
      {"pod_uid", kstr([](const KubeCgroup& x) { return x.pod_uid; })},
      {"pod_cgroup", kstr([](const KubeCgroup& x) { return x.pod_cgroup; })},
      {"qos_class", kstr([](const KubeCgroup& x) { return std::string(toString(x.qos)); })},
      {"cgroup_driver", kstr([](const KubeCgroup& x) { return std::string(toString(x.driver)); })},
      {"container_id", r.container ? nlohmann::json(r.container->id) : nlohmann::json(nullptr)},
      {"container_runtime", r.container ? nlohmann::json(toString(r.container->runtime)) : nlohmann::json(nullptr)},
      {"container_name", opt(r.container_name)},
      {"containers", containers},
  };
}

void printText(const LocateResult& r, std::ostream& out) {
  auto row = [&out](const char* key, const std::string& value) {
    out << key << std::string(17 - std::string_view(key).size(), ' ') << value << "\n";
  };
  row("cgroup", r.cgroup);
  row("cgroup version", std::string(toString(r.version)) + " (mount " + r.mount + ")");
  if (r.kube) {
    row("pod", r.kube->pod_uid + " (" + toString(r.kube->qos) + ", " + toString(r.kube->driver) + " driver, pod cgroup " +
                   r.kube->pod_cgroup + ")");
  }
  if (r.container) {
    std::string c = r.container->id + " (" + toString(r.container->runtime);
    if (r.container_name) c += ", name " + *r.container_name;
    row("container", c + ")");
  }
  if (r.effective_limit_bytes == kUnlimited) {
    row("effective limit", "none");
  } else {
    row("effective limit",
        formatBytes(r.effective_limit_bytes) + " (" + std::to_string(r.effective_limit_bytes) + " bytes, set on " + r.limit_cgroup + ")");
  }
  row("usage", formatBytes(r.usage_bytes) + " (" + std::to_string(r.usage_bytes) + " bytes)");
  std::string pids;
  for (pid_t p : r.pids) pids += (pids.empty() ? "" : " ") + std::to_string(p);
  row("pids", pids.empty() ? "none" : pids);
  row("main pid", r.main_pid ? std::to_string(*r.main_pid) : "none");
  if (r.pod_containers.size() > 1) {
    out << "pod containers:\n";
    for (const auto& c : r.pod_containers) {
      out << "  " << c.id << "  " << c.cgroup << (c.name ? "  name=" + *c.name : "") << "  pids=" << c.pids.size()
          << (c.sandbox ? "  (sandbox)" : "") << "\n";
    }
  }
}

// The memory hierarchy to search: the one given on the command line, else the one this process
// sees in /proc/self/mountinfo.
Result<CgroupFs> cgroupFsFromArgs(const po::variables_map& vm) {
  if (!vm.count("cgroup-mount")) return CgroupFs::detect();
  const std::string v = vm["cgroup-version"].as<std::string>();
  const std::string mount = vm["cgroup-mount"].as<std::string>();
  const CgroupVersion version = v == "1" ? CgroupVersion::kV1 : CgroupVersion::kV2;
  if (vm.count("cgroup-root")) return CgroupFs(mount, version, vm["cgroup-root"].as<std::string>());
  // The mount's root within the hierarchy is needed to read /proc/PID/cgroup paths correctly
  // under a cgroup namespace; take it from mountinfo when the mount is listed there.
  std::string root = "/";
  if (auto text = readFile("/proc/self/mountinfo")) {
    if (auto mounts = parseCgroupMounts(*text)) {
      std::string want = mount;
      while (want.size() > 1 && want.back() == '/') want.pop_back();
      for (const auto& m : *mounts) {
        if (m.mount_point == want && m.version == version) root = m.root;
      }
    }
  }
  return CgroupFs(mount, version, root);
}

Result<CgroupFs> cgroupFsFrom(const po::variables_map& vm) {
  auto fs = cgroupFsFromArgs(vm);
  // The v2 root has no memory.current: what it "uses" is the machine's memory in use.
  if (fs) {
    fs->setRootUsage([]() -> Result<std::uint64_t> {
      auto node = readNodeMemory();
      if (!node) return node.error();
      return node->total_bytes > node->available_bytes ? node->total_bytes - node->available_bytes : 0;
    });
  }
  return fs;
}

// A malformed id is a usage error; no match or several is "not found"; an errno from reading the
// hierarchy (EACCES, EIO, ...) means the search itself failed.
int exitFor(const Error& e) {
  if (e.sys_errno == kLocateBadInput) return kExitUsage;
  if (e.sys_errno == 0 || e.sys_errno == kLocateNotFound || e.sys_errno == kLocateAmbiguous) return kExitNotFound;
  return kExitRunError;
}

const CommandHelp kHelp{"memstrain locate --pid N | --container-id ID | --pod-uid UID [--container NAME] [--json]", kDescription,
                        "memstrain locate --pid \"$(pidof my-service)\"\n"
                        "memstrain locate --pod-uid \"$(kubectl get pod web-0 -o jsonpath='{.metadata.uid}')\" --json | jq -r .cgroup\n"
                        "memstrain locate --container-id containerd://4f1c0a5e9b2d --cgroup-mount /host/sys/fs/cgroup --cgroup-version 2",
                        "0 found, 2 usage error, 9 not found or ambiguous, 3 the cgroup hierarchy could not be read"};

}  // namespace

int runLocateCommand(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description desc;
  desc.add_options()                                                                                              //
      ("pid", po::value<long long>(), "a process id")                                                             //
      ("container-id", po::value<std::string>(), "a container id or unique prefix (>= 12 hex digits)")            //
      ("pod-uid", po::value<std::string>(), "a pod's metadata.uid")                                               //
      ("container", po::value<std::string>(), "with --pod-uid: container name (needs runtime metadata)")          //
      ("json", "print one JSON object instead of text")                                                           //
      ("cgroup-mount", po::value<std::string>(), "memory controller mount (default: from /proc/self/mountinfo)")  //
      ("cgroup-version", po::value<std::string>(), "with --cgroup-mount: 1 or 2")                                 //
      ("cgroup-root", po::value<std::string>(),
       "with --cgroup-mount: the mount's root in the hierarchy as mountinfo shows it (default: looked up, else /)")  //
      ("proc-root", po::value<std::string>()->default_value("/proc"), "where /proc/PID files are read")              //
      ("host-root", po::value<std::string>()->default_value("/"),
       "prefix for container runtime metadata paths (e.g. /host where the node's / is mounted)");
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {}, kHelp, vm, out)) return *done;
  const int selectors = static_cast<int>(vm.count("pid") + vm.count("container-id") + vm.count("pod-uid"));
  auto usage = [](const std::string& msg) {
    spdlog::error("locate: {}; usage: {} (see --help)", msg, kHelp.usage);
    return kExitUsage;
  };
  if (selectors != 1) return usage("give exactly one of --pid, --container-id, --pod-uid");
  if (vm.count("container") && !vm.count("pod-uid")) return usage("--container NAME needs --pod-uid");
  if (vm.count("cgroup-mount") != vm.count("cgroup-version")) {
    return usage("--cgroup-mount and --cgroup-version go together");
  }
  if (vm.count("cgroup-version")) {
    const std::string v = vm["cgroup-version"].as<std::string>();
    if (v != "1" && v != "2") return usage("--cgroup-version must be 1 or 2, got \"" + v + "\"");
  }
  if (vm.count("cgroup-root") && !vm.count("cgroup-mount")) return usage("--cgroup-root needs --cgroup-mount");

  LocateOptions opts;
  opts.proc_root = vm["proc-root"].as<std::string>();
  opts.host_root = vm["host-root"].as<std::string>();
  if (vm.count("container")) opts.container_name = vm["container"].as<std::string>();

  auto fs = cgroupFsFrom(vm);
  if (!fs) {
    spdlog::error("locate: cgroup memory controller: {}", fs.error().message);
    return kExitRunError;
  }

  Result<LocateResult> r = Error{"no selector"};
  if (vm.count("pid")) {
    const long long pid = vm["pid"].as<long long>();
    if (pid <= 0 || pid > 0x3fffffff) return usage("--pid must be a positive process id, got " + std::to_string(pid));
    r = locateByPid(*fs, static_cast<pid_t>(pid), opts);
  } else if (vm.count("container-id")) {
    r = locateByContainerId(*fs, vm["container-id"].as<std::string>(), opts);
  } else {
    r = locateByPodUid(*fs, vm["pod-uid"].as<std::string>(), opts);
  }
  if (!r) {
    spdlog::error("locate: {}", r.error().message);
    return exitFor(r.error());
  }
  if (vm.count("json")) {
    out << dumpJson(toJson(*r)) << "\n";
  } else {
    printText(*r, out);
  }
  // Found, but not watchable from here: say so (a run against it would be refused).
  if (auto pids = visibleProcesses(*fs, r->cgroup); pids && pids->empty()) {
    spdlog::warn("locate: {}", hiddenProcessesExplanation(r->cgroup, r->usage_bytes));
  }
  return kExitPass;
}

int runLocateCommand(const std::vector<std::string>& args) {
  return runGuarded(
      "locate", [](const std::vector<std::string>& a) { return runLocateCommand(a, std::cout); }, args);
}

}  // namespace memstrain
