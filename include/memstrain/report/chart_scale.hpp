#pragma once
// The arithmetic of charts, kept apart from drawing so that it can be tested on numbers: nice axis
// ticks, linear scales, axis units (B/KiB/MiB/GiB, k/M objects), bounded downsampling of long
// series, and placement of labels that must not overlap. Pure functions; nothing here does I/O.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace memstrain {

/// Tick marks of one axis: `values` run from `lo` to `hi` (both multiples of `step`) and cover the
/// data range asked for.
struct Ticks {
  double lo = 0;
  double hi = 1;
  double step = 1;
  std::vector<double> values;
};

/// Ticks covering [lo, hi] with a step of 1, 2, 2.5 or 5 × 10^k and at most `max_ticks` values
/// (at least 2). lo and hi are widened outward to multiples of the step. A degenerate range
/// (lo == hi, or non-finite input) is widened to a unit around lo so that a flat series still gets
/// an axis. lo > hi is swapped.
Ticks niceTicks(double lo, double hi, int max_ticks);

/// Maps a domain [d0, d1] linearly onto a range [r0, r1] (pixels; r1 < r0 for a y axis that grows
/// upward). A zero-width domain maps everything to the middle of the range.
struct LinearScale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  double operator()(double v) const;
};

/// What the numbers on an axis are.
enum class ValueKind { kBytes, kMilliseconds, kCount, kPercent, kSeconds, kPerSecond };

/// The unit an axis is labelled in: tick values are data / divisor, the axis title says `name`.
struct AxisUnit {
  double divisor = 1;
  std::string name;  ///< "MiB", "ms", "objects", "k objects", "%", "s", "/s"
};

/// Picks the unit for an axis whose largest value is `max_value`: bytes in the largest binary unit
/// (B, KiB, MiB, GiB, TiB) in which max_value is at least 1; counts as plain, k or M once they pass
/// 10 000 and 10 000 000; `count_noun` names what is counted ("objects"). Others keep their unit.
AxisUnit chooseAxisUnit(ValueKind kind, double max_value, std::string_view count_noun = "");

/// A tick label: as many decimals as `step` needs (0 for steps >= 1, 1 for 0.5, 2 for 0.25 ...),
/// at most 3; "-0" prints as "0".
std::string formatTick(double value, double step);

/// A value for a read-out or table cell in the unit of `kind` ("412.3 MiB", "4.39 ms",
/// "317,577 objects", "12.5 %").
std::string formatValue(ValueKind kind, double value, std::string_view count_noun = "");

/// Indices of the points to draw from a series of `values` (in time order), at most `max_points`
/// (at least 4 is assumed). A series that fits is kept whole (0..n-1). A longer one is cut into
/// (max_points - 2) / 2 buckets of consecutive points; each contributes its lowest and its highest
/// point in time order, so spikes survive; the first and last points are always kept. The result
/// is strictly increasing.
std::vector<std::size_t> downsampleIndices(const std::vector<double>& values, std::size_t max_points);

/// Places horizontal labels, each occupying [start, end) in pixels, in the first of `max_rows`
/// rows where it does not come within `gap` of a label already placed there, in input order.
/// Returns the row of each label, or -1 when it fits in none (it is then drawn without text).
std::vector<int> layoutLabelRows(const std::vector<std::pair<double, double>>& spans, int max_rows, double gap);

/// `text` cut to fit `width_px` at `char_px` per character, with "…" when cut; "" when not even
/// one character and the ellipsis fit.
std::string fitLabel(std::string_view text, double width_px, double char_px);

}  // namespace memstrain
