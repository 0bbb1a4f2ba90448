#pragma once
// Starting and ending child processes that memstrain owns (the target in launch mode, the
// stressor). A child is created suspended so that the parent can move it into its cgroup before it
// runs a single instruction of the program; only then is it released to exec.

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "memstrain/model/process_exit.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

struct SpawnOptions {
  /// argv[0] is searched in PATH when it has no '/'; a relative path (and a relative PATH entry)
  /// is taken from `workdir` when set, where the child runs, else from memstrain's cwd.
  std::vector<std::string> argv;
  std::map<std::string, std::string> env_overrides;  ///< set on top of memstrain's environment
  std::optional<std::string> workdir;
  int parent_death_signal = SIGKILL;       ///< delivered to the child when memstrain dies (0: none)
  bool new_process_group = true;           ///< keep the terminal's Ctrl-C away from the child
  std::optional<std::string> output_path;  ///< stdout+stderr appended to this file; else inherited
  std::vector<std::pair<int, int>> fds;    ///< (child fd, parent fd) pairs to pass through
  /// A cgroup v2 directory (absolute path) to start the child in, with clone3(CLONE_INTO_CGROUP)
  /// (Linux 5.7+): it is in its cgroup from its first instruction. Where the kernel cannot (older
  /// kernel, v1, refused) or MEMSTRAIN_CLONE_INTO_CGROUP=0 is set, the child starts in memstrain's
  /// cgroup and SuspendedChild::startedInCgroup() is false: the caller moves it before release().
  std::optional<std::string> cgroup_dir;
};

/// A forked child waiting for release() before it execs.
class SuspendedChild {
 public:
  SuspendedChild(pid_t pid, int go_fd, int err_fd, bool in_cgroup = false)
      : pid_(pid), go_fd_(go_fd), err_fd_(err_fd), in_cgroup_(in_cgroup) {}
  SuspendedChild(SuspendedChild&& o) noexcept;
  SuspendedChild& operator=(SuspendedChild&&) = delete;
  ~SuspendedChild();

  pid_t pid() const { return pid_; }
  /// True when clone3 started it in SpawnOptions::cgroup_dir; false when it must still be moved.
  bool startedInCgroup() const { return in_cgroup_; }
  /// Why clone3 did not start it in its cgroup ("" when it did, or none was asked for).
  const std::string& cloneFallbackReason() const { return fallback_reason_; }
  void setCloneFallbackReason(std::string why) { fallback_reason_ = std::move(why); }
  /// Lets the child exec. Returns an Error (with the child's errno) when exec failed; the child has
  /// then exited and been reaped.
  Status release();
  /// Kills and reaps the child without letting it exec.
  void abandon();

 private:
  pid_t pid_;
  int go_fd_;
  int err_fd_;
  bool in_cgroup_ = false;
  std::string fallback_reason_;
};

/// Forks a child that waits for release(). Error when the program cannot be found or fork fails.
Result<SuspendedChild> spawnSuspended(const SpawnOptions& options);

/// Non-blocking reap: the exit if `pid` has ended, nullopt while it runs. Errors (ECHILD) count
/// as an exit with code -1.
std::optional<ExitInfo> pollExit(pid_t pid);

/// Sends `sig`, waits up to `grace` for the exit, then SIGKILLs and reaps. Returns how it ended.
ExitInfo terminate(pid_t pid, int sig, std::chrono::milliseconds grace);

/// SIGKILLs child `pid` at nice -20 and frees its private memory at once with process_mrelease(2)
/// (Linux 5.15+), in the caller's context: the pages leave the cgroup without waiting for the
/// dying process to get its turn on a loaded node's CPUs, which can take hundreds of milliseconds. Returns
/// whether the memory was reaped that way (false: the kernel lacks the call, or the process had
/// already gone, errno says which; it dies as it would from the SIGKILL). The caller still reaps
/// the child.
bool killAndReapMemory(pid_t pid);

/// terminate() for a whole process group: a child started with `new_process_group` (its pid is
/// its group's id) and whatever it started. Sends `sig` to the group, waits up to `grace` for the
/// leader `pgid` to exit (reaping it), then SIGKILLs what is left of the group — children that
/// outlived the leader included — and waits up to a second for the group to be gone. Returns how
/// the leader ended. A descendant that left the group (setsid) is beyond its reach.
ExitInfo terminateGroup(pid_t pgid, int sig, std::chrono::milliseconds grace);

/// True while a process group `pgid` has a member that is not a zombie.
bool processGroupAlive(pid_t pgid);

/// Start time of `pid` from `proc_root`/PID/stat (clock ticks since boot); nullopt when gone.
std::optional<std::uint64_t> processStartTime(pid_t pid, const std::string& proc_root = "/proc");
/// Parses the start time (field 22) out of /proc/PID/stat text.
std::optional<std::uint64_t> parseStartTime(std::string_view stat_text);

/// A process pinned by a pidfd: its liveness and the signals sent to it concern that process
/// only, never a later one that reuses its pid (the raw-pid kill(pid, 0) and kill(pid, sig) of an
/// attached target could reach a stranger once the target had ended).
class PinnedProcess {
 public:
  /// Pins `pid`. With `start_time` (field 22 of /proc/PID/stat, as resolve recorded it), the
  /// process must still be the one that started then. Error when it is gone or another process.
  static Result<PinnedProcess> pin(pid_t pid, std::optional<std::uint64_t> start_time, const std::string& proc_root = "/proc");
  PinnedProcess(PinnedProcess&& o) noexcept : pid_(o.pid_), fd_(o.fd_) { o.fd_ = -1; }
  PinnedProcess& operator=(PinnedProcess&&) = delete;
  PinnedProcess(const PinnedProcess&) = delete;
  ~PinnedProcess();
  pid_t pid() const { return pid_; }
  /// False once the process has exited (zombie or reaped).
  bool alive() const;
  /// Sends `sig` to the pinned process. Error (ESRCH) when it has exited.
  Status signal(int sig) const;

 private:
  PinnedProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  pid_t pid_;
  int fd_;
};

/// Path of the running memstrain binary (/proc/self/exe resolved).
Result<std::string> selfExePath();

}  // namespace memstrain
