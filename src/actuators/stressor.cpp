#include "memstrain/actuators/stressor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "memstrain/actuators/cgroup_spawn.hpp"
#include "memstrain/cgroup/cpu_allowance.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace memstrain {
namespace {

std::int64_t monotonicNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Below this a chunk is not worth a thread: thread start-up (~50 us) would rival its page faults.
constexpr std::uint64_t kMinChunkBytes = 8ULL << 20;

void writeAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // the controller is gone or not reading; the command pipe's EOF will end us
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

void report(int fd, std::uint64_t populated) {
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "P %llu\n", static_cast<unsigned long long>(populated));
  writeAll(fd, std::string_view(buf, static_cast<std::size_t>(n)));
}

// Touches one byte per page: the fallback for kernels without MADV_POPULATE_WRITE (< 5.14).
void touchPages(char* begin, std::size_t len, std::size_t page) {
  for (std::size_t off = 0; off < len; off += page) {
    *static_cast<volatile char*>(begin + off) = 1;
  }
}

// Each thread faults its chunk in pieces of this size and counts them, so that the controller hears
// of a step's progress every few milliseconds rather than once a step: pages are charged to the
// cgroup as they fault in, and a controller that counts them late under-counts the stressor and
// over-counts the target (a 128 MiB step read as the target growing by 128 MiB).
constexpr std::uint64_t kPieceBytes = 8ULL << 20;

// Faults [begin, begin+len) in, piece by piece: MADV_POPULATE_WRITE, or the touch loop once the
// kernel has said EINVAL (it predates 5.14). Adds each finished piece to `progress`. Returns 0 or
// the errno of a refused populate.
int populateRange(char* begin, std::size_t len, std::size_t page, std::atomic<bool>& populate_supported,
                  std::atomic<std::uint64_t>& progress) {
  for (std::size_t off = 0; off < len; off += kPieceBytes) {
    const std::size_t n = std::min<std::size_t>(kPieceBytes, len - off);
    bool done = false;
    if (populate_supported.load(std::memory_order_relaxed)) {
      if (::madvise(begin + off, n, MADV_POPULATE_WRITE) == 0) {
        done = true;
      } else if (errno != EINVAL) {
        return errno;
      } else {
        populate_supported.store(false, std::memory_order_relaxed);
      }
    }
    if (!done) touchPages(begin + off, n, page);
    progress.fetch_add(n, std::memory_order_relaxed);
  }
  return 0;
}

// Populates [begin, begin+len) with up to `threads` threads, each faulting its own contiguous
// page-aligned chunk (page faults on distinct ranges scale with cores; one thread is bound by one
// core's zeroing rate). While they work, this thread reports "P <already + progress>" every
// millisecond or so that progress moved. Returns how many bytes from `begin` are populated and the
// errno of the first refused chunk (0 when none). Pages populated past a refused chunk are given
// back, so "populated" stays one contiguous prefix of the reservation, as the protocol reports it.
std::pair<std::uint64_t, int> populateParallel(char* begin, std::uint64_t len, std::size_t page, unsigned threads,
                                               std::atomic<bool>& populate_supported, int report_fd, std::uint64_t already) {
  const std::uint64_t pages = len / page;
  const std::uint64_t n = std::max<std::uint64_t>(1, std::min<std::uint64_t>(threads, len / kMinChunkBytes));
  std::vector<int> errs(n, 0);
  std::vector<std::uint64_t> offsets(n + 1, 0);
  for (std::uint64_t i = 0; i <= n; ++i) offsets[i] = (pages * i / n) * page;
  offsets[n] = len;
  std::atomic<std::uint64_t> progress{0};
  std::atomic<std::uint64_t> running{n};
  auto work = [&](std::uint64_t i) {
    errs[i] = populateRange(begin + offsets[i], offsets[i + 1] - offsets[i], page, populate_supported, progress);
    running.fetch_sub(1, std::memory_order_release);
  };
  std::vector<std::thread> pool;
  pool.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    try {
      pool.emplace_back(work, i);
    } catch (const std::system_error&) {
      work(i);  // no thread to be had (pids limit, memory): do the chunk here
    }
  }
  std::uint64_t reported = 0;
  while (running.load(std::memory_order_acquire) > 0) {
    timespec pause{0, 1'000'000};
    ::nanosleep(&pause, nullptr);
    const std::uint64_t now = progress.load(std::memory_order_relaxed);
    if (now != reported) {
      report(report_fd, already + now);
      reported = now;
    }
  }
  for (auto& t : pool) t.join();
  for (std::uint64_t i = 0; i < n; ++i) {
    if (errs[i] != 0) {
      ::madvise(begin + offsets[i], len - offsets[i], MADV_DONTNEED);
      return {offsets[i], errs[i]};
    }
  }
  return {len, 0};
}

// Told to stop (or the controller is gone): the pages leave now. _exit runs no atexit work: under a
// sanitizer the leak check at exit stops the world from a helper task that shares this mapping, and a
// SIGKILL from the controller then left the whole mapping charged until that task ended (seen under
// ASan: 163 MiB still in the cgroup at the run's last look).
[[noreturn]] void quitNow() { ::_exit(0); }

}  // namespace

int runStressorChild(const StressorChildOptions& o) {
  if (::fcntl(o.command_fd, F_GETFD) < 0 || ::fcntl(o.report_fd, F_GETFD) < 0) {
    std::fprintf(stderr, "memstrain: %s is internal: memstrain run starts it with its control pipes\n", kStressorSubcommand);
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGINT, SIG_IGN);  // the controller decides when we stop
  ::signal(SIGPIPE, SIG_IGN);
  // oom_score_adj was set by the controller before this process ran (Stressor::spawn).
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t reserve = (o.reserve_bytes / page) * page;
  char* base = nullptr;
  if (reserve > 0) {
    void* p = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "memstrain stressor: mmap %llu bytes: %s\n", static_cast<unsigned long long>(reserve), std::strerror(errno));
      return 3;
    }
    // 4 KiB pages only, whatever the THP mode: MADV_HUGEPAGE filled 4 GiB in 0.6 s on fresh memory
    // but took 5-6 s after another process had fragmented it (direct compaction), while 4 KiB pages
    // took 0.8-1.1 s either way. And under THP `always` (Debian's and RHEL's default) a shrink to a
    // size that is not a multiple of 2 MiB only splits the huge page it cuts: the kernel unmaps the
    // tail but keeps the whole 2 MiB page charged to the cgroup until memory pressure splits it, so
    // the stressor would hold more than it says and the controller would chase its own ghosts.
    // MADV_NOHUGEPAGE makes what it holds exact in every mode (EINVAL on kernels without THP).
    (void)::madvise(p, reserve, MADV_NOHUGEPAGE);
    base = static_cast<char*>(p);
  }
  int flags = ::fcntl(o.command_fd, F_GETFL);
  ::fcntl(o.command_fd, F_SETFL, flags | O_NONBLOCK);

  // Threads for a spike: what the cgroup's CPU quota and our affinity mask allow (read here, in
  // the cgroup the controller moved us into before we ran).
  const std::optional<double> quota = cgroupCpuQuota(::getpid());
  const unsigned threads = o.populate_threads > 0 ? o.populate_threads : usableThreads(quota, affinityCpus());
  std::fprintf(stderr, "memstrain stressor: populating with %u thread%s (cgroup CPU quota %s, %u CPUs in the affinity mask)\n", threads,
               threads == 1 ? "" : "s", quota ? std::to_string(*quota).c_str() : "none", affinityCpus());
  {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "T %u\n", threads);
    writeAll(o.report_fd, std::string_view(buf, static_cast<std::size_t>(n)));
  }

  std::uint64_t populated = 0;
  std::uint64_t target = 0;
  std::uint64_t commands = 0;  // "S" lines read, acknowledged with "A <commands>"
  std::atomic<bool> populate_supported{true};
  // A fill burst: from the first step after being at the target until the target is reached
  // again (or refused, or lowered). Timed here, so the rate does not depend on sampling.
  std::optional<std::int64_t> burst_start_ns;
  std::uint64_t burst_bytes = 0;
  auto endBurst = [&] {
    if (!burst_start_ns) return;
    const std::int64_t end = monotonicNs();
    char buf[96];
    int k = std::snprintf(buf, sizeof buf, "F %llu %lld %lld\n", static_cast<unsigned long long>(burst_bytes),
                          static_cast<long long>(end - *burst_start_ns), static_cast<long long>(end));
    writeAll(o.report_fd, std::string_view(buf, static_cast<std::size_t>(k)));
    burst_start_ns.reset();
    burst_bytes = 0;
  };
  std::string pending;
  for (;;) {
    pollfd pfd{o.command_fd, POLLIN, 0};
    int timeout = (populated == target) ? -1 : 0;  // idle: sleep until told otherwise
    int pr = ::poll(&pfd, 1, timeout);
    if (pr < 0 && errno != EINTR) return 4;
    if (pr > 0) {
      char buf[4096];
      ssize_t n = ::read(o.command_fd, buf, sizeof buf);
      if (n == 0) quitNow();  // controller gone or done
      if (n > 0) {
        pending.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        const std::uint64_t commands_before = commands;
        while ((nl = pending.find('\n')) != std::string::npos) {
          std::string_view line(pending.data(), nl);
          if (line == "Q") quitNow();
          if (line.size() > 2 && line[0] == 'S' && line[1] == ' ') {
            ++commands;
            if (auto v = parseUint64(line.substr(2))) target = std::min<std::uint64_t>((*v / page) * page, reserve);
          }
          pending.erase(0, nl + 1);
        }
        if (commands != commands_before) {
          // Every "P" from here on describes the state these commands asked for.
          char ack[32];
          int k = std::snprintf(ack, sizeof ack, "A %llu\n", static_cast<unsigned long long>(commands));
          writeAll(o.report_fd, std::string_view(ack, static_cast<std::size_t>(k)));
        }
        if (pending.size() > 4096) pending.clear();  // garbage; the controller never sends this
      }
    }
    if (target > populated) {
      // One step is step_bytes per thread, so commands are still read every ~step_bytes of work.
      const std::uint64_t len = std::min<std::uint64_t>(target - populated, o.step_bytes * threads);
      if (!burst_start_ns) burst_start_ns = monotonicNs();
      const auto [done, err] = populateParallel(base + populated, len, page, threads, populate_supported, o.report_fd, populated);
      populated += done;
      burst_bytes += done;
      if (err != 0) {
        char buf[64];
        int k = std::snprintf(buf, sizeof buf, "E %d %llu\n", err, static_cast<unsigned long long>(populated));
        writeAll(o.report_fd, std::string_view(buf, static_cast<std::size_t>(k)));
        target = populated;  // wait for the next command rather than spinning on the failure
      }
      if (populated == target) endBurst();
      report(o.report_fd, populated);
    } else if (target < populated) {
      endBurst();
      ::madvise(base + target, populated - target, MADV_DONTNEED);
      populated = target;
      report(o.report_fd, populated);
    }
  }
}

namespace {

// Writes /proc/PID/oom_score_adj and reads it back.
Status writeOomScoreAdj(pid_t pid, int value) {
  const std::string path = "/proc/" + std::to_string(pid) + "/oom_score_adj";
  const std::string want = std::to_string(value);
  Status st = writeFile(path, want + "\n");
  if (st) {
    auto now = readFile(path, 64);
    if (!now) {
      st = now.error();
    } else if (trim(*now) != want) {
      st = Error{path + " reads " + std::string(trim(*now)) + " after writing " + want, EIO};
    }
  }
  if (!st) return Error{"stressor: set oom_score_adj " + want + ": " + st.error().message, st.error().sys_errno};
  return {};
}

}  // namespace

Status Stressor::setOomScoreAdj(int value) {
  if (value == oom_score_adj_) return {};
  if (Status st = writeOomScoreAdj(pid_, value); !st) return st;
  oom_score_adj_ = value;
  return {};
}

Result<std::unique_ptr<Stressor>> Stressor::spawn(const Options& options, CgroupEditor& editor, const std::string& cgroup_rel) {
  int cmd[2];
  int rep[2];
  if (::pipe2(cmd, O_CLOEXEC) != 0) return Error::fromErrno("stressor: pipe");
  if (::pipe2(rep, O_CLOEXEC) != 0) {
    ::close(cmd[0]);
    ::close(cmd[1]);
    return Error::fromErrno("stressor: pipe");
  }
  SpawnOptions so;
  so.argv = {options.self_exe,  kStressorSubcommand,
             "--reserve",       std::to_string(options.reserve_bytes),
             "--oom-score-adj", std::to_string(options.oom_score_adj)};
  if (options.populate_threads > 0) {
    so.argv.push_back("--populate-threads");
    so.argv.push_back(std::to_string(options.populate_threads));
  }
  so.parent_death_signal = SIGKILL;
  so.output_path = options.log_path;
  so.fds = {{3, cmd[0]}, {4, rep[1]}};
  CgroupEntry entry = CgroupEntry::kMoved;
  std::string why_moved;
  auto child = spawnSuspendedIn(so, editor, cgroup_rel, &entry, &why_moved);
  ::close(cmd[0]);
  ::close(rep[1]);
  if (!child) {
    ::close(cmd[1]);
    ::close(rep[0]);
    return Error{"stressor: " + child.error().message};
  }
  if (!why_moved.empty()) spdlog::debug("stressor {} moved into {} ({})", child->pid(), cgroup_rel, why_moved);
  pid_t pid = child->pid();
  // oom_score_adj is set here, on the suspended child, and checked: a stressor the kernel would
  // not pick first must never run (a failed write used to be ignored by the child).
  if (Status st = writeOomScoreAdj(pid, options.oom_score_adj); !st) {
    child->abandon();
    ::close(cmd[1]);
    ::close(rep[0]);
    return st.error();
  }
  if (auto st = child->release(); !st) {
    ::close(cmd[1]);
    ::close(rep[0]);
    return Error{"stressor: " + st.error().message};
  }
  int fl = ::fcntl(rep[0], F_GETFL);
  ::fcntl(rep[0], F_SETFL, fl | O_NONBLOCK);
  std::unique_ptr<Stressor> out(new Stressor(pid, cmd[1], rep[0]));
  out->oom_score_adj_ = options.oom_score_adj;
  return out;
}

Stressor::~Stressor() {
  stop(std::chrono::milliseconds(500));
  if (cmd_fd_ >= 0) ::close(cmd_fd_);
  if (report_fd_ >= 0) ::close(report_fd_);
}

Status Stressor::setTarget(std::uint64_t bytes) {
  if (exit_) return Error{"stressor " + std::to_string(pid_) + " has ended (" + exit_->describe() + ")"};
  if (bytes == target_bytes_) return {};
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "S %llu\n", static_cast<unsigned long long>(bytes));
  ssize_t w;
  do {
    w = ::write(cmd_fd_, buf, static_cast<std::size_t>(n));
  } while (w < 0 && errno == EINTR);
  if (w != n) return Error::fromErrno("stressor " + std::to_string(pid_) + ": send target", w < 0 ? errno : EIO);
  target_bytes_ = bytes;
  ++sent_commands_;
  return {};
}

std::uint64_t Stressor::pollPopulated() {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(report_fd_, buf, sizeof buf);
    if (n <= 0) break;
    partial_.append(buf, static_cast<std::size_t>(n));
  }
  std::size_t nl;
  while ((nl = partial_.find('\n')) != std::string::npos) {
    std::string_view line(partial_.data(), nl);
    auto fields = splitFields(line);
    if (fields.size() == 2 && fields[0] == "P") {
      if (auto v = parseUint64(fields[1])) populated_bytes_ = *v;
    } else if (fields.size() == 4 && fields[0] == "F") {
      auto b = parseUint64(fields[1]);
      auto ns = parseInt64(fields[2]);
      auto end = parseInt64(fields[3]);
      if (b && ns && end && *ns >= 0) {
        fill_.bytes += *b;
        fill_.populate_ns += *ns;
        fill_.last_end_monotonic_ns = *end;
      }
    } else if (fields.size() == 2 && fields[0] == "A") {
      if (auto v = parseUint64(fields[1])) acked_commands_ = *v;
    } else if (fields.size() == 2 && fields[0] == "T") {
      if (auto v = parseUint64(fields[1])) populate_threads_ = static_cast<unsigned>(*v);
    } else if (fields.size() == 3 && fields[0] == "E") {
      if (auto e = parseInt64(fields[1])) last_errno_ = static_cast<int>(*e);
      if (auto v = parseUint64(fields[2])) populated_bytes_ = *v;
    }
    partial_.erase(0, nl + 1);
  }
  return populated_bytes_;
}

std::optional<ExitInfo> Stressor::checkExited() {
  if (!exit_) exit_ = pollExit(pid_);
  return exit_;
}

ExitInfo Stressor::stop(std::chrono::milliseconds grace) {
  if (exit_) return *exit_;
  if (cmd_fd_ >= 0) {
    ssize_t ignored = ::write(cmd_fd_, "Q\n", 2);
    (void)ignored;
    ::close(cmd_fd_);
    cmd_fd_ = -1;
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if ((exit_ = pollExit(pid_))) return *exit_;
    ::usleep(2000);
  }
  // Release first: its pages are freed here and now, not when the dying stressor next gets a CPU.
  if ((exit_ = pollExit(pid_))) return *exit_;
  (void)killAndReapMemory(pid_);
  exit_ = terminate(pid_, SIGKILL, std::chrono::milliseconds(2000));
  return *exit_;
}

}  // namespace memstrain
