// The pprof observer during a real run: a leak the target makes in one stage shows up as
// heap-object growth in that stage and as the top function of the heap diff; a GC pinned by
// GOMEMLIMIT shows up as the stage's GC CPU share.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/pprof/pprof_decode.hpp"
#include "memstrain/pprof/pprof_top.hpp"
#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using memstrain::testing::slurp;

class PprofRunTest : public memstrain::testing::RunFixture {
 protected:
  PprofRunTest() : RunFixture("memstrain-pprof") {}
};

TEST_F(PprofRunTest, LeakShowsUpInTheRightStageAndFunction) {
  const fs::path& target = target_;
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
  const fs::path out = dir_ / "out";
  ASSERT_EQ(run(writePlan("plan", plan), out, "log"), 0) << slurp(dir_ / "log");
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
  // HeapObjects also counts garbage not yet swept: the target's own pprof handlers (encoding a
  // profile sampled every 64 KiB) leave several thousand objects between GCs (5057 seen).
  EXPECT_LT(std::abs(baseline["objects_delta"].get<double>()), 0.25 * kLeak) << baseline.dump(2);
  EXPECT_LT(std::abs(after["objects_delta"].get<double>()), 0.25 * kLeak) << after.dump(2);
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
}

// A pprof endpoint that answers 404 for everything and one where nothing listens: each failure is
// a pprof_error sample, the run completes, and the verdict is not affected.
TEST_F(PprofRunTest, BrokenEndpointsAreReportedAndTheRunGoesOn) {
  const fs::path& target = target_;
  struct Case {
    const char* name;
    std::string pprof_url;
    const char* kind;
  };
  const std::string base = "http://127.0.0.1:16082";
  for (const Case& c :
       {Case{"not-found", base + "/nope", "http_status"}, Case{"refused", "http://127.0.0.1:1/debug/pprof", "connect_refused"}}) {
    json plan = {
        {"name", std::string("pprof-") + c.name},
        {"target",
         {{"launch",
           {{"command", {target.string(), "-addr", "127.0.0.1:16082"}}, {"memory_limit", "256MiB"}, {"ready_url", base + "/healthz"}}},
          {"pprof_url", c.pprof_url}}},
        {"sampling", {{"pprof_interval", "300ms"}}},
        {"stages", {{{"name", "baseline"}, {"duration", "1500ms"}}, {{"name", "hold"}, {"duration", "1s"}}}}};
    const fs::path out = dir_ / c.name;
    ASSERT_EQ(run(writePlan("plan", plan), out, "log"), 0) << c.name << "\n" << slurp(dir_ / "log");
    const std::string log = slurp(dir_ / "log");
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
}

// gctrace's per-cycle CPU times, keyed by GC number: sweep termination + assist + background +
// mark termination (the idle-worker share is left out, as runtime.MemStats.GCCPUFraction leaves
// it out). Lines look like
//   gc 101 @11.291s 1%: 0.051+5.0+0.005 ms clock, 0.10+1.4/2.7/0.99+0.011 ms cpu, 143->144->143 MB, 143 MB goal, 0 MB stacks, 0 MB globals,
//   2 P
struct GcTrace {
  std::map<std::uint64_t, double> cpu_ms;
  int procs = 0;
};

GcTrace parseGcTrace(const std::string& log) {
  GcTrace out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    unsigned long long n = 0;
    if (std::sscanf(line.c_str(), "gc %llu @", &n) != 1) continue;
    const auto cpu_end = line.find(" ms cpu,");
    const auto clock_end = line.find(" ms clock, ");
    if (cpu_end == std::string::npos || clock_end == std::string::npos) continue;
    const std::string cpu = line.substr(clock_end + 11, cpu_end - clock_end - 11);  // a+b/c/d+e
    double a = 0, b = 0, c = 0, d = 0, e = 0;
    if (std::sscanf(cpu.c_str(), "%lf+%lf/%lf/%lf+%lf", &a, &b, &c, &d, &e) != 5) continue;
    out.cpu_ms[n] = a + b + c + e;
    const auto p = line.rfind(" P");
    const auto sp = line.rfind(' ', p - 1);
    if (p != std::string::npos && sp != std::string::npos) out.procs = std::atoi(line.c_str() + sp + 1);
  }
  return out;
}

// GOMEMLIMIT pinned just above a burst's live heap: the GC runs back to back. The per-stage GC CPU
// share memstrain derives from GCCPUFraction and LastGC matches the sum of gctrace's per-cycle CPU
// times over the same readings, and the GC check fails in the burst only.
TEST_F(PprofRunTest, GcCpuShareMatchesGctraceAndTheCheckFailsInTheBurst) {
  const fs::path& target = target_;
  const std::string base = "http://127.0.0.1:16083";
  json plan = {{"name", "gomemlimit-burst"},
               {"target",
                {{"launch",
                  {{"command", {target.string(), "-addr", "127.0.0.1:16083"}},
                   {"env", {{"GOMEMLIMIT", "96MiB"}, {"GODEBUG", "gctrace=1"}}},
                   {"memory_limit", "256MiB"},
                   {"ready_url", base + "/healthz"}}},
                 {"pprof_url", base + "/debug/pprof"},
                 {"probe", {{"url", base + "/work"}, {"rate_per_s", 200}}}}},  // 64 KiB of garbage per request
               // MemStats every second, in step with the one-second window slices: a reading taken
               // just before a slice's cut and landing after it must still count.
               {"sampling", {{"interval", "250ms"}, {"pprof_interval", "1s"}}},
               {"checks", json::array({{{"name", "GC CPU"}, {"metric", "heap.gc_cpu_fraction"}, {"max", 0.04}},
                                       // The same share judged live over 3 s windows, as an abort would.
                                       {{"name", "GC CPU window"}, {"metric", "heap.gc_cpu_fraction"}, {"window", "3s"}, {"max", 0.04}}})},
               {"stages",
                {{{"name", "baseline"}, {"duration", "4s"}},
                 {{"name", "burst"}, {"duration", "6s"}, {"actions", {{{"at", "0s"}, {"url", base + "/grow?mib=84"}}}}}}}};
  const fs::path out = dir_ / "out";
  const int code = run(writePlan("plan", plan), out, "log");
  ASSERT_TRUE(code == 0 || code == 1) << "a verdict either way\n" << slurp(dir_ / "log");
  json r = json::parse(slurp(out / "report.json"));
  ASSERT_TRUE(r["target"]["started_unix_ms"].is_number()) << r["target"].dump();

  const GcTrace trace = parseGcTrace(slurp(out / "target.log"));
  ASSERT_GT(trace.procs, 0) << "no gctrace lines in target.log";
  struct Reading {
    double t;
    std::uint64_t num_gc;
  };
  std::map<std::string, std::vector<Reading>> readings;
  std::ifstream samples(out / "samples.jsonl");
  for (std::string line; std::getline(samples, line);) {
    json s = json::parse(line);
    if (s["kind"] == "memstats")
      readings[s["stage"].get<std::string>()].push_back({s["t"].get<double>(), s["num_gc"].get<std::uint64_t>()});
  }
  std::optional<Reading> before;
  std::map<std::string, double> from_trace;
  for (const std::string stage : {"baseline", "burst"}) {
    ASSERT_GE(readings[stage].size(), 4U) << stage;
    const Reading from = before.value_or(readings[stage].front());
    const Reading to = readings[stage].back();
    double cpu_ms = 0;
    for (const auto& [n, ms] : trace.cpu_ms) cpu_ms += n > from.num_gc && n <= to.num_gc ? ms : 0;
    from_trace[stage] = cpu_ms / 1e3 / ((to.t - from.t) * trace.procs);
    before = to;
  }
  const json& st = r["stages"];
  const double baseline = st[0]["heap"]["gc_cpu_fraction"].get<double>();
  const double burst = st[1]["heap"]["gc_cpu_fraction"].get<double>();
  // What memstrain claims, whatever the machine's speed: its shares are the runtime's own
  // (gctrace), and each check's outcome follows from its observed value.
  // Measured here: baseline 0.17% (gctrace 0.16%), burst 12.0% (gctrace 11.7%).
  EXPECT_NEAR(baseline, from_trace["baseline"], 0.005 + 0.15 * from_trace["baseline"]);
  EXPECT_NEAR(burst, from_trace["burst"], 0.005 + 0.15 * from_trace["burst"]);
  bool any_failed = false;
  for (const auto& c : r["checks"]) {
    if (c["observed"].is_null()) continue;
    EXPECT_EQ(c["outcome"], c["observed"].get<double>() > 0.04 ? "fail" : "pass") << c.dump();
    any_failed = any_failed || (c["outcome"] == "fail" && c["stage"] != "baseline");
  }
  EXPECT_EQ(code, any_failed ? 1 : 0);
  // The rest needs a burst that pins the GC, which takes CPU: on a loaded machine the target may
  // not get it. The runtime's own figure (gctrace, independent of memstrain) decides, so a wrong
  // low share from memstrain still fails the comparison above.
  // 4.5%: above the checks' 4% limit by more than the comparison's tolerance (a loaded run measured
  // 4.9%, a quiet one 12%).
  constexpr double kPinned = 0.045;
  if (from_trace["burst"] <= kPinned) {
    GTEST_SKIP() << "machine too busy: gctrace puts the burst's GC share at " << from_trace["burst"] << " (memstrain " << burst
                 << "), not above the " << kPinned << " that pins the GC; the cross-check above ran";
  }
  EXPECT_LT(baseline, 0.02);
  EXPECT_GT(burst, kPinned) << "the burst must pin the GC for the comparison to mean something";
  EXPECT_EQ(code, 1) << "the GC check fails\n" << slurp(dir_ / "log");
  EXPECT_GT(st[1]["heap"]["gc_cycles"].get<int>(), 2 * st[0]["heap"]["gc_cycles"].get<int>());
  EXPECT_EQ(r["checks_summary"]["failed_names"], json::array({"GC CPU", "GC CPU window"})) << r["checks"].dump(2);
  for (const auto& c : r["checks"]) {
    EXPECT_EQ(c["outcome"], c["stage"] == "burst" ? "fail" : "pass") << c.dump();
    if (c["name"] != "GC CPU window") continue;
    // Most of the burst's windows fail (the first ones still hold baseline seconds), none of the
    // baseline's; the worst window is in line with the stage's share.
    const int windows = c["window"]["windows"].get<int>(), failed = c["window"]["windows_failed"].get<int>();
    if (c["stage"] == "burst") {
      EXPECT_GE(2 * failed, windows) << c.dump();
      EXPECT_GT(c["observed"].get<double>(), 0.5 * burst) << c.dump();
    } else {
      EXPECT_EQ(failed, 0) << c.dump();
      EXPECT_LT(c["observed"].get<double>(), 0.02) << c.dump();
    }
  }
}

}  // namespace
}  // namespace memstrain
