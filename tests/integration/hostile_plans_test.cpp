// Hostile input end to end: every plan in tests/data/plans/bad/ is fed to the real binary, as
// `memstrain validate` and as `memstrain run`, and must be refused with exit 2 and a message that
// names the offending field by JSON pointer, before anything is applied: no cgroup under the memory
// mount, no output directory, no process started. Files too large to commit (50 MB) and paths that
// are not regular files are made here.
//
// tests/data/plans/bad/expectations.tsv has one row per plan: FILE <TAB> POINTER <TAB> FRAGMENT
// [<TAB> gap: WHY]. A line of stderr must read "FILE: POINTER: ..." and contain FRAGMENT (an empty
// FRAGMENT accepts any message at POINTER). A fourth column marks an open gap: a plan the parser
// accepts although it should not, or refuses without a usable message. Such a plan is only
// validated, never run, and listed as "KNOWN GAP" rather than failed (MEMSTRAIN_STRICT_GAPS=1 fails
// it); the test says when one is fixed so that its mark can be removed.
//
// Launch plans in the corpus start `sh -c 'echo started >> "$MEMSTRAIN_HOSTILE_MARKER"'`, so a
// target that was started leaves a file behind; this test also becomes the subreaper of whatever
// memstrain starts, so a stressor or target that outlived it would be found as our child.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "memstrain/cgroup/cgroup.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kCorpusDir = fs::path(MEMSTRAIN_SOURCE_DIR) / "tests/data/plans/bad";
// What a refusal may print: enough for every issue of a real plan, not one line per key of a flood.
constexpr std::size_t kMaxStderrBytes = 64 << 10;

struct Expectation {
  std::string file;
  std::string pointer;
  std::string fragment;
  std::string gap;  ///< non-empty: a known parser gap (the plan is accepted today), and why it should not be
};

// Reads expectations.tsv; malformed rows are reported as test failures, not skipped.
std::vector<Expectation> loadExpectations() {
  std::vector<Expectation> out;
  std::ifstream in(kCorpusDir / "expectations.tsv");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string col; std::getline(ss, col, '\t');) cols.push_back(col);
    if (cols.size() < 3 || cols.size() > 4) {
      ADD_FAILURE() << "expectations.tsv:" << n << ": expected 3 or 4 tab-separated columns: " << line;
      continue;
    }
    out.push_back({cols[0], cols[1], cols[2], cols.size() == 4 ? cols[3] : ""});
  }
  return out;
}

struct Outcome {
  int exit_code = -1;  ///< -1 when killed by a signal or by the timeout
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs the memstrain binary with `args`, `extra_env` added, and no stdin; kills it after `timeout`.
Outcome runMemstrain(const std::vector<std::string>& args, const std::map<std::string, std::string>& extra_env,
                     std::chrono::milliseconds timeout) {
  Outcome o;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return o;
  }
  std::vector<std::string> argv_s{MEMSTRAIN_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  for (const auto& [k, v] : extra_env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return o;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&o.out, &o.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) {
      o.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!o.timed_out && WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  return o;
}

// A known gap is printed, and fails the test only with MEMSTRAIN_STRICT_GAPS=1 (for whoever closes
// the gaps): the corpus documents them without holding every other change hostage.
void reportGap(const std::string& what) {
  std::printf("KNOWN GAP: %s\n", what.c_str());
  const char* strict = std::getenv("MEMSTRAIN_STRICT_GAPS");
  if (strict && std::string(strict) == "1") ADD_FAILURE() << "known gap: " << what;
}

// True when some line of `err` reads "FILE: POINTER: ..." and contains `fragment`.
bool mentions(const std::string& err, const std::string& file, const std::string& pointer, const std::string& fragment) {
  const std::string prefix = file + ": " + pointer + ": ";
  std::stringstream ss(err);
  for (std::string line; std::getline(ss, line);) {
    if (line.rfind(prefix, 0) == 0 && line.find(fragment, prefix.size()) != std::string::npos) return true;
  }
  return false;
}

class HostilePlansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Anything memstrain starts and leaves behind is re-parented to us, where it can be seen.
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0) << std::strerror(errno);
    if (auto cg = CgroupFs::detect(); cg.ok()) {
      cgroup_mount_ = cg->mount();
    } else {
      // Without a memory controller nothing can be created there; the other checks still hold.
      std::printf("note: no cgroup memory controller (%s); not checking for created cgroups\n", cg.error().message.c_str());
    }
    parent_ = "/memstrain-test-" + std::to_string(::getpid());
    dir_ = fs::path(::testing::TempDir()) /
           ("memstrain-hostile-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    marker_ = dir_ / "target-started";
  }

  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
    if (!cgroup_mount_.empty()) ::rmdir((cgroup_mount_ + parent_).c_str());  // only if a test failed
  }

  Outcome validate(const std::string& plan) { return runMemstrain({"validate", plan}, env(), 10s); }

  Outcome run(const std::string& plan, std::chrono::milliseconds timeout = 10s) {
    return runMemstrain({"run", plan, "--out", (dir_ / "out").string(), "--cgroup-parent", parent_}, env(), timeout);
  }

  std::map<std::string, std::string> env() const { return {{"MEMSTRAIN_HOSTILE_MARKER", marker_.string()}}; }

  // Nothing was applied: no run cgroup parent, no output directory, no target started, no process
  // left running. Returns a description of what was found, empty when nothing.
  std::string whatWasApplied() {
    std::string found;
    if (!cgroup_mount_.empty() && fs::exists(cgroup_mount_ + parent_)) {
      found += " cgroup " + cgroup_mount_ + parent_ + " was created;";
      ::rmdir((cgroup_mount_ + parent_).c_str());
    }
    if (fs::exists(dir_ / "out")) {
      found += " output directory created";
      found += fs::exists(dir_ / "out" / "report.json") ? " with report.json;" : ";";
      fs::remove_all(dir_ / "out");
    }
    if (fs::exists(marker_)) {
      found += " the target was started;";
      fs::remove(marker_);
    }
    int status = 0;
    pid_t orphan = 0;
    while ((orphan = ::waitpid(-1, &status, WNOHANG)) > 0) found += " process " + std::to_string(orphan) + " outlived memstrain;";
    if (orphan == 0) found += " a process memstrain started is still running;";
    return found;
  }

  std::string cgroup_mount_;
  std::string parent_;
  fs::path dir_;
  fs::path marker_;
};

TEST_F(HostilePlansTest, CorpusHasAnExpectationForEveryFileAndAtLeastAHundredFiles) {
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(kCorpusDir)) {
    if (e.path().extension() == ".json") files.insert(e.path().filename().string());
  }
  std::set<std::string> listed;
  for (const auto& x : loadExpectations()) {
    EXPECT_TRUE(listed.insert(x.file).second) << x.file << " is listed twice";
    EXPECT_TRUE(files.count(x.file)) << x.file << " is listed in expectations.tsv but missing";
    EXPECT_FALSE(x.pointer.empty() || x.pointer.front() != '/') << x.file << ": pointer must start with '/'";
  }
  for (const auto& f : files) EXPECT_TRUE(listed.count(f)) << f << " has no row in expectations.tsv";
  EXPECT_GE(files.size(), 100u);
}

TEST_F(HostilePlansTest, EveryBadPlanIsRefusedWithItsPointerAndNothingIsApplied) {
  const auto expectations = loadExpectations();
  ASSERT_FALSE(expectations.empty());
  std::vector<std::string> open_gaps;
  for (const auto& x : expectations) {
    SCOPED_TRACE(x.file);
    const std::string path = (kCorpusDir / x.file).string();

    const Outcome v = validate(path);
    if (!x.gap.empty()) {
      // Only validated: a plan the parser accepts would really be applied by `run`.
      const bool refused_well = v.exit_code == 2 && mentions(v.err, path, x.pointer, x.fragment) && v.err.size() <= kMaxStderrBytes;
      if (refused_well) {
        std::printf("note: %s is refused as expected now; drop its gap mark in expectations.tsv\n", x.file.c_str());
      } else {
        open_gaps.push_back(x.file + " (validate exit " + std::to_string(v.exit_code) + "; " + x.gap + ")");
      }
      EXPECT_EQ(whatWasApplied(), "");
      continue;
    }
    EXPECT_EQ(v.exit_code, 2) << "validate\nstdout: " << v.out << "\nstderr: " << v.err;
    EXPECT_LE(v.err.size(), kMaxStderrBytes) << "a bad plan should not flood the terminal";
    EXPECT_TRUE(mentions(v.err, path, x.pointer, x.fragment))
        << "validate: expected a line \"" << path << ": " << x.pointer << ": ...\" containing \"" << x.fragment << "\"\nstderr: " << v.err;
    EXPECT_EQ(whatWasApplied(), "") << "after validate";
    if (v.exit_code == 0) continue;  // accepted: running it would apply it

    const Outcome r = run(path);
    EXPECT_EQ(r.exit_code, 2) << "run\nstdout: " << r.out << "\nstderr: " << r.err;
    EXPECT_TRUE(mentions(r.err, path, x.pointer, x.fragment))
        << "run: expected a line \"" << path << ": " << x.pointer << ": ...\" containing \"" << x.fragment << "\"\nstderr: " << r.err;
    EXPECT_NE(r.err.find("nothing was started or changed"), std::string::npos) << r.err;
    EXPECT_EQ(whatWasApplied(), "") << "after run";
  }
  for (const auto& g : open_gaps) reportGap(g);
}

// A file far over the 1 MiB cap is refused after reading at most the cap, not loaded whole.
TEST_F(HostilePlansTest, FiftyMegabytePlanIsRefusedWithoutReadingItAll) {
  const fs::path big = dir_ / "50mb.json";
  {
    std::ofstream f(big, std::ios::binary);
    f << "{\"name\": \"big\", \"description\": \"";
    const std::string chunk(1 << 20, 'a');
    for (int i = 0; i < 50; ++i) f << chunk;
    f << "\"}";
  }
  ASSERT_GT(fs::file_size(big), 50u << 20);
  for (const bool as_run : {false, true}) {
    SCOPED_TRACE(as_run ? "run" : "validate");
    const auto t0 = std::chrono::steady_clock::now();
    const Outcome o = as_run ? run(big.string()) : validate(big.string());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_EQ(o.exit_code, 2) << o.err;
    EXPECT_NE(o.err.find(big.string()), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("larger than 1048576 bytes"), std::string::npos) << o.err;
    EXPECT_EQ(whatWasApplied(), "");
  }
}

// One byte over the cap is refused by size; a plan just under it gets to the parser.
TEST_F(HostilePlansTest, SizeCapIsExact) {
  const std::string head = "{\"name\": \"big\", \"description\": \"";
  const std::string tail = "\"}";
  const fs::path over = dir_ / "over.json";
  const fs::path under = dir_ / "under.json";
  std::ofstream(over, std::ios::binary) << head << std::string((1 << 20) + 1 - head.size() - tail.size(), 'a') << tail;
  std::ofstream(under, std::ios::binary) << head << std::string((1 << 20) - head.size() - tail.size(), 'a') << tail;
  ASSERT_EQ(fs::file_size(over), (1u << 20) + 1);
  ASSERT_EQ(fs::file_size(under), 1u << 20);
  const Outcome o = validate(over.string());
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("larger than 1048576 bytes"), std::string::npos) << o.err;
  const Outcome u = validate(under.string());
  EXPECT_EQ(u.exit_code, 2);
  EXPECT_TRUE(mentions(u.err, under.string(), "/description", "longer than 4096")) << u.err;
  EXPECT_EQ(whatWasApplied(), "");
}

// Paths that are not plan files: each is refused promptly with exit 2 and the path named.
TEST_F(HostilePlansTest, PathsThatAreNotRegularFilesAreRefused) {
  const fs::path dir = dir_ / "a-directory.json";
  fs::create_directory(dir);
  const fs::path dangling = dir_ / "dangling.json";
  fs::create_symlink(dir_ / "nowhere.json", dangling);
  const fs::path loop = dir_ / "loop.json";
  fs::create_symlink(loop, loop);
  const fs::path regular = dir_ / "regular.json";
  std::ofstream(regular) << "{}";
  struct Case {
    std::string what;
    std::string path;
  };
  std::vector<Case> cases = {
      {"a directory", dir.string()},
      {"a missing file", (dir_ / "missing.json").string()},
      {"a dangling symlink", dangling.string()},
      {"a symlink loop", loop.string()},
      {"a path through a regular file", (regular / "x.json").string()},
      {"an endless character device", "/dev/zero"},
      {"a file whose read fails (EIO)", "/proc/self/mem"},
      {"an empty name", ""},
  };
  if (::geteuid() != 0) {
    // root reads mode-000 files anyway, so this case only means something for other users.
    const fs::path unreadable = dir_ / "unreadable.json";
    std::ofstream(unreadable) << "{}";
    fs::permissions(unreadable, fs::perms::none);
    cases.push_back({"an unreadable file", unreadable.string()});
  }
  for (const auto& c : cases) {
    for (const bool as_run : {false, true}) {
      SCOPED_TRACE(c.what + (as_run ? " (run)" : " (validate)"));
      const auto t0 = std::chrono::steady_clock::now();
      const Outcome o = as_run ? run(c.path, 5s) : runMemstrain({"validate", c.path}, env(), 5s);
      EXPECT_FALSE(o.timed_out) << "still running after 5 s";
      EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
      EXPECT_EQ(o.exit_code, 2) << o.err;
      if (!c.path.empty()) {
        EXPECT_NE(o.err.find(c.path), std::string::npos) << o.err;
      }
      EXPECT_EQ(whatWasApplied(), "");
    }
  }
}

// A FIFO nobody writes to must not hang memstrain: open(O_RDONLY) on it blocks until a writer
// appears. KNOWN GAP today: loadPlan -> readFile opens it blocking and waits forever. Suggested rule:
// open with O_NONBLOCK, refuse what fstat says is not a regular file or FIFO, then clear O_NONBLOCK
// (a FIFO without a writer then reads as empty and is refused as "not valid JSON").
TEST_F(HostilePlansTest, FifoWithoutWriterIsRefusedPromptly) {
  const fs::path fifo = dir_ / "plan.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  const Outcome v = runMemstrain({"validate", fifo.string()}, env(), 3s);
  EXPECT_EQ(whatWasApplied(), "");
  if (v.timed_out) {
    reportGap("`memstrain validate FIFO` with no writer still hangs (killed after 3 s); `run` is not tried");
    return;
  }
  EXPECT_EQ(v.exit_code, 2) << v.err;
  EXPECT_NE(v.err.find(fifo.string()), std::string::npos) << v.err;
  const Outcome r = run(fifo.string(), 3s);
  EXPECT_FALSE(r.timed_out) << "run hung on a FIFO although validate did not";
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(fifo.string()), std::string::npos) << r.err;
  EXPECT_EQ(whatWasApplied(), "");
}

// A FIFO with a writer delivers a bad plan like a file would: refused by content, with the pointer.
// A FIFO is not a plan file even when a writer is ready to feed it one: it is refused as not a
// regular file, without being opened (so neither side can block the other).
TEST_F(HostilePlansTest, FifoWithAWriterIsRefusedAsNotARegularFile) {
  const fs::path fifo = dir_ / "plan.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  const pid_t writer = ::fork();
  if (writer == 0) {
    const int fd = ::open(fifo.c_str(), O_WRONLY);
    const char plan[] = R"({"name": "fifo", "stages": 5})";
    if (fd >= 0) (void)!::write(fd, plan, sizeof plan - 1);
    ::_exit(0);
  }
  ASSERT_GT(writer, 0);
  const Outcome o = runMemstrain({"validate", fifo.string()}, env(), 5s);
  ::kill(writer, SIGKILL);  // it waits for a reader that never comes
  int status = 0;
  ::waitpid(writer, &status, 0);
  EXPECT_FALSE(o.timed_out);
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_NE(o.err.find("not a regular file"), std::string::npos) << o.err;
  EXPECT_EQ(whatWasApplied(), "");
}

}  // namespace
}  // namespace memstrain
