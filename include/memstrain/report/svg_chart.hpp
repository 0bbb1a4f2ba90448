#pragma once
// Inline SVG time-series charts for the HTML report: one shared time axis, stage bands, event
// markers, lines and stacked areas on a left and an optional right axis. The arithmetic lives in
// chart_scale.hpp; this file only turns already-chosen points into markup. All text is escaped.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/report/chart_scale.hpp"
#include "memstrain/report/escape.hpp"

namespace memstrain {

/// A series as drawn: points (t[i], v[i]) in data units. For kArea, `base` (same length, or empty
/// for 0) is the lower edge, which is how areas stack.
struct ChartSeries {
  enum class Style { kLine, kDashed, kArea, kBars };
  std::string name;   ///< legend and read-out text (untrusted: probe names)
  std::string key;    ///< short id for data attributes ("usage", "p99-0")
  std::string color;  ///< CSS colour
  Style style = Style::kLine;
  int axis = 0;  ///< 0: left axis, 1: right axis
  std::vector<double> t, v, base;
};

/// A horizontal reference line (an effective limit).
struct ChartRule {
  double value = 0;
  std::string label;
  std::string color;
  int axis = 0;
};

/// A shaded stage.
struct ChartBand {
  double t0 = 0, t1 = 0;
  std::string label;
};

/// A vertical event marker (OOM kill, abort, action).
struct ChartMarker {
  double t = 0;
  std::string label;   ///< short text drawn at the top when there is room
  std::string detail;  ///< tooltip
  std::string color;
  bool major = true;  ///< OOM kills and aborts; minor ones (actions) are drawn thinner
};

struct ChartAxis {
  ValueKind kind = ValueKind::kBytes;
  std::string count_noun;     ///< for kCount: "objects", "cycles"
  std::optional<double> max;  ///< fixed top (percent axes); default: from the data
};

struct ChartSpec {
  std::string id;  ///< element id of the <svg>
  std::string title;
  double t0 = 0, t1 = 1;  ///< shared x domain, seconds
  /// What x is when it is not time (a headroom search draws figures against a size or a
  /// percent): tick labels then carry this axis's unit instead of "s". None: seconds.
  std::optional<ChartAxis> x_axis;
  std::vector<ChartBand> bands;
  std::vector<ChartMarker> markers;
  ChartAxis left;
  std::optional<ChartAxis> right;
  std::vector<ChartSeries> series;
  std::vector<ChartRule> rules;
};

/// Geometry shared by every chart (viewBox units): same x range on every chart so that they line
/// up on the page.
struct ChartGeometry {
  static constexpr double kWidth = 960, kHeight = 230;
  static constexpr double kLeft = 66, kRight = 894, kTop = 24, kBottom = 202;
};

/// The <svg> element of a chart. Each series is a <polyline>/<path>/<g> with class "series",
/// data-series (its key) and data-points (points drawn); stage bands are <rect class="stage-band">
/// with data-stage, data-t0 and data-t1; markers are <line class="marker">.
std::string renderSvgChart(const ChartSpec& spec);

/// What the page's script needs for hover read-outs: plot box, x domain, each series' name, unit
/// kind and points. Embed with jsonForScript().
nlohmann::json chartReadoutData(const ChartSpec& spec);

/// `j` dumped for a <script type="application/json"> element: '<', '>' and '&' become \u escapes
/// so that no string inside can close the element.
std::string jsonForScript(const nlohmann::json& j);

}  // namespace memstrain
