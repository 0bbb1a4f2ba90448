// End to end on the demo target: a window check with abort: true stops a long hold stage early,
// records why (run.status aborted, the abort object, an "aborted" event), still cleans up, and
// exits 7; and `memstrain compare` reads two real reports. Needs root, a cgroup memory controller
// and tests/target/bin/demo-target (make go).

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using memstrain::testing::lastLine;
using memstrain::testing::slurp;
using nlohmann::json;

class WindowAbortTest : public memstrain::testing::RunFixture {
 protected:
  WindowAbortTest() : RunFixture("memstrain-window") {}
};

TEST_F(WindowAbortTest, UsageWindowAbortsTheHoldEarlyAndCleansUp) {
  json plan = {{"name", "abort-e2e"},
               {"target", launch(16093, "256MiB", {"-baseline-mib", "8"})},
               {"sampling", {{"interval", "100ms"}}},
               {"stages",
                {{{"name", "baseline"}, {"duration", "2s"}},
                 {{"name", "hold"}, {"duration", "60s"}, {"pressure", {{"level", "80%"}}}},
                 {{"name", "release"}, {"duration", "5s"}}}},
               {"checks",
                {{{"name", "usage window"},
                  {"metric", "cgroup.usage.max"},
                  {"stages", {"hold"}},
                  {"window", "2s"},
                  {"max", "120MiB"},
                  {"abort", true}},
                 {{"name", "no target OOM"}, {"metric", "target.oom_kills"}, {"max", 0}}}}};
  plan["target"]["probe"] = {{"name", "health"}, {"url", "http://127.0.0.1:16093/healthz"}, {"rate_per_s", 20}};
  const fs::path out = dir_ / "out";
  const auto t0 = std::chrono::steady_clock::now();
  const int code = run(writePlan("abort", plan), out, "stdout.txt", "stderr.txt");
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string stdout_text = slurp(dir_ / "stdout.txt");
  ASSERT_EQ(code, 7) << stdout_text << slurp(dir_ / "stderr.txt");
  // 2 s baseline + the 2 s window over the level reached after about a second; far from 67 s.
  EXPECT_LT(took_s, 25.0);

  const json report = json::parse(slurp(out / "report.json"));
  EXPECT_EQ(report["run"]["status"], "aborted");
  EXPECT_EQ(report["verdict"], "fail");
  ASSERT_TRUE(report["abort"].is_object()) << report.dump(2);
  EXPECT_EQ(report["abort"]["check"], "usage window");
  EXPECT_EQ(report["abort"]["stage"], "hold");
  EXPECT_GT(report["abort"]["observed"].get<double>(), 120.0 * 1024 * 1024);
  EXPECT_NE(report["abort"]["explanation"].get<std::string>().find("over the 2 s window"), std::string::npos) << report["abort"];
  bool event = false;
  for (const auto& e : report["events"]) event = event || (e["kind"] == "aborted" && e["stage"] == "hold");
  EXPECT_TRUE(event) << report["events"].dump(2);
  // Two stages ran, the hold did not complete, the release never started.
  ASSERT_EQ(report["stages"].size(), 2U);
  EXPECT_FALSE(report["stages"][1]["completed"].get<bool>());
  EXPECT_LT(report["stages"][1]["end_s"].get<double>() - report["stages"][1]["start_s"].get<double>(), 15.0);
  // The window check in the report: the worst window of the hold failed; release did not run.
  bool hold_failed = false, release_no_data = false;
  for (const auto& c : report["checks"]) {
    if (c["name"] != "usage window") continue;
    ASSERT_TRUE(c["window"].is_object()) << c.dump();
    EXPECT_TRUE(c["window"]["abort"].get<bool>());
    if (c["stage"] == "hold") hold_failed = c["outcome"] == "fail" && c["window"]["windows_failed"].get<int>() >= 1;
    if (c["stage"] == "release") release_no_data = c["outcome"] == "no_data";
  }
  EXPECT_TRUE(hold_failed) << report["checks"].dump(2);
  EXPECT_FALSE(release_no_data) << "the check is scoped to hold only";
  // PSI is reported with its source: the host's on v1, the cgroup's on v2.
  const json& psi = report["stages"][1]["psi"];
  if (psi.is_object()) {
    EXPECT_EQ(psi["source"], fs_->version() == CgroupVersion::kV1 ? "system" : "cgroup") << psi.dump();
  }

  const std::string last = lastLine(stdout_text);
  EXPECT_EQ(last.rfind("memstrain: verdict=fail ", 0), 0U) << last;
  EXPECT_NE(last.find(" status=aborted cleanup=ok exit=7 "), std::string::npos) << last;
  expectNothingLeft(report);

  // compare: this run against itself shows every change as zero; the table names the abort check.
  const std::string cmp = std::string(MEMSTRAIN_BINARY) + " compare " + (out / "report.json").string() + " " +
                          (out / "report.json").string() + " --json > " + (dir_ / "compare.json").string();
  ASSERT_EQ(std::system(cmp.c_str()), 0);
  const json c = json::parse(slurp(dir_ / "compare.json"));
  EXPECT_EQ(c["a"]["status"], "aborted");
  EXPECT_TRUE(c["changed_outcomes"].empty());
  bool saw_check = false;
  for (const auto& r : c["rows"]) {
    if (r["delta"].is_number()) {
      EXPECT_DOUBLE_EQ(r["delta"].get<double>(), 0.0) << r.dump();
    }
    saw_check = saw_check || (r["section"] == "check" && r["name"] == "usage window");
  }
  EXPECT_TRUE(saw_check) << c.dump(2);
}

}  // namespace
}  // namespace memstrain
