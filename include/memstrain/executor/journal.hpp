#pragma once
// Crash safety: before a run changes anything it writes a journal of what it will create and
// start; it keeps it current and deletes it after cleanup. A run that dies (SIGKILL, power loss
// of the controller) leaves the journal behind; `memstrain recover` reads it and undoes the run.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Default place for journals: tmpfs, gone after a reboot (when the cgroups are gone too).
inline constexpr const char* kDefaultJournalDir = "/run/memstrain";

/// A process a run started, identified by pid and its start time (field 22 of /proc/PID/stat) so
/// that a reused pid is never mistaken for it.
struct JournalProcess {
  pid_t pid = 0;
  std::uint64_t start_time = 0;
  std::string role;  ///< "target" or "stressor"
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

/// Start time of `pid` from `proc_root`/PID/stat (clock ticks since boot); nullopt when gone.
std::optional<std::uint64_t> processStartTime(pid_t pid, const std::string& proc_root = "/proc");
/// Parses the start time (field 22) out of /proc/PID/stat text.
std::optional<std::uint64_t> parseStartTime(std::string_view stat_text);

/// True while the process that wrote the journal is still running.
bool journalOwnerAlive(const Journal& j, const std::string& proc_root = "/proc");

/// Keeps one run's journal file current.
class JournalWriter {
 public:
  JournalWriter(std::string dir, Journal journal) : dir_(std::move(dir)), journal_(std::move(journal)) {}
  std::string path() const;
  Journal& journal() { return journal_; }
  /// Writes the journal atomically (creating the directory). Error when it cannot be written:
  /// a run must not change anything it could not undo after a crash.
  Status save();
  /// Deletes the file (after a complete cleanup).
  Status remove();

 private:
  std::string dir_;
  Journal journal_;
};

/// Journals in `dir` whose owner is dead, with their paths. Unreadable files are returned as
/// errors in `problems`.
std::vector<std::pair<std::string, Journal>> findDeadJournals(const std::string& dir, std::vector<std::string>* problems = nullptr,
                                                              const std::string& proc_root = "/proc");

/// What recovering one journal did (or, with dry_run, would do).
struct RecoveryReport {
  std::vector<std::string> actions;
  std::vector<std::string> errors;
  bool ok() const { return errors.empty(); }
};

/// Undoes a dead run: kills the processes it started that are still alive (same pid AND start
/// time), empties and removes its cgroups deepest first, then deletes the journal file.
RecoveryReport recoverJournal(const std::string& path, const Journal& j, bool dry_run, const std::string& proc_root = "/proc");

}  // namespace memstrain
