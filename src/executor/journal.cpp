#include "memstrain/executor/journal.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "memstrain/util/fs.hpp"
#include "memstrain/util/json_write.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {

using nlohmann::json;

json journalToJson(const Journal& j) {
  json procs = json::array();
  for (const auto& p : j.processes) procs.push_back({{"pid", p.pid}, {"start_time", p.start_time}, {"role", p.role}});
  return {{"journal_version", 1},           {"run_id", j.run_id},
          {"owner_pid", j.owner_pid},       {"owner_start_time", j.owner_start_time},
          {"cgroup_mount", j.cgroup_mount}, {"cgroup_version", toString(j.cgroup_version)},
          {"cgroups", j.cgroups},           {"processes", procs}};
}

Result<Journal> journalFromJson(std::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Error{"journal is not a JSON object"};
  Journal j;
  auto need = [&](const char* key, json::value_t a, json::value_t b = json::value_t::discarded) -> const json* {
    auto it = doc.find(key);
    if (it == doc.end() || (it->type() != a && it->type() != b)) return nullptr;
    return &*it;
  };
  const json* run_id = need("run_id", json::value_t::string);
  const json* owner = need("owner_pid", json::value_t::number_unsigned, json::value_t::number_integer);
  const json* owner_start = need("owner_start_time", json::value_t::number_unsigned, json::value_t::number_integer);
  const json* mount = need("cgroup_mount", json::value_t::string);
  const json* version = need("cgroup_version", json::value_t::string);
  const json* cgroups = need("cgroups", json::value_t::array);
  const json* procs = need("processes", json::value_t::array);
  if (!run_id || !owner || !owner_start || !mount || !version || !cgroups || !procs) {
    return Error{"journal lacks run_id, owner_pid, owner_start_time, cgroup_mount, cgroup_version, cgroups or processes"};
  }
  j.run_id = run_id->get<std::string>();
  j.owner_pid = owner->get<pid_t>();
  j.owner_start_time = owner_start->get<std::uint64_t>();
  j.cgroup_mount = mount->get<std::string>();
  j.cgroup_version = version->get<std::string>() == "v2" ? CgroupVersion::kV2 : CgroupVersion::kV1;
  for (const auto& c : *cgroups) {
    if (!c.is_string()) return Error{"journal: cgroups must be strings"};
    j.cgroups.push_back(c.get<std::string>());
  }
  for (const auto& p : *procs) {
    if (!p.is_object() || !p.contains("pid") || !p["pid"].is_number_integer() || !p.contains("start_time") ||
        !p["start_time"].is_number_unsigned() || !p.contains("role") || !p["role"].is_string()) {
      return Error{"journal: each process needs pid, start_time and role"};
    }
    j.processes.push_back({p["pid"].get<pid_t>(), p["start_time"].get<std::uint64_t>(), p["role"].get<std::string>()});
  }
  return j;
}

bool journalOwnerAlive(const Journal& j, const std::string& proc_root) {
  auto st = processStartTime(j.owner_pid, proc_root);
  return st && *st == j.owner_start_time;
}

std::string JournalWriter::path() const { return joinPath(dir_, journal_.run_id + ".json"); }

Status JournalWriter::save() {
  auto dir = openOutputDir(dir_, DirTrust::kPrivate, 0700);
  if (!dir) return Error{"journal directory: " + dir.error().message, dir.error().sys_errno};
  return writeFileAtomicAt(dir->get(), journal_.run_id + ".json", dumpJson(journalToJson(journal_), 2) + "\n", 0600, path());
}

Status JournalWriter::remove() {
  if (::unlink(path().c_str()) != 0 && errno != ENOENT) return Error::fromErrno("unlink " + path());
  return {};
}

std::vector<std::pair<std::string, Journal>> findDeadJournals(const std::string& dir, std::vector<std::string>* problems,
                                                              const std::string& proc_root) {
  std::vector<std::pair<std::string, Journal>> out;
  auto note = [&](std::string p) {
    if (problems) problems->push_back(std::move(p));
  };
  auto dfd = openTrustedDir(dir, DirTrust::kPrivate);
  if (!dfd) {
    if (dfd.error().sys_errno != ENOENT) note("journal directory: " + dfd.error().message);
    return out;  // no directory: no journals
  }
  // fdopendir takes the descriptor over; the checked one stays open for openat.
  DIR* d = ::fdopendir(::dup(dfd->get()));
  if (!d) {
    note(Error::fromErrno("read journal directory " + dir).message);
    return out;
  }
  const uid_t euid = ::geteuid();
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json" || name.front() == '.') continue;
    const std::string path = joinPath(dir, name);
    // Journals are regular files of memstrain's user that no one else can write: anything else
    // was not written by memstrain and is not read (a symlink is not followed, a FIFO not waited on).
    UniqueFd fd(::openat(dfd->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
      note(errno == ELOOP ? path + ": a symlink; journals are regular files, refusing to read it"
                          : Error::fromErrno("open " + path).message);
      continue;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      note(Error::fromErrno("stat " + path).message);
      continue;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != euid || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      note(path + ": not a journal memstrain wrote (" + (S_ISREG(st.st_mode) ? "" : "not a regular file, ") + "owner uid " +
           std::to_string(st.st_uid) + ", mode " + mode + "); refusing to read it");
      continue;
    }
    auto text = readFd(fd.get(), path);
    if (!text) {
      note(text.error().message);
      continue;
    }
    auto j = journalFromJson(*text);
    if (!j) {
      note(path + ": " + j.error().message);
      continue;
    }
    if (!journalOwnerAlive(*j, proc_root)) out.emplace_back(path, std::move(*j));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

bool validRunId(std::string_view id) {
  // run-YYYYMMDD-HHMMSS-PID
  constexpr std::string_view kPrefix = "run-";
  if (!startsWith(id, kPrefix)) return false;
  id.remove_prefix(kPrefix.size());
  auto digits = [&](std::size_t n) {
    if (id.size() < n) return false;
    for (std::size_t i = 0; i < n; ++i) {
      if (id[i] < '0' || id[i] > '9') return false;
    }
    id.remove_prefix(n);
    return true;
  };
  auto dash = [&] {
    if (id.empty() || id.front() != '-') return false;
    id.remove_prefix(1);
    return true;
  };
  if (!digits(8) || !dash() || !digits(6) || !dash()) return false;
  if (id.empty() || id.size() > 10 || id.front() == '0') return false;
  return digits(id.size());
}

namespace {

std::string lastPart(const std::string& cg) { return cg.substr(cg.find_last_of('/') + 1); }

// An absolute cgroup path without empty, "." or ".." parts (journals are read back from disk).
bool cleanCgroupPath(const std::string& cg) {
  if (cg.size() < 2 || cg.front() != '/' || cg.back() == '/') return false;
  std::size_t i = 1;
  while (i <= cg.size()) {
    std::size_t j = cg.find('/', i);
    if (j == std::string::npos) j = cg.size();
    const std::string part = cg.substr(i, j - i);
    if (part.empty() || part == "." || part == "..") return false;
    i = j + 1;
  }
  return true;
}

std::string normalMount(std::string m) {
  while (m.size() > 1 && m.back() == '/') m.pop_back();
  return m;
}

}  // namespace

std::vector<std::string> journalProblems(const Journal& j, const std::string& mount_now, CgroupVersion version_now,
                                         std::vector<JournalCgroupRole>* roles) {
  std::vector<std::string> out;
  if (!validRunId(j.run_id))
    out.push_back("run id \"" + sanitizeUntrusted(j.run_id, 80) + "\" is not one memstrain makes (run-YYYYMMDD-HHMMSS-PID)");
  if (normalMount(j.cgroup_mount) != normalMount(mount_now) || j.cgroup_version != version_now) {
    out.push_back("its memory controller is " + sanitizeUntrusted(j.cgroup_mount, 200) + " (" + toString(j.cgroup_version) +
                  "), not the one mounted now: " + mount_now + " (" + toString(version_now) + ")");
  }
  if (!out.empty()) return out;  // without a good run id the shapes below mean nothing
  // The journal's own parent: the parent of P/<run id> and of P/<run id>-node.
  std::optional<std::string> parent;
  for (const auto& cg : j.cgroups) {
    if (!cleanCgroupPath(cg)) continue;
    const std::string leaf = lastPart(cg);
    if (leaf != j.run_id && leaf != j.run_id + "-node") continue;
    const std::string p = cg.substr(0, cg.size() - leaf.size() - 1);
    const std::string pp = p.empty() ? "/" : p;
    if (parent && *parent != pp) {
      out.push_back("its run cgroups sit under two parents, " + *parent + " and " + pp);
      return out;
    }
    parent = pp;
  }
  if (parent && (*parent == "/" || lastPart(*parent).find("memstrain") == std::string::npos)) {
    out.push_back("its parent cgroup " + sanitizeUntrusted(*parent, 200) + " does not name memstrain (as --cgroup-parent must)");
    return out;
  }
  auto under = [&](const std::string& suffix) { return parent && *parent != "/" ? *parent + suffix : "/" + suffix.substr(1); };
  for (const auto& cg : j.cgroups) {
    std::optional<JournalCgroupRole> role;
    if (cleanCgroupPath(cg)) {
      if (parent && cg == *parent) {
        role = JournalCgroupRole::kSharedParent;
      } else if (parent && (cg == under("/" + j.run_id) || cg == under("/" + j.run_id + "/target") ||
                            cg == under("/" + j.run_id + "/stressor") || cg == under("/" + j.run_id + "-node"))) {
        role = JournalCgroupRole::kRunOwned;
      } else if (lastPart(cg) == "memstrain-stressor-" + j.run_id) {
        role = JournalCgroupRole::kRunOwned;  // a beside stressor next to an attached target
      }
    }
    if (!role) {
      out.push_back("cgroup " + sanitizeUntrusted(cg, 200) + " is not one a run creates" +
                    (parent ? " under " + *parent : std::string(" (no ") + j.run_id + " cgroup names its parent)"));
      continue;
    }
    if (roles) roles->push_back(*role);
  }
  return out;
}

namespace {

// True when `pid` is provably the run's: a member of one of its run-owned cgroups, or a memstrain
// stressor (argv[1] "__stressor") when the journal says it is one.
bool processIsTheRuns(const JournalProcess& p, const std::vector<std::string>& run_owned, const CgroupFs& fs,
                      const std::string& proc_root) {
  auto cg = fs.cgroupOfPid(p.pid, proc_root);
  if (cg && std::find(run_owned.begin(), run_owned.end(), *cg) != run_owned.end()) return true;
  if (p.role != "stressor") return false;
  auto cmdline = readFile(proc_root + "/" + std::to_string(p.pid) + "/cmdline", 64 * 1024);
  if (!cmdline) return false;
  const std::string_view c(*cmdline);
  const auto nul = c.find('\0');
  return nul != std::string_view::npos && startsWith(c.substr(nul + 1), std::string_view("__stressor\0", 11));
}

}  // namespace

RecoveryReport recoverJournal(const std::string& path, const Journal& j, bool dry_run, const CgroupFs& fs, const std::string& proc_root) {
  RecoveryReport r;
  std::vector<JournalCgroupRole> roles;
  const std::vector<std::string> problems = journalProblems(j, fs.mount(), fs.version(), &roles);
  if (!problems.empty()) {
    for (const auto& p : problems) r.errors.push_back("refusing " + path + ": " + p);
    r.errors.push_back("nothing was changed; if the journal is not a memstrain run's, delete it by hand");
    return r;
  }
  std::vector<std::string> run_owned;
  for (std::size_t i = 0; i < j.cgroups.size(); ++i) {
    if (roles[i] == JournalCgroupRole::kRunOwned) run_owned.push_back(j.cgroups[i]);
  }
  for (const auto& p : j.processes) {
    auto st = processStartTime(p.pid, proc_root);
    if (!st || *st != p.start_time) continue;  // gone, or the pid now belongs to someone else
    if (p.role == "trigger") {
      // A command trigger memstrain started as the leader of its own process group: the leader
      // with this pid and start time is the run's, and so is its group (pid N cannot be reused
      // while a group N exists).
      r.actions.push_back("kill trigger command pid " + std::to_string(p.pid) + " and its process group");
      if (!dry_run && ::kill(-p.pid, SIGKILL) != 0 && errno != ESRCH) {
        r.errors.push_back("kill process group " + std::to_string(p.pid) + ": " + std::string(std::strerror(errno)));
      }
      continue;
    }
    if (!processIsTheRuns(p, run_owned, fs, proc_root)) {
      r.actions.push_back("leave pid " + std::to_string(p.pid) + " alone: not in the run's cgroups and not a memstrain stressor");
      continue;
    }
    r.actions.push_back("kill " + p.role + " pid " + std::to_string(p.pid));
    if (!dry_run && ::kill(p.pid, SIGKILL) != 0 && errno != ESRCH) {
      r.errors.push_back("kill " + std::to_string(p.pid) + ": " + std::string(std::strerror(errno)));
    }
  }
  std::vector<std::size_t> order(j.cgroups.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return j.cgroups[a].size() > j.cgroups[b].size(); });
  auto editor = makeDirectEditor(fs);
  for (const std::size_t i : order) {
    const std::string& cg = j.cgroups[i];
    if (!fs.exists(cg)) continue;
    const bool shared_parent = roles[i] == JournalCgroupRole::kSharedParent;  // e.g. /memstrain: only if empty
    r.actions.push_back(std::string(shared_parent ? "remove (if empty) " : "empty and remove ") + "cgroup " + cg);
    if (dry_run) continue;
    if (!shared_parent) {
      if (auto st = killAllMembers(fs, cg); !st) r.errors.push_back(st.error().message);
    }
    if (auto st = editor->remove(cg); !st) {
      const int e = st.error().sys_errno;
      if (!(shared_parent && (e == EBUSY || e == ENOTEMPTY))) r.errors.push_back(st.error().message);
    }
  }
  if (!dry_run && r.ok()) {
    r.actions.push_back("delete journal " + path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) r.errors.push_back("unlink " + path + ": " + std::strerror(errno));
  } else if (dry_run) {
    r.actions.push_back("delete journal " + path);
  }
  return r;
}

}  // namespace memstrain
