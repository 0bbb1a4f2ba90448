#pragma once
// The stressor: a separate child process that holds a requested number of anonymous bytes resident
// in its cgroup. It faults pages in with MADV_POPULATE_WRITE (falling back to touching each page),
// with as many threads as its cgroup's CPU quota and affinity mask allow, each on its own chunk;
// shrinks with MADV_DONTNEED, and otherwise sleeps in poll(): holding costs no CPU.
//
// Protocol over two pipes, one line per message:
//   controller -> stressor: "S <bytes>\n" (new target), "Q\n" (quit). EOF also means quit.
//   stressor -> controller: "T <threads>\n" once at start, "A <n>\n" when it has read its n-th
//   "S" (every later "P" reflects it), "P <populated bytes>\n" every ~millisecond a fill makes
//   progress and after every step, "E <errno> <populated>\n" when the kernel refused to populate, and
//   "F <bytes> <ns> <end CLOCK_MONOTONIC ns>\n" when a fill burst ends (the target reached,
//   refused or lowered): how many bytes it populated and how long that took.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/os/process.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Hidden subcommand that runs the stressor side: `memstrain __stressor ...`.
inline constexpr const char* kStressorSubcommand = "__stressor";

struct StressorChildOptions {
  int command_fd = 3;
  int report_fd = 4;
  std::uint64_t reserve_bytes = 0;         ///< address space reserved up front; targets are capped to it
  int oom_score_adj = 1000;                ///< informational: the controller set it before the stressor ran
  std::uint64_t step_bytes = 64ULL << 20;  ///< populate at most this much per thread between command checks
  unsigned populate_threads = 0;           ///< 0: min(ceil(cgroup CPU quota), CPUs in the affinity mask)
};

/// Entry point of the stressor process. Returns the process exit code.
int runStressorChild(const StressorChildOptions& options);

/// The stressor's fill bursts so far, summed (see the protocol's "F" line).
struct StressorFillTotals {
  std::uint64_t bytes = 0;                            ///< populated in bursts
  std::int64_t populate_ns = 0;                       ///< time those bursts took
  std::optional<std::int64_t> last_end_monotonic_ns;  ///< CLOCK_MONOTONIC end of the last burst
};

/// Controller-side handle of a running stressor.
class Stressor {
 public:
  struct Options {
    std::string self_exe;             ///< the memstrain binary to re-exec
    std::uint64_t reserve_bytes = 0;  ///< upper bound of what it may be asked to hold
    int oom_score_adj = 1000;
    unsigned populate_threads = 0;  ///< 0: the stressor sizes it from its cgroup's CPU quota
    std::optional<std::string> log_path;
  };

  /// Starts the stressor suspended in `cgroup_rel` (created there with clone3 on v2, else moved
  /// with `editor` before it runs), sets its oom_score_adj (and reads it back), then lets it run.
  /// Error, with no stressor left running, when any of that fails.
  static Result<std::unique_ptr<Stressor>> spawn(const Options& options, CgroupEditor& editor, const std::string& cgroup_rel);
  ~Stressor();
  Stressor(const Stressor&) = delete;
  Stressor& operator=(const Stressor&) = delete;

  pid_t pid() const { return pid_; }
  /// Asks the stressor to hold `bytes` (page-rounded down, capped at the reservation).
  Status setTarget(std::uint64_t bytes);
  std::uint64_t targetBytes() const { return target_bytes_; }
  /// Reads pending reports without blocking; returns the stressor's last populated figure.
  std::uint64_t pollPopulated();
  std::uint64_t populatedBytes() const { return populated_bytes_; }
  /// True when the stressor has read every target sent so far and reported holding nothing since:
  /// a populated figure of 0 from before the last setTarget (or from mid-step) does not count.
  bool drained() const { return acked_commands_ == sent_commands_ && populated_bytes_ == 0; }
  /// Fill bursts reported so far (read by pollPopulated()).
  const StressorFillTotals& fillTotals() const { return fill_; }
  /// Threads the stressor populates with (0 until its first report arrives).
  unsigned populateThreads() const { return populate_threads_; }
  /// Last errno the stressor reported for a refused populate (0 when none).
  int lastPopulateErrno() const { return last_errno_; }
  /// The stressor's oom_score_adj now (as spawned, or as last set).
  int oomScoreAdj() const { return oom_score_adj_; }
  /// Sets the running stressor's oom_score_adj (a stage may ask for another value than the
  /// first) and reads it back. Error when the kernel refuses it; the old value then stays.
  Status setOomScoreAdj(int value);
  /// The exit, once the stressor has ended (reaped here); nullopt while it runs.
  std::optional<ExitInfo> checkExited();
  /// Asks it to quit, waits up to `grace`, then kills it. Idempotent.
  ExitInfo stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  Stressor(pid_t pid, int cmd_fd, int report_fd) : pid_(pid), cmd_fd_(cmd_fd), report_fd_(report_fd) {}

  pid_t pid_;
  int cmd_fd_;
  int report_fd_;
  std::uint64_t target_bytes_ = 0;
  std::uint64_t populated_bytes_ = 0;
  std::uint64_t sent_commands_ = 0;   ///< "S" lines written
  std::uint64_t acked_commands_ = 0;  ///< the stressor's last "A"
  int last_errno_ = 0;
  unsigned populate_threads_ = 0;
  StressorFillTotals fill_;
  int oom_score_adj_ = 1000;
  std::string partial_;
  std::optional<ExitInfo> exit_;
};

}  // namespace memstrain
