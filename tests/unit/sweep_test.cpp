// The pure parts of `memstrain sweep`: --set parsing, combinations, GOMEMLIMIT percents, the
// target's environment and plan copy, run figures from report.json + samples.jsonl, spreads,
// the recommendation and the three renderings. Plus the command line refusing bad input
// without running anything.

#include "memstrain/sweep/sweep.hpp"

#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "memstrain/plan/plan_parse.hpp"
#include "memstrain/report/escape.hpp"
#include "memstrain/sweep/sweep_report.hpp"

namespace memstrain {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string errorOf(std::string_view set) {
  auto r = parseSweepSet(set);
  EXPECT_FALSE(r.ok()) << set;
  return r.ok() ? std::string() : r.error().message;
}

TEST(SweepSetTest, ParsesEachVariable) {
  auto gogc = parseSweepSet("GOGC=10,50,100,off,none");
  ASSERT_TRUE(gogc.ok()) << gogc.error().message;
  EXPECT_EQ(gogc->name, "GOGC");
  EXPECT_EQ(gogc->values, (std::vector<std::string>{"10", "50", "100", "off", "none"}));
  auto lim = parseSweepSet("GOMEMLIMIT=none,90%,400MiB,1.5GiB,100%");
  ASSERT_TRUE(lim.ok()) << lim.error().message;
  EXPECT_EQ(lim->values.size(), 5U);
  auto dbg = parseSweepSet("GODEBUG=madvdontneed=0,madvdontneed=1");
  ASSERT_TRUE(dbg.ok()) << dbg.error().message;
  EXPECT_EQ(dbg->values, (std::vector<std::string>{"madvdontneed=0", "madvdontneed=1"}));
}

TEST(SweepSetTest, BadValuesSayWhatWasExpected) {
  EXPECT_EQ(errorOf("GOGC=10,ten"),
            "--set GOGC=10,ten: \"ten\" is not a GOGC value: expected an integer percent 0..1000000 like 50, or off, or none");
  EXPECT_THAT(errorOf("GOGC=-5"), HasSubstr("\"-5\" is not a GOGC value"));
  EXPECT_THAT(errorOf("GOGC=2000000"), HasSubstr("is not a GOGC value"));
  EXPECT_THAT(errorOf("GOGC="), HasSubstr("empty value"));
  EXPECT_THAT(errorOf("GOGC=10,,20"), HasSubstr("empty value"));
  EXPECT_THAT(errorOf("GOGC=10,10"), HasSubstr("\"10\" is given twice"));
  EXPECT_THAT(errorOf("GOGC"), HasSubstr("expected NAME=VALUE"));
  EXPECT_THAT(errorOf("=10"), HasSubstr("expected NAME=VALUE"));
  EXPECT_EQ(errorOf("GOMAXPROCS=1,2"), "--set GOMAXPROCS=1,2: a sweep varies GOGC, GOMEMLIMIT or GODEBUG, not \"GOMAXPROCS\"");
  EXPECT_THAT(errorOf("gogc=10"), HasSubstr("not \"gogc\""));
  EXPECT_THAT(errorOf("GOMEMLIMIT=0%"), HasSubstr("above 0% and at most 100%"));
  EXPECT_THAT(errorOf("GOMEMLIMIT=150%"), HasSubstr("above 0% and at most 100%"));
  EXPECT_THAT(errorOf("GOMEMLIMIT=lots"), HasSubstr("\"lots\" is not a GOMEMLIMIT value: expected a size like 400MiB"));
  EXPECT_THAT(errorOf("GOMEMLIMIT=0"), HasSubstr("0 bytes"));
  EXPECT_THAT(errorOf("GODEBUG=madvdontneed"), HasSubstr("expected one setting key=value"));
  EXPECT_THAT(errorOf("GODEBUG=madvdontneed=1 gctrace=1"), HasSubstr("is not a GODEBUG value"));
  EXPECT_THAT(errorOf("GODEBUG==1"), HasSubstr("is not a GODEBUG value"));
}

TEST(SweepSetTest, AllSetsTogether) {
  auto ok = parseSweepSets({"GOGC=50,100", "GOMEMLIMIT=none,90%"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2U);
  auto twice = parseSweepSets({"GOGC=50", "GOGC=100"});
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.error().message, HasSubstr("GOGC is already swept by an earlier --set"));
  auto none = parseSweepSets({});
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message, HasSubstr("nothing to sweep"));
}

TEST(SweepExpandTest, CartesianProductFirstAxisSlowest) {
  const std::vector<SweepAxis> axes = {{"GOGC", {"10", "off"}}, {"GOMEMLIMIT", {"none", "90%", "400MiB"}}};
  const auto s = expandSweep(axes);
  ASSERT_EQ(s.size(), 6U);
  std::vector<std::string> labels, dirs;
  for (const auto& x : s) {
    labels.push_back(x.label());
    dirs.push_back(x.dirName());
  }
  EXPECT_EQ(labels, (std::vector<std::string>{"GOGC=10 GOMEMLIMIT=none", "GOGC=10 GOMEMLIMIT=90%", "GOGC=10 GOMEMLIMIT=400MiB",
                                              "GOGC=off GOMEMLIMIT=none", "GOGC=off GOMEMLIMIT=90%", "GOGC=off GOMEMLIMIT=400MiB"}));
  EXPECT_EQ(dirs[1], "GOGC-10_GOMEMLIMIT-90pct");
  EXPECT_EQ(dirs[5], "GOGC-off_GOMEMLIMIT-400MiB");
  EXPECT_EQ(expandSweep({{"GODEBUG", {"madvdontneed=0"}}}).front().dirName(), "GODEBUG-madvdontneed-0");
  EXPECT_TRUE(expandSweep({}).empty());
  EXPECT_TRUE(expandSweep({{"GOGC", {}}}).empty());
}

TEST(SweepResolveTest, PercentOfTheMemoryLimit) {
  const std::uint64_t limit = 512ULL << 20;
  auto p = resolveMemLimit("90%", limit);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(**p, 483183820U);  // floor(0.9 * 536870912)
  EXPECT_EQ(**resolveMemLimit("100%", limit), limit);
  EXPECT_EQ(**resolveMemLimit("400MiB", limit), 400ULL << 20);
  EXPECT_EQ(**resolveMemLimit("1GB", limit), 1000000000U);
  EXPECT_FALSE(resolveMemLimit("none", limit)->has_value());
  EXPECT_FALSE(resolveMemLimit("0.0000001%", 16).ok());
}

TEST(SweepResolveTest, EnvironmentAppliesEachVariable) {
  LaunchSpec launch;
  launch.memory_limit_bytes = 256ULL << 20;
  launch.env = {{"FOO", "bar"}, {"GOMEMLIMIT", "1GiB"}, {"GODEBUG", "madvdontneed=1,gctrace=0"}, {"GOGC", "200"}};
  SweepSetting s{{{"GOGC", "off"}, {"GOMEMLIMIT", "50%"}, {"GODEBUG", "madvdontneed=0"}}};
  auto env = settingEnvironment(s, launch);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, (std::map<std::string, std::string>{
                      {"FOO", "bar"}, {"GOGC", "off"}, {"GOMEMLIMIT", "134217728"}, {"GODEBUG", "madvdontneed=0,gctrace=0"}}));
  SweepSetting unset{{{"GOGC", "none"}, {"GOMEMLIMIT", "none"}, {"GODEBUG", "none"}}};
  EXPECT_EQ(*settingEnvironment(unset, launch), (std::map<std::string, std::string>{{"FOO", "bar"}}));
  LaunchSpec bare;
  bare.memory_limit_bytes = 1ULL << 30;
  EXPECT_EQ(*settingEnvironment(SweepSetting{{{"GODEBUG", "madvdontneed=1"}}}, bare),
            (std::map<std::string, std::string>{{"GODEBUG", "madvdontneed=1"}}));
}

TEST(SweepResolveTest, PlanCopyRunsFromAnywhere) {
  const json source = {{"name", "p"},
                       {"target",
                        {{"launch",
                          {{"command", {"tests/target/bin/demo-target", "-addr", "127.0.0.1:1"}},
                           {"env", {{"GOGC", "100"}}},
                           {"memory_limit", "256MiB"},
                           {"workdir", "./work/../run"}}}}},
                       {"stages", {{{"name", "a"}, {"duration", "1s"}}}}};
  auto copy = settingPlanJson(source, {{"GOGC", "10"}, {"GOMEMLIMIT", "1000"}}, "/srv/x");
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  const json& l = (*copy)["target"]["launch"];
  EXPECT_EQ(l["command"][0], "/srv/x/tests/target/bin/demo-target");
  EXPECT_EQ(l["command"][1], "-addr");
  EXPECT_EQ(l["workdir"], "/srv/x/run");
  EXPECT_EQ(l["env"], (json{{"GOGC", "10"}, {"GOMEMLIMIT", "1000"}}));
  EXPECT_EQ(source["target"]["launch"]["env"]["GOGC"], "100");  // the source is not changed
  auto parsed = parsePlan(copy->dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->target.launch->env.at("GOMEMLIMIT"), "1000");

  json bare = source;
  bare["target"]["launch"]["command"][0] = "demo-target";  // searched in PATH: left alone
  auto c2 = settingPlanJson(bare, {}, "/srv/x");
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ((*c2)["target"]["launch"]["command"][0], "demo-target");
  EXPECT_FALSE((*c2)["target"]["launch"].contains("env"));

  json attach = {{"name", "p"}, {"target", {{"attach", {{"pid", 1}}}}}};
  auto c3 = settingPlanJson(attach, {}, "/");
  ASSERT_FALSE(c3.ok());
  EXPECT_THAT(c3.error().message, HasSubstr("no target.launch"));
}

// A report.json and samples.jsonl shaped like memstrain run's.
json sampleReport() {
  return json::parse(R"({
    "verdict": "fail",
    "run": {"status": "completed", "duration_s": 9.5, "out_dir": "x"},
    "cgroup": {"effective_limit_bytes": 268435456},
    "target": {"mode": "launch", "memory_limit_bytes": 268435456, "exit": "killed by SIGKILL"},
    "events": [{"t_s": 5.0, "kind": "target_oom_kill", "stage": "churn", "detail": ""},
               {"t_s": 4.25, "kind": "target_oom_kill", "stage": "churn", "detail": ""},
               {"t_s": 1.0, "kind": "stressor_oom_kill", "stage": "churn", "detail": ""}],
    "stages": [
      {"name": "baseline", "start_s": 0, "end_s": 4, "usage_bytes": {"max": 1000},
       "latency": [{"probe": "p", "corrected": {"count": 10, "p99_ms": 1.5}}],
       "heap": {"objects_slope_per_s": 9000, "live_objects_delta": 50, "live_objects_slope": null, "gc_cpu_fraction": 0.004}},
      {"name": "churn", "usage_bytes": {"max": 2000},
       "latency": [{"probe": "p", "corrected": {"count": 0, "p99_ms": 0}}],
       "heap": {"objects_slope_per_s": 30000, "live_objects_delta": null, "gc_cpu_fraction": 0.1537},
       "release": {"outcome": "released"}}
    ]})");
}

SampleDigest sampleDigest() {
  SampleDigest d;
  d.addLine(R"({"kind":"memstats","t":0.5,"num_gc":3,"pause_total_ns":1000})");
  d.addLine(
      R"({"kind":"cgroup","t":0.6,"measured_usage_bytes":100000000,"target_cgroup":{"usage_bytes":100000000},"stressor":{"target_bytes":0,"populated_bytes":0}})");
  // Inside stressor: its 50 MB are in the target's cgroup and are left out of the target's peak.
  d.addLine(
      R"({"kind":"cgroup","t":0.7,"measured_usage_bytes":200000000,"target_cgroup":{"usage_bytes":200000000},"stressor":{"target_bytes":50000000,"populated_bytes":50000000}})");
  // Beside: the stressor has its own cgroup; the target's usage is all its own.
  d.addLine(
      R"({"kind":"cgroup","t":0.8,"measured_usage_bytes":190000000,"target_cgroup":{"usage_bytes":160000000},"stressor_cgroup":{"usage_bytes":30000000},"stressor":{"target_bytes":30000000,"populated_bytes":30000000}})");
  d.addLine(R"({"kind":"latency","t":0.9})");
  d.addLine(R"({"kind":"memstats","t":2.5,"num_gc":10,"pause_total_ns":5000})");
  d.addLine("");
  d.addLine(R"({"kind":"cgroup","t":3.0,"measured_usage_b)");  // cut off by a kill
  return d;
}

TEST(SweepFiguresTest, FromReportAndSamples) {
  const SampleDigest d = sampleDigest();
  EXPECT_EQ(d.badLines(), 1U);
  const SweepRunFigures f = runFigures(sampleReport(), d);
  EXPECT_EQ(f.verdict, "fail");
  EXPECT_EQ(f.status, "completed");
  EXPECT_DOUBLE_EQ(f.duration_s, 9.5);
  ASSERT_TRUE(f.first_target_oom_s);
  EXPECT_DOUBLE_EQ(*f.first_target_oom_s, 4.25);
  EXPECT_EQ(f.target_exit, "killed by SIGKILL");
  EXPECT_EQ(f.gc_cycles, 7U);
  EXPECT_EQ(f.gc_pause_total_ns, 4000U);
  EXPECT_EQ(f.peak_usage_bytes, 200000000U);
  EXPECT_EQ(f.peak_target_bytes, 160000000U);  // max(100M, 200M - 50M, 160M)
  EXPECT_EQ(f.limit_bytes, 268435456U);
  EXPECT_EQ(f.headroom_bytes, 268435456 - 160000000);
  EXPECT_EQ(f.p99_ms, (std::map<std::string, double>{{"baseline", 1.5}}));  // churn had no completed requests
  // Live delta over the stage's 4 s; HeapObjects growth (churn) is not the column's figure.
  EXPECT_EQ(f.live_growth_per_s, (std::map<std::string, double>{{"baseline", 12.5}}));
  EXPECT_EQ(f.gc_cpu_max, 0.1537);
  EXPECT_EQ(f.gc_cpu_max_stage, "churn");
  EXPECT_EQ(f.release, (std::map<std::string, std::string>{{"churn", "released"}}));
}

TEST(SweepFiguresTest, WithoutSamplesUsesTheReportsUsageAndHasNoGc) {
  const SweepRunFigures f = runFigures(sampleReport(), SampleDigest{});
  EXPECT_EQ(f.peak_usage_bytes, 2000U);
  EXPECT_FALSE(f.gc_cycles);
  EXPECT_FALSE(f.headroom_bytes);
  EXPECT_EQ(runFigures(json::object(), SampleDigest{}).verdict, "error");
}

TEST(SweepSpreadTest, MinMedianMax) {
  EXPECT_FALSE(spreadOf({}));
  auto odd = *spreadOf({5, 1, 3});
  EXPECT_DOUBLE_EQ(odd.min, 1);
  EXPECT_DOUBLE_EQ(odd.median, 3);
  EXPECT_DOUBLE_EQ(odd.max, 5);
  EXPECT_EQ(odd.n, 3U);
  EXPECT_DOUBLE_EQ(spreadOf({4, 1, 2, 10})->median, 3);
}

SweepRunFigures run(const std::string& verdict, std::optional<std::int64_t> headroom, std::optional<double> oom = std::nullopt,
                    std::uint64_t gc = 0) {
  SweepRunFigures f;
  f.verdict = verdict;
  f.headroom_bytes = headroom;
  f.first_target_oom_s = oom;
  f.gc_cycles = gc;
  f.limit_bytes = 256ULL << 20;
  if (headroom) f.peak_target_bytes = static_cast<std::uint64_t>((256LL << 20) - *headroom);
  return f;
}

TEST(SweepSummaryTest, AggregatesRepeats) {
  SweepSetting set{{{"GOGC", "300"}}};
  auto s =
      summarizeSetting(set, {{"GOGC", "300"}}, {run("fail", -1, 4.0, 3), run("pass", 10 << 20, std::nullopt, 5), run("fail", 0, 6.0, 4)});
  EXPECT_EQ(s.verdict, "fail");
  EXPECT_EQ(s.passed, 1U);
  EXPECT_EQ(s.failed, 2U);
  EXPECT_EQ(s.oom_runs, 2U);
  ASSERT_TRUE(s.oom_time_s);
  EXPECT_DOUBLE_EQ(s.oom_time_s->median, 5.0);
  EXPECT_DOUBLE_EQ(s.gc_cycles->median, 4);
  EXPECT_DOUBLE_EQ(s.headroom_bytes->min, -1);
  EXPECT_EQ(summarizeSetting(set, {}, {run("pass", 1), run("inconclusive", 1)}).verdict, "inconclusive");
  EXPECT_EQ(summarizeSetting(set, {}, {run("pass", 1), run("error", std::nullopt)}).verdict, "error");
  EXPECT_EQ(summarizeSetting(set, {}, {}).verdict, "not run");
}

TEST(SweepRecommendTest, MostWorstCaseHeadroomAmongAllPass) {
  std::vector<SweepSettingSummary> v;
  v.push_back(summarizeSetting(SweepSetting{{{"GOGC", "10"}}}, {}, {run("pass", 90 << 20), run("pass", 40 << 20)}));   // worst 40
  v.push_back(summarizeSetting(SweepSetting{{{"GOGC", "50"}}}, {}, {run("pass", 60 << 20), run("pass", 70 << 20)}));   // worst 60
  v.push_back(summarizeSetting(SweepSetting{{{"GOGC", "100"}}}, {}, {run("pass", 200 << 20), run("fail", 1 << 20)}));  // not all pass
  v.push_back(summarizeSetting(SweepSetting{{{"GOGC", "75"}}}, {}, {run("pass", 60 << 20), run("pass", 65 << 20)}));   // tie with 50
  auto r = recommendSetting(v);
  ASSERT_TRUE(r.index);
  EXPECT_EQ(*r.index, 1U);
  EXPECT_EQ(r.line, "recommended: GOGC=50 — passed 2/2 run(s) with at least 60.0 MiB of headroom (peak 196.0 MiB of 256.0 MiB)");

  std::vector<SweepSettingSummary> none;
  none.push_back(summarizeSetting(SweepSetting{{{"GOGC", "off"}}}, {}, {run("fail", -5, 2.0)}));
  auto r2 = recommendSetting(none);
  EXPECT_FALSE(r2.index);
  EXPECT_EQ(r2.line, "no recommendation: no setting passed every run");
}

SweepDocument sampleDocument() {
  SweepDocument doc;
  doc.plan_path = "plans/x.json";
  doc.plan_name = "demo <script>alert(1)</script>";
  doc.memory_limit_bytes = 256ULL << 20;
  doc.stage_names = {"baseline", "churn"};
  doc.axes = {{"GOGC", {"25", "300"}}};
  doc.repeat = 1;
  SweepRunFigures good = run("pass", 100 << 20, std::nullopt, 40);
  good.p99_ms = {{"churn", 2.5}};
  good.gc_pause_total_ns = 3500000;
  good.gc_cpu_max = 0.1537;
  good.gc_cpu_max_stage = "churn";
  good.release = {{"churn", "released"}};
  SweepRunFigures bad = run("fail", -(1 << 20), 3.25, 4);
  doc.settings.push_back(summarizeSetting(SweepSetting{{{"GOGC", "25"}}}, {{"GOGC", "25"}}, {good}));
  doc.settings.push_back(summarizeSetting(SweepSetting{{{"GOGC", "300"}}}, {{"GOGC", "300"}}, {bad}));
  doc.recommendation = recommendSetting(doc.settings);
  return doc;
}

TEST(SweepReportTest, MarkdownTable) {
  const std::string md = renderSweepMarkdown(sampleDocument());
  EXPECT_THAT(md, HasSubstr("| setting | verdict | first OOM kill | GC cycles | GC pause | GC CPU (worst stage) | peak usage | headroom | "
                            "p99 churn | live objects growth | release |"));
  EXPECT_THAT(md, HasSubstr("| **GOGC=25** | pass | survived | 40 | 3.5 ms | 15.4% | - | 100.0 MiB | 2.50 ms | - | churn: released |"));
  EXPECT_THAT(md, HasSubstr("| GOGC=300 | fail | OOM at 3.2 s | 4 | - | - | - | -1.0 MiB | - | - | - |"));
  EXPECT_THAT(md, HasSubstr("**recommended: GOGC=25 — passed 1/1 run(s) with at least 100.0 MiB of headroom"));
}

TEST(SweepReportTest, SlopeColumnPrefersStagesAfterTheBaseline) {
  SweepDocument doc = sampleDocument();
  doc.baseline_stage = "baseline";
  SweepRunFigures r = run("pass", 1);
  r.live_growth_per_s = {{"baseline", 5000}, {"churn", 120}, {"release", -40}};
  doc.settings = {summarizeSetting(SweepSetting{{{"GOGC", "50"}}}, {}, {r})};
  EXPECT_THAT(renderSweepMarkdown(doc), HasSubstr("| churn: +120/s |"));
  r.live_growth_per_s = {{"baseline", 5000}};
  doc.settings = {summarizeSetting(SweepSetting{{{"GOGC", "50"}}}, {}, {r})};
  EXPECT_THAT(renderSweepMarkdown(doc), HasSubstr("| baseline: +5000/s |"));
}

TEST(SweepPlanTest, ShippedSweepDemoIsValidAndResolves) {
  auto plan = loadPlan(std::string(MEMSTRAIN_SOURCE_DIR) + "/plans/sweep-demo.json");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_TRUE(plan->target.launch);
  auto env = settingEnvironment(SweepSetting{{{"GOGC", "off"}, {"GOMEMLIMIT", "90%"}}}, *plan->target.launch);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->at("GOMEMLIMIT"), "241591910");  // 90% of 256 MiB, as the README says
  auto copy = settingPlanJson(plan->source, *env, MEMSTRAIN_SOURCE_DIR);
  ASSERT_TRUE(copy.ok());
  EXPECT_TRUE(parsePlan(copy->dump()).ok());
}

TEST(SweepReportTest, HtmlEscapesEverything) {
  const std::string html = renderSweepHtml(sampleDocument());
  EXPECT_THAT(html, HasSubstr("demo &lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("<script>")));
  EXPECT_THAT(html, HasSubstr("<tr class=\"pass rec\"><td>GOGC=25</td>"));
  EXPECT_EQ(htmlEscape("a&b<'\">"), "a&amp;b&lt;&#39;&quot;&gt;");
}

TEST(SweepReportTest, JsonCarriesRunsAndSpreads) {
  const json j = sweepJson(sampleDocument());
  EXPECT_EQ(j["schema_version"], kSweepSchemaVersion);
  ASSERT_EQ(j["settings"].size(), 2U);
  EXPECT_EQ(j["settings"][0]["label"], "GOGC=25");
  EXPECT_EQ(j["settings"][0]["dir"], "GOGC-25");
  EXPECT_EQ(j["settings"][0]["gc_cycles"]["median"], 40.0);
  EXPECT_EQ(j["settings"][0]["gc_cpu_max"]["median"], 0.1537);
  EXPECT_EQ(j["settings"][0]["runs"][0]["gc_cpu_max_stage"], "churn");
  EXPECT_EQ(j["settings"][1]["oom_runs"], 1);
  EXPECT_EQ(j["settings"][1]["runs"][0]["first_target_oom_s"], 3.25);
  EXPECT_EQ(j["recommendation"]["setting"], "GOGC=25");
  EXPECT_EQ(j["recommendation"]["index"], 0);
}

// The command line: a bad --set or an attach plan is refused with exit 2 before anything runs.
class SweepCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("memstrain-sweep-cli-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int run(const std::string& plan, const std::string& args) {
    const std::string cmd = std::string(MEMSTRAIN_BINARY) + " sweep " + plan + " " + args + " --out " + (dir_ / "out").string() + " > " +
                            (dir_ / "stdout").string() + " 2> " + (dir_ / "stderr").string();
    const int st = std::system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  std::string stderrText() const {
    std::ifstream f(dir_ / "stderr");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  std::filesystem::path dir_;
};

TEST_F(SweepCliTest, BadSetRunsNothing) {
  const std::string demo = std::string(MEMSTRAIN_SOURCE_DIR) + "/plans/demo.json";
  EXPECT_EQ(run(demo, "--set GOGC=10,lots"), 2);
  EXPECT_THAT(stderrText(), HasSubstr("--set GOGC=10,lots: \"lots\" is not a GOGC value"));
  EXPECT_THAT(stderrText(), HasSubstr("nothing was run"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out"));
  EXPECT_EQ(run(demo, ""), 2);
  EXPECT_THAT(stderrText(), HasSubstr("nothing to sweep"));
  EXPECT_EQ(run(demo, "--set GOGC=10 --repeat 0"), 2);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out"));
}

TEST_F(SweepCliTest, AttachPlanIsRefused) {
  EXPECT_EQ(run(std::string(MEMSTRAIN_SOURCE_DIR) + "/plans/attach-cgroup.json", "--set GOGC=10,50"), 2);
  EXPECT_THAT(stderrText(), HasSubstr("a sweep needs a launch-mode target"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out"));
}

TEST_F(SweepCliTest, DryRunShowsResolvedEnvironment) {
  EXPECT_EQ(run(std::string(MEMSTRAIN_SOURCE_DIR) + "/plans/demo.json", "--set GOGC=50,off --set GOMEMLIMIT=none,90% --dry-run"), 0);
  std::ifstream f(dir_ / "stdout");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string out = ss.str();
  EXPECT_THAT(out, HasSubstr("4 setting(s) x 1 repeat(s) = 4 run(s)"));
  EXPECT_THAT(out, HasSubstr("GOGC=50 GOMEMLIMIT=90%"));
  EXPECT_THAT(out, HasSubstr("GOGC=off GOMEMLIMIT=483183820"));  // 90% of demo.json's 512 MiB
  EXPECT_THAT(out, HasSubstr("GOMEMLIMIT=(unset)"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out"));
}

}  // namespace
}  // namespace memstrain
