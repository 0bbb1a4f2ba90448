#pragma once
// Summaries of a decoded pprof profile, with the numbers `go tool pprof -top` prints:
// flat and cumulative value per function name, the profile total, and the difference between two
// profiles as `-diff_base` computes it. Pure functions over HeapProfile; no I/O.
//
// The semantics follow pprof's default ("functions") granularity:
//  - a function is identified by its name; frames of equally named functions merge;
//  - a location with several lines (inlined calls) counts each of their functions;
//  - flat goes to the innermost function of a sample's leaf location;
//  - cum adds a sample's value once to every function on its stack, however often the function
//    appears in it (recursion);
//  - a location without function information counts as "[<mapping file basename>]", or as
//    "<unknown>" when it has no mapping file either.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memstrain/pprof/pprof_decode.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// One function's values for the chosen sample type (for a diff: current minus base).
struct TopRow {
  std::string name;
  std::int64_t flat = 0;
  std::int64_t cum = 0;
};

/// A whole-profile summary.
struct TopReport {
  std::string sample_type;  ///< e.g. "inuse_space"
  std::string unit;         ///< e.g. "bytes", "count"
  /// The "of T total" of `go tool pprof -top`: the sum of |value| over all samples; for a diff,
  /// that sum over the base profile (or over the current one when the base sums to 0).
  std::int64_t total = 0;
  /// Every function whose flat or cum is non-zero, in `go tool pprof -top` order: |flat|
  /// descending, then name ascending, then |cum| descending.
  std::vector<TopRow> rows;
  bool is_diff = false;
};

/// Picks the sample type to summarise. An empty `name` means pprof's default: the profile's
/// default_sample_type when set, otherwise the last sample type. Returns the index into
/// p.sample_types, or an Error that lists the available types.
Result<std::size_t> resolveSampleIndex(const HeapProfile& p, std::string_view name);

/// Flat and cum per function for sample type `sample_type` ("" = default, see above).
Result<TopReport> computeTop(const HeapProfile& p, std::string_view sample_type = "");

/// `current - base` per function, flat and cum, as `go tool pprof -top -diff_base=BASE CURRENT`.
/// The sample type is resolved on `current`. As pprof requires for -diff_base, both profiles must
/// have the same sample types (type and unit, in order) and period type, otherwise an Error says
/// so. Functions whose flat and cum deltas are both 0 are left out.
Result<TopReport> computeDiff(const HeapProfile& base, const HeapProfile& current, std::string_view sample_type = "");

/// Sum of flat over rows[0, min(n, rows.size())): the "Showing nodes accounting for X" figure.
std::int64_t flatSum(const TopReport& report, std::size_t n);

}  // namespace memstrain
