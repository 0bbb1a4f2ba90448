// Issue 15, item 1: when a run stops early, the pressure goes first. Every observer here waits on a
// peer that trickles forever (probe, pprof, an action: 5 s timeouts), and the run is stopped by a
// signal, by the target's death, or ends with a command trigger whose children would outlive it.
// The last look of the run (its final sample, taken before the observers are stopped) must show
// the stressor gone; before, the stressor held its pages until cleanup, after every observer had
// waited out its timeout. Timing figures are in bench/release_first_bench.py, not here.
// Needs root and a cgroup memory controller.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "memstrain/os/process.hpp"
#include "support/hostile_target.hpp"
#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HostileEndpoint;
using testing::HostileTarget;
using testing::Misbehaviour;
using testing::slurp;
using testing::strayStressors;
constexpr std::uint64_t MiB = 1ULL << 20;

class ReleaseFirstTest : public memstrain::testing::RunFixture {
 protected:
  ReleaseFirstTest() : RunFixture("memstrain-release-first") {}

  json plan(const std::string& name, const std::vector<std::string>& command) const {
    return {{"name", name},
            {"target",
             {{"launch", {{"command", command}, {"memory_limit", "512MiB"}, {"ready_url", t_.url(HostileEndpoint::kReady)}}},
              {"pprof_url", t_.pprofUrl()},
              {"probe", {{"url", t_.url(HostileEndpoint::kProbe)}, {"rate_per_s", 20}, {"timeout", "5s"}}}}},
            {"sampling", {{"interval", "100ms"}, {"pprof_interval", "500ms"}}},
            {"pprof", {{"timeout", "5s"}}},
            {"stages",
             {{{"name", "fill"}, {"duration", "1s"}, {"pressure", {{"size", "128MiB"}}}},
              {{"name", "hold"},
               {"duration", "30s"},
               {"pressure", {{"size", "128MiB"}}},
               {"actions", {{{"at", "0s"}, {"url", t_.url(HostileEndpoint::kAction)}, {"timeout", "5s"}}}}}}}};
  }

  // Starts `memstrain run` in the background, stderr to dir_/NAME.err.
  pid_t start(const fs::path& plan_path, const fs::path& out, const std::string& name, const std::string& journal_dir = "") const {
    const std::string err = (dir_ / (name + ".err")).string();
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(fd, 2);
      if (journal_dir.empty()) {
        ::execl(MEMSTRAIN_BINARY, MEMSTRAIN_BINARY, "run", plan_path.c_str(), "--out", out.c_str(), "--cgroup-parent", parent_.c_str(),
                static_cast<char*>(nullptr));
      } else {
        ::execl(MEMSTRAIN_BINARY, MEMSTRAIN_BINARY, "run", plan_path.c_str(), "--out", out.c_str(), "--cgroup-parent", parent_.c_str(),
                "--allow-commands", "--journal-dir", journal_dir.c_str(), static_cast<char*>(nullptr));
      }
      ::_exit(127);
    }
    return pid;
  }

  // Waits (at most 30 s) until the run is in its hold stage with the stressor's pages in place.
  bool waitForHold(const std::string& name, const fs::path& out) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (slurp(dir_ / (name + ".err")).find("stage 2/2 hold") != std::string::npos &&
          lastCgroupSample(out)["stressor"]["populated_bytes"] >= 120 * MiB) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  static json lastCgroupSample(const fs::path& out) {
    json last = json::object();
    std::ifstream in(out / "samples.jsonl");
    for (std::string line; std::getline(in, line);) {
      json s = json::parse(line, nullptr, false);
      if (!s.is_discarded() && s["kind"] == "cgroup") last = s;
    }
    return last;
  }

  static int waitExit(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // The run's last look: the stressor holds nothing and its 128 MiB left the cgroup.
  static void expectReleasedAtTheLastLook(const fs::path& out) {
    const json last = lastCgroupSample(out);
    ASSERT_TRUE(last.contains("stressor")) << last.dump();
    EXPECT_EQ(last["stressor"]["populated_bytes"], 0) << "the stressor still held its pages at the last look";
    EXPECT_LT(last["target_cgroup"]["usage_bytes"].get<std::uint64_t>(), 64 * MiB) << last.dump();
  }

  static bool hasEvent(const json& report, const std::string& kind, const std::string& detail_part) {
    for (const auto& e : report["events"]) {
      if (e["kind"] == kind && e["detail"].get<std::string>().find(detail_part) != std::string::npos) return true;
    }
    return false;
  }

  HostileTarget t_;
};

TEST_F(ReleaseFirstTest, ASignalReleasesThePressureBeforeTheObserversAreWaitedFor) {
  t_.setAllButReady(Misbehaviour::kSlowLoris);
  const fs::path out = dir_ / "signal";
  const pid_t pid = start(writePlan("signal", plan("signal", {"/bin/sleep", "600"})), out, "signal");
  ASSERT_TRUE(waitForHold("signal", out)) << slurp(dir_ / "signal.err");
  ::kill(pid, SIGTERM);
  EXPECT_EQ(waitExit(pid), 4) << slurp(dir_ / "signal.err");
  const json r = json::parse(slurp(out / "report.json"));
  EXPECT_TRUE(hasEvent(r, "pressure_released", "interrupted by SIGTERM")) << r["events"].dump(1);
  expectReleasedAtTheLastLook(out);
  expectNothingLeft(r);
}

TEST_F(ReleaseFirstTest, TheTargetsDeathReleasesThePressureFirst) {
  t_.setAllButReady(Misbehaviour::kSlowLoris);
  const fs::path out = dir_ / "death";
  const pid_t pid = start(writePlan("death", plan("death", {"/bin/sleep", "600"})), out, "death");
  ASSERT_TRUE(waitForHold("death", out)) << slurp(dir_ / "death.err");
  // The target dies under pressure (its own bug, an OOM kill): memstrain notices and stops.
  bool killed = false;
  for (const auto& e : fs::directory_iterator(fs_->mount() + parent_)) {
    if (!e.is_directory() || !fs::exists(e.path() / "target")) continue;
    for (pid_t member : fs_->procs(e.path().string().substr(fs_->mount().size()) + "/target").valueOr({})) {
      if (slurp("/proc/" + std::to_string(member) + "/cmdline").rfind("/bin/sleep", 0) == 0)
        killed = ::kill(member, SIGKILL) == 0 || killed;
    }
  }
  ASSERT_TRUE(killed) << "no target process found";
  EXPECT_EQ(waitExit(pid), 1) << slurp(dir_ / "death.err");
  const json r = json::parse(slurp(out / "report.json"));
  EXPECT_TRUE(hasEvent(r, "pressure_released", "the target exited")) << r["events"].dump(1);
  expectReleasedAtTheLastLook(out);
  expectNothingLeft(r);
}

// Item 6: a command trigger runs in a process group of its own, its timeout is honoured and the
// whole group ends with it.
TEST_F(ReleaseFirstTest, ACommandTriggerAndItsChildrenEndAtItsTimeout) {
  json p = {{"name", "trigger"},
            {"target", {{"launch", {{"command", {"/bin/sleep", "600"}}, {"memory_limit", "256MiB"}}}, {"pprof_url", t_.pprofUrl()}}},
            {"sampling", {{"interval", "100ms"}}},
            {"stages",
             {{{"name", "release"},
               {"duration", "4s"},
               {"release",
                {{"trigger",
                  {{"command", {"/bin/sh", "-c", "trap '' TERM; sleep 600 & sleep 600 & wait # memstrain-trigger-" + parent_}},
                   {"at", "200ms"},
                   {"timeout", "1s"}}},
                 {"expect", {{"within", "2s"}}}}}}}}};
  const fs::path out = dir_ / "trigger";
  EXPECT_EQ(run(writePlan("trigger", p), out, "trigger.log", "", "--allow-commands"), 0) << slurp(dir_ / "trigger.log");
  const json r = json::parse(slurp(out / "report.json"));
  EXPECT_TRUE(hasEvent(r, "release_trigger", "trigger command timed out after 1s: ")) << r["events"].dump(1);
  EXPECT_TRUE(hasEvent(r, "release_trigger", "(its process group ended)")) << r["events"].dump(1);
  // Nothing of the command is left: not the shell, not its two sleeps (its process group).
  pid_t leader = 0;
  for (const auto& e : r["events"]) {
    const std::string d = e["detail"].get<std::string>();
    if (e["kind"] == "release_trigger" && d.rfind("started `/bin/sh` as pid ", 0) == 0) leader = std::stoi(d.substr(d.rfind(' ') + 1));
  }
  ASSERT_GT(leader, 0) << r["events"].dump(1);
  EXPECT_FALSE(processGroupAlive(leader)) << "a process of the trigger outlived it";
  expectNothingLeft(r);
}

// A run killed outright (SIGKILL: no cleanup) while its command trigger runs: the trigger's process
// group is in the journal, and `memstrain recover` ends all of it — the leader and the children
// that would outlive it — besides the run's cgroups. Before, triggers were not journaled at all.
TEST_F(ReleaseFirstTest, RecoverEndsTheCommandTriggerGroupOfAKilledRun) {
  const fs::path journals = dir_ / "journal";
  json p = {
      {"name", "killed-trigger"},
      // A release stage reads HeapReleased through pprof: nothing answers on this port (the
      // readings fail and the run goes on), which is all this test needs.
      {"target",
       {{"launch", {{"command", {"/bin/sleep", "600"}}, {"memory_limit", "256MiB"}}}, {"pprof_url", "http://127.0.0.1:9/debug/pprof"}}},
      {"sampling", {{"interval", "100ms"}}},
      {"stages",
       {{{"name", "release"},
         {"duration", "30s"},
         {"release",
          {{"trigger",
            {{"command", {"/bin/sh", "-c", "trap '' TERM HUP; sleep 600 & sleep 600 & wait # memstrain-trigger-" + parent_}},
             {"at", "200ms"},
             {"timeout", "30s"}}},
           {"expect", {{"within", "20s"}}}}}}}}};
  const fs::path out = dir_ / "killed-trigger";
  const pid_t run_pid = start(writePlan("killed-trigger", p), out, "killed-trigger", journals.string());
  ASSERT_GT(run_pid, 0);
  // The trigger as the journal names it.
  pid_t leader = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (leader == 0 && std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(journals, ec)) {
      const json j = json::parse(slurp(e.path()), nullptr, false);
      if (j.is_discarded() || !j.contains("processes")) continue;
      for (const auto& proc : j["processes"]) {
        if (proc["role"] == "trigger") leader = proc["pid"].get<pid_t>();
      }
    }
    if (leader == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(leader, 0) << "no trigger in the journal\n" << slurp(dir_ / "killed-trigger.err");
  // Its two children are started too before the run dies.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(run_pid, SIGKILL);
  EXPECT_EQ(waitExit(run_pid), -1);
  ASSERT_TRUE(processGroupAlive(leader)) << "the trigger's group died with memstrain: nothing left for recover to prove";
  const std::string log = (dir_ / "recover.log").string();
  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " recover --journal-dir " + journals.string() + " > " + log + " 2>&1";
  const int status = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(log);
  const auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (processGroupAlive(leader) && std::chrono::steady_clock::now() < gone_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(processGroupAlive(leader)) << "a process of the trigger outlived recover\n" << slurp(log);
  EXPECT_TRUE(fs::is_empty(journals)) << slurp(log);
  std::vector<std::string> left;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs_->mount() + parent_, ec)) left.push_back(e.path().string());
  EXPECT_TRUE(left.empty() || std::none_of(left.begin(), left.end(), [](const std::string& d) { return fs::is_directory(d); }))
      << "cgroup left: " << left.front();
  EXPECT_TRUE(strayStressors().empty());
}

}  // namespace
}  // namespace memstrain
