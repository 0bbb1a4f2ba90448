// The pprof observer during a real run: a leak the target makes in one stage shows up as
// heap-object growth in that stage and as the top function of the heap diff.

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "memstrain/analysis/pprof_top.hpp"
#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/observers/pprof_decode.hpp"
#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using memstrain::testing::slurp;

TEST(PprofRun, LeakShowsUpInTheRightStageAndFunction) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  if (!CgroupFs::detect().ok()) GTEST_SKIP() << "no cgroup memory controller";
  const fs::path target = fs::path(MEMSTRAIN_SOURCE_DIR) / "tests/target/bin/demo-target";
  if (!fs::exists(target)) GTEST_SKIP() << target << " missing: run `make go`";
  const fs::path dir = fs::path(::testing::TempDir()) / ("memstrain-pprof-run-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // 40000 objects of 1 KiB: ~40 MiB. At Go's default MemProfileRate (512 KiB) that is only ~78
  // samples, so pprof's estimate has a ~11% standard error and a 25% band failed about once in
  // fifty runs (CI saw 29726). A 64 KiB rate gives ~620 samples (~4%). The target takes it as a
  // flag: Go 1.19 sets MemProfileRate after parsing GODEBUG, so GODEBUG=memprofilerate is lost.
  constexpr int kLeak = 40000;
  const std::string base = "http://127.0.0.1:16081";
  json plan = {{"name", "pprof-leak"},
               {"target",
                {{"launch",
                  {{"command", {target.string(), "-addr", "127.0.0.1:16081", "-mem-profile-rate", "65536"}},
                   {"memory_limit", "512MiB"},
                   {"ready_url", base + "/healthz"}}},
                 {"pprof_url", base + "/debug/pprof"}}},
               {"sampling", {{"interval", "200ms"}, {"pprof_interval", "500ms"}}},
               {"pprof", {{"gc", true}}},
               {"stages",
                {{{"name", "baseline"}, {"duration", "3s"}},
                 {{"name", "leak"},
                  {"duration", "4s"},
                  {"actions", {{{"at", "1s"}, {"url", base + "/grow?objects=" + std::to_string(kLeak) + "&object_bytes=1024"}}}}},
                 {{"name", "after"}, {"duration", "2s"}}}}};
  std::ofstream(dir / "plan.json") << plan.dump(2);
  const fs::path out = dir / "out";
  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " run " + (dir / "plan.json").string() + " --out " + out.string() +
                          " --cgroup-parent /memstrain-test-" + std::to_string(::getpid()) + " > " + (dir / "log").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(dir / "log");
  json r = json::parse(slurp(out / "report.json"));

  // The action ran in the leak stage and succeeded.
  bool action_ok = false;
  for (const auto& e : r["events"]) action_ok |= e["kind"] == "action" && e["stage"] == "leak";
  EXPECT_TRUE(action_ok) << r["events"].dump(2);

  // Heap-object growth lands in the leak stage, about kLeak objects, not in its neighbours.
  const json& baseline = r["stages"][0]["heap"];
  const json& leak = r["stages"][1]["heap"];
  const json& after = r["stages"][2]["heap"];
  ASSERT_FALSE(leak.is_null());
  ASSERT_GE(leak["samples"].get<int>(), 4);
  const double delta = leak["objects_delta"].get<double>();
  EXPECT_GT(delta, 0.9 * kLeak) << leak.dump(2);
  EXPECT_LT(delta, 1.25 * kLeak) << leak.dump(2);
  EXPECT_LT(std::abs(baseline["objects_delta"].get<double>()), 0.1 * kLeak) << baseline.dump(2);
  EXPECT_LT(std::abs(after["objects_delta"].get<double>()), 0.1 * kLeak) << after.dump(2);
  EXPECT_GT(leak["objects_slope_per_s"].get<double>(), 0.0);
  EXPECT_GE(leak["gc_cycles"].get<int>(), 1);  // ?gc=1 profiles and the grow itself
  // MemStats lines carry the same clock as the cgroup samples.
  int memstats_lines = 0;
  std::ifstream samples(out / "samples.jsonl");
  for (std::string line; std::getline(samples, line);) memstats_lines += json::parse(line)["kind"] == "memstats";
  EXPECT_EQ(memstats_lines, r["pprof"]["memstats_samples"].get<int>());

  // Profiles at the end of each stage, and a diff from baseline to the largest heap pointing at
  // the function that retained the objects.
  ASSERT_EQ(r["pprof"]["profiles"].size(), 3U) << r["pprof"].dump(2);
  const json& diff = r["pprof"]["diff"];
  ASSERT_FALSE(diff.is_null()) << r["pprof"].dump(2);
  EXPECT_EQ(diff["base_stage"], "baseline");
  const std::string top_fn = diff["inuse_objects"]["rows"][0]["function"].get<std::string>();
  EXPECT_NE(top_fn.find("retainObjects"), std::string::npos) << diff.dump(2);
  const double top_flat = diff["inuse_objects"]["rows"][0]["flat"].get<double>();
  EXPECT_NEAR(top_flat, kLeak, 0.2 * kLeak) << "pprof's estimate is sampled; within 20% (5 standard errors)";

  // The report's diff equals `memstrain pprof diff` on the saved snapshots (same decoder, same
  // arithmetic as go tool pprof, cross-checked elsewhere).
  auto base_p = readProfileFile(diff["base_profile"].get<std::string>());
  auto cur_p = readProfileFile(diff["profile"].get<std::string>());
  ASSERT_TRUE(base_p.ok() && cur_p.ok());
  auto d = computeDiff(*base_p, *cur_p, "inuse_objects");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rows[0].name, top_fn);
  EXPECT_EQ(static_cast<double>(d->rows[0].flat), top_flat);
  fs::remove_all(dir);
}

// A pprof endpoint that answers 404 for everything and one where nothing listens: each failure is
// a pprof_error sample, the run completes, and the verdict is not affected.
TEST(PprofRun, BrokenEndpointsAreReportedAndTheRunGoesOn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  if (!CgroupFs::detect().ok()) GTEST_SKIP() << "no cgroup memory controller";
  const fs::path target = fs::path(MEMSTRAIN_SOURCE_DIR) / "tests/target/bin/demo-target";
  if (!fs::exists(target)) GTEST_SKIP() << target << " missing: run `make go`";
  const fs::path dir = fs::path(::testing::TempDir()) / ("memstrain-pprof-broken-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct Case {
    const char* name;
    std::string pprof_url;
    const char* kind;
  };
  const std::string base = "http://127.0.0.1:16082";
  for (const Case& c : {Case{"not-found", base + "/nope", "http_status"}, Case{"refused", "http://127.0.0.1:1/debug/pprof", "connect_refused"}}) {
    json plan = {{"name", std::string("pprof-") + c.name},
                 {"target",
                  {{"launch", {{"command", {target.string(), "-addr", "127.0.0.1:16082"}}, {"memory_limit", "256MiB"},
                               {"ready_url", base + "/healthz"}}},
                   {"pprof_url", c.pprof_url}}},
                 {"sampling", {{"pprof_interval", "300ms"}}},
                 {"stages", {{{"name", "baseline"}, {"duration", "1500ms"}}, {{"name", "hold"}, {"duration", "1s"}}}}};
    std::ofstream(dir / "plan.json") << plan.dump(2);
    const fs::path out = dir / c.name;
    const std::string cmd = std::string(MEMSTRAIN_BINARY) + " run " + (dir / "plan.json").string() + " --out " + out.string() +
                            " --cgroup-parent /memstrain-test-" + std::to_string(::getpid()) + " > " + (dir / "log").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << c.name << "\n" << slurp(dir / "log");
    const std::string log = slurp(dir / "log");
    EXPECT_NE(log.find("pprof memstats"), std::string::npos) << "a clear log line: " << log;
    json r = json::parse(slurp(out / "report.json"));
    EXPECT_EQ(r["run"]["status"], "completed");
    EXPECT_EQ(r["verdict"], "pass");
    EXPECT_EQ(r["pprof"]["memstats_samples"], 0);
    EXPECT_GE(r["pprof"]["errors"].get<int>(), 4) << c.name;
    int errors = 0;
    std::ifstream samples(out / "samples.jsonl");
    for (std::string line; std::getline(samples, line);) {
      json s = json::parse(line);
      if (s["kind"] != "pprof_error") continue;
      ++errors;
      EXPECT_EQ(s["error_kind"], c.kind) << line;
      EXPECT_NE(s["message"].get<std::string>().find("127.0.0.1"), std::string::npos) << "names the URL: " << line;
    }
    EXPECT_EQ(errors, r["pprof"]["errors"].get<int>());
    EXPECT_TRUE(r["pprof"]["diff"].is_null());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memstrain
