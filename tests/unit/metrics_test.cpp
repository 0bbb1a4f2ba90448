// The metric table: the README's table is the table, units have one name each, and every
// numeric metric reads its figure from a stage.

#include "memstrain/model/metrics.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "memstrain/model/stage_stats.hpp"

namespace memstrain {
namespace {

TEST(Metrics, TheReadmeTableIsTheMetricTable) {
  std::ifstream in(std::filesystem::path(MEMSTRAIN_SOURCE_DIR) / "README.md");
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string text = readme.str();
  const std::string begin = "<!-- The metric table of include/memstrain/model/metrics.hpp;";
  const std::string end = "<!-- end of the metric table -->";
  const auto a = text.find(begin);
  ASSERT_NE(a, std::string::npos) << "README.md lost the metric table's opening marker";
  const auto from = text.find('\n', a) + 1;
  const auto to = text.find(end, from);
  ASSERT_NE(to, std::string::npos) << "README.md lost the metric table's closing marker";
  EXPECT_EQ(text.substr(from, to - from), metricTableMarkdown()) << "paste this table into README.md:\n" << metricTableMarkdown();
}

TEST(Metrics, NamesAreUniqueAndEveryNumberHasAReader) {
  std::set<std::string> names;
  for (const auto& m : knownMetrics()) {
    EXPECT_TRUE(names.insert(m.name).second) << m.name;
    EXPECT_EQ(findMetric(m.name), &m);
    EXPECT_EQ(m.value == nullptr, m.unit == MetricUnit::kText) << m.name;
    EXPECT_TRUE(!m.latency || m.windowable) << m.name << ": latency metrics are per-second histograms and counts";
  }
  EXPECT_EQ(findMetric("usage.max"), nullptr);
}

TEST(Metrics, TheWindowableListIsTheTables) {
  // Once a second copy in an error message, which forgot heap.gc_cpu_fraction.
  EXPECT_EQ(windowableMetricList(),
            "latency.*, heap.gc_cpu_fraction, cgroup.usage.max, cgroup.usage.mean, target.rss.max, psi.some_avg10.max, "
            "psi.full_avg10.max");
  EXPECT_TRUE(windowableMetric("heap.gc_cpu_fraction"));
  EXPECT_TRUE(windowableMetric("latency.missed"));
  EXPECT_FALSE(windowableMetric("heap.objects.slope"));
  EXPECT_FALSE(windowableMetric("no.such.metric"));
}

TEST(Metrics, EachUnitHasOneName) {
  for (MetricUnit u :
       {MetricUnit::kDuration, MetricUnit::kBytes, MetricUnit::kRate, MetricUnit::kCount, MetricUnit::kRatio, MetricUnit::kText}) {
    EXPECT_EQ(unitFromName(unitName(u)), u) << unitName(u);
  }
  EXPECT_EQ(unitFromName("furlongs"), MetricUnit::kCount);
  EXPECT_EQ(formatMetricValue(MetricUnit::kDuration, 312.4e6), "312.4 ms");
  EXPECT_EQ(formatMetricValue(MetricUnit::kBytes, 400.0 * 1024 * 1024), "400.0 MiB");
  EXPECT_EQ(formatMetricValue(MetricUnit::kRatio, 0.0125), "1.25%");
}

TEST(Metrics, LatencyMetricsReadTheNamedProbeAndNothingOfAProbeThatGotNoAnswer) {
  StageStats s;
  StageLatency work;
  work.probe = "work";
  work.completed = 10;
  work.errors_timeout = 2;
  work.error_rate = 0.2;
  work.corrected.count = 10;
  work.corrected.p99_ns = 41'000'000;
  StageLatency idle;
  idle.probe = "idle";
  idle.missed = 3;
  s.latency = {work, idle};
  EXPECT_EQ(metricValue("latency.p99", "work", s), 41e6);
  EXPECT_EQ(metricValue("latency.errors", "work", s), 2.0);
  EXPECT_EQ(metricValue("latency.error_rate", "work", s), 0.2);
  EXPECT_EQ(metricValue("latency.p99", "idle", s), std::nullopt) << "percentiles of nothing are no data";
  EXPECT_EQ(metricValue("latency.error_rate", "idle", s), std::nullopt);
  EXPECT_EQ(metricValue("latency.missed", "idle", s), 3.0) << "counts of a silent probe are still counts";
  EXPECT_EQ(metricValue("latency.p99", "absent", s), std::nullopt);
  EXPECT_EQ(metricValue("release.outcome", "", s), std::nullopt) << "a word, judged by its own rule";
  EXPECT_EQ(metricValue("target.oom_kills", "", s), 0.0);
  EXPECT_EQ(metricValue("heap.gc_cycles", "", s), std::nullopt) << "no MemStats reading in the stage";
}

}  // namespace
}  // namespace memstrain
