#pragma once
// Crash safety: before a run changes anything it writes a journal of what it will create and
// start; it keeps it current and deletes it after cleanup. A run that dies (SIGKILL, power loss
// of the controller) leaves the journal behind; `memstrain recover` reads it and undoes the run.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/os/process.hpp"  // processStartTime
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Default place for journals: tmpfs, gone after a reboot (when the cgroups are gone too).
inline constexpr const char* kDefaultJournalDir = "/run/memstrain";

/// A process a run started, identified by pid and its start time (field 22 of /proc/PID/stat) so
/// that a reused pid is never mistaken for it.
struct JournalProcess {
  pid_t pid = 0;
  std::uint64_t start_time = 0;
  std::string role;  ///< "target", "stressor" or "trigger" (a command trigger, leader of its own process group)
};

struct Journal {
  std::string run_id;
  pid_t owner_pid = 0;
  std::uint64_t owner_start_time = 0;
  std::string cgroup_mount;
  CgroupVersion cgroup_version = CgroupVersion::kV1;
  std::vector<std::string> cgroups;  ///< created (or about to be), parents first
  std::vector<JournalProcess> processes;
};

nlohmann::json journalToJson(const Journal& j);
/// Parses a journal; Error naming the field when malformed (journals are read back after crashes).
Result<Journal> journalFromJson(std::string_view text);

/// True while the process that wrote the journal is still running.
bool journalOwnerAlive(const Journal& j, const std::string& proc_root = "/proc");

/// True when `run_id` has the shape makeRunId() gives it: "run-YYYYMMDD-HHMMSS-PID".
bool validRunId(std::string_view run_id);

/// What a journal may name, and how `recover` may treat each cgroup in it.
enum class JournalCgroupRole {
  kSharedParent,  ///< the run's --cgroup-parent: removed only when empty, its members never touched
  kRunOwned,      ///< made for the run and named after it: emptied (members killed) and removed
};

/// Why `j` is not provably the journal of a memstrain run on the memory controller mounted at
/// `mount_now` (the mount found now): one line per problem, none when it is one. The checks: the
/// run id has makeRunId()'s shape; the journal's mount and version equal the ones found now; and
/// every cgroup has one of the exact shapes a run creates under the journal's own parent P (the
/// parent of P/<run id> or P/<run id>-node, whose last part must name memstrain): P itself,
/// P/<run id>, P/<run id>/target, P/<run id>/stressor, P/<run id>-node, or a beside stressor
/// X/memstrain-stressor-<run id>. `roles` (optional) receives each cgroup's role, in order. Pure.
std::vector<std::string> journalProblems(const Journal& j, const std::string& mount_now, CgroupVersion version_now,
                                         std::vector<JournalCgroupRole>* roles = nullptr);

/// Keeps one run's journal file current.
class JournalWriter {
 public:
  JournalWriter(std::string dir, Journal journal) : dir_(std::move(dir)), journal_(std::move(journal)) {}
  std::string path() const;
  Journal& journal() { return journal_; }
  /// Writes the journal atomically as a 0600 file of memstrain's user, creating the directory
  /// (0700) when missing; an existing directory must be memstrain's user's and writable by no one
  /// else (DirTrust::kPrivate), and a symlink planted at the journal's name is replaced, not
  /// followed. Error when it cannot be written: a run must not change anything it could not undo
  /// after a crash.
  Status save();
  /// Deletes the file (after a complete cleanup).
  Status remove();

 private:
  std::string dir_;
  Journal journal_;
};

/// Journals in `dir` whose owner is dead, with their paths. Unreadable files, and files that are
/// not regular, not owned by memstrain's user or writable by others (which memstrain never
/// wrote), are reported in `problems` and not returned; so is a directory that fails
/// DirTrust::kPrivate. A missing directory has no journals.
std::vector<std::pair<std::string, Journal>> findDeadJournals(const std::string& dir, std::vector<std::string>* problems = nullptr,
                                                              const std::string& proc_root = "/proc");

/// What recovering one journal did (or, with dry_run, would do).
struct RecoveryReport {
  std::vector<std::string> actions;
  std::vector<std::string> errors;
  bool ok() const { return errors.empty(); }
};

/// Undoes a dead run on the memory controller `fs` (the one found now): refuses, changing nothing,
/// a journal with journalProblems(); else kills the processes it started that are still alive
/// (same pid AND start time) and provably the run's own (a member of one of its run-owned
/// cgroups, or a memstrain stressor, `__stressor` in its command line, for a stressor that joined
/// the target's cgroup; a command trigger, leader of its own process group, with its group),
/// empties and removes its run-owned cgroups deepest first (the shared
/// parent only when empty, its members never touched), then deletes the journal file.
RecoveryReport recoverJournal(const std::string& path, const Journal& j, bool dry_run, const CgroupFs& fs,
                              const std::string& proc_root = "/proc");

}  // namespace memstrain
