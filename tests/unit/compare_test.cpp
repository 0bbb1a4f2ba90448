// `memstrain compare`: two real report.json documents (built by buildReportJson) side by side.

#include "memstrain/report/compare.hpp"

#include <gtest/gtest.h>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/report/report.hpp"

namespace memstrain {
namespace {

using nlohmann::json;
constexpr double kMiB = 1024.0 * 1024;

StageStats stageWith(const std::string& name, double usage_max_mib, std::uint64_t p99_ms, double error_rate) {
  StageStats s;
  s.name = name;
  s.end_s = 10;
  s.completed = true;
  s.usage = {10 * kMiB, usage_max_mib / 2 * kMiB, usage_max_mib * kMiB, 10};
  StageLatency l;
  l.probe = "work";
  l.sent = l.completed = 100;
  l.corrected.count = 100;
  l.corrected.p99_ns = p99_ms * 1000000;
  l.error_rate = error_rate;
  s.latency.push_back(l);
  return s;
}

json reportOf(const std::vector<StageStats>& stages, double p99_max_ms) {
  RunRecord rec;
  rec.plan.name = "cmp";
  for (const auto& s : stages) {
    StageSpec sp;
    sp.name = s.name;
    rec.plan.stages.push_back(sp);
  }
  CheckSpec c;
  c.name = "p99";
  c.metric = "latency.p99";
  c.unit = MetricUnit::kDuration;
  c.probe = "work";
  c.stages = {"hold"};
  c.max = p99_max_ms * 1e6;
  rec.plan.checks = {c};
  RunAnalysis a;
  a.stages = stages;
  std::vector<std::string> order;
  for (const auto& s : stages) order.push_back(s.name);
  a.checks = evaluateChecks(rec.plan.checks, stages, order, "");
  a.verdict = judge(rec, stages, a.checks);
  return buildReportJson(rec, a);
}

const CompareRow* row(const ReportComparison& c, const std::string& section, const std::string& stage, const std::string& name) {
  for (const auto& r : c.rows) {
    if (r.section == section && r.stage == stage && r.name == name) return &r;
  }
  ADD_FAILURE() << "no row " << section << "/" << stage << "/" << name;
  return nullptr;
}

TEST(Compare, StagesAndChecksSideBySideWithTheChange) {
  const json a = reportOf({stageWith("baseline", 100, 10, 0), stageWith("hold", 300, 40, 0.01)}, 50);
  const json b = reportOf({stageWith("baseline", 100, 12, 0), stageWith("hold", 400, 80, 0.05), stageWith("release", 150, 11, 0)}, 50);
  auto c = compareReports(a, b, "a/report.json", "b/report.json");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->verdict_a, "pass");
  EXPECT_EQ(c->verdict_b, "fail");

  const CompareRow* p99 = row(*c, "stage", "hold", "latency.p99 [work]");
  ASSERT_NE(p99, nullptr);
  EXPECT_EQ(p99->unit, "ns");
  EXPECT_DOUBLE_EQ(*p99->a, 40e6);
  EXPECT_DOUBLE_EQ(*p99->b, 80e6);
  EXPECT_DOUBLE_EQ(*p99->delta, 40e6);
  EXPECT_DOUBLE_EQ(*p99->percent, 100.0);

  const CompareRow* usage = row(*c, "stage", "hold", "usage.max");
  ASSERT_NE(usage, nullptr);
  EXPECT_NEAR(*usage->percent, 100.0 / 3.0, 1e-9);

  // A stage only B ran: A's side is empty, no change.
  const CompareRow* rel = row(*c, "stage", "release", "usage.max");
  ASSERT_NE(rel, nullptr);
  EXPECT_FALSE(rel->a.has_value());
  EXPECT_DOUBLE_EQ(*rel->b, 150 * kMiB);
  EXPECT_FALSE(rel->delta.has_value());

  const CompareRow* check = row(*c, "check", "hold", "p99");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->outcome_a, "pass");
  EXPECT_EQ(check->outcome_b, "fail");
  EXPECT_DOUBLE_EQ(*check->percent, 100.0);
  ASSERT_EQ(c->changed_outcomes.size(), 1U);
  EXPECT_EQ(c->changed_outcomes[0], "p99 @ hold: pass -> fail");

  const std::string table = renderCompareTable(*c);
  // Columns are padded to the widest cell: find hold's p99 line and read its cells in order.
  std::string line;
  for (std::size_t at = 0; at < table.size();) {
    const std::size_t nl = table.find('\n', at);
    const std::string l = table.substr(at, nl - at);
    if (l.rfind("stage", 0) == 0 && l.find(" hold ") != std::string::npos && l.find("latency.p99 [work]") != std::string::npos) line = l;
    at = nl == std::string::npos ? table.size() : nl + 1;
  }
  const std::size_t a40 = line.find("40.0 ms"), b80 = line.find("80.0 ms"), d = line.find("+40.0 ms (+100.0%)");
  EXPECT_TRUE(a40 != std::string::npos && b80 != std::string::npos && d != std::string::npos && a40 < b80 && b80 < d) << table;
  EXPECT_NE(table.find("p99 @ hold: pass -> fail"), std::string::npos) << table;
  const std::string md = renderCompareMarkdown(*c);
  EXPECT_NE(md.find("| hold | p99 | 40.0 ms pass | 80.0 ms fail | +40.0 ms (+100.0%) |"), std::string::npos) << md;
  const json j = compareToJson(*c);
  EXPECT_EQ(j["b"]["verdict"], "fail");
  EXPECT_EQ(j["rows"].size(), c->rows.size());
  EXPECT_EQ(j["changed_outcomes"][0], "p99 @ hold: pass -> fail");
}

TEST(Compare, RefusesWhatIsNotAReport) {
  const json a = reportOf({stageWith("hold", 100, 10, 0)}, 50);
  EXPECT_FALSE(compareReports(a, json::object(), "a", "b").ok());
  json other = a;
  other["schema_version"] = 99;
  auto c = compareReports(a, other, "a", "b");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("b: not a memstrain report.json"), std::string::npos) << c.error().message;
  json nostages = a;
  nostages.erase("stages");
  EXPECT_FALSE(compareReports(nostages, a).ok());
}

// --fail-on: the CI gate. A: p99 in hold 40 ms (check passes at 50 ms); B: 80 ms (fails).
class FailOnTest : public ::testing::Test {
 protected:
  std::vector<GateFinding> gate(const std::vector<std::string>& texts) {
    std::vector<FailRule> rules;
    for (const auto& t : texts) {
      auto r = parseFailRule(t);
      EXPECT_TRUE(r.ok()) << t << ": " << r.error().message;
      if (r) rules.push_back(*r);
    }
    auto f = evaluateFailRules(c_, rules);
    EXPECT_TRUE(f.ok()) << f.error().message;
    return f ? *f : std::vector<GateFinding>{};
  }
  void SetUp() override {
    const json a = reportOf({stageWith("baseline", 100, 10, 0), stageWith("hold", 300, 40, 0.01)}, 50);
    const json b = reportOf({stageWith("baseline", 100, 11, 0), stageWith("hold", 400, 80, 0.01)}, 50);
    auto c = compareReports(a, b, "a", "b");
    ASSERT_TRUE(c.ok());
    c_ = *c;
  }
  ReportComparison c_;
};

TEST_F(FailOnTest, CheckThatPassedInAAndFailsInBTrips) {
  const auto f = gate({"check-regressed"});
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].rule, "check-regressed");
  EXPECT_NE(f[0].detail.find("check \"p99\" @ hold: pass -> fail"), std::string::npos) << f[0].detail;
  const auto v = gate({"verdict"});
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].detail, "verdict: pass -> fail");
  // The same report against itself trips nothing.
  auto same = compareReports(reportOf({stageWith("hold", 300, 40, 0)}, 50), reportOf({stageWith("hold", 300, 40, 0)}, 50));
  ASSERT_TRUE(same.ok());
  auto none = evaluateFailRules(*same, {*parseFailRule("check-regressed"), *parseFailRule("verdict"), *parseFailRule("p99:+0%")});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(FailOnTest, FigureRiseByPercentAmountOrBoth) {
  // hold: 40 -> 80 ms (+100%); baseline: 10 -> 11 ms (+10%).
  EXPECT_EQ(gate({"p99:+20%"}).size(), 1U) << "only hold rose by more than 20%";
  EXPECT_EQ(gate({"p99:+5%"}).size(), 2U) << "both stages rose by more than 5%";
  EXPECT_EQ(gate({"p99@baseline:+20%"}).size(), 0U);
  EXPECT_EQ(gate({"latency.p99@hold:+100%"}).size(), 0U) << "exactly +100% is not more than +100%";
  EXPECT_EQ(gate({"latency.p99@hold:+99%"}).size(), 1U);
  EXPECT_EQ(gate({"p99:+0.5ms"}).size(), 2U);
  EXPECT_EQ(gate({"p99:+2ms"}).size(), 1U);
  // 20% + 2 ms: baseline's limit is 10 * 1.2 + 2 = 14 ms (11 passes), hold's 50 ms (80 trips).
  const auto both = gate({"p99:+20%+2ms"});
  ASSERT_EQ(both.size(), 1U);
  EXPECT_NE(both[0].detail.find("latency.p99 [work] @ hold: 40.0 ms -> 80.0 ms (+40.0 ms (+100.0%)) > limit 50.0 ms"), std::string::npos)
      << both[0].detail;
  EXPECT_EQ(gate({"usage.max@hold:+64MiB"}).size(), 1U) << "300 -> 400 MiB";
  EXPECT_EQ(gate({"usage.max@hold:+128MiB"}).size(), 0U);
  EXPECT_EQ(gate({"oom_kills.target:+0"}).size(), 0U);
}

TEST_F(FailOnTest, BadRulesAreRefusedWithWhatWasExpected) {
  for (const char* bad : {"", "p99", "p99:20%", "p99:+", "p99:+lots", "p99@:+5%", "p99:+1ms+2ms", ":+5%", "checks-regressed"}) {
    auto r = parseFailRule(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("--fail-on: expected"), std::string::npos) << r.error().message;
  }
  // A figure neither report has (a typo) and an amount in the wrong unit are errors, not silence.
  auto typo = evaluateFailRules(c_, {*parseFailRule("latency.p98:+5%")});
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("no figure \"latency.p98\""), std::string::npos) << typo.error().message;
  auto stage = evaluateFailRules(c_, {*parseFailRule("p99@nosuch:+5%")});
  ASSERT_FALSE(stage.ok());
  auto unit = evaluateFailRules(c_, {*parseFailRule("p99:+64MiB")});
  ASSERT_FALSE(unit.ok());
  EXPECT_NE(unit.error().message.find("expected a duration"), std::string::npos) << unit.error().message;
}

}  // namespace
}  // namespace memstrain
