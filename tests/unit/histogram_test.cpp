#include "memstrain/model/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

namespace memstrain {
namespace {

constexpr std::uint64_t kHourNs = 3600ULL * 1000 * 1000 * 1000;

// The order statistic HdrHistogram's percentile refers to: the rank-th smallest value, with
// rank = max(1, ceil(p/100 * N)).
std::uint64_t exactPercentile(const std::vector<std::uint64_t>& sorted, double p) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<std::size_t>(std::ceil(std::nextafter(p, 0.0) / 100.0 * n));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::vector<std::uint64_t> logUniform(std::size_t n, std::uint64_t lo, std::uint64_t hi, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(std::log(static_cast<double>(lo)), std::log(static_cast<double>(hi)));
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = static_cast<std::uint64_t>(std::exp(u(rng)));
  return v;
}

TEST(HistogramTest, IndexAndValueRoundTripOverEverySlot) {
  for (std::size_t i = 0; i < Histogram::kCountsLength; ++i) {
    const std::uint64_t v = Histogram::valueFromIndex(i);
    ASSERT_EQ(Histogram::indexOf(v), i) << "value " << v;
    ASSERT_EQ(Histogram::lowestEquivalentValue(v), v);
    ASSERT_EQ(Histogram::indexOf(Histogram::highestEquivalentValue(v)), i);
  }
  // The slots tile the value range without gaps: each starts right after the previous one ends.
  for (std::size_t i = 1; i < Histogram::kCountsLength; ++i) {
    ASSERT_EQ(Histogram::valueFromIndex(i), Histogram::highestEquivalentValue(Histogram::valueFromIndex(i - 1)) + 1);
  }
  EXPECT_EQ(Histogram::highestEquivalentValue(Histogram::valueFromIndex(Histogram::kCountsLength - 1)), Histogram::kMaxTrackableNs);
}

TEST(HistogramTest, PrecisionWithinOneTenthPercentAcrossTheRange) {
  EXPECT_GE(Histogram::kMaxTrackableNs, kHourNs);
  std::vector<std::uint64_t> values = logUniform(200000, 1, Histogram::kMaxTrackableNs, 1);
  for (std::uint64_t v = 0; v < 5000; ++v) values.push_back(v);
  for (int b = 0; b < 42; ++b) {
    const std::uint64_t p2 = std::uint64_t{1} << b;
    values.insert(values.end(), {p2 - 1, p2, p2 + 1});
  }
  values.push_back(kHourNs);
  values.push_back(1000);  // 1 µs
  for (const std::uint64_t v : values) {
    const std::uint64_t lo = Histogram::lowestEquivalentValue(v);
    const std::uint64_t hi = Histogram::highestEquivalentValue(v);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    if (v < Histogram::kSubBucketCount) {
      ASSERT_EQ(lo, v) << "values below 2048 ns are exact";
      ASSERT_EQ(hi, v);
    }
    // Anything reported for v (lowest or highest equivalent) is within 0.1% of v.
    ASSERT_LT(static_cast<double>(hi - lo), 0.001 * static_cast<double>(std::max<std::uint64_t>(v, 1))) << v;
  }
}

TEST(HistogramTest, EmptyHistogramReportsZeros) {
  const Histogram h;
  EXPECT_EQ(h.count(), 0U);
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.min(), 0U);
  EXPECT_EQ(h.max(), 0U);
  EXPECT_EQ(h.exactMin(), 0U);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.stddev(), 0.0);
  EXPECT_EQ(h.valueAtPercentile(50), 0U);
  EXPECT_TRUE(h.nonZeroBuckets().empty());
  const LatencySummary s = summarizeLatency(h);
  EXPECT_EQ(s.count, 0U);
  EXPECT_EQ(s.p99_ns, 0U);
}

TEST(HistogramTest, ZeroIsARecordableValue) {
  Histogram h;
  h.record(0);
  h.record(0);
  EXPECT_EQ(h.count(), 2U);
  EXPECT_EQ(h.min(), 0U);
  EXPECT_EQ(h.max(), 0U);
  EXPECT_EQ(h.valueAtPercentile(100), 0U);
  EXPECT_EQ(h.countAtValue(0), 2U);
}

TEST(HistogramTest, NegativeDurationsRecordAsZero) {
  Histogram h;
  h.record(std::chrono::nanoseconds(-5));
  h.record(std::chrono::microseconds(3));
  EXPECT_EQ(h.exactMin(), 0U);
  EXPECT_EQ(h.exactMax(), 3000U);
}

TEST(HistogramTest, LargestTrackableValueIsNotClamped) {
  Histogram h;
  h.record(Histogram::kMaxTrackableNs);
  h.record(kHourNs);
  EXPECT_EQ(h.clampedCount(), 0U);
  EXPECT_EQ(h.max(), Histogram::kMaxTrackableNs);
  EXPECT_EQ(h.exactMax(), Histogram::kMaxTrackableNs);
  const std::uint64_t p0 = h.valueAtPercentile(0);
  EXPECT_LE(p0, kHourNs);
  EXPECT_GT(static_cast<double>(p0), 0.999 * static_cast<double>(kHourNs));
}

TEST(HistogramTest, ValuesAboveTheRangeAreClampedAndCounted) {
  Histogram h;
  h.record(std::numeric_limits<std::uint64_t>::max());
  h.record(Histogram::kMaxTrackableNs + 1, 3);
  h.record(5);
  EXPECT_EQ(h.count(), 5U);
  EXPECT_EQ(h.clampedCount(), 4U);
  EXPECT_EQ(h.exactMax(), Histogram::kMaxTrackableNs);
  EXPECT_EQ(h.max(), Histogram::kMaxTrackableNs);
  EXPECT_EQ(h.valueAtPercentile(100), Histogram::kMaxTrackableNs);
  EXPECT_EQ(h.valueAtPercentile(20), 5U);
  EXPECT_EQ(h.countAtValue(std::numeric_limits<std::uint64_t>::max()), 4U);
}

TEST(HistogramTest, RecordWithCountEqualsRepeatedRecords) {
  Histogram a;
  Histogram b;
  a.record(123456, 7);
  a.record(99, 0);  // no-op
  for (int i = 0; i < 7; ++i) b.record(123456);
  EXPECT_EQ(a.count(), 7U);
  EXPECT_EQ(a.nonZeroBuckets(), b.nonZeroBuckets());
  EXPECT_DOUBLE_EQ(a.mean(), b.mean());
  EXPECT_EQ(a.exactMin(), 123456U);
}

// Percentiles against the exact order statistics of the same data: the histogram must return the
// highest equivalent value of the sub-bucket holding exactly that order statistic (the defined
// semantics), which is within 0.1% of it.
void checkPercentilesAgainstSortedData(std::vector<std::uint64_t> data) {
  Histogram h;
  for (const auto v : data) h.record(v);
  std::sort(data.begin(), data.end());
  for (const double p : {0.0, 0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
    const std::uint64_t exact = exactPercentile(data, p);
    const std::uint64_t got = h.valueAtPercentile(p);
    const std::uint64_t want = p == 0 ? Histogram::lowestEquivalentValue(exact) : Histogram::highestEquivalentValue(exact);
    ASSERT_EQ(got, want) << "p" << p << " exact=" << exact;
    ASSERT_LE(std::fabs(static_cast<double>(got) - static_cast<double>(exact)), 0.001 * static_cast<double>(exact) + 0.5) << "p" << p;
  }
  EXPECT_EQ(h.exactMin(), data.front());
  EXPECT_EQ(h.exactMax(), data.back());
  EXPECT_EQ(h.max(), Histogram::highestEquivalentValue(data.back()));
  EXPECT_EQ(h.min(), Histogram::lowestEquivalentValue(data.front()));

  long double sum = 0;
  for (const auto v : data) sum += static_cast<long double>(v);
  const long double mean = sum / static_cast<long double>(data.size());
  long double ss = 0;
  for (const auto v : data) ss += (static_cast<long double>(v) - mean) * (static_cast<long double>(v) - mean);
  const double sd = static_cast<double>(std::sqrt(ss / static_cast<long double>(data.size())));
  EXPECT_NEAR(h.mean(), static_cast<double>(mean), 1e-9 * static_cast<double>(mean));
  EXPECT_NEAR(h.stddev(), sd, 1e-6 * sd + 1e-3);
}

TEST(HistogramTest, PercentilesMatchSortedDataLogNormal) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> d(std::log(2e6), 0.8);  // ~2 ms median
  std::vector<std::uint64_t> v(100000);
  for (auto& x : v) x = static_cast<std::uint64_t>(d(rng));
  checkPercentilesAgainstSortedData(v);
}

TEST(HistogramTest, PercentilesMatchSortedDataUniform) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> d(1000, 50'000'000);  // 1 µs .. 50 ms
  std::vector<std::uint64_t> v(100000);
  for (auto& x : v) x = d(rng);
  checkPercentilesAgainstSortedData(v);
}

TEST(HistogramTest, PercentilesMatchSortedDataBimodalWithStall) {
  // Mostly ~1 ms, 2% of requests stuck behind a ~1 s stall: the shape the probe must not hide.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> fast(1e6, 1e5);
  std::uniform_real_distribution<double> stall(1e6, 1e9);
  std::bernoulli_distribution stalled(0.02);
  std::vector<std::uint64_t> v(50000);
  for (auto& x : v) x = static_cast<std::uint64_t>(std::max(0.0, stalled(rng) ? stall(rng) : fast(rng)));
  checkPercentilesAgainstSortedData(v);
}

TEST(HistogramTest, PercentilesMatchSortedDataAcrossTheWholeRange) {
  checkPercentilesAgainstSortedData(logUniform(100000, 1000, kHourNs, 11));
}

TEST(HistogramTest, PercentileEdgesAndBadInput) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v * 1000);  // 1..100 µs
  EXPECT_EQ(h.valueAtPercentile(50), Histogram::highestEquivalentValue(50000));
  EXPECT_EQ(h.valueAtPercentile(-3), h.valueAtPercentile(0));
  EXPECT_EQ(h.valueAtPercentile(250), h.max());
  EXPECT_EQ(h.valueAtPercentile(std::nan("")), h.valueAtPercentile(0));
  EXPECT_EQ(h.valueAtPercentile(0), 1000U);
  // p99 of 100 values is the 99th value, not the 100th (ceil(0.99 * 100) = 99 despite rounding).
  EXPECT_EQ(h.valueAtPercentile(99), Histogram::highestEquivalentValue(99000));
}

TEST(HistogramTest, MergeEqualsRecordingIntoOne) {
  const auto a_values = logUniform(30000, 1000, 10'000'000'000ULL, 5);
  const auto b_values = logUniform(20000, 50'000, 2'000'000, 6);
  Histogram a;
  Histogram b;
  Histogram both;
  for (const auto v : a_values) {
    a.record(v);
    both.record(v);
  }
  for (const auto v : b_values) {
    b.record(v);
    both.record(v);
  }
  b.record(UINT64_MAX);  // clamped counts merge too
  both.record(UINT64_MAX);
  a.merge(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.clampedCount(), 1U);
  EXPECT_EQ(a.nonZeroBuckets(), both.nonZeroBuckets());
  EXPECT_EQ(a.exactMin(), both.exactMin());
  EXPECT_EQ(a.exactMax(), both.exactMax());
  EXPECT_NEAR(a.mean(), both.mean(), 1e-9 * both.mean());
  EXPECT_NEAR(a.stddev(), both.stddev(), 1e-9 * both.stddev());
  for (const double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(a.valueAtPercentile(p), both.valueAtPercentile(p)) << p;
  }
}

TEST(HistogramTest, MergeWithEmptyKeepsMinAndMax) {
  Histogram a;
  a.record(500);
  Histogram empty;
  a.merge(empty);
  empty.merge(a);
  EXPECT_EQ(a.exactMin(), 500U);
  EXPECT_EQ(empty.exactMin(), 500U);
  EXPECT_EQ(empty.count(), 1U);
}

TEST(HistogramTest, ResetForgetsEverything) {
  Histogram h;
  h.record(UINT64_MAX);
  h.record(42);
  h.reset();
  EXPECT_EQ(h.count(), 0U);
  EXPECT_EQ(h.clampedCount(), 0U);
  EXPECT_EQ(h.max(), 0U);
  EXPECT_TRUE(h.nonZeroBuckets().empty());
  h.record(7);
  EXPECT_EQ(h.exactMin(), 7U);
  EXPECT_EQ(h.exactMax(), 7U);
}

TEST(HistogramTest, SummaryReadsTheUsualFigures) {
  Histogram h;
  for (std::uint64_t i = 1; i <= 1000; ++i) h.record(i * 1'000'000);  // 1..1000 ms
  const LatencySummary s = summarizeLatency(h);
  EXPECT_EQ(s.count, 1000U);
  EXPECT_NEAR(s.mean_ns, 500.5e6, 1);
  EXPECT_EQ(s.p50_ns, Histogram::highestEquivalentValue(500'000'000));
  EXPECT_EQ(s.p90_ns, Histogram::highestEquivalentValue(900'000'000));
  EXPECT_EQ(s.p99_ns, Histogram::highestEquivalentValue(990'000'000));
  EXPECT_EQ(s.p999_ns, Histogram::highestEquivalentValue(999'000'000));
  EXPECT_EQ(s.max_ns, Histogram::highestEquivalentValue(1'000'000'000));
  EXPECT_EQ(s.min_ns, Histogram::lowestEquivalentValue(1'000'000));
}

TEST(HistogramTest, JsonRoundTripIsExact) {
  Histogram h;
  for (const auto v : logUniform(5000, 1000, 5'000'000'000ULL, 9)) h.record(v);
  h.record(UINT64_MAX);
  const nlohmann::json j = histogramToJson(h);
  EXPECT_EQ(j["unit"], "ns");
  EXPECT_LT(j["buckets"].size(), 5001U);
  // Survives text, as it would in report.json.
  auto back = histogramFromJson(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->nonZeroBuckets(), h.nonZeroBuckets());
  EXPECT_EQ(back->count(), h.count());
  EXPECT_EQ(back->clampedCount(), 1U);
  EXPECT_EQ(back->exactMin(), h.exactMin());
  EXPECT_EQ(back->exactMax(), h.exactMax());
  EXPECT_NEAR(back->mean(), h.mean(), 1e-12 * h.mean());
  EXPECT_EQ(back->valueAtPercentile(99.9), h.valueAtPercentile(99.9));

  auto empty = histogramFromJson(histogramToJson(Histogram{}));
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(empty->max(), 0U);
}

TEST(HistogramTest, JsonRejectsMalformedInputWithAReason) {
  Histogram h;
  h.record(1500);
  const nlohmann::json good = histogramToJson(h);

  auto expectError = [](const nlohmann::json& j, const std::string& fragment) {
    auto r = histogramFromJson(j);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
  };
  expectError(nlohmann::json::array(), "expected an object");
  nlohmann::json j = good;
  j["unit"] = "us";
  expectError(j, "\"unit\"");
  j = good;
  j["count"] = 2;
  expectError(j, "add up to 1");
  j = good;
  j["count"] = -1;
  expectError(j, "\"count\"");
  j = good;
  j["count"] = "1";
  expectError(j, "\"count\"");
  j = good;
  j["buckets"] = nlohmann::json::array({nlohmann::json::array({1500, 1, 3})});
  expectError(j, "\"buckets\"[0]");
  j = good;
  j["buckets"] = nlohmann::json::array({nlohmann::json::array({Histogram::kMaxTrackableNs + 1, 1})});
  expectError(j, "above the trackable range");
  j = good;
  j.erase("sum");
  expectError(j, "\"sum\"");
}

}  // namespace
}  // namespace memstrain
