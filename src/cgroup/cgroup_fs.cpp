// Reading the memory controller: paths, limits, samples. All I/O here; the text goes to the pure
// parsers in cgroup_parse.cpp.

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/cgroup/cgroup_parse.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

std::string stripTrailingSlashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// realpath(3) as a Result.
Result<std::string> realPath(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr), &std::free);
  if (!resolved) return Error::fromErrno("realpath " + path);
  return std::string(resolved.get());
}

bool isInside(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (startsWith(path, root) && path.size() > root.size() && path[root.size()] == '/');
}

// The parent of a normalised rel ("/a/b" -> "/a", "/a" -> "/").
std::string parentRel(const std::string& rel) {
  const auto pos = rel.find_last_of('/');
  return pos == 0 || pos == std::string::npos ? std::string("/") : rel.substr(0, pos);
}

// Prefixes the file's path to a parser's error so that the user knows which file was odd.
Error inFile(const std::string& path, const Error& e) { return Error{path + ": " + e.message, e.sys_errno}; }

Result<std::uint64_t> readLimitFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) return text.error();
  auto v = parseLimit(*text);
  if (!v) return inFile(path, v.error());
  return *v;
}

// Reads an optional control file: nullopt when the kernel does not have it (ENOENT), or has it
// but the feature is off (EOPNOTSUPP: memory.pressure with psi=0).
Result<std::optional<std::string>> readOptionalFile(const std::string& path) {
  auto text = readFile(path);
  if (text) return std::optional<std::string>(std::move(*text));
  if (text.error().sys_errno == ENOENT || text.error().sys_errno == EOPNOTSUPP) return std::optional<std::string>();
  return text.error();
}

struct LimitHolder {
  std::uint64_t limit_bytes = kUnlimited;
  std::string rel;
};

}  // namespace

CgroupFs::CgroupFs(std::string mount, CgroupVersion version, std::string hierarchy_root)
    : mount_(stripTrailingSlashes(std::move(mount))),
      version_(version),
      hierarchy_root_(stripTrailingSlashes(hierarchy_root.empty() ? std::string("/") : std::move(hierarchy_root))) {}

Result<CgroupFs> CgroupFs::detect(const std::string& mountinfo_path) {
  auto text = readFile(mountinfo_path);
  if (!text) return text.error();
  auto mounts = parseCgroupMounts(*text);
  if (!mounts) return inFile(mountinfo_path, mounts.error());

  // v1 first: on a hybrid host the cgroup2 mount exists but the memory controller is bound to v1.
  const CgroupMount* v1 = nullptr;
  for (const auto& m : *mounts) {
    if (m.version != CgroupVersion::kV1) continue;
    bool has_memory = false;
    for (const auto& c : m.controllers) has_memory = has_memory || c == "memory";
    if (!has_memory) continue;
    // Several mounts of one hierarchy (bind mounts of sub-trees) may appear; the full one is best.
    if (v1 == nullptr || (v1->root != "/" && m.root == "/")) v1 = &m;
  }
  if (v1 != nullptr) return CgroupFs(v1->mount_point, CgroupVersion::kV1, v1->root);

  std::string seen;
  for (const auto& m : *mounts) {
    if (m.version != CgroupVersion::kV2) continue;
    const std::string controllers_path = joinPath(m.mount_point, cgroup_file::kControllers);
    auto controllers = readFile(controllers_path);
    if (!controllers) {
      seen += "; " + controllers.error().message;
      continue;
    }
    if (listsController(*controllers, "memory")) return CgroupFs(m.mount_point, CgroupVersion::kV2, m.root);
    seen += "; cgroup2 at " + m.mount_point + " has controllers \"" + std::string(trim(*controllers)) + "\"";
  }
  return Error{"no cgroup memory controller in " + mountinfo_path +
                   ": no v1 mount with the memory option and no cgroup2 mount listing memory" + seen,
               ENOENT};
}

Result<std::string> CgroupFs::absPath(const std::string& rel) const {
  auto norm = normalizeCgroupRel(rel);
  if (!norm) return Error{norm.error().message + " (mount " + mount_ + ")", norm.error().sys_errno};
  const std::string abs = *norm == "/" ? mount_ : (mount_ == "/" ? *norm : mount_ + *norm);

  // Symlinks must not lead out of the mount. A path that does not exist yet (a cgroup about to be
  // created, with any missing parents) is judged by its deepest existing ancestor; lstat() so that
  // a dangling symlink counts as existing and then fails realpath().
  auto mount_real = realPath(mount_);
  if (!mount_real) return mount_real.error();
  std::string existing = abs;
  for (;;) {
    struct stat st;
    if (::lstat(existing.c_str(), &st) == 0) break;
    if (errno != ENOENT) return Error::fromErrno("lstat " + existing);
    if (existing.size() <= mount_.size()) return Error::fromErrno("lstat " + mount_, ENOENT);
    existing.resize(std::max<std::size_t>(existing.find_last_of('/'), 1));
  }
  auto existing_real = realPath(existing);
  if (!existing_real) {
    return Error{"cgroup path " + rel + ": " + existing_real.error().message, existing_real.error().sys_errno};
  }
  if (!isInside(*existing_real, *mount_real)) {
    return Error{"cgroup path " + rel + " resolves to " + *existing_real + ", outside the cgroup mount " + *mount_real, EXDEV};
  }
  return abs;
}

Result<std::string> CgroupFs::cgroupOfPid(pid_t pid, const std::string& proc_root) const {
  const std::string path = joinPath(proc_root, std::to_string(pid) + "/cgroup");
  auto text = readFile(path);
  if (!text) return text.error();
  auto entries = parseProcCgroup(*text);
  if (!entries) return inFile(path, entries.error());

  const ProcCgroupEntry* found = nullptr;
  for (const auto& e : *entries) {
    if (version_ == CgroupVersion::kV2) {
      if (e.hierarchy_id == 0 && e.controllers.empty()) found = &e;
    } else {
      for (const auto& c : e.controllers) {
        if (c == "memory") found = &e;
      }
    }
  }
  if (found == nullptr) {
    return Error{path + ": no " + std::string(version_ == CgroupVersion::kV2 ? "\"0::\"" : "memory") + " line", ENOENT};
  }
  // With a cgroup namespace or a bind mount, the mount shows a sub-tree: strip its root so that
  // the result is relative to mount_. A process outside that sub-tree cannot be reached here.
  auto norm = normalizeCgroupRel(found->path);
  if (!norm) {
    return Error{
        path + ": pid " + std::to_string(pid) + " is in " + found->path + ", which is not below this process's cgroup namespace root",
        EXDEV};
  }
  if (hierarchy_root_ == "/") return *norm;
  if (*norm == hierarchy_root_) return std::string("/");
  if (isInside(*norm, hierarchy_root_)) return norm->substr(hierarchy_root_.size());
  return Error{
      path + ": pid " + std::to_string(pid) + " is in " + *norm + ", outside " + hierarchy_root_ + " which the mount " + mount_ + " shows",
      EXDEV};
}

Result<CgroupSample> CgroupFs::sample(const std::string& rel) const {
  auto dir = absPath(rel);
  if (!dir) return dir.error();
  const bool v1 = version_ == CgroupVersion::kV1;
  CgroupSample s;

  auto usage_bytes = readUint64File(joinPath(*dir, v1 ? cgroup_file::kV1Usage : cgroup_file::kV2Current));
  if (!usage_bytes) return usage_bytes.error();
  s.usage_bytes = *usage_bytes;

  const std::string limit_path = joinPath(*dir, v1 ? cgroup_file::kV1Limit : cgroup_file::kV2Max);
  auto limit_text = readOptionalFile(limit_path);  // the v2 root has no memory.max
  if (!limit_text) return limit_text.error();
  if (*limit_text) {
    auto lim = parseLimit(**limit_text);
    if (!lim) return inFile(limit_path, lim.error());
    s.limit_bytes = *lim;
  }

  const std::string peak_path = joinPath(*dir, v1 ? cgroup_file::kV1MaxUsage : cgroup_file::kV2Peak);
  auto peak_text = readOptionalFile(peak_path);
  if (!peak_text) return peak_text.error();
  if (*peak_text) {
    auto peak = parseUint64(trim(**peak_text));
    if (!peak) return Error{peak_path + ": expected an unsigned integer"};
    s.peak_bytes = *peak;
  }

  const std::string stat_path = joinPath(*dir, cgroup_file::kMemoryStat);
  auto stat_text = readFile(stat_path);
  if (!stat_text) return stat_text.error();
  auto stat = parseMemoryStat(*stat_text, version_);
  if (!stat) return inFile(stat_path, stat.error());
  s.stat = std::move(*stat);

  if (v1) {
    const std::string oom_path = joinPath(*dir, cgroup_file::kV1OomControl);
    auto oom_text = readFile(oom_path);
    if (!oom_text) return oom_text.error();
    auto kills = parseOomControlKills(*oom_text);
    if (!kills) return inFile(oom_path, kills.error());
    s.oom_kill_count = *kills;
  } else {
    const std::string events_path = joinPath(*dir, cgroup_file::kV2Events);
    auto events_text = readFile(events_path);
    if (!events_text) return events_text.error();
    if (auto st = parseMemoryEvents(*events_text, s); !st) return inFile(events_path, st.error());

    const std::string psi_path = joinPath(*dir, cgroup_file::kV2Pressure);
    auto psi_text = readOptionalFile(psi_path);
    if (!psi_text) return psi_text.error();
    if (*psi_text) {
      auto psi = parsePsi(**psi_text);
      if (!psi) return inFile(psi_path, psi.error());
      s.pressure = *psi;
    }
  }
  return s;
}

Result<std::string> CgroupFs::usageFile(const std::string& rel) const {
  auto dir = absPath(rel);
  if (!dir) return dir.error();
  return joinPath(*dir, version_ == CgroupVersion::kV1 ? cgroup_file::kV1Usage : cgroup_file::kV2Current);
}

Result<std::uint64_t> CgroupFs::usage(const std::string& rel) const {
  auto dir = absPath(rel);
  if (!dir) return dir.error();
  const char* name = version_ == CgroupVersion::kV1 ? cgroup_file::kV1Usage : cgroup_file::kV2Current;
  auto bytes = readUint64File(joinPath(*dir, name));
  if (bytes || version_ != CgroupVersion::kV2 || bytes.error().sys_errno != ENOENT || *dir != mount_) return bytes;
  // The v2 root has no memory.current (it would be the whole machine): ask the caller's source.
  if (!root_usage_) return Error{bytes.error().message + " (the v2 root has none)", ENOENT};
  auto in_use = root_usage_();
  if (!in_use) return Error{bytes.error().message + "; the v2 root has none, and " + in_use.error().message, in_use.error().sys_errno};
  return in_use;
}

Result<std::uint64_t> CgroupFs::limit(const std::string& rel) const {
  auto dir = absPath(rel);
  if (!dir) return dir.error();
  return readLimitFile(joinPath(*dir, version_ == CgroupVersion::kV1 ? cgroup_file::kV1Limit : cgroup_file::kV2Max));
}

namespace {

// Walks from `rel` up to the mount and returns the smallest limit and where it is set.
Result<LimitHolder> findLimitHolder(const CgroupFs& fs, const std::string& rel) {
  auto norm = normalizeCgroupRel(rel);
  if (!norm) return norm.error();
  auto dir = fs.absPath(*norm);
  if (!dir) return dir.error();
  struct stat st;
  if (::stat(dir->c_str(), &st) != 0) return Error::fromErrno("cgroup " + *norm + " (" + *dir + ")");

  const bool v1 = fs.version() == CgroupVersion::kV1;
  LimitHolder best{kUnlimited, *norm};
  std::string level = *norm;
  for (;;) {
    auto level_dir = fs.absPath(level);
    if (!level_dir) return level_dir.error();
    const std::string limit_path = joinPath(*level_dir, v1 ? cgroup_file::kV1Limit : cgroup_file::kV2Max);
    auto text = readOptionalFile(limit_path);  // absent: the v2 root, or v2 without +memory here
    if (!text) return text.error();
    if (*text) {
      auto lim = parseLimit(**text);
      if (!lim) return inFile(limit_path, lim.error());
      if (*lim < best.limit_bytes) best = LimitHolder{*lim, level};  // strict: the nearest wins a tie
    }
    if (!v1) {
      // memory.high throttles instead of killing, but with no swap a cgroup held above it stalls
      // in reclaim indefinitely: for pressure it is as much a ceiling as memory.max.
      const std::string high_path = joinPath(*level_dir, cgroup_file::kV2High);
      auto high_text = readOptionalFile(high_path);
      if (!high_text) return high_text.error();
      if (*high_text) {
        auto high = parseLimit(**high_text);
        if (!high) return inFile(high_path, high.error());
        if (*high < best.limit_bytes) best = LimitHolder{*high, level};
      }
    }
    if (level == "/") break;
    const std::string parent = parentRel(level);
    if (v1) {
      // A v1 parent with use_hierarchy=0 is not charged for its children, so its limit and those
      // above it do not constrain `rel` (kernels since 5.x refuse to set 0, older ones allow it).
      auto parent_dir = fs.absPath(parent);
      if (!parent_dir) return parent_dir.error();
      auto uh = readOptionalFile(joinPath(*parent_dir, cgroup_file::kV1UseHierarchy));
      if (!uh) return uh.error();
      if (*uh && trim(**uh) == "0") break;
    }
    level = parent;
  }
  return best;
}

}  // namespace

Result<std::uint64_t> CgroupFs::effectiveLimit(const std::string& rel) const {
  auto holder = findLimitHolder(*this, rel);
  if (!holder) return holder.error();
  return holder->limit_bytes;
}

Result<std::string> CgroupFs::constrainingCgroup(const std::string& rel) const {
  auto holder = findLimitHolder(*this, rel);
  if (!holder) return holder.error();
  return holder->rel;
}

Result<std::vector<pid_t>> CgroupFs::procs(const std::string& rel) const {
  auto dir = absPath(rel);
  if (!dir) return dir.error();
  const std::string path = joinPath(*dir, cgroup_file::kProcs);
  auto text = readFile(path);
  if (!text) return text.error();
  auto pids = parsePidList(*text);
  if (!pids) return inFile(path, pids.error());
  return *pids;
}

bool CgroupFs::exists(const std::string& rel) const {
  auto dir = absPath(rel);
  if (!dir) return false;
  struct stat st;
  return ::stat(dir->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace memstrain
