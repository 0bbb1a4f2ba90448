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

}  // namespace
}  // namespace memstrain
