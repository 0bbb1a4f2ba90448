// Release verification on a real run: the Go demo target in a real cgroup grows 150 MiB, drops it
// and is told to FreeOSMemory. With GODEBUG=madvdontneed=1 the pages leave RSS and the cgroup
// (`returned`); with madvdontneed=0 they stay as LazyFree (`lazy`) until reclaim pressure makes
// the kernel take them back. Without a trigger and nothing dropped, the outcome is never
// `returned`.

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup.hpp"
#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kMiB = 1024.0 * 1024.0;

using memstrain::testing::scaledMs;
using memstrain::testing::slurp;
using memstrain::testing::timeScale;

class ReleaseRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    if (!CgroupFs::detect().ok()) GTEST_SKIP() << "no cgroup memory controller";
    target_ = fs::path(MEMSTRAIN_SOURCE_DIR) / "tests/target/bin/demo-target";
    if (!fs::exists(target_)) GTEST_SKIP() << target_ << " missing: run tests/go-build.sh";
    dir_ = fs::path(::testing::TempDir()) /
           ("memstrain-release-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
  }

  // A plan: baseline, grow `grow_mib`, then a release stage `release` (with `actions`).
  json plan(const std::string& name, int port, const std::string& godebug, int grow_mib, const json& release, const json& release_actions,
            double release_duration_s, const std::string& limit = "512MiB") const {
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    json stages = json::array();
    stages.push_back({{"name", "baseline"}, {"duration", scaledMs(1000)}});
    if (grow_mib > 0) {
      stages.push_back(
          {{"name", "grow"}, {"duration", scaledMs(4000)}, {"actions", {{{"url", base + "/grow?mib=" + std::to_string(grow_mib)}}}}});
    }
    json rel = {{"name", "release"}, {"duration", scaledMs(release_duration_s * 1000)}, {"release", release}};
    if (!release_actions.empty()) rel["actions"] = release_actions;
    stages.push_back(rel);
    return {{"name", name},
            {"target",
             {{"launch",
               {{"command", {target_.string(), "-addr", "127.0.0.1:" + std::to_string(port)}},
                {"env", {{"GODEBUG", godebug}}},
                {"memory_limit", limit},
                {"ready_url", base + "/healthz"}}},
              {"pprof_url", base + "/debug/pprof"}}},
            {"sampling", {{"interval", "250ms"}, {"pprof_interval", "1s"}}},
            {"checks",
             {{{"name", "returned"}, {"metric", "release.outcome"}, {"stages", {"release"}}, {"equals", "returned"}},
              {{"name", "lazy pages"}, {"metric", "release.lazy_bytes"}, {"stages", {"release"}}, {"max", "16MiB"}}}},
            {"stages", stages}};
  }

  // Runs the plan; returns memstrain's exit code and leaves report.json in out_.
  int run(const json& p, const std::string& extra_args = "") {
    std::ofstream(dir_ / "plan.json") << p.dump(2);
    out_ = dir_ / "out";
    const std::string cmd = std::string(MEMSTRAIN_BINARY) + " run " + (dir_ / "plan.json").string() + " --out " + out_.string() +
                            " --cgroup-parent /memstrain-test-" + std::to_string(::getpid()) + extra_args + " > " +
                            (dir_ / "log").string() + " 2>&1";
    const int st = std::system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

  json report() const { return json::parse(slurp(out_ / "report.json")); }

  // report.json against docs/report.schema.json, when python3 has jsonschema.
  void expectSchemaValid() const {
    if (std::system("python3 -c 'import jsonschema' > /dev/null 2>&1") != 0) return;
    const std::string cmd =
        "python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' " +
        (out_ / "report.json").string() + " " + (fs::path(MEMSTRAIN_SOURCE_DIR) / "docs/report.schema.json").string() + " > " +
        (dir_ / "schema.log").string() + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << slurp(dir_ / "schema.log");
  }

  std::string log() const { return slurp(dir_ / "log"); }

  fs::path target_, dir_, out_;
};

TEST_F(ReleaseRun, MadvDontNeedReturnsThePages) {
  const std::string base = "http://127.0.0.1:16201";
  const json release = {{"trigger", {{"url", base + "/debug/free"}, {"method", "POST"}, {"at", scaledMs(500)}}},
                        {"expect", {{"returned_ratio", 0.8}, {"within", scaledMs(6000)}}}};
  const int code = run(plan("release-dontneed", 16201, "madvdontneed=1", 150, release, {{{"url", base + "/drop"}}}, 8));
  EXPECT_EQ(code, 0) << log();
  const json r = report();
  const json& rel = r["stages"].back()["release"];
  ASSERT_TRUE(rel.is_object()) << r["stages"].dump(2);
  std::cout << "[figures] madvdontneed=1: " << rel.dump() << "\n";
  EXPECT_EQ(rel["outcome"], "returned") << rel.dump(2);
  EXPECT_GE(rel["runtime_released_bytes"].get<double>(), 130 * kMiB) << rel.dump(2);
  EXPECT_GE(rel["returned_ratio"].get<double>(), 0.8);
  ASSERT_TRUE(rel["time_to_return_s"].is_number()) << rel.dump(2);
  EXPECT_LE(rel["time_to_return_s"].get<double>(), 6.0 * timeScale());  // within the window
  EXPECT_GE(rel["rss_dropped_bytes"].get<double>(), 0.8 * rel["runtime_released_bytes"].get<double>());
  EXPECT_GE(rel["cgroup_dropped_bytes"].get<double>(), 0.8 * rel["runtime_released_bytes"].get<double>());
  EXPECT_LT(rel["lazy_bytes"].get<double>(), 16 * kMiB);
  EXPECT_TRUE(rel["reclaim"].is_null());
  EXPECT_NE(rel["explanation"].get<std::string>().find("goes back to the OS"), std::string::npos);
  EXPECT_TRUE(r["stressor_release"].is_null());  // no pressure, no stressor
  // Checks gate on it, and the summaries say it in words.
  EXPECT_EQ(r["checks_summary"]["failed"], 0) << r["checks"].dump(2);
  EXPECT_NE(log().find("release release: returned"), std::string::npos) << log();
  EXPECT_NE(slurp(out_ / "summary.md").find("**release: returned**"), std::string::npos);
  expectSchemaValid();
}

// A release stage right after a pressure stage: the stressor is still giving its pages back when
// the release stage starts, so the "before" of the OS view must wait for it; otherwise the
// cgroup's drop is measured from a reading the stressor's own release distorts (seen in the demo
// plan: "0 MiB left the cgroup" beside a real 78 MiB RSS drop).
TEST_F(ReleaseRun, RightAfterPressureTheStressorsPagesAreNotCounted) {
  const std::string base = "http://127.0.0.1:16205";
  json p = plan("release-after-pressure", 16205, "madvdontneed=1", 100,
                {{"trigger", {{"url", base + "/debug/free"}, {"method", "POST"}, {"at", scaledMs(1000)}}},
                 {"expect", {{"returned_ratio", 0.8}, {"within", scaledMs(5000)}}}},
                {{{"url", base + "/drop"}}}, 7);
  // baseline, grow, then a pressure stage (a 200 MiB stressor inside the 512 MiB cgroup), release.
  json& stages = p["stages"];
  json hold = json::object();
  hold["name"] = "hold";
  hold["duration"] = scaledMs(3000);
  hold["pressure"] = {{"placement", "inside"}, {"size", "200MiB"}};
  stages.insert(stages.begin() + 2, hold);
  const int code = run(p);
  EXPECT_EQ(code, 0) << log();
  const json r = report();
  const json& rel = r["stages"].back()["release"];
  ASSERT_TRUE(rel.is_object()) << r["stages"].dump(2);
  std::cout << "[figures] after pressure: " << rel.dump() << "\n";
  EXPECT_EQ(rel["outcome"], "returned") << rel.dump(2);
  const double released = rel["runtime_released_bytes"].get<double>();
  EXPECT_GE(released, 80 * kMiB) << rel.dump(2);
  // The cgroup's drop is the target's, not the stressor's 200 MiB: close to what RSS shows.
  EXPECT_GE(rel["cgroup_dropped_bytes"].get<double>(), 0.8 * released) << rel.dump(2);
  EXPECT_LE(rel["cgroup_dropped_bytes"].get<double>(), released + 32 * kMiB) << rel.dump(2);
  ASSERT_TRUE(r["stressor_release"].is_object());
  EXPECT_TRUE(r["stressor_release"]["ok"].get<bool>()) << r["stressor_release"].dump(2);
  expectSchemaValid();
}

TEST_F(ReleaseRun, MadvFreeIsLazyAndReclaimTakesThePagesBack) {
  const std::string base = "http://127.0.0.1:16202";
  const json release = {{"trigger", {{"url", base + "/debug/free"}, {"at", scaledMs(500)}}},
                        {"expect", {{"returned_ratio", 0.8}, {"within", scaledMs(4000)}}},
                        {"reclaim", {{"duration", scaledMs(5000)}}}};
  const int code = run(plan("release-free", 16202, "madvdontneed=0", 150, release, {{{"url", base + "/drop"}}}, 11, "384MiB"));
  EXPECT_EQ(code, 1) << "the checks expect returned and no LazyFree: " << log();
  const json r = report();
  const json& rel = r["stages"].back()["release"];
  ASSERT_TRUE(rel.is_object()) << r["stages"].dump(2);
  std::cout << "[figures] madvdontneed=0: " << rel.dump() << "\n";
  std::cout << "[figures] stressor_release: " << r["stressor_release"].dump() << "\n";
  EXPECT_EQ(rel["outcome"], "lazy") << rel.dump(2);
  EXPECT_GE(rel["runtime_released_bytes"].get<double>(), 130 * kMiB) << rel.dump(2);
  EXPECT_TRUE(rel["time_to_return_s"].is_null());
  EXPECT_GE(rel["lazy_bytes"].get<double>(), 100 * kMiB) << rel.dump(2);
  EXPECT_EQ(rel["lazy_source"], "smaps_rollup");
  EXPECT_LT(rel["returned_ratio"].get<double>(), 0.5);
  EXPECT_NE(rel["explanation"].get<std::string>().find("LazyFree"), std::string::npos);
  // v2's memory.stat counts the MADV_FREE pages as they are marked (pglazyfree); v1 has no such line.
  if (CgroupFs::detect()->version() == CgroupVersion::kV2) {
    ASSERT_TRUE(rel["os"]["cgroup_pglazyfree_delta"].is_number()) << rel.dump(2);
    EXPECT_GE(rel["os"]["cgroup_pglazyfree_delta"].get<double>() * 4096, 100 * kMiB) << rel.dump(2);
  }
  // Reclaim: the kernel takes most lazily freed pages back and the target lives on.
  const json& rc = rel["reclaim"];
  ASSERT_TRUE(rc.is_object()) << rel.dump(2);
  EXPECT_TRUE(rc["ran"].get<bool>()) << rc.dump(2);
  EXPECT_GE(rc["reclaimed_lazy_bytes"].get<double>(), 0.5 * rel["lazy_bytes"].get<double>()) << rc.dump(2);
  EXPECT_FALSE(rc["target_oom_killed"].get<bool>());
  EXPECT_TRUE(r["target"]["exit"].is_null()) << r["target"].dump(2);
  EXPECT_EQ(r["stages"].back()["oom_kills"]["target"], 0);
  // The stressor gave back what it held.
  ASSERT_TRUE(r["stressor_release"].is_object());
  EXPECT_TRUE(r["stressor_release"]["ok"].get<bool>()) << r["stressor_release"].dump(2);
  // The failed checks name the outcome.
  bool outcome_failed = false;
  for (const auto& c : r["checks"]) {
    if (c["name"] == "returned") {
      outcome_failed = c["outcome"] == "fail" && c["observed_text"] == "lazy";
    }
  }
  EXPECT_TRUE(outcome_failed) << r["checks"].dump(2);
  expectSchemaValid();
}

// The demo plan's shape, smaller: a baseline of 32 MiB of small objects, pressure inside the cgroup,
// a grow under that pressure, then drop + FreeOSMemory with a reclaim phase. Under THP `always` the
// Go heap sits in huge pages; freeing parts of them drops RSS at once but the cgroup stays charged
// for the whole huge page until the kernel splits it (deferred split, under pressure): the outcome
// is huge_pages_held and the reclaim phase shows whether the charge comes back. Under `madvise` the
// heap has no huge pages and the outcome is returned. Either way the demo's check is that the memory
// comes back.
TEST_F(ReleaseRun, UnderPressureReleasedMemoryComesBackWhateverTheHugePages) {
  const std::string base = "http://127.0.0.1:16206";
  json p = plan("release-huge-pages", 16206, "madvdontneed=1", 0,
                {{"trigger", {{"url", base + "/debug/free"}, {"method", "POST"}, {"at", scaledMs(1000)}}},
                 {"expect", {{"returned_ratio", 0.8}, {"within", scaledMs(4000)}}},
                 {"reclaim", {{"duration", scaledMs(5000)}}}},
                {{{"url", base + "/drop"}}}, 11, "256MiB");
  p["target"]["launch"]["command"].push_back("-baseline-mib");
  p["target"]["launch"]["command"].push_back("32");
  json& stages = p["stages"];
  json hold = {{"name", "hold"},
               {"duration", scaledMs(5000)},
               {"pressure", {{"placement", "inside"}, {"level", "70%"}}},
               {"actions", {{{"at", scaledMs(1000)}, {"url", base + "/grow?mib=24"}}}}};
  stages.insert(stages.begin() + 1, hold);
  p["checks"] = {{{"name", "comes back"}, {"metric", "release.comes_back"}, {"stages", {"release"}}, {"equals", "yes"}}};
  const int code = run(p);
  const json r = report();
  const json& rel = r["stages"].back()["release"];
  ASSERT_TRUE(rel.is_object()) << r["stages"].dump(2) << log();
  const std::string thp = r["host"]["thp"].is_object() ? r["host"]["thp"].value("enabled", "?") : "?";
  std::cout << "[figures] THP " << thp << ": " << rel.dump() << "\n";
  EXPECT_EQ(code, 0) << log();
  EXPECT_EQ(rel["comes_back"], "yes") << rel.dump(2);
  EXPECT_GE(rel["runtime_released_bytes"].get<double>(), 16 * kMiB) << rel.dump(2);
  EXPECT_EQ(r["stages"].back()["oom_kills"]["target"], 0);
  const std::string outcome = rel["outcome"];
  if (outcome == "huge_pages_held") {
    // Gone from RSS, still charged: the reclaim ran and took the charge back.
    EXPECT_GT(rel["huge_pages"]["held_bytes"].get<double>(), 0) << rel.dump(2);
    EXPECT_NE(rel["explanation"].get<std::string>().find("huge page"), std::string::npos) << rel.dump(2);
    ASSERT_TRUE(rel["reclaim"].is_object() && rel["reclaim"]["ran"].get<bool>()) << rel.dump(2);
    EXPECT_TRUE(rel["reclaim"]["gave_back"].get<bool>()) << rel.dump(2);
    // What came back is the charge the target stopped mapping. Not a charge read as 0 after the
    // stressor's OOM kill (its last report taken off the cgroup's usage), and not the target's
    // charge, which grows when the target allocates again under the pressure.
    ASSERT_TRUE(rel["reclaim"]["reclaimed_unmapped_bytes"].is_number()) << rel.dump(2);
    EXPECT_GE(2 * rel["reclaim"]["reclaimed_unmapped_bytes"].get<double>(), rel["reclaim"]["held_bytes"].get<double>()) << rel.dump(2);
    EXPECT_GT(rel["reclaim"]["charge_after_bytes"].get<double>(), 16 * kMiB) << rel.dump(2);
  } else {
    EXPECT_EQ(outcome, "returned") << rel.dump(2);
  }
  // Without huge pages for the heap nothing can hold a freed page's charge.
  if (thp == "madvise" || thp == "never") {
    EXPECT_EQ(outcome, "returned") << rel.dump(2);
  }
  expectSchemaValid();
}

TEST_F(ReleaseRun, NoTriggerAndNothingDroppedIsNeverReturned) {
  // The target holds its 64 MiB; nobody drops or frees anything.
  const json release = {{"expect", {{"returned_ratio", 0.8}, {"within", scaledMs(3000)}}}};
  const int code = run(plan("release-none", 16203, "madvdontneed=1", 64, release, json::array(), 4));
  EXPECT_EQ(code, 1) << log();
  const json r = report();
  const json& rel = r["stages"].back()["release"];
  ASSERT_TRUE(rel.is_object());
  std::cout << "[figures] no trigger: " << rel.dump() << "\n";
  EXPECT_NE(rel["outcome"], "returned") << rel.dump(2);
  EXPECT_TRUE(rel["outcome"] == "nothing_released" || rel["outcome"] == "not_returned") << rel.dump(2);
  EXPECT_TRUE(rel["time_to_return_s"].is_null());
  EXPECT_LT(rel["runtime_released_bytes"].get<double>(), 16 * kMiB);
  expectSchemaValid();
}

TEST_F(ReleaseRun, SignalAndCommandTriggers) {
  if (!fs::exists("/usr/bin/curl")) GTEST_SKIP() << "the command trigger uses /usr/bin/curl";
  const std::string base = "http://127.0.0.1:16204";
  // Two release stages: SIGUSR1 (the demo target calls FreeOSMemory on it), then a command.
  json p = plan("release-triggers", 16204, "madvdontneed=1", 100,
                {{"trigger", {{"signal", "SIGUSR1"}}}, {"expect", {{"within", scaledMs(3000)}}}}, {{{"url", base + "/drop"}}}, 4);
  p["stages"].push_back({{"name", "grow2"}, {"duration", scaledMs(3000)}, {"actions", {{{"url", base + "/grow?mib=100"}}}}});
  p["stages"].push_back({{"name", "release2"},
                         {"duration", scaledMs(4000)},
                         {"actions", {{{"url", base + "/drop"}}}},
                         {"release",
                          {{"trigger", {{"command", {"/usr/bin/curl", "-s", "-X", "POST", base + "/debug/free"}}}},
                           {"expect", {{"within", scaledMs(3000)}}}}}});
  p["checks"] = json::array();
  // A command runs as root: only when whoever starts memstrain says so (issue 15).
  ASSERT_EQ(run(p), 2) << log();
  EXPECT_NE(log().find("/stages/4/release/trigger/command: the plan runs a command (`/usr/bin/curl`) as memstrain's user (root); "
                       "pass --allow-commands"),
            std::string::npos)
      << log();
  EXPECT_FALSE(fs::exists(out_ / "report.json")) << "nothing was started";
  const int code = run(p, " --allow-commands");
  EXPECT_EQ(code, 0) << log();
  const json r = report();
  for (const char* name : {"release", "release2"}) {
    const json* rel = nullptr;
    for (const auto& st : r["stages"]) {
      if (st["name"] == name) rel = &st["release"];
    }
    ASSERT_TRUE(rel && rel->is_object()) << name;
    std::cout << "[figures] " << name << ": " << rel->dump() << "\n";
    EXPECT_EQ((*rel)["outcome"], "returned") << rel->dump(2);
    EXPECT_GE((*rel)["runtime_released_bytes"].get<double>(), 80 * kMiB);
  }
  bool signal_event = false, command_event = false;
  for (const auto& e : r["events"]) {
    if (e["kind"] != "release_trigger") continue;
    signal_event |= e["detail"].get<std::string>().find("sent SIGUSR1") != std::string::npos;
    command_event |= e["detail"].get<std::string>().find("trigger command exit code 0") != std::string::npos;
  }
  EXPECT_TRUE(signal_event && command_event) << r["events"].dump(2);
  EXPECT_TRUE(r["target"]["exit"].is_null());
  expectSchemaValid();
}

}  // namespace
}  // namespace memstrain
