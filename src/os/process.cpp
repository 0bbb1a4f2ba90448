#include "memstrain/os/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

extern char** environ;

namespace memstrain {

SuspendedChild::SuspendedChild(SuspendedChild&& o) noexcept
    : pid_(o.pid_), go_fd_(o.go_fd_), err_fd_(o.err_fd_), in_cgroup_(o.in_cgroup_), fallback_reason_(std::move(o.fallback_reason_)) {
  o.pid_ = -1;
  o.go_fd_ = -1;
  o.err_fd_ = -1;
}

SuspendedChild::~SuspendedChild() {
  if (go_fd_ >= 0) abandon();
  if (err_fd_ >= 0) ::close(err_fd_);
}

Status SuspendedChild::release() {
  char go = 'g';
  ssize_t w;
  do {
    w = ::write(go_fd_, &go, 1);
  } while (w < 0 && errno == EINTR);
  ::close(go_fd_);
  go_fd_ = -1;
  // The error pipe is close-on-exec: EOF means exec succeeded, 4 bytes mean it failed with that errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_fd_, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(err_fd_);
  err_fd_ = -1;
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    return Error::fromErrno("exec in child " + std::to_string(pid_), child_errno);
  }
  return {};
}

void SuspendedChild::abandon() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (go_fd_ >= 0) ::close(go_fd_);
  go_fd_ = -1;
}

namespace {

// The program the child will exec, as an absolute path. A relative name is looked up where the
// child will be when it execs: after chdir(workdir), not in memstrain's own working directory.
Result<std::string> resolveProgram(const std::string& prog, const std::optional<std::string>& workdir) {
  std::string cwd;
  {
    char buf[4096];
    if (::getcwd(buf, sizeof buf) == nullptr) return Error::fromErrno("getcwd");
    cwd = buf;
  }
  // Where the child's relative paths start: workdir (itself relative to our cwd) or our cwd.
  const std::string base = !workdir ? cwd : (!workdir->empty() && workdir->front() == '/') ? *workdir : joinPath(cwd, *workdir);
  auto absolute = [&](const std::string& p) { return !p.empty() && p.front() == '/' ? p : joinPath(base, p); };
  if (prog.find('/') != std::string::npos) {
    const std::string path = absolute(prog);
    if (::access(path.c_str(), X_OK) != 0) {
      return Error::fromErrno("program " + prog + (workdir && prog.front() != '/' ? " (in workdir " + *workdir + ")" : ""));
    }
    return path;
  }
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t i = 0;
  while (i <= p.size()) {
    std::size_t j = p.find(':', i);
    if (j == std::string::npos) j = p.size();
    std::string dir = p.substr(i, j - i);
    if (dir.empty()) dir = ".";
    std::string candidate = absolute(dir + "/" + prog);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    i = j + 1;
  }
  return Error{"program \"" + prog + "\" not found in PATH"};
}

// clone3(2)'s argument block (linux/sched.h, Linux 5.7 layout), declared here because the uapi
// header's CLONE_* macros collide with glibc's <sched.h>.
struct CloneArgs {
  std::uint64_t flags = 0, pidfd = 0, child_tid = 0, parent_tid = 0, exit_signal = 0, stack = 0, stack_size = 0, tls = 0;
  std::uint64_t set_tid = 0, set_tid_size = 0, cgroup = 0;
};
constexpr std::uint64_t kCloneIntoCgroup = 0x200000000ULL;

// fork(), or clone3 into the cgroup `cgroup_fd` when it is >= 0. Like fork() the child runs on a
// copy of the parent's stack. Without glibc's fork the child's cached thread id is stale: the child
// code below uses no call that needs it (no raise, no pthread_*), and exec replaces it anyway.
// `in_cgroup` says whether clone3 did it; `why` why not.
pid_t forkInto(int cgroup_fd, bool& in_cgroup, std::string& why) {
  in_cgroup = false;
  if (cgroup_fd >= 0) {
    CloneArgs args;
    args.flags = kCloneIntoCgroup;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    const long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      in_cgroup = pid > 0;
      return static_cast<pid_t>(pid);
    }
    // ENOSYS: no clone3 (< 5.3); E2BIG/EINVAL: no CLONE_INTO_CGROUP (< 5.7) or not a v2 cgroup;
    // others (EBUSY, EACCES, EOPNOTSUPP) are the same refusals an attach would meet, told there.
    why = std::string("clone3(CLONE_INTO_CGROUP): ") + std::strerror(errno);
  }
  return ::fork();
}

}  // namespace

Result<SuspendedChild> spawnSuspended(const SpawnOptions& options) {
  if (options.argv.empty()) return Error{"spawn: empty command"};
  auto prog = resolveProgram(options.argv[0], options.workdir);
  if (!prog) return prog.error();

  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    std::string key(kv.substr(0, eq));
    if (options.env_overrides.count(key)) continue;
    env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : options.env_overrides) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = options.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out_fd = -1;
  if (options.output_path) {
    // A log in the run's output directory: a symlink or FIFO planted at its name is refused.
    auto fd = openAppend(*options.output_path);
    if (!fd) return fd.error();
    out_fd = fd->release();
  }
  int go_pipe[2];
  int err_pipe[2];
  if (::pipe2(go_pipe, O_CLOEXEC) != 0) {
    if (out_fd >= 0) ::close(out_fd);
    return Error::fromErrno("pipe");
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(go_pipe[0]);
    ::close(go_pipe[1]);
    if (out_fd >= 0) ::close(out_fd);
    return Error::fromErrno("pipe");
  }
  int cgroup_fd = -1;
  std::string why_not;
  if (options.cgroup_dir) {
    const char* knob = std::getenv("MEMSTRAIN_CLONE_INTO_CGROUP");
    if (knob != nullptr && std::string_view(knob) == "0") {
      why_not = "MEMSTRAIN_CLONE_INTO_CGROUP=0";
    } else if ((cgroup_fd = ::open(options.cgroup_dir->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
      why_not = "open " + *options.cgroup_dir + ": " + std::strerror(errno);
    }
  }
  const pid_t parent = ::getpid();
  const std::string& program = *prog;
  bool in_cgroup = false;
  pid_t pid = forkInto(cgroup_fd, in_cgroup, why_not);
  if (cgroup_fd >= 0 && pid != 0) ::close(cgroup_fd);
  if (pid < 0) {
    Error e = Error::fromErrno("fork");
    for (int fd : {go_pipe[0], go_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    if (out_fd >= 0) ::close(out_fd);
    return e;
  }
  if (pid == 0) {
    auto die = [&](int err) {
      ssize_t ignored = ::write(err_pipe[1], &err, sizeof err);
      (void)ignored;
      ::_exit(127);
    };
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() != parent) ::_exit(126);  // the parent died before prctl took effect
    }
    if (options.new_process_group) ::setpgid(0, 0);
    // Restore default dispositions and an empty mask: the controller blocks signals in its threads.
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    char go = 0;
    ssize_t n;
    do {
      n = ::read(go_pipe[0], &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(125);  // parent abandoned us
    if (out_fd >= 0) {
      if (::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) die(errno);
    }
    for (const auto& [child_fd, parent_fd] : options.fds) {
      if (child_fd == parent_fd) {
        int flags = ::fcntl(parent_fd, F_GETFD);
        if (flags < 0 || ::fcntl(parent_fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) die(errno);
      } else if (::dup2(parent_fd, child_fd) < 0) {
        die(errno);
      }
    }
    if (options.workdir && ::chdir(options.workdir->c_str()) != 0) die(errno);
    ::execve(program.c_str(), argv.data(), envp.data());
    die(errno);
  }
  ::close(go_pipe[0]);
  ::close(err_pipe[1]);
  if (out_fd >= 0) ::close(out_fd);
  SuspendedChild child(pid, go_pipe[1], err_pipe[0], in_cgroup);
  if (options.cgroup_dir && !in_cgroup) child.setCloneFallbackReason(why_not);
  return child;
}

std::optional<ExitInfo> pollExit(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return std::nullopt;
  if (r < 0) return ExitInfo{false, -1, 0};
  if (WIFSIGNALED(status)) return ExitInfo{true, 0, WTERMSIG(status)};
  return ExitInfo{false, WEXITSTATUS(status), 0};
}

ExitInfo terminate(pid_t pid, int sig, std::chrono::milliseconds grace) {
  if (auto e = pollExit(pid)) return *e;
  ::kill(pid, sig);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto e = pollExit(pid)) return *e;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ExitInfo{false, -1, 0};
  if (WIFSIGNALED(status)) return ExitInfo{true, 0, WTERMSIG(status)};
  return ExitInfo{false, WEXITSTATUS(status), 0};
}

bool processGroupAlive(pid_t pgid) {
  if (pgid <= 0 || (::kill(-pgid, 0) != 0 && errno == ESRCH)) return false;
  // kill() finds zombies too: a member killed and not yet reaped by whoever adopted it holds
  // nothing. Alive means a member that is not a zombie (/proc/PID/stat: state, ppid, pgrp).
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return true;
  bool alive = false;
  while (dirent* e = ::readdir(d)) {
    auto pid = parseUint64(e->d_name);
    if (!pid) continue;
    auto stat = readFile("/proc/" + std::string(e->d_name) + "/stat", 4096);
    if (!stat) continue;
    const auto close = stat->rfind(')');
    if (close == std::string::npos) continue;
    const auto fields = splitFields(std::string_view(*stat).substr(close + 1));
    if (fields.size() < 3 || fields[0] == "Z" || fields[0] == "X") continue;
    if (parseInt64(fields[2]) == static_cast<std::int64_t>(pgid)) {
      alive = true;
      break;
    }
  }
  ::closedir(d);
  return alive;
}

ExitInfo terminateGroup(pid_t pgid, int sig, std::chrono::milliseconds grace) {
  std::optional<ExitInfo> leader = pollExit(pgid);
  if (processGroupAlive(pgid)) ::kill(-pgid, sig);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!leader && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    leader = pollExit(pgid);
  }
  // Whatever is left of the group, the leader included, goes now.
  if (processGroupAlive(pgid)) ::kill(-pgid, SIGKILL);
  if (!leader) {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pgid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
      leader = ExitInfo{false, -1, 0};
    else
      leader = WIFSIGNALED(status) ? ExitInfo{true, 0, WTERMSIG(status)} : ExitInfo{false, WEXITSTATUS(status), 0};
  }
  // Members are not our children (reaped by init): wait until the kernel has removed them.
  const auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (processGroupAlive(pgid) && std::chrono::steady_clock::now() < gone_by) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return *leader;
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

namespace {

// pidfd_open(2) and pidfd_send_signal(2) by syscall number: glibc 2.36's <sys/pidfd.h> lacks
// pidfd_send_signal's wrapper on some builds; the syscalls are there since Linux 5.3.
int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U)); }
int pidfdSendSignal(int fd, int sig) { return static_cast<int>(::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0U)); }

// process_mrelease(2) by number: glibc 2.36 has no wrapper, and older headers lack the number.
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif

}  // namespace

bool killAndReapMemory(pid_t pid) {
  const int fd = pidfdOpen(pid);
  if (fd < 0) {
    ::kill(pid, SIGKILL);
    return false;
  }
  // The dying process frees what the call leaves (and its mapping's page tables) at the highest
  // priority: on a node whose CPUs are contended its exit would otherwise wait its turn among every
  // runnable task. Root may raise it; nothing else of it runs again.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), -20);
  // Through the pidfd: the process signalled is the one whose memory is released.
  bool reaped = false;
  if (pidfdSendSignal(fd, SIGKILL) == 0) reaped = ::syscall(SYS_process_mrelease, fd, 0U) == 0;
  const int err = errno;
  ::close(fd);
  errno = err;  // why it was not reaped, for the caller
  return reaped;
}

Result<PinnedProcess> PinnedProcess::pin(pid_t pid, std::optional<std::uint64_t> start_time, const std::string& proc_root) {
  const int fd = pidfdOpen(pid);
  if (fd < 0) return Error::fromErrno("pidfd_open " + std::to_string(pid));
  PinnedProcess p(pid, fd);
  // Checked after pinning: if the start time still matches now, the pidfd holds that process.
  if (start_time) {
    const auto now = processStartTime(pid, proc_root);
    if (!now || *now != *start_time) {
      return Error{"pid " + std::to_string(pid) + " is no longer the process it was (started at tick " + std::to_string(*start_time) +
                       (now ? ", now " + std::to_string(*now) : std::string(", now gone")) + ")",
                   ESRCH};
    }
  }
  if (!p.alive()) return Error{"pid " + std::to_string(pid) + " has exited", ESRCH};
  return p;
}

PinnedProcess::~PinnedProcess() {
  if (fd_ >= 0) ::close(fd_);
}

bool PinnedProcess::alive() const {
  // A pidfd polls readable once its process has exited.
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

Status PinnedProcess::signal(int sig) const {
  if (pidfdSendSignal(fd_, sig) != 0) return Error::fromErrno("signal pid " + std::to_string(pid_));
  return {};
}

Result<std::string> selfExePath() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) return Error::fromErrno("readlink /proc/self/exe");
  buf[n] = 0;
  return std::string(buf);
}

}  // namespace memstrain
