// End to end: a real run of the Go demo target whose hold stage breaks one check and not the
// others. Asserts the exit code, junit.xml (parsed by python3's xml.etree), summary.md,
// report.json's checks and the last stdout line. Needs root, a cgroup memory controller and
// tests/target/bin/demo-target (make go).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup.hpp"
#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using memstrain::testing::lastLine;
using memstrain::testing::slurp;

// The cgroup subtree, target, plans and runs: tests/support/run_fixture.hpp.
class ChecksRunTest : public memstrain::testing::RunFixture {
 protected:
  ChecksRunTest() : RunFixture("memstrain-checks") {}
};

TEST_F(ChecksRunTest, HarshHoldFailsTheUsageCheckOnly) {
  json plan = {
      {"name", "checks-e2e"},
      {"target", launch(16091, "256MiB", {"-baseline-mib", "8"})},
      {"sampling", {{"interval", "100ms"}}},
      {"stages", {{{"name", "baseline"}, {"duration", "2s"}}, {{"name", "hold"}, {"duration", "4s"}, {"pressure", {{"level", "80%"}}}}}},
      {"checks",
       {{{"name", "usage under pressure"}, {"metric", "cgroup.usage.max"}, {"stages", {"hold"}}, {"max", "100MiB"}},
        {{"name", "usage vs baseline"}, {"metric", "cgroup.usage.max"}, {"stages", {"hold"}}, {"max_vs_baseline", "20x+150MiB"}},
        {{"name", "no target OOM"}, {"metric", "target.oom_kills"}, {"max", 0}},
        {{"name", "p99 sane"}, {"metric", "latency.p99"}, {"max", "1500ms"}}}}};
  plan["target"]["probe"] = {{"name", "health"}, {"url", "http://127.0.0.1:16091/healthz"}, {"rate_per_s", 20}, {"timeout", "2s"}};
  const fs::path plan_path = writePlan("plan", plan);
  const fs::path out = dir_ / "out";
  const auto t0 = std::chrono::steady_clock::now();
  const int code = run(plan_path, out, "stdout.txt", "stderr.txt");
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string stdout_text = slurp(dir_ / "stdout.txt");
  ASSERT_EQ(code, 1) << stdout_text << slurp(dir_ / "stderr.txt");
  EXPECT_LT(took_s, 20.0);

  // The last stdout line.
  const std::string last = lastLine(stdout_text);
  EXPECT_EQ(last.rfind("memstrain: verdict=fail checks=3/4 failed=\"usage under pressure\" status=completed cleanup=ok exit=1 ", 0), 0U)
      << last;
  EXPECT_NE(last.find(" report=" + (out / "report.json").string()), std::string::npos) << last;

  // report.json: every check x stage with its figures, the plan's hash.
  const json report = json::parse(slurp(out / "report.json"));
  EXPECT_EQ(report["verdict"], "fail");
  EXPECT_EQ(report["cleanup"]["status"], "ok");
  const std::string plan_hash_cmd = "sha256sum " + plan_path.string() + " > " + (dir_ / "sha.txt").string();
  ASSERT_EQ(std::system(plan_hash_cmd.c_str()), 0);
  EXPECT_EQ(report["plan_sha256"].get<std::string>(), slurp(dir_ / "sha.txt").substr(0, 64));
  ASSERT_EQ(report["checks"].size(), 6U) << report["checks"].dump(2);  // 1 + 1 + 2 stages + 2 stages
  for (const auto& c : report["checks"]) {
    const bool should_fail = c["name"] == "usage under pressure";
    EXPECT_EQ(c["outcome"], should_fail ? "fail" : "pass") << c.dump();
    EXPECT_TRUE(c["observed"].is_number()) << c.dump();
  }
  const json& usage = report["checks"][0];
  EXPECT_EQ(usage["stage"], "hold");
  EXPECT_GT(usage["observed"].get<double>(), 150.0 * 1024 * 1024);  // 80% of 256 MiB is 205 MiB
  EXPECT_DOUBLE_EQ(usage["limit"]["max"].get<double>(), 100.0 * 1024 * 1024);
  const json& rel = report["checks"][1];
  EXPECT_TRUE(rel["baseline"].is_number());
  EXPECT_EQ(rel["limit"]["max_vs_baseline"]["text"], "20x+150MiB");

  // junit.xml: exactly that testcase fails.
  const std::string script =
      "import sys, xml.etree.ElementTree as ET\n"
      "s = ET.parse(sys.argv[1]).getroot().find('testsuite')\n"
      "print(s.get('tests'), s.get('failures'))\n"
      "for c in s.findall('testcase'):\n"
      "    f = c.find('failure')\n"
      "    if f is not None: print(c.get('classname'), '|', c.get('name'), '|', f.get('message').split(' > ')[1])\n";
  std::ofstream(dir_ / "junit.py") << script;
  const std::string jcmd =
      "python3 " + (dir_ / "junit.py").string() + " " + (out / "junit.xml").string() + " > " + (dir_ / "junit.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(jcmd.c_str()), 0) << slurp(dir_ / "junit.txt");
  EXPECT_EQ(slurp(dir_ / "junit.txt"), "6 1\nchecks-e2e.hold | usage under pressure | max 100.0 MiB\n");

  // summary.md: verdict heading, stage rows, the failed check first.
  const std::string md = slurp(out / "summary.md");
  EXPECT_NE(md.find("verdict **fail**"), std::string::npos) << md;
  EXPECT_NE(md.find("| baseline |"), std::string::npos) << md;
  EXPECT_NE(md.find("| hold |"), std::string::npos) << md;
  const auto fail_row = md.find("| ❌ fail | usage under pressure | hold |");
  ASSERT_NE(fail_row, std::string::npos) << md;
  EXPECT_LT(fail_row, md.find("| ✅ pass |")) << md;
}

// The end-to-end latency case: pressure that raises the target's latency fails the latency check
// and nothing else. The demo target serves /read from a 128 MiB memory-mapped file (-data-mib),
// the page-cache working set of a service with an mmap'd index. A 200 MiB stressor inside its
// 256 MiB cgroup leaves that file about 50 MiB, so /read pages that the kernel evicted come back
// from disk: on this machine p50 went from about 1 ms to 13 ms while the Go heap, RSS of the
// process' own allocations and the OOM counters did not move. allow_oom is what lets the stressor
// push usage to the limit, where the kernel reclaims file pages; its anonymous memory plus the
// target's stays under the limit, so no one is OOM-killed.
TEST_F(ChecksRunTest, PageCacheSqueezeRaisesLatencyAndFailsTheLatencyCheckOnly) {
  json plan = {{"name", "page-cache-e2e"},
               {"target", launch(16092, "256MiB", {"-data-mib", "128", "-data-dir", dir_.string()})},
               {"sampling", {{"interval", "250ms"}}},
               {"stages",
                {{{"name", "baseline"}, {"duration", "5s"}},
                 {{"name", "hold"}, {"duration", "8s"}, {"pressure", {{"size", "200MiB"}, {"ramp", "1s"}, {"allow_oom", true}}}}}},
               {"checks",
                {{{"name", "p50 vs baseline"}, {"metric", "latency.p50"}, {"stages", {"hold"}}, {"max_vs_baseline", "2x+2ms"}},
                 {{"name", "no errors"}, {"metric", "latency.error_rate"}, {"max", 0.01}},
                 {{"name", "no target OOM"}, {"metric", "target.oom_kills"}, {"max", 0}}}}};
  plan["target"]["probe"] = {{"name", "read"}, {"url", "http://127.0.0.1:16092/read?pages=128"}, {"rate_per_s", 50}, {"timeout", "2s"}};
  const fs::path plan_path = writePlan("plan", plan);
  const fs::path out = dir_ / "out";
  const fs::path textfiles = dir_ / "textfile-collector";
  fs::create_directories(textfiles);
  const int code = run(plan_path, out, "stdout.txt", "stderr.txt", "--textfile-dir " + textfiles.string());
  const std::string stdout_text = slurp(dir_ / "stdout.txt");
  ASSERT_EQ(code, 1) << stdout_text << slurp(dir_ / "stderr.txt");
  const std::string last = lastLine(stdout_text);
  EXPECT_EQ(last.rfind("memstrain: verdict=fail checks=2/3 failed=\"p50 vs baseline\" status=completed cleanup=ok exit=1 ", 0), 0U) << last;

  const json report = json::parse(slurp(out / "report.json"));
  expectNothingLeft(report);
  const json& base = report["stages"][0]["latency"][0];
  const json& hold = report["stages"][1]["latency"][0];
  const double base_p50 = base["corrected"]["p50_ms"].get<double>();
  const double hold_p50 = hold["corrected"]["p50_ms"].get<double>();
  EXPECT_GT(hold_p50, 2 * base_p50 + 2) << "baseline p50 " << base_p50 << " ms, hold p50 " << hold_p50 << " ms";
  EXPECT_EQ(base["errors"]["timeout"].get<int>() + hold["errors"]["timeout"].get<int>(), 0);
  for (const auto& c : report["checks"]) {
    EXPECT_EQ(c["outcome"], c["name"] == "p50 vs baseline" ? "fail" : "pass") << c.dump();
  }

  // The cause is visible in the samples: the data file's pages left the cgroup's page cache while
  // the stressor held its size; before it, all 128 MiB were cached.
  std::uint64_t base_file_min = UINT64_MAX, hold_file_min = UINT64_MAX, stressor_max = 0;
  std::istringstream samples(slurp(out / "samples.jsonl"));
  for (std::string line; std::getline(samples, line);) {
    const json s = json::parse(line);
    if (s["kind"] != "cgroup") continue;
    const auto file = s["target_cgroup"]["file_bytes"].get<std::uint64_t>();
    if (s["stage"] == "baseline") base_file_min = std::min(base_file_min, file);
    if (s["stage"] == "hold") hold_file_min = std::min(hold_file_min, file);
    if (s["stage"] == "hold") stressor_max = std::max(stressor_max, s["stressor"]["populated_bytes"].get<std::uint64_t>());
  }
  EXPECT_GE(base_file_min, 128ULL << 20);
  EXPECT_LT(hold_file_min, 80ULL << 20);
  EXPECT_GE(stressor_max, 190ULL << 20);

  // report.json says the same per stage: the page cache shrank, and pages the target needed came
  // back from disk (major faults, file refaults) in the hold and hardly at all before it.
  const json& base_pc = report["stages"][0]["page_cache"];
  const json& hold_pc = report["stages"][1]["page_cache"];
  ASSERT_TRUE(hold_pc.is_object()) << report["stages"][1].dump();
  EXPECT_LT(hold_pc["file_bytes"]["min"].get<double>(), 80.0 * (1 << 20));
  EXPECT_GE(base_pc["file_bytes"]["min"].get<double>(), 128.0 * (1 << 20));
  // 50 requests/s x 128 random pages with well over half of the file evicted.
  EXPECT_GT(hold_pc["major_faults_per_s"].get<double>(), 500.0) << hold_pc.dump();
  EXPECT_GT(hold_pc["refaults_per_s"].get<double>(), 500.0) << hold_pc.dump();
  EXPECT_LT(base_pc["major_faults_per_s"].get<double>(), 50.0) << base_pc.dump();
  const std::string md = slurp(out / "summary.md");
  EXPECT_NE(md.find("### Page cache of the target's cgroup"), std::string::npos) << md;

  // metrics.prom, and the same bytes in the textfile collector's directory under the plan's name.
  const std::string prom = slurp(out / "metrics.prom");
  EXPECT_EQ(slurp(textfiles / "memstrain_page-cache-e2e.prom"), prom);
  EXPECT_NE(prom.find("memstrain_run_passed{plan=\"page-cache-e2e\"} 0\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("memstrain_run_exit_code{plan=\"page-cache-e2e\"} 1\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("memstrain_check_failed{plan=\"page-cache-e2e\",check=\"p50 vs baseline\",stage=\"hold\",probe=\"read\"} 1\n"),
            std::string::npos)
      << prom;
  EXPECT_NE(prom.find("memstrain_stage_major_faults_per_second{plan=\"page-cache-e2e\",stage=\"hold\"} "), std::string::npos) << prom;
  EXPECT_NE(prom.find("memstrain_stage_latency_seconds{plan=\"page-cache-e2e\",stage=\"hold\",probe=\"read\",quantile=\"0.99\"} "),
            std::string::npos)
      << prom;
}

}  // namespace
}  // namespace memstrain
