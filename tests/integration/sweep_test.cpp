// End to end: `memstrain sweep` over two GOGC values against the real Go demo target in real
// cgroups. The target keeps a 96 MiB live set and churns 64 MiB/s through it (/churn) under a
// 256 MiB limit: at GOGC=25 the heap peaks near 120 MiB and the target survives; at GOGC=300 its
// heap goal is ~384 MiB and the kernel OOM-kills it. Also: SIGINT stops a sweep, is forwarded to
// the running child, and nothing is left behind. Needs root, a cgroup memory controller and
// tests/target/bin/demo-target (tests/go-build.sh).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup.hpp"

#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

using memstrain::testing::slurp;

// The cgroup subtree, demo target and scratch directory: tests/support/run_fixture.hpp.
class SweepRunTest : public memstrain::testing::RunFixture {
 protected:
  SweepRunTest() : RunFixture("memstrain-sweep") {}

  // The churn plan: baseline, then `churn_s` of a 96 MiB live set churned at 64 MiB/s.
  fs::path writePlan(const std::string& addr, int churn_s) {
    json plan = {
        {"name", "sweep-e2e"},
        {"target",
         {{"launch",
           {{"command", {target_.string(), "-addr", addr}}, {"memory_limit", "256MiB"}, {"ready_url", "http://" + addr + "/healthz"}}},
          {"pprof_url", "http://" + addr + "/debug/pprof"},
          {"probe", {{"name", "health"}, {"url", "http://" + addr + "/healthz"}, {"rate_per_s", 20}, {"timeout", "2s"}}}}},
        {"sampling", {{"interval", "100ms"}, {"pprof_interval", "250ms"}}},
        {"stages",
         {{{"name", "baseline"}, {"duration", "1s"}},
          {{"name", "churn"},
           {"duration", std::to_string(churn_s) + "s"},
           {"actions", {{{"at", "0s"}, {"url", "http://" + addr + "/churn?live_mib=96&mib_per_s=64&seconds=120"}}}}}}},
        {"checks", {{{"name", "no target OOM"}, {"metric", "target.oom_kills"}, {"max", 0}}}}};
    const fs::path p = dir_ / "plan.json";
    std::ofstream(p) << plan.dump(2);
    return p;
  }

  bool cgroupsLeft() const { return fs::exists(fs_->mount() + parent_) && !fs::is_empty(fs_->mount() + parent_); }
};

TEST_F(SweepRunTest, LowerGogcRunsMoreCyclesAndSurvivesWhereHigherIsOomKilled) {
  const fs::path plan = writePlan("127.0.0.1:16391", 8);
  const fs::path out = dir_ / "out";
  const auto t0 = std::chrono::steady_clock::now();
  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " sweep " + plan.string() + " --set GOGC=25,300 --out " + out.string() +
                          " --cgroup-parent " + parent_ + " > " + (dir_ / "stdout").string() + " 2> " + (dir_ / "stderr").string();
  const int status = std::system(cmd.c_str());
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string err = slurp(dir_ / "stderr");
  const std::string stdout_text = slurp(dir_ / "stdout");
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << stdout_text << err;
  EXPECT_LT(took_s, 60.0);
  EXPECT_THAT(err, HasSubstr("memstrain sweep: [1/2] GOGC=25 -> " + (out / "GOGC-25").string()));
  EXPECT_THAT(err, HasSubstr("memstrain sweep: [2/2] GOGC=300 -> "));
  EXPECT_FALSE(cgroupsLeft());

  const json sweep = json::parse(slurp(out / "sweep.json"));
  ASSERT_EQ(sweep["settings"].size(), 2U) << sweep.dump(2);
  const json& low = sweep["settings"][0];
  const json& high = sweep["settings"][1];
  EXPECT_EQ(low["label"], "GOGC=25");
  EXPECT_EQ(high["label"], "GOGC=300");
  // Each run got its GOGC through its own plan copy.
  for (const json* s : {&low, &high}) {
    const fs::path d = out / (*s)["dir"].get<std::string>();
    const json report = json::parse(slurp(d / "report.json"));
    EXPECT_EQ(report["target"]["env"]["GOGC"], (*s)["values"]["GOGC"]) << d;
    EXPECT_TRUE(fs::exists(d / "plan.json"));
    EXPECT_TRUE(fs::exists(d / "samples.jsonl"));
  }
  // GOGC=25 survives the churn; GOGC=300 grows its heap into the limit and is OOM-killed.
  EXPECT_EQ(low["verdict"], "pass") << low.dump(2);
  EXPECT_EQ(low["oom_runs"], 0);
  EXPECT_EQ(high["verdict"], "fail") << high.dump(2);
  EXPECT_EQ(high["oom_runs"], 1);
  ASSERT_TRUE(high["first_oom_s"].is_object());
  EXPECT_GT(high["first_oom_s"]["median"].get<double>(), 1.0);  // after the churn began
  EXPECT_LT(high["first_oom_s"]["median"].get<double>(), 9.0);
  // The lower GOGC runs more GC cycles, although it also ran for longer.
  ASSERT_TRUE(low["gc_cycles"].is_object());
  ASSERT_TRUE(high["gc_cycles"].is_object());
  EXPECT_GT(low["gc_cycles"]["median"].get<double>(), high["gc_cycles"]["median"].get<double>());
  EXPECT_GT(low["gc_cycles"]["median"].get<double>(), 10.0);
  // Headroom: the survivor stayed well below the limit, the OOM-killed one reached it.
  EXPECT_GT(low["headroom_bytes"]["min"].get<double>(), 50.0 * (1 << 20));
  EXPECT_LT(high["headroom_bytes"]["min"].get<double>(), low["headroom_bytes"]["min"].get<double>());
  EXPECT_TRUE(low["p99_ms"].contains("churn"));
  EXPECT_EQ(sweep["recommendation"]["setting"], "GOGC=25");

  const std::string md = slurp(out / "sweep.md");
  const auto row25 = md.find("| **GOGC=25** | pass | survived |");
  const auto row300 = md.find("| GOGC=300 | fail | OOM at ");
  ASSERT_NE(row25, std::string::npos) << md;
  ASSERT_NE(row300, std::string::npos) << md;
  EXPECT_LT(row25, row300);
  EXPECT_THAT(md, HasSubstr("**recommended: GOGC=25 — passed 1/1 run(s)"));
  const std::string html = slurp(out / "sweep.html");
  EXPECT_THAT(html, HasSubstr("<td>GOGC=300</td><td>fail</td>"));
  EXPECT_THAT(stdout_text, HasSubstr("memstrain sweep: settings=2 runs=2 recommended=\"GOGC=25\" interrupted=no exit=0"));
  std::printf("%s", md.c_str());  // the figures, for the log
}

TEST_F(SweepRunTest, SigintStopsTheSweepAndLeavesNothingBehind) {
  const fs::path plan = writePlan("127.0.0.1:16392", 30);
  const fs::path out = dir_ / "out";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int o = ::open((dir_ / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open((dir_ / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execl(MEMSTRAIN_BINARY, MEMSTRAIN_BINARY, "sweep", plan.c_str(), "--set", "GOGC=25,100", "--out", out.c_str(), "--cgroup-parent",
            parent_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until the first run's target is up and the churn stage has begun.
  const fs::path samples = out / "GOGC-25" / "samples.jsonl";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && slurp(samples).find("\"churn\"") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(slurp(samples).find("\"churn\""), std::string::npos) << slurp(dir_ / "stderr");
  ::kill(pid, SIGINT);
  int status = 0;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 15.0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 4) << slurp(dir_ / "stderr");
  // The child ran its cleanup: report written as interrupted, target gone, cgroups removed.
  const json report = json::parse(slurp(out / "GOGC-25" / "report.json"));
  EXPECT_EQ(report["run"]["status"], "interrupted");
  EXPECT_EQ(report["cleanup"]["status"], "ok");
  ASSERT_TRUE(report["target"]["pid"].is_number());
  const pid_t target_pid = report["target"]["pid"].get<pid_t>();
  EXPECT_NE(::kill(target_pid, 0), 0) << "target " << target_pid << " still runs";
  EXPECT_FALSE(cgroupsLeft());
  // The second setting never started; the sweep still wrote its table, marked interrupted.
  EXPECT_FALSE(fs::exists(out / "GOGC-100" / "report.json"));
  const json sweep = json::parse(slurp(out / "sweep.json"));
  EXPECT_EQ(sweep["interrupted"], true);
  EXPECT_THAT(slurp(dir_ / "stdout"), HasSubstr("interrupted=yes exit=4"));
}

}  // namespace
}  // namespace memstrain
