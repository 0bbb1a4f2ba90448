// The pure parts of `memstrain headroom`: the range, the plan copy for one value, and the search
// over a fake runner with a known threshold (clean, flaky near the edge, on a budget, with
// everything passing or failing), plus the answer, the machine line and the renderings. And the
// command line refusing bad input without running anything.

#include "memstrain/headroom/headroom.hpp"

#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "memstrain/headroom/headroom_report.hpp"
#include "memstrain/plan/plan_parse.hpp"

namespace memstrain {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr double kMiB = 1024.0 * 1024.0;

HeadroomRange levelRange(const char* from = "10%", const char* to = "90%", const char* res = "2%") {
  auto r = parseHeadroomRange(HeadroomVariable::kLevel, from, to, res);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return *r;
}

// A service whose checks fail at or above `threshold` (level: low passes). `flaky` maps values to
// verdicts to hand out in order before the threshold rule applies. Records every value run.
struct FakeService {
  double threshold = 0.6;
  bool pass_low = true;
  std::map<double, std::vector<std::string>> flaky;
  std::vector<double> ran;
  std::optional<std::size_t> error_at;  // the N-th run (1-based) has no report

  HeadroomRunner runner() {
    return [this](double v, TrialPurpose, int, double& took_s) {
      ran.push_back(v);
      took_s = 1;
      SweepRunFigures f;
      f.exit_code = 0;
      if (error_at && ran.size() == *error_at) {
        f.verdict = "error";
        f.error = "no report";
        f.exit_code = 3;
        return f;
      }
      for (auto& [value, verdicts] : flaky) {
        if (std::abs(value - v) < 1e-9 && !verdicts.empty()) {
          f.verdict = verdicts.front();
          verdicts.erase(verdicts.begin());
          return f;
        }
      }
      const bool pass = pass_low ? v < threshold : v >= threshold;
      f.verdict = pass ? "pass" : "fail";
      if (!pass) {
        f.exit_code = 1;
        f.failed_checks.push_back({"p99 under churn", "latency.p99", "churn", "fail", "p99 12.0 ms > max 10.0 ms"});
      }
      return f;
    };
  }
};

TEST(HeadroomRangeTest, ParsesEachVariableAndDefaults) {
  auto level = parseHeadroomRange(HeadroomVariable::kLevel, "50%", "95%", "");
  ASSERT_TRUE(level.ok()) << level.error().message;
  EXPECT_TRUE(level->percent);
  EXPECT_DOUBLE_EQ(level->from, 0.5);
  EXPECT_DOUBLE_EQ(level->to, 0.95);
  EXPECT_NEAR(level->resolution, 0.029, 1e-9);  // 45% / 16 rounded up to 0.1%
  auto limit = parseHeadroomRange(HeadroomVariable::kMemoryLimit, "128MiB", "512MiB", "16MiB");
  ASSERT_TRUE(limit.ok()) << limit.error().message;
  EXPECT_FALSE(limit->percent);
  EXPECT_DOUBLE_EQ(limit->to, 512 * kMiB);
  EXPECT_DOUBLE_EQ(limit->resolution, 16 * kMiB);
  auto gml_pct = parseHeadroomRange(HeadroomVariable::kGomemlimit, "50%", "100%", "5%");
  ASSERT_TRUE(gml_pct.ok());
  EXPECT_TRUE(gml_pct->percent);
  auto gml_size = parseHeadroomRange(HeadroomVariable::kGomemlimit, "100MiB", "250MiB", "");
  ASSERT_TRUE(gml_size.ok());
  EXPECT_FALSE(gml_size->percent);
  EXPECT_TRUE(parseHeadroomVariable("GOMEMLIMIT").ok());
}

TEST(HeadroomRangeTest, RefusesBadInputWithAReason) {
  auto err = [](HeadroomVariable v, const char* a, const char* b, const char* r) {
    auto x = parseHeadroomRange(v, a, b, r);
    EXPECT_FALSE(x.ok()) << a << " " << b << " " << r;
    return x.ok() ? std::string() : x.error().message;
  };
  EXPECT_THAT(err(HeadroomVariable::kLevel, "50MiB", "90%", ""), HasSubstr("expected a percent"));
  EXPECT_THAT(err(HeadroomVariable::kLevel, "50%", "120%", ""), HasSubstr("at most 100%"));
  EXPECT_THAT(err(HeadroomVariable::kMemoryLimit, "8MiB", "64MiB", ""), HasSubstr("below 16MiB"));
  EXPECT_THAT(err(HeadroomVariable::kMemoryLimit, "64MiB", "64MiB", ""), HasSubstr("empty"));
  EXPECT_THAT(err(HeadroomVariable::kMemoryLimit, "64MiB", "128MiB", "64MiB"), HasSubstr("not smaller than the range"));
  EXPECT_THAT(err(HeadroomVariable::kGomemlimit, "50%", "200MiB", ""), HasSubstr("both as sizes or both as percents"));
  EXPECT_THAT(err(HeadroomVariable::kMemoryLimit, "lots", "64MiB", ""), HasSubstr("--from \"lots\""));
  auto v = parseHeadroomVariable("gogc");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.error().message, HasSubstr("level, memory_limit or gomemlimit"));
}

TEST(HeadroomSearchTest, FindsAKnownThresholdWithinTheResolution) {
  FakeService svc;
  svc.threshold = 0.613;
  const HeadroomRange r = levelRange("10%", "90%", "2%");
  const HeadroomOutcome o = searchHeadroom(r, {1, 40, 1}, svc.runner());
  EXPECT_EQ(o.end, SearchEnd::kEdge);
  ASSERT_TRUE(o.passing && o.failing);
  EXPECT_LT(*o.passing, 0.613);
  EXPECT_GE(*o.failing, 0.613);
  EXPECT_LE(*o.failing - *o.passing, 0.02 + 1e-9);
  EXPECT_TRUE(o.pass_low);
  EXPECT_TRUE(o.non_monotonic.empty());
  // Both ends first, then bisection (80% / 2% = 40 -> 6 halvings), then one recheck of each bound.
  ASSERT_GE(svc.ran.size(), 4U);
  EXPECT_DOUBLE_EQ(svc.ran[0], 0.1);
  EXPECT_DOUBLE_EQ(svc.ran[1], 0.9);
  EXPECT_DOUBLE_EQ(svc.ran[2], 0.5);
  EXPECT_EQ(svc.ran.size(), 2U + 6U + 2U);
  EXPECT_EQ(o.trials.back().purpose, TrialPurpose::kRecheck);
  EXPECT_DOUBLE_EQ(svc.ran[8], *o.passing);
  EXPECT_DOUBLE_EQ(svc.ran[9], *o.failing);
}

TEST(HeadroomSearchTest, MemoryLimitPassesHighAndEveryRepeatMustPass) {
  FakeService svc;
  svc.pass_low = false;
  svc.threshold = 300 * kMiB;  // the smallest passing limit
  auto r = parseHeadroomRange(HeadroomVariable::kMemoryLimit, "128MiB", "512MiB", "16MiB");
  ASSERT_TRUE(r.ok());
  // 320 MiB (the first midpoint) passes its first run and fails its second: with --repeat 2 it
  // is a failing point although the true edge is below it; its recheck passes twice more.
  svc.flaky[320 * kMiB] = {"pass", "fail"};
  const HeadroomOutcome o = searchHeadroom(*r, {2, 60, 1}, svc.runner());
  ASSERT_TRUE(o.passing && o.failing) << toString(o.end);
  EXPECT_FALSE(o.pass_low);
  EXPECT_GT(*o.passing, *o.failing);
  EXPECT_EQ(o.end, SearchEnd::kEdge);
  // The flaky 320 MiB counts as failing, so the search went up from it, and it says so.
  EXPECT_DOUBLE_EQ(*o.failing, 320 * kMiB);
  EXPECT_LE(*o.passing - *o.failing, 16 * kMiB);
  EXPECT_THAT(o.non_monotonic, ::testing::Contains(HasSubstr("320.0 MiB: 3 of 4 runs passed (flaky")));
  EXPECT_EQ(o.flaky_values, std::vector<double>{320 * kMiB});
}

TEST(HeadroomSearchTest, APassingBoundThatFailsItsRecheckMovesTheEdge) {
  FakeService svc;
  svc.threshold = 0.613;
  const HeadroomRange r = levelRange("10%", "90%", "2%");
  // Learn the clean edge, then make its passing value fail on the second look.
  FakeService probe = svc;
  const double edge_pass = *searchHeadroom(r, {1, 40, 0}, probe.runner()).passing;
  svc.flaky[edge_pass] = {"pass", "fail"};
  const HeadroomOutcome o = searchHeadroom(r, {1, 40, 1}, svc.runner());
  EXPECT_EQ(o.end, SearchEnd::kEdge);
  ASSERT_TRUE(o.passing && o.failing);
  EXPECT_DOUBLE_EQ(*o.failing, edge_pass);  // the flaky value counts as failing
  EXPECT_LT(*o.passing, edge_pass);
  EXPECT_LE(*o.failing - *o.passing, 0.02 + 1e-9);
  EXPECT_EQ(o.flaky_values, std::vector<double>{edge_pass});
  EXPECT_FALSE(o.non_monotonic.empty());
}

TEST(HeadroomSearchTest, AFailingBoundThatPassesItsRecheckStaysFailingAndIsReported) {
  FakeService svc;
  svc.threshold = 0.613;
  const HeadroomRange r = levelRange("10%", "90%", "2%");
  FakeService probe = svc;
  const double edge_fail = *searchHeadroom(r, {1, 40, 0}, probe.runner()).failing;
  svc.flaky[edge_fail] = {"fail", "pass"};
  const HeadroomOutcome o = searchHeadroom(r, {1, 40, 1}, svc.runner());
  ASSERT_TRUE(o.failing);
  EXPECT_DOUBLE_EQ(*o.failing, edge_fail);
  EXPECT_EQ(o.flaky_values, std::vector<double>{edge_fail});
  EXPECT_THAT(o.non_monotonic, ::testing::Contains(HasSubstr("1 of 2 runs passed")));
}

TEST(HeadroomSearchTest, ABudgetStopsTheSearchWithTheBracketSoFar) {
  FakeService svc;
  svc.threshold = 0.613;
  const HeadroomOutcome o = searchHeadroom(levelRange("10%", "90%", "2%"), {1, 4, 1}, svc.runner());
  EXPECT_EQ(o.end, SearchEnd::kBudget);
  EXPECT_EQ(o.trials.size(), 4U);
  ASSERT_TRUE(o.passing && o.failing);
  EXPECT_LT(*o.passing, 0.613);
  EXPECT_GE(*o.failing, 0.613);
  EXPECT_GT(*o.failing - *o.passing, 0.02);
}

TEST(HeadroomSearchTest, ABudgetSpentOnlyInTheRechecksStillGivesAnEdge) {
  FakeService svc;
  svc.threshold = 0.613;
  const HeadroomOutcome o = searchHeadroom(levelRange("10%", "90%", "2%"), {1, 9, 1}, svc.runner());
  EXPECT_EQ(o.end, SearchEnd::kEdge);
  EXPECT_EQ(o.trials.size(), 9U);
  EXPECT_THAT(o.notes, ::testing::Contains(HasSubstr("budget")));
}

TEST(HeadroomSearchTest, AllPassAndAllFailRangesRunOnlyTheEnds) {
  FakeService pass_all;
  pass_all.threshold = 0.95;
  const HeadroomOutcome p = searchHeadroom(levelRange("10%", "90%", "2%"), {1, 40, 1}, pass_all.runner());
  EXPECT_EQ(p.end, SearchEnd::kAllPass);
  EXPECT_EQ(p.trials.size(), 2U);
  ASSERT_TRUE(p.passing);
  EXPECT_DOUBLE_EQ(*p.passing, 0.9);
  EXPECT_FALSE(p.failing);

  FakeService fail_all;
  fail_all.threshold = 0.05;
  const HeadroomOutcome f = searchHeadroom(levelRange("10%", "90%", "2%"), {2, 40, 1}, fail_all.runner());
  EXPECT_EQ(f.end, SearchEnd::kAllFail);
  EXPECT_EQ(f.trials.size(), 2U);  // each end stops at its first failing run
  ASSERT_TRUE(f.failing);
  EXPECT_DOUBLE_EQ(*f.failing, 0.1);
  EXPECT_FALSE(f.passing);
}

TEST(HeadroomSearchTest, AnUnjudgedRunStopsTheSearch) {
  FakeService svc;
  svc.error_at = 3;
  const HeadroomOutcome o = searchHeadroom(levelRange(), {1, 40, 1}, svc.runner());
  EXPECT_EQ(o.end, SearchEnd::kNotJudged);
  EXPECT_EQ(o.trials.size(), 3U);
  EXPECT_EQ(o.trials.back().verdict, TrialVerdict::kNotJudged);
}

TEST(HeadroomSearchTest, CandidatePointsCoverTheBisectionTree) {
  const HeadroomRange r = levelRange("10%", "90%", "20%");
  const auto pts = headroomCandidatePoints(r, 100);
  // Ends, 50%, then 30% and 70% (the next halvings are 20% wide: the resolution).
  ASSERT_EQ(pts.size(), 5U);
  EXPECT_DOUBLE_EQ(pts[2], 0.5);
  EXPECT_DOUBLE_EQ(pts[3], 0.3);
  EXPECT_DOUBLE_EQ(pts[4], 0.7);
  EXPECT_EQ(bisectionSteps(r), 2);
  EXPECT_EQ(headroomCandidatePoints(levelRange("10%", "90%", "1%"), 10).size(), 10U);
}

const char* kPlan = R"({
  "name": "hr",
  "target": {"launch": {"command": ["bin/t", "-x"], "memory_limit": "256MiB", "env": {"GOGC": "50"}}},
  "stages": [
    {"name": "baseline", "duration": "1s"},
    {"name": "squeeze", "duration": "2s", "pressure": {"level": "60%"}},
    {"name": "fixed", "duration": "2s", "pressure": {"size": "10MiB"}}
  ]
})";

TEST(HeadroomPlanTest, RewritesTheVariedValueAndKeepsTheRest) {
  auto plan = parsePlan(kPlan);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const auto& launch = *plan->target.launch;
  auto level = headroomPlanJson(plan->source, launch, levelRange(), 0.725, "/w");
  ASSERT_TRUE(level.ok()) << level.error().message;
  EXPECT_EQ((*level)["stages"][1]["pressure"]["level"], "72.5%");
  EXPECT_EQ((*level)["stages"][2]["pressure"]["size"], "10MiB");
  EXPECT_EQ((*level)["target"]["launch"]["command"][0], "/w/bin/t");
  EXPECT_TRUE(parsePlan((*level).dump()).ok());

  auto lr = parseHeadroomRange(HeadroomVariable::kMemoryLimit, "128MiB", "512MiB", "");
  auto limit = headroomPlanJson(plan->source, launch, *lr, 300 * kMiB, "/w");
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ((*limit)["target"]["launch"]["memory_limit"], std::to_string(300 * 1024 * 1024));
  auto reparsed = parsePlan((*limit).dump());
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().message;
  EXPECT_EQ(reparsed->target.launch->memory_limit_bytes, 300u << 20);

  auto gr = parseHeadroomRange(HeadroomVariable::kGomemlimit, "50%", "100%", "");
  auto gml = headroomPlanJson(plan->source, launch, *gr, 0.9, "/w");
  ASSERT_TRUE(gml.ok());
  EXPECT_EQ((*gml)["target"]["launch"]["env"]["GOMEMLIMIT"], std::to_string(static_cast<long long>(0.9 * 256 * kMiB)));
  EXPECT_EQ((*gml)["target"]["launch"]["env"]["GOGC"], "50");
  EXPECT_EQ(headroomValueDir(*gr, 0.9), "gomemlimit-90pct");
  EXPECT_EQ(headroomValueDir(*lr, 300 * kMiB), "memory_limit-300MiB");

  auto no_level = parsePlan(R"({"name": "n", "target": {"launch": {"command": ["t"], "memory_limit": "256MiB"}},
                               "stages": [{"name": "s", "duration": "1s", "pressure": {"size": "10MiB"}}]})");
  ASSERT_TRUE(no_level.ok()) << no_level.error().message;
  auto refused = headroomPlanJson(no_level->source, *no_level->target.launch, levelRange(), 0.5, "/w");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("no stage with pressure.level"));
}

HeadroomDocument documentFor(const HeadroomRange& r, FakeService& svc) {
  HeadroomDocument d;
  d.plan_path = "plan.json";
  d.plan_name = "hr <x>";
  d.out_dir = "out/hr";
  d.memory_limit_bytes = 256u << 20;
  d.range = r;
  d.options = {1, 40, 1};
  d.outcome = searchHeadroom(r, d.options, svc.runner());
  return d;
}

TEST(HeadroomReportTest, LevelStatesBytesAndPercentAndWhyItFailed) {
  FakeService svc;
  svc.threshold = 0.613;
  HeadroomDocument d = documentFor(levelRange("10%", "90%", "2%"), svc);
  // Stressor figures so the answer can say how much was taken.
  for (auto& t : d.outcome.trials) t.figures.peak_stressor_bytes = static_cast<std::uint64_t>(t.value * 200 * kMiB);
  const HeadroomAnswer a = answerHeadroom(d);
  EXPECT_THAT(a.headline, HasSubstr("every check passed at pressure level 60% and a check failed at 61.3%"));
  ASSERT_EQ(a.details.size(), 1U);
  EXPECT_THAT(a.details[0], HasSubstr("held at 60% of its 256.0 MiB limit (153.6 MiB in use)"));
  EXPECT_THAT(a.details[0], HasSubstr("the stressor took 120.0 MiB = 46.9% of the limit"));
  ASSERT_EQ(a.why.size(), 2U);
  EXPECT_THAT(a.why[1], HasSubstr("p99 under churn (churn): p99 12.0 ms > max 10.0 ms"));
  const std::string line = headroomMachineLine(d, 0);
  EXPECT_EQ(line, "memstrain: headroom=60% passing<=60% failing>=61.3% runs=10 variable=level end=edge exit=0 out=out/hr");
  const json j = headroomJson(d, 0);
  EXPECT_EQ(j["trials"].size(), 10U);
  EXPECT_EQ(j["passing"]["text"], "60%");
  EXPECT_EQ(j["end"], "edge");
  EXPECT_EQ(j["trials"][1]["run"]["failed_checks"][0]["name"], "p99 under churn");
  const std::string md = renderHeadroomMarkdown(d);
  EXPECT_THAT(md, HasSubstr("| 3 | 50% | bisect | pass | survived |"));
  EXPECT_THAT(md, HasSubstr("| 8 | 61.3% | bisect | fail | survived |"));
  const std::string html = renderHeadroomHtml(d);
  EXPECT_THAT(html, HasSubstr("hr &lt;x&gt;"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("data-series=\"pass\""));
  EXPECT_THAT(html, HasSubstr("data-series=\"fail\""));
  EXPECT_THAT(html, HasSubstr("60%</text>"));  // value ticks on the x axis, not seconds
}

TEST(HeadroomReportTest, MemoryLimitRecommendsRequestsAndLimitsWithTheMargin) {
  FakeService svc;
  svc.pass_low = false;
  svc.threshold = 300 * kMiB;
  auto r = parseHeadroomRange(HeadroomVariable::kMemoryLimit, "128MiB", "512MiB", "16MiB");
  HeadroomDocument d = documentFor(*r, svc);
  d.margin = 0.25;
  const HeadroomAnswer a = answerHeadroom(d);
  ASSERT_TRUE(d.outcome.passing);
  const double p = *d.outcome.passing;
  ASSERT_EQ(a.details.size(), 1U);
  EXPECT_THAT(a.details[0], HasSubstr("resources.limits.memory = " + kubernetesMebibytes(p * 1.25)));
  EXPECT_THAT(a.details[0], HasSubstr("+ 25% margin"));
  EXPECT_EQ(kubernetesMebibytes(300.5 * kMiB), "301Mi");
  EXPECT_THAT(headroomMachineLine(d, 0), HasSubstr(" passing>=" + std::to_string(static_cast<int>(p / kMiB)) + "MiB failing<="));
}

int runCli(const std::string& args, std::string& err) {
  const auto dir = std::filesystem::temp_directory_path() / ("memstrain-headroom-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto err_path = dir / "stderr";
  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " headroom " + args + " > /dev/null 2> " + err_path.string();
  const int status = std::system(cmd.c_str());
  std::ifstream in(err_path);
  std::stringstream text;
  text << in.rdbuf();
  err = text.str();
  std::filesystem::remove_all(dir);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(HeadroomCliTest, RefusesBadInputBeforeRunningAnything) {
  const std::string plan = std::string(MEMSTRAIN_SOURCE_DIR) + "/plans/sweep-demo.json";
  std::string err;
  EXPECT_EQ(runCli(plan + " --vary gogc --from 1 --to 2 --out /nonexistent/x", err), 2);
  EXPECT_THAT(err, HasSubstr("level, memory_limit or gomemlimit"));
  EXPECT_EQ(runCli(plan + " --vary level --from 10% --to 90% --out /nonexistent/x", err), 2);
  EXPECT_THAT(err, HasSubstr("no stage with pressure.level"));
  EXPECT_EQ(runCli(plan + " --vary memory_limit --from 64MiB --to 1GiB --repeat 0", err), 2);
  EXPECT_THAT(err, HasSubstr("--repeat must be 1 to 20"));
  EXPECT_EQ(runCli(std::string(MEMSTRAIN_SOURCE_DIR) + "/plans/attach-cgroup.json --vary memory_limit --from 64MiB --to 1GiB", err), 2);
  EXPECT_THAT(err, HasSubstr("launch-mode target"));
  EXPECT_FALSE(std::filesystem::exists("/nonexistent/x"));
}

TEST(HeadroomCliTest, DryRunListsThePointsAndRunsNothing) {
  const auto dir = std::filesystem::temp_directory_path() / ("memstrain-headroom-dry-" + std::to_string(::getpid()));
  const std::string cmd = std::string(MEMSTRAIN_BINARY) + " headroom " + MEMSTRAIN_SOURCE_DIR +
                          "/plans/sweep-demo.json --vary gomemlimit --from 50% --to 100% --resolution 10% --out " + (dir / "o").string() +
                          " > " + (dir.string() + ".out") + " 2>&1";
  const int status = std::system((cmd.substr(0, cmd.find(" > ")) + " --dry-run" + cmd.substr(cmd.find(" > "))).c_str());
  std::ifstream in(dir.string() + ".out");
  std::stringstream text;
  text << in.rdbuf();
  const std::string out = text.str();
  std::filesystem::remove(dir.string() + ".out");
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_THAT(out, HasSubstr("GOMEMLIMIT=75%"));
  EXPECT_THAT(out, HasSubstr("gomemlimit-75pct"));
  EXPECT_THAT(out, HasSubstr("dry run: nothing was run"));
  EXPECT_FALSE(std::filesystem::exists(dir / "o"));
}

}  // namespace
}  // namespace memstrain
