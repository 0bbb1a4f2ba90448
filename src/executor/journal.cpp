#include "memstrain/executor/journal.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "memstrain/util/fs.hpp"
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

std::optional<std::uint64_t> parseStartTime(std::string_view stat_text) {
  const auto close = stat_text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  auto fields = splitFields(stat_text.substr(close + 1));
  constexpr std::size_t kStartTime = 22 - 3;  // fields after ") " start at field 3
  if (fields.size() <= kStartTime) return std::nullopt;
  return parseUint64(fields[kStartTime]);
}

std::optional<std::uint64_t> processStartTime(pid_t pid, const std::string& proc_root) {
  auto text = readFile(proc_root + "/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return std::nullopt;
  return parseStartTime(*text);
}

bool journalOwnerAlive(const Journal& j, const std::string& proc_root) {
  auto st = processStartTime(j.owner_pid, proc_root);
  return st && *st == j.owner_start_time;
}

std::string JournalWriter::path() const { return joinPath(dir_, journal_.run_id + ".json"); }

Status JournalWriter::save() {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return Error::fromErrno("mkdir " + dir_);
  return writeFileAtomic(path(), journalToJson(journal_).dump(2) + "\n");
}

Status JournalWriter::remove() {
  if (::unlink(path().c_str()) != 0 && errno != ENOENT) return Error::fromErrno("unlink " + path());
  return {};
}

std::vector<std::pair<std::string, Journal>> findDeadJournals(const std::string& dir, std::vector<std::string>* problems,
                                                              const std::string& proc_root) {
  std::vector<std::pair<std::string, Journal>> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;  // no directory: no journals
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json") continue;
    const std::string path = joinPath(dir, name);
    auto text = readFile(path);
    if (!text) {
      if (problems) problems->push_back(text.error().message);
      continue;
    }
    auto j = journalFromJson(*text);
    if (!j) {
      if (problems) problems->push_back(path + ": " + j.error().message);
      continue;
    }
    if (!journalOwnerAlive(*j, proc_root)) out.emplace_back(path, std::move(*j));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

RecoveryReport recoverJournal(const std::string& path, const Journal& j, bool dry_run, const std::string& proc_root) {
  RecoveryReport r;
  for (const auto& p : j.processes) {
    auto st = processStartTime(p.pid, proc_root);
    if (!st || *st != p.start_time) continue;  // gone, or the pid now belongs to someone else
    r.actions.push_back("kill " + p.role + " pid " + std::to_string(p.pid));
    if (!dry_run && ::kill(p.pid, SIGKILL) != 0 && errno != ESRCH) {
      r.errors.push_back("kill " + std::to_string(p.pid) + ": " + std::string(std::strerror(errno)));
    }
  }
  CgroupFs fs(j.cgroup_mount, j.cgroup_version);
  std::vector<std::string> cgroups = j.cgroups;
  std::sort(cgroups.begin(), cgroups.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  auto editor = makeDirectEditor(fs);
  for (const auto& cg : cgroups) {
    if (!fs.exists(cg)) continue;
    const bool shared_parent = cg.find(j.run_id) == std::string::npos;  // e.g. /memstrain: only if empty
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
