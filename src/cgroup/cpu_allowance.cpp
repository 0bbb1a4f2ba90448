#include "memstrain/cgroup/cpu_allowance.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>

#include "memstrain/cgroup/cgroup_parse.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

Result<std::optional<double>> quotaOver(std::string_view quota, std::string_view period, std::string_view what) {
  auto p = parseUint64(trim(period));
  if (!p || *p == 0) return Error{std::string(what) + ": expected a positive period, got \"" + std::string(trim(period)) + "\""};
  if (trim(quota) == "max" || trim(quota) == "-1") return std::optional<double>{};
  auto q = parseUint64(trim(quota));
  if (!q || *q == 0)
    return Error{std::string(what) + ": expected a quota in microseconds or \"max\", got \"" + std::string(trim(quota)) + "\""};
  return std::optional<double>{static_cast<double>(*q) / static_cast<double>(*p)};
}

// The quota of one cgroup directory, nullopt when it has none or its files are missing.
std::optional<double> levelQuota(const std::string& dir, CgroupVersion version) {
  if (version == CgroupVersion::kV2) {
    auto text = readFile(dir + "/cpu.max", 256);
    if (!text) return std::nullopt;
    auto q = parseCpuMax(*text);
    return q ? *q : std::nullopt;
  }
  auto quota = readFile(dir + "/cpu.cfs_quota_us", 64);
  auto period = readFile(dir + "/cpu.cfs_period_us", 64);
  if (!quota || !period) return std::nullopt;
  auto q = parseCfsQuota(*quota, *period);
  return q ? *q : std::nullopt;
}

bool hasController(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

Result<std::optional<double>> parseCpuMax(std::string_view text) {
  auto fields = splitFields(trim(text));
  if (fields.size() != 2) return Error{"cpu.max: expected \"QUOTA PERIOD\", got \"" + std::string(trim(text)) + "\""};
  return quotaOver(fields[0], fields[1], "cpu.max");
}

Result<std::optional<double>> parseCfsQuota(std::string_view quota_text, std::string_view period_text) {
  return quotaOver(quota_text, period_text, "cpu.cfs_quota_us");
}

std::optional<double> cgroupCpuQuota(pid_t pid, const std::string& proc_root, const std::string& mountinfo_path) {
  auto mountinfo = readFile(mountinfo_path);
  auto proc_cgroup = readFile(proc_root + "/" + std::to_string(pid) + "/cgroup");
  if (!mountinfo || !proc_cgroup) return std::nullopt;
  auto mounts = parseCgroupMounts(*mountinfo);
  auto entries = parseProcCgroup(*proc_cgroup);
  if (!mounts || !entries) return std::nullopt;
  // A v1 hierarchy with the cpu controller wins; otherwise the v2 mount (hybrid hosts have both).
  const CgroupMount* mount = nullptr;
  for (const auto& m : *mounts) {
    if (m.version == CgroupVersion::kV1 && hasController(m.controllers, "cpu")) mount = &m;
  }
  if (!mount) {
    for (const auto& m : *mounts) {
      if (m.version == CgroupVersion::kV2) mount = &m;
    }
  }
  if (!mount) return std::nullopt;
  const ProcCgroupEntry* entry = nullptr;
  for (const auto& e : *entries) {
    const bool v2_line = e.controllers.empty() && e.hierarchy_id == 0;
    if (mount->version == CgroupVersion::kV2 ? v2_line : hasController(e.controllers, "cpu")) entry = &e;
  }
  if (!entry) return std::nullopt;
  // Inside a namespaced mount the path starts with the mount's root; strip it.
  std::string rel = entry->path;
  if (mount->root != "/" && startsWith(rel, std::string_view(mount->root)) &&
      (rel.size() == mount->root.size() || rel[mount->root.size()] == '/')) {
    rel = rel.substr(mount->root.size());
  }
  auto norm = normalizeCgroupRel(rel.empty() ? "/" : rel);
  if (!norm) return std::nullopt;
  std::optional<double> best;
  std::string level = *norm;
  for (;;) {
    if (auto q = levelQuota(mount->mount_point + (level == "/" ? "" : level), mount->version)) {
      best = best ? std::min(*best, *q) : *q;
    }
    if (level == "/") break;
    const auto slash = level.rfind('/');
    level = slash == 0 ? "/" : level.substr(0, slash);
  }
  return best;
}

unsigned usableThreads(std::optional<double> quota_cpus, unsigned cpus) {
  unsigned n = std::max(1U, cpus);
  if (quota_cpus && *quota_cpus > 0) n = std::min(n, static_cast<unsigned>(std::ceil(*quota_cpus)));
  return std::max(1U, n);
}

unsigned affinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
}

}  // namespace memstrain
