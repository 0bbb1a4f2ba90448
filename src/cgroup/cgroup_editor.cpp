// Changing cgroups: the direct editor (control files), the libcgroup editor, and killAllMembers.

#include <dirent.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/cgroup/cgroup_parse.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

std::string limitText(CgroupVersion v, std::uint64_t bytes) {
  if (bytes == kUnlimited) return v == CgroupVersion::kV1 ? "-1" : "max";
  return std::to_string(bytes);
}

const char* limitFile(CgroupVersion v) { return v == CgroupVersion::kV1 ? cgroup_file::kV1Limit : cgroup_file::kV2Max; }

// The names of the sub-directories (child cgroups) of `dir`. Symlinks are not followed.
Result<std::vector<std::string>> childDirs(const std::string& dir) {
  struct CloseDir {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, CloseDir> d(::opendir(dir.c_str()));
  if (!d) return Error::fromErrno("opendir " + dir);
  std::vector<std::string> out;
  errno = 0;
  while (dirent* e = ::readdir(d.get())) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = ::lstat(joinPath(dir, name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) out.emplace_back(name);
  }
  if (errno != 0) return Error::fromErrno("readdir " + dir);
  return out;
}

Status checkPid(pid_t pid) {
  // Writing "0" to cgroup.procs moves the writer itself: never let a bad pid do that.
  if (pid <= 0) return Error{"refusing to attach pid " + std::to_string(pid) + ": not a process id", EINVAL};
  return {};
}

Status writePidToProcs(const std::string& dir, pid_t pid) {
  if (auto st = checkPid(pid); !st) return st;
  return writeFile(joinPath(dir, cgroup_file::kProcs), std::to_string(pid));
}

// Members of `rel` and of every cgroup below it, by pid; cgroups that vanish meanwhile are skipped.
Result<std::set<pid_t>> subtreeMembers(const CgroupFs& fs, const std::string& rel) {
  std::set<pid_t> out;
  std::vector<std::string> worklist{rel};
  while (!worklist.empty()) {
    const std::string cur = std::move(worklist.back());
    worklist.pop_back();
    auto dir = fs.absPath(cur);
    if (!dir) return dir.error();
    auto pids = fs.procs(cur);
    if (pids) {
      out.insert(pids->begin(), pids->end());
    } else if (pids.error().sys_errno != ENOENT) {
      return pids.error();
    }
    auto kids = childDirs(*dir);
    if (!kids) {
      if (kids.error().sys_errno == ENOENT) continue;
      return kids.error();
    }
    for (const auto& k : *kids) worklist.push_back(cur == "/" ? "/" + k : cur + "/" + k);
  }
  return out;
}

std::string pidListText(const std::set<pid_t>& pids) {
  std::string out;
  std::size_t n = 0;
  for (pid_t p : pids) {
    if (n++ == 10) {
      out += " ...";
      break;
    }
    out += (out.empty() ? "" : " ") + std::to_string(p);
  }
  return out;
}

// Where both editors' create() and remove() start: `rel` normalised and resolved under the mount
// (CgroupFs::absPath rejects "..", symlinks out, and the like).
struct CheckedRel {
  std::string norm;  ///< normalised rel
  std::string dir;   ///< absolute path of its directory
};
Result<CheckedRel> checkRel(const CgroupFs& fs, const std::string& rel) {
  auto norm = normalizeCgroupRel(rel);
  if (!norm) return norm.error();
  auto dir = fs.absPath(*norm);
  if (!dir) return dir.error();
  return CheckedRel{std::move(*norm), std::move(*dir)};
}

// checkRel, and never the mount's root: what both editors' remove() start from.
Result<CheckedRel> removeTarget(const CgroupFs& fs, const std::string& rel) {
  auto target = checkRel(fs, rel);
  if (target && target->norm == "/") return Error{"refusing to remove the root cgroup of " + fs.mount(), EINVAL};
  return target;
}

// pidfd_open(2) and pidfd_send_signal(2) by syscall number: glibc 2.36's <sys/pidfd.h> lacks
// extern "C", so its declarations do not link from C++.
int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U)); }
int pidfdSendSignal(int fd, int sig) { return static_cast<int>(::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0U)); }

// True when `pid` (per /proc/PID/cgroup) is in `rel` or below it.
bool livesIn(const CgroupFs& fs, pid_t pid, const std::string& rel) {
  auto cg = fs.cgroupOfPid(pid);
  if (!cg) return false;
  return *cg == rel || (cg->size() > rel.size() && startsWith(*cg, rel) && (*cg)[rel.size()] == '/');
}

// True when `mount` is a cgroup file system, i.e. its cgroup.procs lists real processes.
bool isCgroupFs(const std::string& mount) {
  struct statfs sfs;
  if (::statfs(mount.c_str(), &sfs) != 0) return false;
  return sfs.f_type == CGROUP_SUPER_MAGIC || sfs.f_type == CGROUP2_SUPER_MAGIC;
}

// Signals each pid of `candidates` that the kernel still places in `rel` (per /proc/PID/cgroup)
// after it has been pinned by a pidfd. So a pid that exited and was reused by a process elsewhere
// is never hit, and neither is a pid that a fixture tree's cgroup.procs merely names.
Status killPinned(const CgroupFs& fs, const std::string& rel, const std::set<pid_t>& candidates) {
  Status result;
  for (pid_t pid : candidates) {
    int fd = pidfdOpen(pid);
    if (fd < 0 && errno == ESRCH) continue;  // already gone
    if (fd < 0 && errno != ENOSYS) {
      if (result.ok()) result = Error::fromErrno("pidfd_open " + std::to_string(pid));
      continue;
    }
    // Without pidfds (Linux < 5.3) a small window for pid reuse remains between check and kill.
    if (livesIn(fs, pid, rel)) {
      int rc = fd >= 0 ? pidfdSendSignal(fd, SIGKILL) : ::kill(pid, SIGKILL);
      if (rc != 0 && errno != ESRCH && result.ok()) result = Error::fromErrno("kill " + std::to_string(pid));
    }
    if (fd >= 0) ::close(fd);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The direct editor: control files under the mount.

// What both editors share: the mount, every name checked before anything is done with it
// (create and remove go through checkRel / removeTarget here, then to the editor's own step), and
// attach, which writes cgroup.procs in both.
class CheckedEditor : public CgroupEditor {
 public:
  explicit CheckedEditor(CgroupFs fs) : fs_(std::move(fs)) {}
  const CgroupFs& fs() const final { return fs_; }

  Status create(const std::string& rel) final {
    auto checked = checkRel(fs_, rel);
    if (!checked) return checked.error();
    return createChecked(*checked);
  }

  Status remove(const std::string& rel) final {
    auto target = removeTarget(fs_, rel);
    if (!target) return target.error();
    return removeChecked(*target);
  }

  Status attach(const std::string& rel, pid_t pid) override {
    // Not libcgroup's cgroup_attach_task_pid: it moves one thread only (see LibcgroupEditor).
    auto dir = fs_.absPath(rel);
    if (!dir) return dir.error();
    return writePidToProcs(*dir, pid);
  }

 protected:
  virtual Status createChecked(const CheckedRel& checked) = 0;
  virtual Status removeChecked(const CheckedRel& target) = 0;

  CgroupFs fs_;
};

class DirectEditor final : public CheckedEditor {
 public:
  using CheckedEditor::CheckedEditor;
  const char* name() const override { return "direct"; }

  Status setLimit(const std::string& rel, std::uint64_t bytes) override {
    auto dir = fs_.absPath(rel);
    if (!dir) return dir.error();
    return writeFile(joinPath(*dir, limitFile(fs_.version())), limitText(fs_.version(), bytes));
  }

 private:
  Status createChecked(const CheckedRel& checked) override {
    const std::string& norm = checked.norm;
    // One level at a time from the mount down, so that on v2 each parent enables +memory before
    // the child is made (a child made earlier would not get memory.max until it is).
    std::string level;
    for (std::string_view part : splitRel(norm)) {
      const std::string parent = level.empty() ? "/" : level;
      level += "/";
      level += part;
      if (fs_.version() == CgroupVersion::kV2) {
        if (auto st = enableMemoryIn(parent); !st) return st;
      }
      auto abs = fs_.absPath(level);  // re-checked per level: an existing level may be a symlink
      if (!abs) return abs.error();
      if (::mkdir(abs->c_str(), 0755) != 0 && errno != EEXIST) return Error::fromErrno("mkdir " + *abs);
    }
    return {};
  }

  Status removeChecked(const CheckedRel& target) override {
    // The kernel refuses with EBUSY while there are members or children; no pre-check needed.
    if (::rmdir(target.dir.c_str()) != 0) return Error::fromErrno("rmdir " + target.dir);
    return {};
  }

  // "/a/b" -> {"a", "b"}; `norm` is already normalised, so no part is empty.
  static std::vector<std::string_view> splitRel(std::string_view norm) {
    std::vector<std::string_view> parts;
    while (norm.size() > 1) {
      norm.remove_prefix(1);
      const auto pos = norm.find('/');
      parts.push_back(norm.substr(0, pos));
      if (pos == std::string_view::npos) break;
      norm.remove_prefix(pos);
    }
    return parts;
  }

  // v2: children of `parent_rel` get memory.* files only when its subtree_control has memory.
  Status enableMemoryIn(const std::string& parent_rel) {
    auto dir = fs_.absPath(parent_rel);
    if (!dir) return dir.error();
    const std::string path = joinPath(*dir, cgroup_file::kSubtreeControl);
    auto text = readFile(path);
    if (!text) return text.error();
    if (listsController(*text, "memory")) return {};
    return writeFile(path, "+memory");
  }
};

// ---------------------------------------------------------------------------------------------
// The libcgroup editor (v1 only).
//
// What libcgroup 2.0.2 does on a v1 memory hierarchy, as observed on Linux 6.18 (see the
// integration tests):
//  - cgroup_new_cgroup accepts "a/b" and "/a/b" alike, and also "a/../escape" (it creates
//    <mount>/escape), so every name is validated by CgroupFs::absPath first;
//  - cgroup_create_cgroup creates missing parents and returns 0 when the group already exists;
//  - cgroup_attach_task_pid writes the `tasks` file, which moves only the one thread named: the
//    other threads of a multi-threaded target (a Go program) stay where they were. attach()
//    therefore writes cgroup.procs, which moves the whole thread group atomically;
//  - cgroup_delete_cgroup(cg, 0) moves members to the parent and succeeds; with
//    CGFLAG_DELETE_EMPTY_ONLY it returns 0 and leaves a non-empty group in place. remove() checks
//    members itself and checks afterwards that the directory is gone;
//  - cgroup_modify_cgroup on a missing group fails with ECGROUPVALUENOTEXIST, not "does not
//    exist", so existence is checked first for a clearer error;
//  - cgroup_get_last_errno() keeps the errno of an earlier failure; it is read only on ECGOTHER.

// libcgroup keeps global state (the mount table, cgroup_strerror's buffer): one caller at a time.
std::mutex& libcgroupMutex() {
  static std::mutex m;
  return m;
}

// cgroup_init is not thread-safe and caches the mount table: call it once per process.
int libcgroupInit() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = ::cgroup_init(); });
  return rc;
}

Error libcgroupError(const std::string& what, int rc) {
  if (rc == ECGOTHER) return Error::fromErrno(what + " (libcgroup)", ::cgroup_get_last_errno());
  return Error{what + ": libcgroup: " + ::cgroup_strerror(rc) + " (" + std::to_string(rc) + ")"};
}

struct CgroupFree {
  void operator()(cgroup* cg) const { ::cgroup_free(&cg); }
};
using CgroupPtr = std::unique_ptr<cgroup, CgroupFree>;

class LibcgroupEditor final : public CheckedEditor {
 public:
  using CheckedEditor::CheckedEditor;
  const char* name() const override { return "libcgroup"; }

  Status createChecked(const CheckedRel& checked) override {
    const std::string& norm = checked.norm;
    if (norm == "/") return {};  // the root always exists
    std::lock_guard<std::mutex> lock(libcgroupMutex());
    auto cg = newGroup(norm);
    if (!cg) return cg.error();
    if (int rc = ::cgroup_create_cgroup(cg->get(), 0); rc != 0) {
      return libcgroupError("create cgroup " + norm + " under " + fs_.mount(), rc);
    }
    return {};
  }

  Status setLimit(const std::string& rel, std::uint64_t bytes) override {
    auto norm = normalizeCgroupRel(rel);
    if (!norm) return norm.error();
    if (auto st = mustExist(*norm); !st) return st;
    std::lock_guard<std::mutex> lock(libcgroupMutex());
    auto cg = newGroup(*norm);
    if (!cg) return cg.error();
    cgroup_controller* ctrl = ::cgroup_get_controller(cg->get(), "memory");
    const std::string value = limitText(CgroupVersion::kV1, bytes);
    if (int rc = ::cgroup_add_value_string(ctrl, cgroup_file::kV1Limit, value.c_str()); rc != 0) {
      return libcgroupError("set " + std::string(cgroup_file::kV1Limit) + " of " + *norm, rc);
    }
    if (int rc = ::cgroup_modify_cgroup(cg->get()); rc != 0) {
      return libcgroupError("write " + std::string(cgroup_file::kV1Limit) + "=" + value + " to " + *norm, rc);
    }
    return {};
  }

  // attach() is CheckedEditor's: cgroup.procs, not cgroup_attach_task_pid (see above).

  Status removeChecked(const CheckedRel& target) override {
    const std::string& norm = target.norm;
    if (auto st = mustExist(norm); !st) return st;
    // libcgroup would move members to the parent or silently keep a non-empty group (see above),
    // so the kernel's EBUSY rules are checked here first, and the result afterwards.
    auto members = fs_.procs(norm);
    if (!members) return members.error();
    if (!members->empty()) {
      return Error{
          "remove cgroup " + norm + ": it still has members (" + pidListText(std::set<pid_t>(members->begin(), members->end())) + ")",
          EBUSY};
    }
    auto kids = childDirs(target.dir);
    if (!kids) return kids.error();
    if (!kids->empty()) {
      return Error{"remove cgroup " + norm + ": it still has child cgroups (" + kids->front() + ")", EBUSY};
    }
    {
      std::lock_guard<std::mutex> lock(libcgroupMutex());
      auto cg = newGroup(norm);
      if (!cg) return cg.error();
      if (int rc = ::cgroup_delete_cgroup_ext(cg->get(), CGFLAG_DELETE_EMPTY_ONLY); rc != 0) {
        return libcgroupError("remove cgroup " + norm, rc);
      }
    }
    if (fs_.exists(norm)) {
      return Error{"remove cgroup " + norm + ": libcgroup left it in place (a member or child appeared)", EBUSY};
    }
    return {};
  }

 private:
  Status mustExist(const std::string& norm) const {
    auto dir = fs_.absPath(norm);
    if (!dir) return dir.error();
    struct stat st;
    if (::stat(dir->c_str(), &st) != 0) return Error::fromErrno("cgroup " + norm + " (" + *dir + ")");
    return {};
  }

  // A libcgroup handle for the memory controller's `norm` ("/a/b" -> "a/b"). Caller holds the mutex.
  static Result<CgroupPtr> newGroup(const std::string& norm) {
    CgroupPtr cg(::cgroup_new_cgroup(norm.c_str() + 1));
    if (!cg) return Error{"libcgroup: cgroup_new_cgroup(" + norm + ") failed", ENOMEM};
    if (::cgroup_add_controller(cg.get(), "memory") == nullptr) {
      return Error{"libcgroup: cgroup_add_controller(" + norm + ", memory) failed", ENOMEM};
    }
    return cg;
  }
};

}  // namespace

std::unique_ptr<CgroupEditor> makeDirectEditor(const CgroupFs& fs) { return std::make_unique<DirectEditor>(fs); }

Result<std::unique_ptr<CgroupEditor>> makeLibcgroupEditor(const CgroupFs& fs) {
  if (fs.version() != CgroupVersion::kV1) {
    return Error{"libcgroup editor: only cgroup v1 is supported (" + fs.mount() + " is v2)", ENOTSUP};
  }
  if (int rc = libcgroupInit(); rc != 0) return libcgroupError("libcgroup: cgroup_init", rc);
  std::string lib_mount;
  {
    std::lock_guard<std::mutex> lock(libcgroupMutex());
    char* mp = nullptr;
    if (int rc = ::cgroup_get_subsys_mount_point("memory", &mp); rc != 0) {
      return libcgroupError("libcgroup: memory controller mount point", rc);
    }
    lib_mount = mp;
    std::free(mp);
  }
  // Compare resolved paths so that "/sys/fs/cgroup/memory/" and a symlinked spelling still match,
  // while a fixture root never does.
  auto resolve = [](const std::string& p) -> std::string {
    std::unique_ptr<char, decltype(&std::free)> r(::realpath(p.c_str(), nullptr), &std::free);
    return r ? std::string(r.get()) : std::string();
  };
  const std::string ours = resolve(fs.mount());
  if (ours.empty() || ours != resolve(lib_mount)) {
    return Error{"libcgroup editor: libcgroup's memory mount is " + lib_mount + ", not " + fs.mount() + "; refusing to let it write there",
                 EXDEV};
  }
  return std::unique_ptr<CgroupEditor>(std::make_unique<LibcgroupEditor>(fs));
}

std::unique_ptr<CgroupEditor> makeDefaultEditor(const CgroupFs& fs) {
  if (fs.version() == CgroupVersion::kV1) {
    if (auto lib = makeLibcgroupEditor(fs)) return std::move(*lib);
  }
  return makeDirectEditor(fs);
}

Status killAllMembers(const CgroupFs& fs, const std::string& rel_in, int timeout_ms) {
  auto norm = normalizeCgroupRel(rel_in);
  if (!norm) return norm.error();
  const std::string& rel = *norm;
  if (rel == "/") return Error{"refusing to kill every process in the root cgroup of " + fs.mount(), EINVAL};
  auto dir = fs.absPath(rel);
  if (!dir) return dir.error();
  if (!fs.exists(rel)) return {};
  // Pids named by a tree that is not cgroupfs (a test fixture) are not members of anything: wait
  // for the tree to empty, but signal nobody.
  const bool may_signal = isCgroupFs(fs.mount());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));

  if (fs.version() == CgroupVersion::kV2 && may_signal) {
    // cgroup.kill (5.14+) kills the whole subtree and races no fork; the loop below then only waits.
    // When it is missing or refused, the loop does the killing.
    const std::string kill_path = joinPath(*dir, cgroup_file::kKill);
    if (pathExists(kill_path)) (void)writeFile(kill_path, "1");
  }
  for (;;) {
    auto members = subtreeMembers(fs, rel);
    if (!members) return members.error();
    if (members->empty()) return {};
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error{"cgroup " + rel + ": " + std::to_string(members->size()) + " member(s) still alive after " + std::to_string(timeout_ms) +
                       " ms: " + pidListText(*members),
                   ETIMEDOUT};
    }
    if (may_signal) {
      if (auto st = killPinned(fs, rel, *members); !st) return st;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace memstrain
