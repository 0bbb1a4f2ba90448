// End to end: `memstrain headroom --vary memory_limit` against the real Go demo target in real
// cgroups. The target keeps a 64 MiB live set and churns 64 MiB/s through it (/churn): at GOGC=100
// its heap peaks near twice the live set, so below some limit the kernel OOM-kills it and above it
// the target survives. The search must bracket that edge within the resolution, with an OOM kill
// at the failing value and a survivor whose peak fits under the passing one. Needs root, a cgroup
// memory controller and tests/target/bin/demo-target (tests/go-build.sh).

#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using memstrain::testing::slurp;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr double kMiB = 1024.0 * 1024.0;

class HeadroomRunTest : public memstrain::testing::RunFixture {
 protected:
  HeadroomRunTest() : RunFixture("memstrain-headroom") {}

  fs::path writeChurnPlan(const std::string& addr) {
    json plan = {
        {"name", "headroom-e2e"},
        {"target",
         {{"launch",
           {{"command", {target_.string(), "-addr", addr}}, {"memory_limit", "256MiB"}, {"ready_url", "http://" + addr + "/healthz"}}},
          {"pprof_url", "http://" + addr + "/debug/pprof"}}},
        {"sampling", {{"interval", "100ms"}, {"pprof_interval", "250ms"}}},
        {"stages",
         {{{"name", "baseline"}, {"duration", "1s"}},
          {{"name", "churn"},
           {"duration", "4s"},
           {"actions", {{{"at", "0s"}, {"url", "http://" + addr + "/churn?live_mib=64&mib_per_s=64&seconds=60"}}}}}}},
        {"checks", {{{"name", "no target OOM"}, {"metric", "target.oom_kills"}, {"max", 0}}}}};
    const fs::path p = dir_ / "plan.json";
    std::ofstream(p) << plan.dump(2);
    return p;
  }

  bool cgroupsLeft() const { return fs::exists(fs_->mount() + parent_) && !fs::is_empty(fs_->mount() + parent_); }
};

TEST_F(HeadroomRunTest, MemoryLimitSearchBracketsTheOomEdgeWithinTheResolution) {
  const fs::path plan = writeChurnPlan("127.0.0.1:16395");
  const fs::path out = dir_ / "out";
  const auto t0 = std::chrono::steady_clock::now();
  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " headroom " + plan.string() +
                          " --vary memory_limit --from 80MiB --to 272MiB --resolution 24MiB --out " + out.string() + " --cgroup-parent " +
                          parent_ + " > " + (dir_ / "stdout").string() + " 2> " + (dir_ / "stderr").string();
  const int status = std::system(cmd.c_str());
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string err = slurp(dir_ / "stderr");
  const std::string stdout_text = slurp(dir_ / "stdout");
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << stdout_text << err;
  EXPECT_FALSE(cgroupsLeft());
  std::printf("headroom memory_limit search: %.0f s\n", took_s);

  const json h = json::parse(slurp(out / "headroom.json"));
  ASSERT_EQ(h["end"], "edge") << h.dump(2);
  EXPECT_EQ(h["passing_side"], "high");
  const double passing = h["passing"]["bytes"].get<double>(), failing = h["failing"]["bytes"].get<double>();
  EXPECT_GT(passing, failing);
  EXPECT_LE(passing - failing, 24 * kMiB);
  // The live set alone needs 64 MiB; the edge is above it and inside the range.
  EXPECT_GT(failing, 64 * kMiB);
  EXPECT_LT(passing, 272 * kMiB);
  // Every run at the failing value that failed did so by an OOM kill of the target, and the
  // passing value's runs all survived with their peak under that limit.
  int failing_runs = 0, passing_runs = 0;
  for (const auto& t : h["trials"]) {
    const double v = t["value"]["bytes"].get<double>();
    if (v == failing && t["verdict"] == "fail") {
      ++failing_runs;
      EXPECT_TRUE(t["run"]["first_target_oom_s"].is_number()) << t.dump(2);
      EXPECT_EQ(t["run"]["failed_checks"][0]["name"], "no target OOM");
    }
    if (v == passing) {
      ++passing_runs;
      EXPECT_EQ(t["verdict"], "pass");
      EXPECT_TRUE(t["run"]["first_target_oom_s"].is_null());
      ASSERT_TRUE(t["run"]["peak_target_bytes"].is_number());
      EXPECT_LE(t["run"]["peak_target_bytes"].get<double>(), passing);
      EXPECT_GT(t["run"]["peak_target_bytes"].get<double>(), 64 * kMiB);
    }
    EXPECT_TRUE(fs::exists(fs::path(t["run"]["dir"].get<std::string>()) / "report.json"));
  }
  EXPECT_GE(failing_runs, 1);
  EXPECT_GE(passing_runs, 2);  // the bisection's run and its recheck
  EXPECT_THAT(h["answer"]["details"][0].get<std::string>(), HasSubstr("resources.limits.memory = "));
  EXPECT_THAT(h["answer"]["why"].dump(), HasSubstr("OOM-killed"));
  EXPECT_THAT(err, HasSubstr("memstrain headroom: [1/"));
  EXPECT_TRUE(fs::exists(out / "headroom.md"));
  EXPECT_THAT(slurp(out / "headroom.html"), HasSubstr("<svg"));
  // The machine line is the last line of stdout.
  const auto last = stdout_text.substr(stdout_text.rfind('\n', stdout_text.size() - 2) + 1);
  EXPECT_THAT(last, HasSubstr("memstrain: headroom="));
  EXPECT_THAT(last, HasSubstr(" passing>="));
  EXPECT_THAT(last, HasSubstr(" runs=" + std::to_string(h["trials"].size()) + " "));
}

// `--vary level` end to end: the plan holds the target's cgroup (256 MiB) at a pressure level and
// allows the cgroup 192 MiB (75%) at most, with a p99 check beside it. The edge is therefore at
// 75% of the limit; with 6% resolution the search visits 50%, 95%, 72.5%, 83.75% and 78.1% (then
// rechecks both bounds), so no point sits within the controller's error of the edge. Separate
// `memstrain run`s at the two bounds must agree with the search: pass just below, fail just above
// on the usage check.
TEST_F(HeadroomRunTest, LevelSearchFindsTheEdgeThatSeparateRunsConfirm) {
  json plan = {{"name", "headroom-level-e2e"},
               {"target", launch(16396, "256MiB")},
               {"sampling", {{"interval", "100ms"}}},
               {"stages",
                {{{"name", "baseline"}, {"duration", "2s"}},
                 {{"name", "hold"}, {"duration", "5s"}, {"pressure", {{"placement", "inside"}, {"level", "60%"}, {"ramp", "1s"}}}}}},
               {"checks",
                {{{"name", "usage budget"}, {"metric", "cgroup.usage.max"}, {"stages", {"hold"}}, {"max", "192MiB"}},
                 {{"name", "p99"}, {"metric", "latency.p99"}, {"stages", {"hold"}}, {"max_vs_baseline", "10x+200ms"}}}}};
  plan["target"]["probe"] = {{"name", "work"}, {"url", "http://127.0.0.1:16396/work"}, {"rate_per_s", 20}, {"timeout", "2s"}};
  const fs::path plan_path = writePlan("level-plan", plan);
  const fs::path out = dir_ / "level-out";
  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " headroom " + plan_path.string() +
                          " --vary level --from 50% --to 95% --resolution 6% --out " + out.string() + " --cgroup-parent " + parent_ +
                          " > " + (dir_ / "level-stdout").string() + " 2> " + (dir_ / "level-stderr").string();
  const int status = std::system(cmd.c_str());
  const std::string stdout_text = slurp(dir_ / "level-stdout");
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << stdout_text << slurp(dir_ / "level-stderr");
  EXPECT_FALSE(cgroupsLeft());

  const json h = json::parse(slurp(out / "headroom.json"));
  ASSERT_EQ(h["end"], "edge") << h.dump(2);
  EXPECT_EQ(h["unit"], "fraction_of_limit");
  EXPECT_EQ(h["passing_side"], "low");
  const double passing = h["passing"]["value"].get<double>(), failing = h["failing"]["value"].get<double>();
  EXPECT_LT(passing, 0.75);
  EXPECT_GT(failing, 0.75);
  EXPECT_LE(failing - passing, 0.06 + 1e-9);
  for (const auto& t : h["trials"]) {
    if (t["verdict"] != "fail") continue;
    EXPECT_EQ(t["run"]["failed_checks"][0]["name"], "usage budget") << t.dump(2);
  }

  // Separate runs at the two bounds agree with the search.
  auto runAt = [&](double level, const std::string& name) {
    json p = plan;
    char text[32];
    std::snprintf(text, sizeof text, "%.1f%%", level * 100);
    p["stages"][1]["pressure"]["level"] = text;
    return run(writePlan(name, p), dir_ / (name + "-out"), name + "-stdout", name + "-stderr");
  };
  EXPECT_EQ(runAt(passing, "below"), 0) << slurp(dir_ / "below-stdout");
  EXPECT_EQ(runAt(failing, "above"), 1) << slurp(dir_ / "above-stdout");
  const json above = json::parse(slurp(dir_ / "above-out" / "report.json"));
  for (const auto& c : above["checks"]) EXPECT_EQ(c["outcome"], c["name"] == "usage budget" ? "fail" : "pass") << c.dump();
}

// `--vary gomemlimit` end to end: the same churning target (64 MiB live, GOGC=100, so its heap
// would peak near 128 MiB) in a 128 MiB cgroup. Without a GOMEMLIMIT below the limit the kernel
// OOM-kills it (a GOMEMLIMIT of 256 MiB is no limit here); a GOMEMLIMIT well below the cgroup's
// makes the Go GC hold the heap under it. Low values pass, and the failing value's runs end in the
// target's OOM kill.
TEST_F(HeadroomRunTest, GomemlimitSearchFindsWhereTheGcStopsTheOomKill) {
  json plan = json::parse(slurp(writeChurnPlan("127.0.0.1:16397")));
  plan["target"]["launch"]["memory_limit"] = "128MiB";
  const fs::path plan_path = writePlan("gomemlimit-plan", plan);
  const fs::path out = dir_ / "gomemlimit-out";
  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " headroom " + plan_path.string() +
                          " --vary gomemlimit --from 80MiB --to 256MiB --resolution 16MiB --out " + out.string() + " --cgroup-parent " +
                          parent_ + " > " + (dir_ / "gml-stdout").string() + " 2> " + (dir_ / "gml-stderr").string();
  const int status = std::system(cmd.c_str());
  const std::string stdout_text = slurp(dir_ / "gml-stdout");
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << stdout_text << slurp(dir_ / "gml-stderr");
  std::cout << "[ gomemlimit ]\n" << stdout_text;  // headroom.md and the machine line: the figures
  EXPECT_FALSE(cgroupsLeft());
  const json h = json::parse(slurp(out / "headroom.json"));
  ASSERT_EQ(h["end"], "edge") << h.dump(2);
  EXPECT_EQ(h["passing_side"], "low");
  const double passing = h["passing"]["value"].get<double>(), failing = h["failing"]["value"].get<double>();
  EXPECT_LT(passing, failing);
  EXPECT_LE(failing - passing, 16 * kMiB);
  EXPECT_GT(failing, 64 * kMiB) << "the live set alone needs 64 MiB";
  int failed = 0;
  for (const auto& t : h["trials"]) {
    if (t["verdict"] != "fail") continue;
    ++failed;
    EXPECT_TRUE(t["run"]["first_target_oom_s"].is_number()) << t.dump(2);
  }
  EXPECT_GE(failed, 1);
  // Each run's plan copy sets GOMEMLIMIT in bytes (the first run: --from).
  const json first = json::parse(slurp(fs::path(h["trials"][0]["run"]["dir"].get<std::string>()).parent_path() / "plan.json"));
  const std::string gml = first["target"]["launch"]["env"]["GOMEMLIMIT"].get<std::string>();
  EXPECT_EQ(gml, std::to_string(80 << 20)) << gml;
}

}  // namespace
}  // namespace memstrain
