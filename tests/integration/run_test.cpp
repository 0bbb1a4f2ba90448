// End to end on real cgroups with the real Go demo target: `memstrain run` as a user runs it.
// Needs root, a cgroup v1 or v2 memory controller, and tests/target/bin/demo-target (make go).

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
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
constexpr std::uint64_t MiB = 1ULL << 20;

using memstrain::testing::scaledMs;
using memstrain::testing::slurp;
using memstrain::testing::strayStressors;
using memstrain::testing::timeScale;

// The cgroup subtree, target, plans and runs: tests/support/run_fixture.hpp.
class RunTest : public memstrain::testing::RunFixture {};

TEST_F(RunTest, RampInsideReachesEightyPercentAndFollowsTheRampLine) {
  json plan = {{"name", "ramp-inside"},
               {"target", launch(16061, "512MiB")},
               {"sampling", {{"interval", "100ms"}}},
               {"stages",
                // Stage lengths stretch where page faults are slow (the TCG guest); the figures asserted
                // below are fractions of the limit either way.
                {{{"name", "baseline"}, {"duration", scaledMs(2000)}},
                 {{"name", "ramp"}, {"duration", scaledMs(7000)}, {"pressure", {{"level", "80%"}, {"ramp", scaledMs(6000)}}}},
                 {{"name", "hold"}, {"duration", scaledMs(6000)}, {"pressure", {{"level", "80%"}}}},
                 {{"name", "release"}, {"duration", scaledMs(2000)}}}}};
  const fs::path out = dir_ / "out";
  ASSERT_EQ(run(writePlan("ramp", plan), out, "ramp.log"), 0) << slurp(dir_ / "ramp.log");
  json report = json::parse(slurp(out / "report.json"));
  const double limit = 512.0 * MiB;
  ASSERT_EQ(report["cgroup"]["effective_limit_bytes"], 512 * MiB);
  const json& ramp = report["stages"][1];
  const json& hold = report["stages"][2];
  const json& release = report["stages"][3];
  // Reached within ±2% of the limit of the 80% setpoint.
  const double reached = hold["pressure"]["reached_bytes"].get<double>();
  EXPECT_NEAR(reached, 0.8 * limit, 0.02 * limit) << "hold reached " << reached / MiB << " MiB";
  EXPECT_LT(hold["setpoint_error"]["mean_abs_fraction_of_limit"].get<double>(), 0.02);
  // The ramp follows its line: usage tracks the moving setpoint.
  EXPECT_LT(ramp["setpoint_error"]["mean_abs_fraction_of_limit"].get<double>(), 0.02) << ramp.dump();
  // Halfway through the ramp, usage is about halfway between start and level.
  const double ramp_start = ramp["start_s"].get<double>();
  double start_usage = -1, mid_usage = -1;
  std::ifstream samples(out / "samples.jsonl");
  for (std::string line; std::getline(samples, line);) {
    json s = json::parse(line);
    if (s["stage"] != "ramp") continue;
    const double t = s["t"].get<double>() - ramp_start;
    if (start_usage < 0) start_usage = s["measured_usage_bytes"].get<double>();
    if (mid_usage < 0 && t >= 3.0 * timeScale()) mid_usage = s["measured_usage_bytes"].get<double>();
  }
  ASSERT_GT(mid_usage, 0);
  const double expect_mid = start_usage + (0.8 * limit - start_usage) * 0.5;
  EXPECT_NEAR(mid_usage, expect_mid, 0.05 * limit) << "start " << start_usage / MiB << " mid " << mid_usage / MiB;
  // Release: the stressor lets go and usage falls back near the baseline.
  EXPECT_LT(release["usage_bytes"]["min"].get<double>(), report["stages"][0]["usage_bytes"]["max"].get<double>() + 16.0 * MiB);
  EXPECT_EQ(report["verdict"], "pass");
  EXPECT_EQ(hold["oom_kills"]["target"], 0);
  expectNothingLeft(report);
}

// 256 MiB rather than more: under TCG the cost is bytes touched (at 512 MiB the guest's stressor
// spent a third of a 50 s hold filling 384 MiB and the stage's figure came out 344 MiB).
TEST_F(RunTest, BesidePlacementPressesThroughTheParent) {
  json plan = {{"name", "beside"},
               {"target", launch(16062, "256MiB")},
               {"sampling", {{"interval", "100ms"}}},
               {"stages",
                {{{"name", "baseline"}, {"duration", scaledMs(1000)}},
                 {{"name", "hold"}, {"duration", scaledMs(5000)}, {"pressure", {{"placement", "beside"}, {"level", "75%"}}}}}}};
  const fs::path out = dir_ / "out";
  ASSERT_EQ(run(writePlan("beside", plan), out, "beside.log"), 0) << slurp(dir_ / "beside.log");
  json report = json::parse(slurp(out / "report.json"));
  const std::string run_cg = parent_ + "/" + report["run"]["id"].get<std::string>();
  EXPECT_EQ(report["cgroup"]["measured"], run_cg);
  EXPECT_EQ(report["cgroup"]["stressor"], run_cg + "/stressor");
  EXPECT_NEAR(report["stages"][1]["pressure"]["reached_bytes"].get<double>(), 0.75 * 256 * MiB, 0.02 * 256 * MiB);
  // The stressor's bytes are charged to its own cgroup, not the target's.
  std::ifstream samples(out / "samples.jsonl");
  json last;
  for (std::string line; std::getline(samples, line);) {
    json s = json::parse(line);
    if (s["stage"] == "hold") last = s;
  }
  ASSERT_FALSE(last.is_null());
  EXPECT_GT(last["stressor_cgroup"]["usage_bytes"].get<double>(), 125.0 * MiB);
  EXPECT_LT(last["target_cgroup"]["usage_bytes"].get<double>(), 75.0 * MiB);
  expectNothingLeft(report);
}

// The overfill must reach the limit within its stage: under TCG the stressor touched only ~100 MiB
// in an unstretched 4 s stage and was never OOM-killed, so the stage stretches with the guest's
// time scale and the limit is small (fewer bytes to touch).
TEST_F(RunTest, OverTheLimitKillsTheStressorAndTheTargetSurvives) {
  json plan = {{"name", "overfill"},
               {"target", launch(16063, "128MiB")},
               {"sampling", {{"interval", "100ms"}}},
               {"stages",
                {{{"name", "baseline"}, {"duration", "1s"}},
                 {{"name", "overfill"}, {"duration", scaledMs(4000)}, {"pressure", {{"size", "200MiB"}, {"allow_oom", true}}}},
                 {{"name", "after"}, {"duration", "2s"}}}}};
  const fs::path out = dir_ / "out";
  const int code = run(writePlan("oom", plan), out, "oom.log");
  const std::string log = slurp(dir_ / "oom.log");
  json report = json::parse(slurp(out / "report.json"));
  EXPECT_EQ(code, 0) << log;
  EXPECT_GE(report["stages"][1]["oom_kills"]["stressor"].get<int>(), 1) << report["events"].dump(2);
  EXPECT_EQ(report["stages"][1]["oom_kills"]["target"], 0);
  EXPECT_TRUE(report["target"]["exit"].is_null()) << "the target died: " << report["target"]["exit"];
  bool event = false;
  for (const auto& e : report["events"]) event |= e["kind"] == "stressor_oom_kill";
  EXPECT_TRUE(event);
  EXPECT_NE(log.find("stressor_oom_kills="), std::string::npos);
  EXPECT_EQ(report["verdict"], "pass");
  expectNothingLeft(report);
}

TEST_F(RunTest, WithoutAllowOomAnOversizedPlanChangesNothing) {
  json plan = {{"name", "refused"},
               {"target", launch(16064, "256MiB")},
               {"stages", {{{"name", "overfill"}, {"duration", "2s"}, {"pressure", {{"size", "400MiB"}}}}}}};
  const fs::path out = dir_ / "out";
  EXPECT_EQ(run(writePlan("refused", plan), out, "refused.log"), 2);
  const std::string log = slurp(dir_ / "refused.log");
  EXPECT_NE(log.find("/stages/0/pressure/size"), std::string::npos) << log;
  EXPECT_NE(log.find("nothing was started or changed"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(fs_->mount() + parent_)) << "a cgroup was created for a refused plan";
  EXPECT_FALSE(fs::exists(out / "report.json"));
}

TEST_F(RunTest, SigtermMidRunLeavesNothingBehind) {
  json plan = {
      {"name", "sigterm"},
      {"target", launch(16065, "512MiB")},
      {"sampling", {{"interval", "100ms"}}},
      {"stages", {{{"name", "baseline"}, {"duration", "1s"}}, {{"name", "hold"}, {"duration", "60s"}, {"pressure", {{"level", "70%"}}}}}}};
  const fs::path plan_path = writePlan("sigterm", plan);
  const fs::path out = dir_ / "out";
  const std::string log = (dir_ / "sigterm.log").string();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(MEMSTRAIN_BINARY, MEMSTRAIN_BINARY, "run", plan_path.c_str(), "--out", out.c_str(), "--cgroup-parent", parent_.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until the hold stage is under way with pressure applied.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool holding = false;
  while (!holding && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::ifstream samples(out / "samples.jsonl");
    for (std::string line; std::getline(samples, line);) {
      json s = json::parse(line, nullptr, false);
      if (!s.is_discarded() && s["stage"] == "hold" && s["stressor"]["populated_bytes"].get<double>() > 100.0 * MiB) holding = true;
    }
  }
  ASSERT_TRUE(holding) << slurp(log);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 4) << slurp(log);
  json report = json::parse(slurp(out / "report.json"));
  EXPECT_EQ(report["run"]["status"], "interrupted");
  EXPECT_NE(report["run"]["error"].get<std::string>().find("SIGTERM"), std::string::npos);
  expectNothingLeft(report);
}

// A latency probe against the target: per-stage percentiles and per-second samples.
TEST_F(RunTest, LatencyProbeReportsPerStagePercentiles) {
  const std::string base = "http://127.0.0.1:16068";
  json target = launch(16068, "256MiB");
  target["probe"] = {{"name", "slow"}, {"url", base + "/work?sleep_ms=40"}, {"rate_per_s", 50}};
  json plan = {
      {"name", "probe"},
      {"target", target},
      {"stages", {{{"name", "baseline"}, {"duration", "3s"}}, {{"name", "hold"}, {"duration", "3s"}, {"pressure", {{"level", "60%"}}}}}}};
  const fs::path out = dir_ / "out";
  ASSERT_EQ(run(writePlan("probe", plan), out, "probe.log"), 0) << slurp(dir_ / "probe.log");
  json report = json::parse(slurp(out / "report.json"));
  for (const auto& stage : report["stages"]) {
    ASSERT_EQ(stage["latency"].size(), 1U) << stage.dump(2);
    const json& l = stage["latency"][0];
    EXPECT_EQ(l["probe"], "slow");
    // 50 requests/s for 3 s; the first and last few may straddle the stage boundary.
    EXPECT_NEAR(l["sent"].get<double>(), 150, 10) << l.dump(2);
    EXPECT_EQ(l["error_rate"].get<double>(), 0.0);
    const double p50 = l["corrected"]["p50_ms"].get<double>();
    EXPECT_GE(p50, 40.0) << "the target sleeps 40 ms per request";
    EXPECT_LT(p50, 80.0);
    EXPECT_GE(l["corrected"]["p99_ms"].get<double>(), l["uncorrected"]["p99_ms"].get<double>() - 0.01);
  }
  int windows = 0;
  std::ifstream samples(out / "samples.jsonl");
  for (std::string line; std::getline(samples, line);) windows += json::parse(line)["kind"] == "latency";
  EXPECT_GE(windows, 6);  // one per second, plus one at each stage boundary
  EXPECT_LE(windows, 9);
  expectNothingLeft(report);
}

// The target dies mid-run: memstrain stops promptly, fails the run and names the cause.
TEST_F(RunTest, TargetKilledMidRunFailsPromptlyWithTheCause) {
  json plan = {
      {"name", "target-killed"},
      {"target", launch(16066, "256MiB")},
      {"stages", {{{"name", "baseline"}, {"duration", "1s"}}, {{"name", "hold"}, {"duration", "60s"}, {"pressure", {{"level", "50%"}}}}}}};
  const fs::path out = dir_ / "out";
  const fs::path plan_path = writePlan("killed", plan);
  const std::string log = (dir_ / "killed.log").string();
  const auto started = std::chrono::steady_clock::now();
  std::thread killer([&] {
    // Once the hold stage runs, kill the target by the pid memstrain reports in its samples.
    for (int i = 0; i < 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::ifstream samples(out / "samples.jsonl");
      bool holding = false;
      for (std::string line; std::getline(samples, line);) {
        json s = json::parse(line, nullptr, false);
        holding |= !s.is_discarded() && s["stage"] == "hold";
      }
      if (!holding) continue;
      for (const auto& e : fs::directory_iterator("/proc")) {
        const std::string cmd = slurp(e.path() / "cmdline");
        if (cmd.find("127.0.0.1:16066") != std::string::npos && cmd.find("demo-target") != std::string::npos) {
          ::kill(std::stoi(e.path().filename().string()), SIGKILL);
          return;
        }
      }
    }
  });
  const int code = run(plan_path, out, "killed.log");
  killer.join();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(code, 1) << slurp(log);
  EXPECT_LT(took, 20.0) << "the run did not stop promptly after the target died";
  json report = json::parse(slurp(out / "report.json"));
  EXPECT_EQ(report["verdict"], "fail");
  EXPECT_EQ(report["target"]["exit"], "killed by SIGKILL");
  EXPECT_NE(report["verdict_reasons"].dump().find("killed by SIGKILL"), std::string::npos) << report["verdict_reasons"];
  expectNothingLeft(report);
}

// The target itself outgrows its limit: the kernel kills it; the report counts a target OOM kill.
TEST_F(RunTest, TargetOomKillIsCountedAgainstTheTarget) {
  const std::string base = "http://127.0.0.1:16067";
  json plan = {{"name", "target-oom"},
               {"target", launch(16067, "128MiB")},
               {"sampling", {{"interval", "100ms"}}},
               {"stages",
                {{{"name", "baseline"}, {"duration", "1s"}},
                 {{"name", "grow"}, {"duration", "20s"}, {"actions", {{{"url", base + "/grow?mib=256"}, {"timeout", "15s"}}}}}}}};
  const fs::path out = dir_ / "out";
  EXPECT_EQ(run(writePlan("target-oom", plan), out, "target-oom.log"), 1) << slurp(dir_ / "target-oom.log");
  json report = json::parse(slurp(out / "report.json"));
  EXPECT_EQ(report["verdict"], "fail");
  EXPECT_EQ(report["stages"][1]["oom_kills"]["target"], 1) << report.dump(2);
  EXPECT_EQ(report["stages"][1]["oom_kills"]["stressor"], 0);
  EXPECT_EQ(report["target"]["exit"], "killed by SIGKILL");
  EXPECT_LT(report["stages"][1]["end_s"].get<double>() - report["stages"][1]["start_s"].get<double>(), 15.0);
  expectNothingLeft(report);
}

// Issue 15, item 7: only the first pressure stage's oom_score_adj was used; a later stage that
// asks for another value must get it (set and read back, or the run fails).
TEST_F(RunTest, EachPressureStageGetsItsOwnOomScoreAdj) {
  json plan = {{"name", "oom-adj"},
               {"target", {{"launch", {{"command", {"/bin/sleep", "600"}}, {"memory_limit", "256MiB"}}}}},
               {"sampling", {{"interval", "100ms"}}},
               {"stages",
                {{{"name", "first"}, {"duration", "500ms"}, {"pressure", {{"size", "16MiB"}}}},
                 {{"name", "second"}, {"duration", "500ms"}, {"pressure", {{"size", "16MiB"}, {"oom_score_adj", 500}}}}}}};
  const fs::path out = dir_ / "out";
  ASSERT_EQ(run(writePlan("oom-adj", plan), out, "oom-adj.log"), 0) << slurp(dir_ / "oom-adj.log");
  const json report = json::parse(slurp(out / "report.json"));
  std::vector<json> changes;
  for (const auto& e : report["events"]) {
    if (e["kind"] == "stressor_oom_score_adj") changes.push_back(e);
  }
  ASSERT_EQ(changes.size(), 1u) << report["events"].dump(2);
  EXPECT_EQ(changes[0]["stage"], "second");
  EXPECT_NE(changes[0]["detail"].get<std::string>().find("oom_score_adj set to 500"), std::string::npos) << changes[0].dump();
  expectNothingLeft(report);
}

}  // namespace
}  // namespace memstrain
