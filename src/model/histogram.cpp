#include "memstrain/model/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <nlohmann/json.hpp>

namespace memstrain {
namespace {

// Which power-of-two bucket a value falls in: 0 for [0, 2048), k for [1024 * 2^k, 2048 * 2^k).
// OR-ing in the sub-bucket mask makes every value below 2048 land in bucket 0.
inline int bucketOf(std::uint64_t value) {
  const int top_bit = 63 - std::countl_zero(value | (Histogram::kSubBucketCount - 1));
  return top_bit - (Histogram::kSubBucketBits - 1);
}

}  // namespace

Histogram::Histogram() : counts_(kCountsLength, 0) {}

std::size_t Histogram::indexOf(std::uint64_t value_ns) {
  const int bucket = bucketOf(value_ns);
  // For bucket 0 the sub-bucket is the value itself (0..2047); above, it is in [1024, 2048) and
  // bucket k's slots start at (k + 1) * 1024, which folds into k * 1024 + sub_bucket.
  const std::uint64_t sub_bucket = value_ns >> bucket;
  return static_cast<std::size_t>(static_cast<std::uint64_t>(bucket) * kSubBucketHalfCount + sub_bucket);
}

std::uint64_t Histogram::valueFromIndex(std::size_t index) {
  std::int64_t bucket = static_cast<std::int64_t>(index / kSubBucketHalfCount) - 1;
  std::uint64_t sub_bucket = index % kSubBucketHalfCount + kSubBucketHalfCount;
  if (bucket < 0) {  // the lower half of bucket 0
    sub_bucket -= kSubBucketHalfCount;
    bucket = 0;
  }
  return sub_bucket << bucket;
}

std::uint64_t Histogram::equivalentRangeSize(std::uint64_t value_ns) { return std::uint64_t{1} << bucketOf(value_ns); }

std::uint64_t Histogram::lowestEquivalentValue(std::uint64_t value_ns) {
  const int bucket = bucketOf(value_ns);
  return (value_ns >> bucket) << bucket;
}

std::uint64_t Histogram::highestEquivalentValue(std::uint64_t value_ns) {
  return lowestEquivalentValue(value_ns) + equivalentRangeSize(value_ns) - 1;
}

void Histogram::record(std::uint64_t value_ns, std::uint64_t count) {
  if (count == 0) return;
  if (value_ns > kMaxTrackableNs) {
    value_ns = kMaxTrackableNs;
    clamped_count_ += count;
  }
  counts_[indexOf(value_ns)] += count;
  total_count_ += count;
  min_ns_ = std::min(min_ns_, value_ns);
  max_ns_ = std::max(max_ns_, value_ns);
  const auto v = static_cast<long double>(value_ns);
  const auto n = static_cast<long double>(count);
  sum_ns_ += v * n;
  sum_sq_ns_ += v * v * n;
}

void Histogram::merge(const Histogram& other) {
  if (other.total_count_ == 0) return;
  for (std::size_t i = 0; i < kCountsLength; ++i) counts_[i] += other.counts_[i];
  total_count_ += other.total_count_;
  clamped_count_ += other.clamped_count_;
  min_ns_ = std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
  sum_sq_ns_ += other.sum_sq_ns_;
}

CompactHistogram::CompactHistogram(const Histogram& h)
    : total_count_(h.total_count_),
      clamped_count_(h.clamped_count_),
      min_ns_(h.min_ns_),
      max_ns_(h.max_ns_),
      sum_ns_(h.sum_ns_),
      sum_sq_ns_(h.sum_sq_ns_) {
  if (h.total_count_ == 0) return;
  std::size_t n = 0;
  for (const std::uint64_t c : h.counts_) n += c != 0 ? 1 : 0;
  slots_.reserve(n);
  for (std::size_t i = 0; i < h.counts_.size(); ++i) {
    if (h.counts_[i] != 0) slots_.push_back({static_cast<std::uint32_t>(i), h.counts_[i]});
  }
}

void CompactHistogram::mergeInto(Histogram& h) const {
  if (total_count_ == 0) return;
  for (const Slot& s : slots_) h.counts_[s.index] += s.count;
  h.total_count_ += total_count_;
  h.clamped_count_ += clamped_count_;
  h.min_ns_ = std::min(h.min_ns_, min_ns_);
  h.max_ns_ = std::max(h.max_ns_, max_ns_);
  h.sum_ns_ += sum_ns_;
  h.sum_sq_ns_ += sum_sq_ns_;
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_count_ = 0;
  clamped_count_ = 0;
  min_ns_ = UINT64_MAX;
  max_ns_ = 0;
  sum_ns_ = 0;
  sum_sq_ns_ = 0;
}

std::uint64_t Histogram::min() const { return total_count_ == 0 ? 0 : lowestEquivalentValue(min_ns_); }

std::uint64_t Histogram::max() const { return total_count_ == 0 ? 0 : highestEquivalentValue(max_ns_); }

double Histogram::mean() const {
  if (total_count_ == 0) return 0;
  return static_cast<double>(sum_ns_ / static_cast<long double>(total_count_));
}

double Histogram::stddev() const {
  if (total_count_ < 2) return 0;
  const auto n = static_cast<long double>(total_count_);
  const long double mean = sum_ns_ / n;
  // E[x^2] - mean^2 loses digits when the spread is tiny next to the mean; long double keeps
  // that error far below a nanosecond for latencies, and a negative rounding result means 0.
  const long double variance = sum_sq_ns_ / n - mean * mean;
  return variance <= 0 ? 0.0 : static_cast<double>(std::sqrt(variance));
}

std::uint64_t Histogram::valueAtPercentile(double p) const {
  if (total_count_ == 0) return 0;
  if (!(p >= 0)) p = 0;  // also catches NaN
  if (p > 100) p = 100;
  // As HdrHistogram: step p one ulp down so that 99.9 * N / 100 computed as 99.90000000000001%
  // of N does not round past an exact boundary, then round the rank up.
  const double nudged = std::max(0.0, std::nextafter(p, 0.0));
  auto rank = static_cast<std::uint64_t>(std::ceil(nudged / 100.0 * static_cast<double>(total_count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, total_count_);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < kCountsLength; ++i) {
    running += counts_[i];
    if (running >= rank) {
      const std::uint64_t value = valueFromIndex(i);
      return p == 0 ? lowestEquivalentValue(value) : highestEquivalentValue(value);
    }
  }
  return max();  // unreachable while counts add up to total_count_
}

std::uint64_t Histogram::countAtValue(std::uint64_t value_ns) const { return counts_[indexOf(std::min(value_ns, kMaxTrackableNs))]; }

std::vector<Histogram::Bucket> Histogram::nonZeroBuckets() const {
  std::vector<Bucket> out;
  for (std::size_t i = 0; i < kCountsLength; ++i) {
    if (counts_[i] != 0) out.push_back(Bucket{valueFromIndex(i), counts_[i]});
  }
  return out;
}

LatencySummary summarizeLatency(const Histogram& h) {
  LatencySummary s;
  if (h.empty()) return s;
  s.count = h.count();
  s.mean_ns = h.mean();
  s.stddev_ns = h.stddev();
  s.min_ns = h.min();
  s.p50_ns = h.valueAtPercentile(50);
  s.p90_ns = h.valueAtPercentile(90);
  s.p99_ns = h.valueAtPercentile(99);
  s.p999_ns = h.valueAtPercentile(99.9);
  s.max_ns = h.max();
  return s;
}

nlohmann::json histogramToJson(const Histogram& h) {
  nlohmann::json buckets = nlohmann::json::array();
  for (const auto& b : h.nonZeroBuckets()) buckets.push_back(nlohmann::json::array({b.value_ns, b.count}));
  return nlohmann::json{
      {"unit", "ns"},
      {"count", h.count()},
      {"clamped", h.clampedCount()},
      {"min", h.exactMin()},
      {"max", h.exactMax()},
      {"sum", static_cast<double>(h.sum_ns_)},
      {"sum_sq", static_cast<double>(h.sum_sq_ns_)},
      {"buckets", std::move(buckets)},
  };
}

namespace {

// A JSON integer >= 0. nlohmann stores parsed non-negative numbers as unsigned but numbers
// assigned from an `int` as signed, so accept both.
bool isNonNegativeInteger(const nlohmann::json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
}

// Reads an unsigned field without letting nlohmann throw.
Result<std::uint64_t> uintField(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !isNonNegativeInteger(j[key])) {
    return Error{std::string("histogram: \"") + key + "\": expected a non-negative integer"};
  }
  return j[key].get<std::uint64_t>();
}

Result<double> numberField(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number() || !std::isfinite(j[key].get<double>()) || j[key].get<double>() < 0) {
    return Error{std::string("histogram: \"") + key + "\": expected a non-negative number"};
  }
  return j[key].get<double>();
}

}  // namespace

Result<Histogram> histogramFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"histogram: expected an object"};
  if (!j.contains("unit") || j["unit"] != "ns") {
    return Error{"histogram: \"unit\": expected \"ns\""};
  }
  auto count = uintField(j, "count");
  auto clamped = uintField(j, "clamped");
  auto min = uintField(j, "min");
  auto max = uintField(j, "max");
  auto sum = numberField(j, "sum");
  auto sum_sq = numberField(j, "sum_sq");
  for (const Error* e :
       {count.ok() ? nullptr : &count.error(), clamped.ok() ? nullptr : &clamped.error(), min.ok() ? nullptr : &min.error(),
        max.ok() ? nullptr : &max.error(), sum.ok() ? nullptr : &sum.error(), sum_sq.ok() ? nullptr : &sum_sq.error()}) {
    if (e != nullptr) return *e;
  }
  if (!j.contains("buckets") || !j["buckets"].is_array()) {
    return Error{"histogram: \"buckets\": expected an array"};
  }

  Histogram h;
  std::uint64_t total = 0;
  std::size_t i = 0;
  for (const nlohmann::json& b : j["buckets"]) {
    if (!b.is_array() || b.size() != 2 || !isNonNegativeInteger(b[0]) || !isNonNegativeInteger(b[1])) {
      return Error{"histogram: \"buckets\"[" + std::to_string(i) + "]: expected [value_ns, count]"};
    }
    const auto value = b[0].get<std::uint64_t>();
    const auto n = b[1].get<std::uint64_t>();
    if (value > Histogram::kMaxTrackableNs) {
      return Error{"histogram: \"buckets\"[" + std::to_string(i) + "]: value " + std::to_string(value) + " is above the trackable range"};
    }
    if (__builtin_add_overflow(total, n, &total)) return Error{"histogram: bucket counts overflow"};
    h.counts_[Histogram::indexOf(value)] += n;
    ++i;
  }
  if (total != *count) {
    return Error{"histogram: bucket counts add up to " + std::to_string(total) + ", \"count\" says " + std::to_string(*count)};
  }
  if (total > 0 && (*min > *max || *max > Histogram::kMaxTrackableNs)) {
    return Error{"histogram: \"min\"/\"max\" out of range"};
  }
  h.total_count_ = total;
  h.clamped_count_ = *clamped;
  h.min_ns_ = total == 0 ? UINT64_MAX : *min;
  h.max_ns_ = total == 0 ? 0 : *max;
  h.sum_ns_ = static_cast<long double>(*sum);
  h.sum_sq_ns_ = static_cast<long double>(*sum_sq);
  return h;
}

}  // namespace memstrain
