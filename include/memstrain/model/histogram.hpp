#pragma once
// A log-linear latency histogram with 3 significant decimal digits, after HdrHistogram's design
// (Gil Tene): values are grouped into power-of-two "buckets", each split linearly into 2048
// sub-buckets, so every recorded value is kept to within 1/1024 (< 0.1%) of itself.
//
// Units: nanoseconds. Range: 0 .. kMaxTrackableNs (2^42 - 1 ns, about 73 minutes); larger values
// are clamped to kMaxTrackableNs and counted in clampedCount(). Values below 2048 ns are exact.
//
// Memory is fixed at construction (33 * 1024 counters, 264 KiB) and never grows; record() is O(1)
// and does not allocate, so it can be called on a probe's hot path. Not thread-safe: one writer,
// or external locking (the latency probe swaps whole histograms under a mutex).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "memstrain/util/result.hpp"

namespace memstrain {

class Histogram {
 public:
  /// Largest value kept without clamping: 2^42 - 1 ns (~73.3 min), more than the 1 hour required.
  static constexpr std::uint64_t kMaxTrackableNs = (std::uint64_t{1} << 42) - 1;
  /// Sub-buckets per power-of-two bucket: 2048 = the smallest power of two >= 2 * 10^3, which is
  /// what keeps 3 significant decimal digits.
  static constexpr int kSubBucketBits = 11;
  static constexpr std::uint64_t kSubBucketCount = std::uint64_t{1} << kSubBucketBits;
  static constexpr std::uint64_t kSubBucketHalfCount = kSubBucketCount / 2;
  /// Power-of-two buckets needed so that bucket k covers [1024 * 2^k, 2048 * 2^k) up to 2^42.
  static constexpr int kBucketCount = 32;
  /// Counter slots: bucket 0 uses 2048 slots, each further bucket only its upper 1024 (its lower
  /// half would duplicate the previous bucket's range).
  static constexpr std::size_t kCountsLength = (kBucketCount + 1) * kSubBucketHalfCount;

  /// An empty histogram. Allocates its fixed counter array once.
  Histogram();

  /// Records one value. Values above kMaxTrackableNs are clamped to it and counted in
  /// clampedCount(). O(1), no allocation.
  void record(std::uint64_t value_ns) { record(value_ns, 1); }
  /// Records `count` occurrences of `value_ns` (count 0 is a no-op).
  void record(std::uint64_t value_ns, std::uint64_t count);
  /// Records a duration; negative durations (clock oddities) are recorded as 0.
  void record(std::chrono::nanoseconds value) {
    record(value.count() < 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(value.count()), 1);
  }

  /// Adds every count of `other` into this histogram. The result is identical (counts, min, max,
  /// mean, percentiles) to having recorded both value streams into one histogram.
  void merge(const Histogram& other);

  /// Forgets everything recorded; keeps the counter array.
  void reset();

  /// Number of recorded values (including clamped ones).
  std::uint64_t count() const { return total_count_; }
  bool empty() const { return total_count_ == 0; }
  /// How many recorded values were above kMaxTrackableNs and were clamped to it.
  std::uint64_t clampedCount() const { return clamped_count_; }

  /// Smallest recorded value, as HdrHistogram reports it: the lowest value equivalent to it (the
  /// start of its sub-bucket), so min() <= valueAtPercentile(p) for every p. 0 when empty.
  std::uint64_t min() const;
  /// Largest recorded value, as HdrHistogram reports it: the highest value equivalent to it (the
  /// end of its sub-bucket), so valueAtPercentile(p) <= max() for every p. At most 0.1% above the
  /// exact maximum. 0 when empty.
  std::uint64_t max() const;
  /// The exact smallest and largest values recorded (after clamping). 0 when empty.
  std::uint64_t exactMin() const { return total_count_ == 0 ? 0 : min_ns_; }
  std::uint64_t exactMax() const { return max_ns_; }

  /// Arithmetic mean of the recorded values (after clamping), exact up to long double rounding
  /// (HdrHistogram approximates it from bucket midpoints; a running sum is cheaper and exact).
  /// 0 when empty.
  double mean() const;
  /// Population standard deviation, from running sums. 0 when fewer than 2 values.
  double stddev() const;

  /// The value at percentile `p` (0..100, clamped into that range), with HdrHistogram's semantics:
  /// with N values, find the first sub-bucket at which the running count reaches
  /// max(1, ceil(p/100 * N)) and return the *highest* value equivalent to that sub-bucket (for
  /// p == 0: the lowest). So the result is never below the true order statistic and at most one
  /// sub-bucket width (< 0.1%) above it; p100 equals max(). 0 when empty.
  std::uint64_t valueAtPercentile(double p) const;

  /// Count of values that fall in the same sub-bucket as `value_ns`.
  std::uint64_t countAtValue(std::uint64_t value_ns) const;

  // --- The bucket arithmetic, public because tests and serialisation use it. ---

  /// Index into the counter array for a value (value must be <= kMaxTrackableNs).
  static std::size_t indexOf(std::uint64_t value_ns);
  /// Smallest value that maps to the same sub-bucket as `value_ns`.
  static std::uint64_t lowestEquivalentValue(std::uint64_t value_ns);
  /// Largest value that maps to the same sub-bucket as `value_ns`.
  static std::uint64_t highestEquivalentValue(std::uint64_t value_ns);
  /// Width of the sub-bucket holding `value_ns` (1 below 2048 ns, then doubling per bucket).
  static std::uint64_t equivalentRangeSize(std::uint64_t value_ns);
  /// The lowest value of the sub-bucket at counter index `index`.
  static std::uint64_t valueFromIndex(std::size_t index);

  /// One non-empty sub-bucket: its lowest equivalent value and how many values it holds.
  struct Bucket {
    std::uint64_t value_ns = 0;
    std::uint64_t count = 0;
    bool operator==(const Bucket&) const = default;
  };
  /// The non-empty sub-buckets in ascending order. A latency histogram of one stage typically has
  /// a few hundred, so this is the compact form to store in a report.
  std::vector<Bucket> nonZeroBuckets() const;

  /// Value semantics. Copy-assigning between histograms reuses the counter array; a moved-from
  /// histogram may only be assigned to or destroyed.
  Histogram(const Histogram&) = default;
  Histogram& operator=(const Histogram&) = default;
  Histogram(Histogram&&) noexcept = default;
  Histogram& operator=(Histogram&&) noexcept = default;

 private:
  friend class CompactHistogram;
  friend nlohmann::json histogramToJson(const Histogram& h);
  friend Result<Histogram> histogramFromJson(const nlohmann::json& j);

  std::vector<std::uint64_t> counts_;  // kCountsLength slots, sized once in the constructor
  std::uint64_t total_count_ = 0;
  std::uint64_t clamped_count_ = 0;
  std::uint64_t min_ns_ = UINT64_MAX;  // exact, after clamping; UINT64_MAX when empty
  std::uint64_t max_ns_ = 0;           // exact, after clamping
  long double sum_ns_ = 0;             // 64-bit mantissa: exact for sums below 2^64 ns
  long double sum_sq_ns_ = 0;
};

/// A histogram in compact form: its non-empty counter slots and its exact totals (count, clamped,
/// min, max, sums). What a one-second window keeps while it waits in a sliding window: a few
/// hundred bytes for a second of probe answers, where a Histogram holds 264 KiB.
/// `h.merge(compacted.expand())` and `compacted.mergeInto(h)` give the same histogram, exactly.
class CompactHistogram {
 public:
  CompactHistogram() = default;
  explicit CompactHistogram(const Histogram& h);
  /// Adds every count of the histogram this was made from into `h`, as Histogram::merge would.
  void mergeInto(Histogram& h) const;
  std::uint64_t count() const { return total_count_; }
  /// Heap bytes held (the slot list).
  std::size_t heapBytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    std::uint32_t index;
    std::uint64_t count;
  };
  std::vector<Slot> slots_;
  std::uint64_t total_count_ = 0;
  std::uint64_t clamped_count_ = 0;
  std::uint64_t min_ns_ = UINT64_MAX;
  std::uint64_t max_ns_ = 0;
  long double sum_ns_ = 0;
  long double sum_sq_ns_ = 0;
};

/// The figures a stage or a one-second window is judged on, all in nanoseconds.
struct LatencySummary {
  std::uint64_t count = 0;
  double mean_ns = 0;
  double stddev_ns = 0;
  std::uint64_t min_ns = 0;
  std::uint64_t p50_ns = 0;
  std::uint64_t p90_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t p999_ns = 0;
  std::uint64_t max_ns = 0;
};

/// Reads the summary figures off a histogram (percentiles with valueAtPercentile's semantics;
/// min/max as Histogram::min()/max()). All zero for an empty histogram.
LatencySummary summarizeLatency(const Histogram& h);

/// Compact JSON form: {"unit":"ns","count":N,"clamped":C,"min":..,"max":..,"sum":..,
/// "sum_sq":..,"buckets":[[lowest_value_ns,count],...]} with non-zero buckets only; min/max here
/// are the exact ones. histogramFromJson(histogramToJson(h)) reproduces h exactly, except that the
/// sums go through a double (mean/stddev agree to ~1e-15 relative).
nlohmann::json histogramToJson(const Histogram& h);

/// Parses histogramToJson's form. Returns an Error naming the offending field on a missing or
/// mistyped field, an unknown unit, a bucket value above kMaxTrackableNs, or bucket counts that do
/// not add up to "count". Never throws.
Result<Histogram> histogramFromJson(const nlohmann::json& j);

}  // namespace memstrain
