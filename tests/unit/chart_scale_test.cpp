#include "memstrain/report/chart_scale.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace memstrain {
namespace {

TEST(ChartScale, NiceTicksPickRoundSteps) {
  const Ticks t = niceTicks(0, 429.3, 6);
  EXPECT_EQ(t.step, 100);
  EXPECT_EQ(t.values, (std::vector<double>{0, 100, 200, 300, 400, 500}));

  const Ticks f = niceTicks(0, 1, 6);
  EXPECT_DOUBLE_EQ(f.step, 0.2);
  ASSERT_EQ(f.values.size(), 6U);
  EXPECT_DOUBLE_EQ(f.values.back(), 1.0);

  const Ticks q = niceTicks(0, 9.5, 5);
  EXPECT_DOUBLE_EQ(q.step, 2.5);
  EXPECT_EQ(q.values, (std::vector<double>{0, 2.5, 5, 7.5, 10}));
}

TEST(ChartScale, NiceTicksCoverTheRangeWithinTheCount) {
  for (double hi : {0.003, 0.7, 1.0, 3.3, 17.0, 99.9, 100.0, 512.0, 1234.5, 9.9e6, 4.3e9}) {
    for (int max_ticks : {2, 3, 5, 6, 10}) {
      const Ticks t = niceTicks(0, hi, max_ticks);
      ASSERT_FALSE(t.values.empty());
      EXPECT_LE(static_cast<int>(t.values.size()), max_ticks) << hi << " " << max_ticks;
      EXPECT_LE(t.lo, 0.0);
      EXPECT_GE(t.hi, hi * (1 - 1e-12)) << hi << " " << max_ticks;
      for (std::size_t i = 1; i < t.values.size(); ++i) EXPECT_NEAR(t.values[i] - t.values[i - 1], t.step, t.step * 1e-9);
      // The step is 1, 2, 2.5 or 5 times a power of ten.
      const double mant = t.step / std::pow(10.0, std::floor(std::log10(t.step) + 1e-12));
      EXPECT_TRUE(std::fabs(mant - 1) < 1e-9 || std::fabs(mant - 2) < 1e-9 || std::fabs(mant - 2.5) < 1e-9 || std::fabs(mant - 5) < 1e-9)
          << t.step;
    }
  }
}

TEST(ChartScale, FlatAndReversedRangesStillGetAnAxis) {
  const Ticks flat = niceTicks(5, 5, 5);
  EXPECT_LT(flat.lo, 5);
  EXPECT_GT(flat.hi, 5);
  const Ticks zero = niceTicks(0, 0, 5);
  EXPECT_EQ(zero.lo, 0);
  EXPECT_GE(zero.hi, 1);
  const Ticks rev = niceTicks(10, 0, 6);
  EXPECT_EQ(rev.lo, 0);
  EXPECT_EQ(rev.hi, 10);
  const Ticks nan = niceTicks(std::nan(""), 1, 5);
  EXPECT_FALSE(nan.values.empty());
}

TEST(ChartScale, LinearScaleMapsAndFlips) {
  const LinearScale x{0, 60, 66, 894};
  EXPECT_DOUBLE_EQ(x(0), 66);
  EXPECT_DOUBLE_EQ(x(30), 480);
  EXPECT_DOUBLE_EQ(x(60), 894);
  const LinearScale y{0, 500, 202, 24};
  EXPECT_DOUBLE_EQ(y(0), 202);
  EXPECT_DOUBLE_EQ(y(500), 24);
  const LinearScale flat{3, 3, 0, 100};
  EXPECT_DOUBLE_EQ(flat(3), 50);
}

TEST(ChartScale, AxisUnitsFollowTheLargestValue) {
  EXPECT_EQ(chooseAxisUnit(ValueKind::kBytes, 1023).name, "B");
  EXPECT_EQ(chooseAxisUnit(ValueKind::kBytes, 430e6).name, "MiB");
  EXPECT_EQ(chooseAxisUnit(ValueKind::kBytes, 430e6).divisor, 1048576.0);
  EXPECT_EQ(chooseAxisUnit(ValueKind::kBytes, 3.0 * (1ULL << 30)).name, "GiB");
  EXPECT_EQ(chooseAxisUnit(ValueKind::kCount, 5000, "objects").name, "objects");
  EXPECT_EQ(chooseAxisUnit(ValueKind::kCount, 317577, "objects").name, "k objects");
  EXPECT_EQ(chooseAxisUnit(ValueKind::kCount, 317577, "objects").divisor, 1e3);
  EXPECT_EQ(chooseAxisUnit(ValueKind::kCount, 2.5e7, "objects").name, "M objects");
  EXPECT_EQ(chooseAxisUnit(ValueKind::kMilliseconds, 250).name, "ms");
}

TEST(ChartScale, TickLabelsHaveTheDecimalsTheStepNeeds) {
  EXPECT_EQ(formatTick(100, 100), "100");
  EXPECT_EQ(formatTick(0.4, 0.2), "0.4");
  EXPECT_EQ(formatTick(7.5, 2.5), "7.5");
  EXPECT_EQ(formatTick(0.25, 0.25), "0.25");
  EXPECT_EQ(formatTick(-1e-12, 1), "0");
  EXPECT_EQ(formatTick(1500, 500), "1500");
}

TEST(ChartScale, ValuesCarryTheirUnits) {
  EXPECT_EQ(formatValue(ValueKind::kBytes, 512.0 * 1048576), "512.0 MiB");
  EXPECT_EQ(formatValue(ValueKind::kBytes, 812), "812 B");
  EXPECT_EQ(formatValue(ValueKind::kCount, 317577, "objects"), "317,577 objects");
  EXPECT_EQ(formatValue(ValueKind::kCount, 12), "12");
  EXPECT_EQ(formatValue(ValueKind::kMilliseconds, 4.3868), "4.39 ms");
  EXPECT_EQ(formatValue(ValueKind::kMilliseconds, 250), "250 ms");
  EXPECT_EQ(formatValue(ValueKind::kPercent, 12.5), "12.5 %");
}

TEST(ChartScale, ShortSeriesAreKeptWhole) {
  std::vector<double> v(300, 1.0);
  const auto idx = downsampleIndices(v, 600);
  ASSERT_EQ(idx.size(), 300U);
  for (std::size_t i = 0; i < idx.size(); ++i) EXPECT_EQ(idx[i], i);
}

TEST(ChartScale, LongSeriesAreBoundedAndKeepSpikesAndEnds) {
  std::vector<double> v(100000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<double>(i) / 500.0);
  v[43210] = 50;   // a spike
  v[77777] = -50;  // a dip
  const auto idx = downsampleIndices(v, 600);
  EXPECT_LE(idx.size(), 600U);
  EXPECT_GE(idx.size(), 500U);
  EXPECT_EQ(idx.front(), 0U);
  EXPECT_EQ(idx.back(), v.size() - 1);
  for (std::size_t i = 1; i < idx.size(); ++i) EXPECT_LT(idx[i - 1], idx[i]);
  EXPECT_NE(std::find(idx.begin(), idx.end(), 43210U), idx.end());
  EXPECT_NE(std::find(idx.begin(), idx.end(), 77777U), idx.end());
  // Tiny budgets degrade to the ends.
  EXPECT_EQ(downsampleIndices(v, 2), (std::vector<std::size_t>{0, v.size() - 1}));
}

TEST(ChartScale, LabelsThatWouldOverlapMoveToANewRowOrAreDropped) {
  // [0,50) and [40,90) overlap; [100,150) fits on row 0 again; the fourth overlaps both rows.
  const auto rows = layoutLabelRows({{0, 50}, {40, 90}, {100, 150}, {10, 60}}, 2, 4);
  EXPECT_EQ(rows, (std::vector<int>{0, 1, 0, -1}));
  // The gap counts: 2 px apart with a 4 px gap is a clash.
  EXPECT_EQ(layoutLabelRows({{0, 10}, {12, 20}}, 1, 4), (std::vector<int>{0, -1}));
  EXPECT_EQ(layoutLabelRows({{0, 10}, {15, 20}}, 1, 4), (std::vector<int>{0, 0}));
}

TEST(ChartScale, LabelsAreCutToTheirRoom) {
  EXPECT_EQ(fitLabel("baseline", 100, 6.6), "baseline");
  EXPECT_EQ(fitLabel("baseline", 30, 6.6), "bas\u2026");
  EXPECT_EQ(fitLabel("baseline", 10, 6.6), "");
  // UTF-8 is cut between code points: "grüße" is 5 characters.
  EXPECT_EQ(fitLabel("gr\u00fc\u00dfe", 5.5 * 6.6, 6.6), "gr\u00fc\u00dfe");
  EXPECT_EQ(fitLabel("gr\u00fc\u00dfe-und-mehr", 4.5 * 6.6, 6.6), "gr\u00fc\u2026");
}

}  // namespace
}  // namespace memstrain
