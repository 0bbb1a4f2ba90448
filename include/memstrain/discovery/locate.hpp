#pragma once
// Target discovery on a Kubernetes node: from a pid, a container id or a pod UID to the memory
// cgroup memstrain should attach to.
//
// Two halves, as elsewhere in memstrain: pure functions that read kubelet's cgroup naming out of a
// path string and match ids against a list of paths (tested on literal strings), and locate*()
// functions that do the I/O: walk the hierarchy under a CgroupFs's mount, read /proc below a
// proc root, read runtime metadata below a host root. Every root is a parameter.
//
// Layouts understood (each below any prefix, so nested nodes like kind's work too):
//   systemd driver  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid, '-' as '_'>.slice/<ctr>.scope
//                   /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/<ctr>.scope
//                   /kubepods.slice/kubepods-pod<uid>.slice/<ctr>.scope                     (Guaranteed)
//   cgroupfs driver /kubepods/burstable/pod<uid>/<ctr>, /kubepods/besteffort/pod<uid>/<ctr>
//                   /kubepods/pod<uid>/<ctr>                                                (Guaranteed)
// where <ctr> is cri-containerd-<id>, crio-<id>, docker-<id> (".scope" under systemd) or a bare
// <id>. crio-conmon-<id> (CRI-O's monitor process) is not a container and is never matched.
//
// Containers outside kubelet's tree are found by id too, from the runtimes' own names:
//   podman (libpod)  /machine.slice/libpod-<id>.scope (systemd cgroup manager), /libpod_parent/libpod-<id> (cgroupfs)
//   CRI-O            …/crio-<id>.scope;  Docker …/docker-<id>.scope, /docker/<id>;  containerd …/cri-containerd-<id>.scope
// libpod-conmon-<id> (podman's monitor) is not a container either.

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// errno values carried by locate errors, so callers can tell the cases apart without parsing text.
inline constexpr int kLocateNotFound = ENOENT;     ///< nothing matched
inline constexpr int kLocateAmbiguous = ENOTUNIQ;  ///< more than one thing matched; the message lists them
inline constexpr int kLocateBadInput = EINVAL;     ///< a malformed pod UID or container id

enum class CgroupDriver { kSystemd, kCgroupfs };
enum class QosClass { kGuaranteed, kBurstable, kBestEffort };
enum class ContainerRuntime { kUnknown, kContainerd, kCrio, kDocker, kPodman };

const char* toString(CgroupDriver d);      ///< "systemd" / "cgroupfs"
const char* toString(QosClass q);          ///< "guaranteed" / "burstable" / "besteffort"
const char* toString(ContainerRuntime r);  ///< "unknown" / "containerd" / "cri-o" / "docker" / "podman"

/// What a kubelet cgroup path says about itself. Plain data.
struct KubeCgroup {
  std::string pod_uid;  ///< canonical form, as in the pod's metadata.uid (lowercase, '-' not '_')
  QosClass qos = QosClass::kBestEffort;
  CgroupDriver driver = CgroupDriver::kCgroupfs;
  std::string pod_cgroup;  ///< the pod-level cgroup: the input up to and including the pod component
  /// The container's cgroup (up to and including the container component); empty when the path is
  /// the pod cgroup itself.
  std::string container_cgroup;
  std::string container_id;                               ///< lowercase hex; empty with container_cgroup
  ContainerRuntime runtime = ContainerRuntime::kUnknown;  ///< from the component's prefix; a bare id says nothing
};

/// Reads a cgroup path (relative to the mount, e.g. from /proc/PID/cgroup after namespace joining)
/// as a kubelet pod or container cgroup. Paths below a container cgroup (a container that made its
/// own sub-cgroups) are read as that container. nullopt when the path has no kubelet pod component,
/// or only a non-container below it (crio-conmon-<id>, anything not hex).
std::optional<KubeCgroup> parseKubeCgroupPath(std::string_view rel);

/// A container's cgroup as its name says, whether kubelet placed it or not. Plain data.
struct ContainerCgroup {
  std::string cgroup;  ///< up to and including the container component
  std::string id;      ///< lowercase hex
  ContainerRuntime runtime = ContainerRuntime::kUnknown;
};

/// Reads `rel` as a container's cgroup, or a path below one: a kubelet container cgroup (as
/// parseKubeCgroupPath reads it), else the innermost component a runtime names for itself outside
/// kubelet's tree: libpod-<id>, crio-<id>, docker-<id>, cri-containerd-<id> (each with or without
/// ".scope"), or a bare <id> right below a "docker" cgroup (dockerd's cgroupfs driver). nullopt for
/// anything else: pod cgroups, monitors (crio-conmon-, libpod-conmon-), a bare hex name elsewhere.
std::optional<ContainerCgroup> parseContainerCgroupPath(std::string_view rel);

/// The runtime a container id's scheme names, as in status.containerStatuses[].containerID:
/// "containerd://" containerd, "cri-o://" CRI-O, "docker://" Docker; kUnknown without a scheme or
/// for another one. Pure.
ContainerRuntime runtimeOfContainerIdScheme(std::string_view id);

/// A pod UID as the user gave it ("8f2c…-…", systemd's "8f2c…_…", or "pod8f2c…") in canonical
/// form. Error (kLocateBadInput) unless it is 8–64 characters of hex digits and '-' after that.
Result<std::string> normalizePodUid(std::string_view uid);

/// A container id or prefix as the user gave it: bare hex, or as in a pod's
/// status.containerStatuses[].containerID ("containerd://…", "cri-o://…", "docker://…").
/// Lowercased. Error (kLocateBadInput) unless what remains is 12–64 hex digits.
Result<std::string> normalizeContainerId(std::string_view id);

/// The kubelet cgroups among `paths` that belong to pod `uid` (canonical, see normalizePodUid),
/// pod-level and container cgroups alike, one entry per pod or container cgroup (paths below a
/// container fold into it), in the order first seen. Pure.
std::vector<KubeCgroup> matchPodUid(const std::vector<std::string>& paths, std::string_view uid);

/// The container cgroups among `paths` (kubelet's or a runtime's own, see parseContainerCgroupPath)
/// whose id starts with `id_prefix` (normalised), in the order given. Paths below a container
/// cgroup are folded into it (one entry per container cgroup). Pure; deciding whether the match is
/// unique is the caller's.
std::vector<ContainerCgroup> matchContainerId(const std::vector<std::string>& paths, std::string_view id_prefix);

/// Joins a cgroup path read from /proc/PID/cgroup with the root the mount shows (mountinfo field
/// 4, CgroupFs::hierarchyRoot()). Under a cgroup namespace both are printed relative to the
/// reader's namespace root, with one leading ".." per level up to the nearest common ancestor
/// ("/../../../.." for a host mount seen from a pod, "/../../podX/ctr" for another pod's process).
/// Pure. Returns:
///  - the pid's cgroup relative to the mount ("/" for the mount's root) when the strings decide it
///    (same number of leading ".."; always so without a namespace);
///  - nullopt when they cannot (different numbers of "..": the names of the levels in between are
///    not in the strings) - the caller then searches the mount for the cgroup that ends with the
///    path's tail and lists the pid (locateByPid does);
///  - Error (EXDEV) when the pid's cgroup is certainly not below what the mount shows.
/// Unlike CgroupFs::cgroupOfPid it accepts ".." components.
Result<std::optional<std::string>> joinNamespacedCgroup(std::string_view mount_root, std::string_view proc_path);

/// `proc_path` without its leading ".." components ("/../../podX/ctr" -> "/podX/ctr"). Pure.
std::string namespacedTail(std::string_view proc_path);

/// What a container runtime's metadata file says about a container.
struct ContainerMeta {
  std::optional<std::string> name;  ///< the container's name in the pod spec
  bool sandbox = false;             ///< the pod's sandbox ("pause") container
};
/// Parses a runtime metadata file: an OCI config.json (containerd and CRI-O annotations) or
/// Docker's config.v2.json (Config.Labels). Error when it is not a JSON object. Pure.
Result<ContainerMeta> parseContainerMeta(std::string_view json_text);

/// Where the runtimes keep per-container metadata, with "{id}" for the full container id. Joined
/// below LocateOptions::host_root.
std::vector<std::string> defaultRuntimeMetaPaths();

/// Everything the I/O side may need besides the CgroupFs.
struct LocateOptions {
  std::string proc_root = "/proc";  ///< where /proc/PID/{cgroup,comm} are read
  std::string host_root = "/";      ///< prefix for runtime metadata paths (e.g. "/host" in a pod)
  std::vector<std::string> runtime_meta_paths = defaultRuntimeMetaPaths();
  /// With locateByPodUid: pick the container of this name, by runtime metadata (see --help of
  /// `memstrain locate`: cgroupfs alone does not carry container names).
  std::optional<std::string> container_name;
  int max_depth = 16;  ///< walk depth below the mount; kubelet paths are 4–6 deep, nested nodes more
};

/// One container of a pod as locate saw it (for listings in results and errors).
struct LocatedContainer {
  std::string cgroup;
  std::string id;
  ContainerRuntime runtime = ContainerRuntime::kUnknown;
  std::optional<std::string> name;  ///< from runtime metadata, when readable
  bool sandbox = false;             ///< by metadata, or every member's comm is "pause"
  std::vector<pid_t> pids;
};

/// The answer: where the target is and how much room it has.
struct LocateResult {
  std::string cgroup;  ///< relative to fs.mount(); what a plan's target.attach.cgroup takes
  CgroupVersion version = CgroupVersion::kV1;
  std::string mount;
  std::uint64_t usage_bytes = 0;
  std::uint64_t effective_limit_bytes = kUnlimited;  ///< smallest limit on cgroup and its ancestors
  std::string limit_cgroup;                          ///< where that limit is set (cgroup when unlimited)
  std::vector<pid_t> pids;                           ///< members (cgroup.procs), ascending
  std::optional<pid_t> main_pid;                     ///< the pid asked for, else the lowest member; nullopt when empty
  std::optional<KubeCgroup> kube;                    ///< when the cgroup is a kubelet pod/container cgroup
  /// When the cgroup is (or is below) a container's, kubelet's or not. Its runtime comes from the
  /// cgroup's name, else from the scheme of the id that was asked for (containerd://…).
  std::optional<ContainerCgroup> container;
  std::optional<std::string> container_name;
  /// For pod-uid lookups: every container cgroup of the pod that was considered.
  std::vector<LocatedContainer> pod_containers;
  std::string matched_by;  ///< "pid", "container-id" or "pod-uid"
};

/// Every cgroup directory below fs.mount() (the mount's root is "/"), parents before children,
/// at most `max_depth` levels deep; symlinks are not followed. Error naming the directory when
/// one cannot be read (a directory that vanishes during the walk is skipped: pods come and go).
Result<std::vector<std::string>> listCgroups(const CgroupFs& fs, int max_depth = 16);

/// The memory cgroup of `pid` (read from opts.proc_root, joined with fs.hierarchyRoot(); where the
/// strings do not decide it, the cgroup below the mount that ends with the path's tail and lists
/// `pid` in cgroup.procs) with its limit, usage and members; main_pid is `pid`. `pid` is a
/// process (thread group) id. Errors: kLocateNotFound when the pid is gone, EXDEV when its cgroup
/// is outside what the mount shows.
Result<LocateResult> locateByPid(const CgroupFs& fs, pid_t pid, const LocateOptions& opts = {});

/// The container cgroup whose id starts with `id` (any form normalizeContainerId accepts), in a
/// kubelet layout or named by its runtime (podman, CRI-O, Docker, containerd; see
/// parseContainerCgroupPath). Errors: kLocateBadInput, kLocateNotFound, kLocateAmbiguous (listing
/// each candidate's id and cgroup).
Result<LocateResult> locateByContainerId(const CgroupFs& fs, std::string_view id, const LocateOptions& opts = {});

/// The pod's application container: the one container cgroup of pod `uid` that has members and
/// is not the sandbox, or the one named opts.container_name. pod_containers lists all of them;
/// kube->pod_cgroup is the pod cgroup (the parent a beside placement competes in).
/// Errors: kLocateBadInput; kLocateNotFound (no such pod, no container with members, no
/// container of that name, or names unreadable); kLocateAmbiguous (several application
/// containers and no name, listing them).
Result<LocateResult> locateByPodUid(const CgroupFs& fs, std::string_view uid, const LocateOptions& opts = {});

/// The processes memstrain can see in `cgroup` and in the cgroups below it (a container may keep
/// its processes in a sub-cgroup), ascending. cgroup.procs lists only the processes of the
/// reader's pid namespace: from a pod without the host's pid namespace, another container's
/// cgroup reads as empty even while it runs. Error when `cgroup` cannot be read.
Result<std::vector<pid_t>> visibleProcesses(const CgroupFs& fs, const std::string& cgroup, int max_depth = 16);

/// Says, for a user, what it means that `cgroup`, charged `usage_bytes`, lists no process memstrain
/// can see: with memory charged, memstrain is most likely in another pid namespace than the target
/// (a pod without hostPID: true, a container without --pid=host), else the target's processes are
/// gone; with nothing charged, nothing runs there. Pure.
std::string hiddenProcessesExplanation(const std::string& cgroup, std::uint64_t usage_bytes);

/// Fills cgroup-derived fields of `r` (usage, limits, members, main pid) for r.cgroup. Used by
/// the locate* functions; exposed for callers that found the cgroup some other way.
Status describeCgroup(const CgroupFs& fs, LocateResult& r, std::optional<pid_t> main_pid = std::nullopt);

}  // namespace memstrain
